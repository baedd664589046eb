"""Sync status, the sync log and the conflict descriptions, without a server."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from app.context import Clock
from app.notices import NoticeService
from app.users import UserService
from db.changes import payload_of
from db.models import Notice, Outbox, SyncProblem, SyncState
from sync.client import ProblemInfo
from sync.conflicts import describe, open_problem_views
from sync.operations import (
    ClockWatch,
    SyncBusy,
    enroll,
    normalise_server_url,
    run_sync,
    sync_in_progress,
)
from sync.status import LOG_LENGTH, SyncRun, queued_changes, record_run, sync_status


def _enrolled(ctx, **state) -> None:
    SyncState.insert(id=1, device_id="dev-1", token="t", server_url="http://county", last_pulled_seq=0,
                     **state).on_conflict_replace().execute()


def test_a_fresh_workstation_is_not_enrolled(ctx):
    s = sync_status(ctx)
    assert (s.enrolled, s.server_url, s.last_success_at, s.last_error, s.queue, s.runs) == (False, "", None, "", 0, ())


def test_the_queue_counts_what_a_push_will_send(demo_ctx):
    county_rows = Outbox.select().where(Outbox.entity.in_(
        ["region", "notice_type", "county_setting", "holiday_override"])).count()
    assert county_rows > 0  # the demo made the county's rows locally; they are never pushed
    assert queued_changes() == Outbox.select().count() - county_rows - Outbox.select().where(
        (Outbox.entity == "program") & Outbox.payload.contains('"township_id":null')).count()


def test_the_log_keeps_the_newest_runs_and_a_later_success_settles_the_error(ctx):
    _enrolled(ctx, last_error="无法连接县级服务器", last_error_at="2026-11-25T01:00:00.000Z")
    record_run(ctx, SyncRun(at="2026-11-25T01:00:00.000Z", kind="sync", ok=False, error="无法连接县级服务器",
                            offline=True, clock_skew=400.0))
    s = sync_status(ctx)
    assert s.offline and s.last_error == "无法连接县级服务器" and s.clock_warning
    record_run(ctx, SyncRun(at="2026-11-25T02:00:00.000Z", kind="sync", ok=True, pushed=3, clock_skew=2.0))
    s = sync_status(ctx)
    assert s.last_success_at == datetime(2026, 11, 25, 2, tzinfo=UTC)
    assert (s.last_error, s.offline, s.clock_warning) == ("", False, False)
    for i in range(LOG_LENGTH + 5):
        record_run(ctx, SyncRun(at=f"2026-11-26T00:00:{i % 60:02d}.000Z", kind="bundle_export", ok=True, pushed=i))
    runs = sync_status(ctx).runs
    assert len(runs) == LOG_LENGTH and runs[0].pushed == LOG_LENGTH + 4


def test_the_server_clock_is_read_from_the_date_header():
    import requests

    watch = ClockWatch(Clock.fixed(datetime(2026, 11, 25, 2, 30, tzinfo=UTC)))
    response = requests.Response()
    response.headers["Date"] = "Wed, 25 Nov 2026 02:00:00 GMT"
    watch._on_response(response)
    assert watch.skew == timedelta(minutes=30).total_seconds()


def test_bad_enrolment_input_is_refused_before_the_network(ctx):
    from app.errors import ValidationError

    with pytest.raises(ValidationError):
        normalise_server_url("county.example")
    assert normalise_server_url(" https://county.example/ ") == "https://county.example"
    with pytest.raises(ValidationError):
        enroll(ctx, "https://county.example", "   ")


def test_a_second_sync_while_one_runs_is_refused_not_doubled(ctx, monkeypatch):
    from sync import operations

    _enrolled(ctx)
    started, release = threading.Event(), threading.Event()

    class SlowClient:
        def __init__(self, *args, **kwargs):
            pass

        def sync(self, progress=None, cancel=None, confirm_deletes=False):
            started.set()
            release.wait(10)
            from sync.client import SyncReport

            return SyncReport(0, 0, 0, 0, 0, 1)

    monkeypatch.setattr(operations, "SyncClient", SlowClient)
    worker = threading.Thread(target=run_sync, args=(ctx,))
    worker.start()
    assert started.wait(10) and sync_in_progress()
    with pytest.raises(SyncBusy):
        run_sync(ctx)
    release.set()
    worker.join(10)
    assert not sync_in_progress()
    assert [r.ok for r in sync_status(ctx).runs] == [True]  # the refused attempt is not a run


def test_a_conflict_is_described_field_by_field(demo_ctx):
    notice = next(s for s in NoticeService(demo_ctx).summaries() if s.status == "draft")
    clerk = next(u for u in UserService(demo_ctx).list() if u.username == "zhangli")
    NoticeService(demo_ctx).update_header(notice.id, clerk.id, title="本机标题")
    mine = payload_of(Notice.get_by_id(notice.id))
    theirs = dict(mine, title="县里标题", version=mine["version"] + 1, updated_at="2026-11-25T03:00:00.000Z")
    SyncProblem.create(kind="conflict", entity="notice", entity_id=notice.id, local_version=mine["version"],
                       server_version=theirs["version"], local_data=None, server_data=theirs,
                       reason="本机有尚未上传的修改", created_at="2026-11-25T03:00:00.000Z")
    [view] = open_problem_views(demo_ctx)
    assert view.choosable and view.entity_label == "公示" and view.title == "本机标题"
    assert [(f.label, f.local, f.server) for f in view.differing] == [("标题", "本机标题", "县里标题")]
    labels = [f.label for f in view.fields]
    assert labels[-2:] == ["版本号", "修改时间"]  # always different, shown last, never marked
    assert "public_snapshot" not in labels and "township_id" not in labels
    status = next(f for f in view.fields if f.key == "status")
    assert status.local == "草稿"
    # a refusal has no county side and cannot be chosen
    rejected = describe(ProblemInfo(99, "rejected", "notice", notice.id, "不属于本乡镇", mine, None))
    assert not rejected.choosable and rejected.differing == ()
