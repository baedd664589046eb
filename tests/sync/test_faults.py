"""SYNC.md fault tests against the real server in a subprocess, through a fault-injecting proxy.

1. connection dropped while the request body is sent → retry → applied exactly once
2. the server commits, then the answer is lost → retry with the same batch id → no duplicates
3. the same batch delivered twice → no-op
10. one invalid change in a batch → the rest are accepted, the bad one is reported
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.faults import FaultProxy

from .test_client import cli, county, enroll_code  # noqa: F401 - fixture


@pytest.fixture
def station(county, demo_dir):  # noqa: F811
    """The demo workstation enrolled directly, then syncing through a proxy."""
    from urllib.parse import urlparse

    from app.context import Context
    from db.connection import close_database, open_database
    from db.models import SyncState

    base, db_url, _ = county
    assert cli("enroll", "--server", base, "--code", enroll_code(db_url), "--data-dir", str(demo_dir)).returncode == 0
    proxy = FaultProxy(urlparse(base).port)
    ctx = Context(db=open_database(demo_dir / "gongkai.sqlite3"), data_dir=demo_dir)
    SyncState.update(server_url=proxy.url).where(SyncState.id == 1).execute()
    yield ctx, proxy, db_url
    proxy.close()
    close_database()


def _server_boards(db_url: str) -> list[str]:
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    return [r[0] for r in conn.execute("SELECT id FROM sync_row WHERE entity != 'audit_event' ORDER BY id")]


def _client(ctx):
    from sync.client import SyncClient

    return SyncClient(ctx, sleep=lambda seconds: None)  # retries without waiting out the backoff


@pytest.mark.parametrize("fault", ["cut_request", "lose_answer", "cut_answer_headers"])
def test_a_lost_request_or_answer_is_retried_and_applied_exactly_once(station, fault):
    from db.models import Outbox, SyncProblem

    ctx, proxy, db_url = station
    queued = Outbox.select().count()
    proxy.faults = [fault, fault]  # the first two connections fail
    client = _client(ctx)
    report = client.sync()
    assert proxy.faults == []  # both faults happened
    assert client.requests >= 2 + 7  # the two failed attempts, the batches and at least one pull
    assert Outbox.select().count() == 0 and SyncProblem.select().count() == 0
    rows = _server_boards(db_url)
    assert len(rows) == len(set(rows))
    assert report.pushed + report.duplicates >= queued - 200  # county rows are never pushed
    again = _client(ctx).sync()
    assert (again.pushed, again.requests) == (0, 1)


def test_one_invalid_change_does_not_block_the_rest(station):
    from db.models import Outbox, SyncProblem

    ctx, proxy, db_url = station
    first = Outbox.select().where(Outbox.entity == "roster_row").order_by(Outbox.seq).first()
    payload = dict(first.payload)
    payload["township_id"] = "another-township"
    Outbox.update(payload=payload).where(Outbox.seq == first.seq).execute()
    report = _client(ctx).sync()
    assert report.rejected == 1 and Outbox.select().count() == 0
    problem = SyncProblem.get(SyncProblem.kind == "rejected")
    assert problem.entity_id == first.entity_id and "属于另一个乡镇" in problem.reason
    assert first.entity_id not in _server_boards(db_url)
    assert _client(ctx).sync().rejected == 0  # later syncs are not blocked


def _outbox_state():
    """The township's own queued changes (county rows are dropped from the queue by design)."""
    from db.models import Outbox
    from sync.protocol import COUNTY_ENTITIES

    return [(e.seq, e.entity_id, e.version) for e in Outbox.select().order_by(Outbox.seq)
            if e.entity not in COUNTY_ENTITIES or e.payload.get("township_id")]


def test_a_revoked_workstation_gets_a_clear_error_and_keeps_its_data(station):
    """Fault test 9 (revoked token)."""
    from app.errors import SyncError
    from db.models import SyncState
    from server import sync_service as svc
    from server.db import database, open_server_database

    ctx, proxy, db_url = station
    before = _outbox_state()
    server_db = open_server_database(db_url)
    with server_db.connection_context():
        svc.revoke(SyncState.get_by_id(1).device_id)
    database.initialize(None)
    with pytest.raises(SyncError, match="停用"):
        _client(ctx).sync()
    assert _outbox_state() == before
    assert "停用" in SyncState.get_by_id(1).last_error


def test_a_protocol_mismatch_applies_nothing(station, monkeypatch):
    """Fault test 9 (protocol version)."""
    from app.errors import SyncError
    from sync import client as sync_client

    ctx, proxy, db_url = station
    before_server = _server_boards(db_url)
    before = _outbox_state()
    monkeypatch.setattr(sync_client, "PROTOCOL_VERSION", 99)
    with pytest.raises(SyncError, match="更新本软件"):
        _client(ctx).sync()
    assert _outbox_state() == before and _server_boards(db_url) == before_server


def test_a_workstation_clock_days_off_changes_no_ordering(station):
    """Fault test 6: ordering comes from the server's sequence, never from client clocks."""
    from datetime import UTC, datetime

    from app.context import Clock, Context
    from app.notices import NoticeService
    from db.models import Notice, User

    ctx, proxy, db_url = station
    _client(ctx).sync()
    skewed = Context(db=ctx.db, data_dir=ctx.data_dir, clock=Clock.fixed(datetime(2026, 1, 3, tzinfo=UTC)))
    draft = Notice.get(Notice.status == "draft")
    clerk = User.get(User.role == "preparer")
    NoticeService(skewed).update_header(draft.id, clerk.id, title="时钟偏差时的修改")
    report = _client(skewed).sync()
    assert report.pushed >= 1 and report.conflicts == 0
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    seq, data = conn.execute("SELECT seq, data FROM sync_row WHERE id = ?", (draft.id,)).fetchone()
    assert "时钟偏差时的修改" in data
    assert seq == conn.execute("SELECT max(seq) FROM sync_row WHERE entity != 'audit_event'").fetchone()[0]


def test_a_pull_killed_midway_resumes_from_its_checkpoint(county, demo_dir, tmp_path):  # noqa: F811
    """Fault test 4: the client is killed (SIGKILL) while pulling; the restart resumes from the
    checkpoint, with nothing lost and nothing applied twice."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    from urllib.parse import urlparse

    base, db_url, _ = county
    assert cli("enroll", "--server", base, "--code", enroll_code(db_url), "--data-dir", str(demo_dir)).returncode == 0
    assert cli("sync", "--data-dir", str(demo_dir)).returncode == 0
    second = tmp_path / "second"
    proxy = FaultProxy(urlparse(base).port, delay=0.05, chunk=4096)  # a slow link
    try:
        assert cli("enroll", "--server", proxy.url, "--code", enroll_code(db_url),
                   "--data-dir", str(second)).returncode == 0
        root = Path(__file__).resolve().parents[2]
        proc = subprocess.Popen([sys.executable, "main.py", "sync", "--data-dir", str(second)], cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        db = second / "gongkai.sqlite3"
        deadline = time.monotonic() + 60
        checkpoint = 0
        while time.monotonic() < deadline and checkpoint == 0:  # wait for the first page to commit
            time.sleep(0.05)
            try:
                checkpoint = sqlite3.connect(db).execute("SELECT last_pulled_seq FROM sync_state").fetchone()[0]
            except sqlite3.OperationalError:
                pass
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        conn = sqlite3.connect(db)
        checkpoint = conn.execute("SELECT last_pulled_seq FROM sync_state").fetchone()[0]
        partial = conn.execute("SELECT count(*) FROM roster_row").fetchone()[0]
        conn.close()
        assert checkpoint > 0, "the sync finished or never started before the kill"
        proxy.delay = 0  # the link recovers
        assert cli("sync", "--data-dir", str(second)).returncode == 0
    finally:
        proxy.close()
    conn = sqlite3.connect(second / "gongkai.sqlite3")
    total = conn.execute("SELECT count(*) FROM roster_row").fetchone()[0]
    mine = sqlite3.connect(demo_dir / "gongkai.sqlite3").execute("SELECT count(*) FROM roster_row").fetchone()[0]
    assert partial < total == mine
    assert cli("verify", "--data-dir", str(second)).returncode == 0
