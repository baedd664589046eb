"""SYNC.md "Deletes are careful", against the real server in a subprocess: a fresh workstation
pushes no deletions before its first full pull; a push or pull that would delete many rows stops
and asks (``LargeDeletion``; the CLI says so in one line) until someone confirms."""

from __future__ import annotations

import gzip
import json

import pytest

from .test_client import cli
from .test_editing_faults import _draft_with_rows
from .township import NoKeepAlive, device_id, new_enroll_code, opened, sync_client, township


@pytest.fixture(scope="module")
def town(tmp_path_factory, _demo_template):
    with township(tmp_path_factory, _demo_template, stations=2) as t:
        yield t


class Wire(NoKeepAlive):
    """The order of what went over the wire: ('push', [changes]) and ('pull', None)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, list | None]] = []

    def request(self, method, url, **kwargs):
        if url.endswith("/sync/push"):
            self.log.append(("push", json.loads(gzip.decompress(kwargs["data"]))["changes"]))
        elif url.endswith("/sync/pull"):
            self.log.append(("pull", None))
        return super().request(method, url, **kwargs)


def _delete_rows(ctx, clerk, notice_id: str, count: int) -> list[str]:
    from app.notices import NoticeService

    notices = NoticeService(ctx)
    rows = [r.id for r in notices.rows(notice_id, 0, count)]
    for row_id in rows:
        notices.delete_row(row_id, clerk)
    return rows


def _server_deleted(town, ids: list[str]) -> int:
    conn = town.server()
    try:
        marks = ",".join("?" * len(ids))
        return conn.execute(f"SELECT count(*) FROM sync_row WHERE deleted AND id IN ({marks})", ids).fetchone()[0]
    finally:
        conn.close()


def test_a_fresh_workstation_sends_its_deletions_only_after_its_first_full_pull(town, tmp_path):
    """A workstation enrolled again (say its token was revoked, or its disk restored) starts
    fresh: its queued deletions wait until it has pulled everything once (by then the county
    has handed the notices it was working on over to its new enrolment)."""
    from db.models import Outbox

    ws1, _ws = town.reset(tmp_path)  # the demo workstation: the draft is its own
    before = device_id(ws1)
    with opened(ws1) as (ctx, clerk):
        gone = _delete_rows(ctx, clerk, _draft_with_rows().id, 3)
        sync_client(ctx).enroll(town.proxy.url, new_enroll_code(town.db_url), "重新注册的电脑")
        assert town.hand_over_all(before, ws1) >= 1
        wire = Wire()
        report = sync_client(ctx, wire).sync()
        assert report.conflicts == report.rejected == 0 and Outbox.select().count() == 0
    kinds = [kind for kind, _changes in wire.log]
    first_pull = kinds.index("pull")
    sent_before = [c for kind, changes in wire.log[:first_pull] if kind == "push" for c in changes]
    sent_after = [c for kind, changes in wire.log[first_pull:] if kind == "push" for c in changes]
    assert sent_before and not any(c["deleted"] for c in sent_before)  # its other changes went first
    assert sorted(c["id"] for c in sent_after if c["deleted"]) == sorted(gone)
    assert _server_deleted(town, gone) == 3
    # from now on deletions go with the first push
    with opened(ws1) as (ctx, clerk):
        more = _delete_rows(ctx, clerk, _draft_with_rows().id, 1)
        wire = Wire()
        sync_client(ctx, wire).sync()
    assert [kind for kind, _c in wire.log][:2] == ["push", "pull"]
    assert [c["id"] for c in wire.log[0][1] if c["deleted"]] == more


def test_a_push_that_would_delete_many_rows_stops_until_confirmed(town, tmp_path):
    from db.models import Outbox, SyncState
    from sync.client import DELETE_LIMIT, LargeDeletion

    ws0, _ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        draft = _draft_with_rows().id
        gone = _delete_rows(ctx, clerk, draft, DELETE_LIMIT + 5)
        queued = Outbox.select().count()
        wire = Wire()
        with pytest.raises(LargeDeletion) as stopped:
            sync_client(ctx, wire).sync()
        err = stopped.value
        assert (err.direction, err.count) == ("push", DELETE_LIMIT + 5)
        assert err.notices[draft][0] == DELETE_LIMIT + 5 and "确认" in str(err)
        assert wire.log == [] and Outbox.select().count() == queued  # nothing sent, nothing dropped
        assert "确认" in SyncState.get_by_id(1).last_error
        assert _server_deleted(town, gone) == 0
        report = sync_client(ctx).sync(confirm_deletes=True)
        assert report.conflicts == 0 and Outbox.select().count() == 0
    assert _server_deleted(town, gone) == DELETE_LIMIT + 5


def test_a_fifth_of_a_notice_counts_as_many(town, tmp_path):
    from app.notices import NoticeService
    from app.rows import RowInput
    from db.models import Notice
    from sync.client import DELETE_SHARE_MIN, LargeDeletion

    ws0, _ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        notices = NoticeService(ctx)
        big = Notice.get_by_id(_draft_with_rows().id)
        small = notices.create(clerk, notice_type_id=big.notice_type_id, program_id=big.program_id,
                               village_id=big.village_id)
        notices.add_rows(small, clerk, [RowInput(name=f"农户{i}", group_name="一组", amount_fen=100 * i)
                                        for i in range(1, 41)])
        sync_client(ctx).sync()
        # a few rows of it need no confirmation; a fifth of it (and at least ten rows) does
        _delete_rows(ctx, clerk, small, 3)
        assert sync_client(ctx).sync().conflicts == 0
        _delete_rows(ctx, clerk, small, DELETE_SHARE_MIN)  # 10 of the 37 left: 27 %
        with pytest.raises(LargeDeletion) as stopped:
            sync_client(ctx).sync()
        assert stopped.value.notices == {small: (DELETE_SHARE_MIN, 37)}
        sync_client(ctx).sync(confirm_deletes=True)


def test_a_pull_that_would_delete_many_rows_stops_before_applying_them(town, tmp_path):
    from db.models import RosterRow, SyncState
    from sync.client import DELETE_LIMIT, LargeDeletion

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        gone = _delete_rows(ctx, clerk, _draft_with_rows().id, DELETE_LIMIT + 1)
        sync_client(ctx).sync(confirm_deletes=True)
    with opened(ws1) as (ctx, _clerk):
        with pytest.raises(LargeDeletion) as stopped:
            sync_client(ctx).sync()
        assert (stopped.value.direction, stopped.value.count) == ("pull", DELETE_LIMIT + 1)
        alive = RosterRow.select().where(RosterRow.id.in_(gone) & ~RosterRow.deleted).count()
        assert alive == len(gone)  # nothing of that page was applied ...
        before = SyncState.get_by_id(1).last_pulled_seq
        with pytest.raises(LargeDeletion):  # ... and asking again asks again
            sync_client(ctx).sync()
        assert SyncState.get_by_id(1).last_pulled_seq == before
        report = sync_client(ctx).sync(confirm_deletes=True)
        assert report.pulled >= len(gone)
        assert RosterRow.select().where(RosterRow.id.in_(gone) & RosterRow.deleted).count() == len(gone)


def test_the_cli_says_why_in_one_line_and_goes_ahead_with_allow_deletes(town, tmp_path):
    from sync.client import DELETE_LIMIT

    ws0, _ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        gone = _delete_rows(ctx, clerk, _draft_with_rows().id, DELETE_LIMIT + 1)
    stopped = cli("sync", "--data-dir", str(ws0.data_dir))
    assert stopped.returncode == 1 and stopped.stderr.count("\n") == 1
    assert f"{DELETE_LIMIT + 1} 行删除" in stopped.stderr and "--allow-deletes" in stopped.stderr
    assert _server_deleted(town, gone) == 0
    done = cli("sync", "--data-dir", str(ws0.data_dir), "--allow-deletes")
    assert done.returncode == 0, done.stderr
    assert _server_deleted(town, gone) == DELETE_LIMIT + 1


def test_a_usb_bundle_that_would_delete_many_rows_is_not_written_until_confirmed(town, tmp_path):
    from sync.client import DELETE_LIMIT

    ws0, _ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        _delete_rows(ctx, clerk, _draft_with_rows().id, DELETE_LIMIT + 1)
    stick = tmp_path / "stick.gkb"
    stopped = cli("bundle", "export", "--data-dir", str(ws0.data_dir), "-o", str(stick))
    assert stopped.returncode == 1 and stopped.stderr.count("\n") == 1
    assert f"{DELETE_LIMIT + 1} 行删除" in stopped.stderr and "--allow-deletes" in stopped.stderr
    assert not stick.exists()
    done = cli("bundle", "export", "--data-dir", str(ws0.data_dir), "-o", str(stick), "--allow-deletes")
    assert done.returncode == 0, done.stderr
    assert stick.stat().st_size > 0
