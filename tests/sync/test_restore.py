"""A workstation restored from its own backup, against the real server in a subprocess: what the
clerk does after the restore reaches the county, or is shown as a conflict — never dropped as
"already accepted" because the restored outbox counts its changes with numbers it used before.
"""

from __future__ import annotations

import pytest

from .township import NoKeepAlive, opened, subsidy_notice, sync_client, township


class CountingSession(NoKeepAlive):
    """Counts pushes, and stops a sync that keeps pushing without converging."""

    pushes = 0

    def request(self, method, url, **kwargs):
        if url.endswith("/sync/push"):
            self.pushes += 1
            if self.pushes > 200:
                raise RuntimeError("sync keeps pushing: it does not converge")
        return super().request(method, url, **kwargs)


@pytest.fixture(scope="module")
def town(tmp_path_factory, _demo_today_template):
    with township(tmp_path_factory, _demo_today_template, stations=2) as t:
        yield t


def _draft():
    from peewee import fn

    from db.models import Notice, RosterRow

    return (Notice.select().join(RosterRow).where(Notice.status == "draft")
            .group_by(Notice.id).order_by(fn.COUNT(RosterRow.id).desc()).first())


def _set_amount(ctx, clerk, row_id: str, fen: int) -> None:
    from app.notices import NoticeService
    from app.rows import RowInput

    notices = NoticeService(ctx)
    [view] = notices.rows_by_ids([row_id])
    fields = {f: getattr(view, f) for f in ("name", "id_number", "group_name", "quantity", "rate",
                                            "bank_account", "phone", "remark", "extra")}
    notices.update_row(row_id, clerk, RowInput(**fields, amount_fen=fen))


def test_an_edit_made_after_restoring_a_backup_is_not_dropped(town, tmp_path):
    """backup → set an amount to 1111.11 → sync → restore → set it to 7777.77 → sync: the county
    and the other workstation end with 7777.77 (after the clerk keeps their value in the conflict
    the restore caused)."""
    from app.audit import verify_chain
    from app.maintenance import backup_to, restore_from
    from db.models import AuditEvent, Outbox, RosterRow, SyncProblem
    from sync.client import ConflictService

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        row_id = RosterRow.select().where(RosterRow.notice == _draft().id).order_by(RosterRow.seq).first().id
        backup_to(ctx, tmp_path / "before.sqlite3")
        _set_amount(ctx, clerk, row_id, 1111_11)
        assert sync_client(ctx).sync().conflicts == 0
        restore_from(ctx, tmp_path / "before.sqlite3", None)
    with opened(ws0) as (ctx, clerk):  # the app restarts after a restore
        _set_amount(ctx, clerk, row_id, 7777_77)
        report = sync_client(ctx, CountingSession()).sync()
        # the county holds 1111.11 from before the restore: the clerk decides, nothing is dropped
        assert report.conflicts == 1 and town.server_row(row_id)[1]["amount_fen"] == 1111_11
        [problem] = [p for p in SyncProblem.select() if p.resolved_at is None]
        assert problem.entity_id == row_id and problem.server_data["amount_fen"] == 1111_11
        assert RosterRow.get_by_id(row_id).amount_fen == 7777_77  # what the clerk typed is kept
        ConflictService(ctx).keep_mine(problem.id, clerk)
        sync_client(ctx).sync()
        assert Outbox.select().count() == 0
        assert [p for p in SyncProblem.select() if p.resolved_at is None] == []
        mine = RosterRow.get_by_id(row_id)
        # the backup's audit chain came back whole from the county; the restore began a new one
        assert verify_chain().ok
        assert AuditEvent.select(AuditEvent.workstation_id).distinct().count() >= 3
    version, data = town.server_row(row_id)
    assert data["amount_fen"] == 7777_77 and version == mine.version
    with opened(ws1) as (ctx, _clerk):
        sync_client(ctx).sync()
        assert RosterRow.get_by_id(row_id).amount_fen == 7777_77


def test_a_roster_imported_after_restoring_a_backup_reaches_the_county(town, tmp_path):
    """The same sequence with a 1,000-row roster added in place of the edit: the new notice and all
    its rows reach the county, in a bounded number of requests."""
    from app.maintenance import backup_to, restore_from
    from db.models import Outbox, RosterRow

    ws0, ws1 = town.reset(tmp_path)

    def new_roster(ctx, clerk, seed: int) -> str:
        return subsidy_notice(ctx, clerk, f"补贴名单 {seed}", rows=1000, seed=seed)

    with opened(ws0) as (ctx, clerk):
        backup_to(ctx, tmp_path / "before.sqlite3")
        first = new_roster(ctx, clerk, 1)
        assert sync_client(ctx).sync().conflicts == 0
        restore_from(ctx, tmp_path / "before.sqlite3", None)
    with opened(ws0) as (ctx, clerk):
        second = new_roster(ctx, clerk, 2)
        session = CountingSession()
        report = sync_client(ctx, session).sync()
        assert report.conflicts == 0 and Outbox.select().count() == 0
        assert session.pushes < 20
        # what the county had from before the restore comes back too
        assert RosterRow.select().where(RosterRow.notice == first).count() == 1000
    conn = town.server()
    try:
        counts = {nid: conn.execute("SELECT COUNT(*) FROM sync_row WHERE entity = 'roster_row' AND "
                                    "json_extract(data, '$.notice_id') = ?", (nid,)).fetchone()[0]
                  for nid in (first, second)}
    finally:
        conn.close()
    assert counts == {first: 1000, second: 1000}
