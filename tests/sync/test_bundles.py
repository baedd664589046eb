"""USB bundles: workstation → county → workstation, without a network between them."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest

from .test_client import cli, county, enroll_code, notices  # noqa: F401 - fixture

COUNTY_ROWS = "SELECT count(*) FROM sync_row"


def _county_rows(db_url: str) -> int:
    return sqlite3.connect(db_url.removeprefix("sqlite:///")).execute(COUNTY_ROWS).fetchone()[0]


@pytest.fixture
def enrolled(county, demo_dir):  # noqa: F811
    base, db_url, township_id = county
    out = cli("enroll", "--server", base, "--code", enroll_code(db_url), "--data-dir", str(demo_dir))
    assert out.returncode == 0, out.stderr
    return db_url


def test_a_full_usb_cycle_and_replays_that_apply_once(enrolled, demo_dir, tmp_path):
    db_url = enrolled
    stick = tmp_path / "stick.gkb"
    out = cli("bundle", "export", "--data-dir", str(demo_dir), "-o", str(stick))
    assert out.returncode == 0, out.stderr and "stick can be removed" in out.stdout
    before = _county_rows(db_url)
    first = cli("bundle", "import", str(stick), "--db", db_url, "-o", str(tmp_path / "reply.gkb"))
    assert first.returncode == 0, first.stderr
    after = _county_rows(db_url)
    assert after > before + 2500
    # the same bundle again: applied once
    assert int(first.stdout.split()[1]) > 2500 and "already" not in first.stdout
    again = cli("bundle", "import", str(stick), "--db", db_url, "-o", str(tmp_path / "reply2.gkb"))
    assert again.returncode == 0 and _county_rows(db_url) == after
    # and the county says so, instead of counting the changes as applied again
    assert again.stdout.startswith("applied 0 changes (") and "already applied" in again.stdout
    done = cli("bundle", "import", str(tmp_path / "reply.gkb"), "--data-dir", str(demo_dir))
    assert done.returncode == 0, done.stderr
    assert "0 conflicts, 0 refused" in done.stdout
    outbox = sqlite3.connect(demo_dir / "gongkai.sqlite3").execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert outbox == 0
    # the reply again changes nothing, and the workstation is sound
    snapshot = notices(demo_dir)
    assert cli("bundle", "import", str(tmp_path / "reply.gkb"), "--data-dir", str(demo_dir)).returncode == 0
    assert notices(demo_dir) == snapshot
    assert cli("verify", "--data-dir", str(demo_dir)).returncode == 0


def _rewrite(src: Path, dst: Path, change) -> None:
    data = gzip.decompress(src.read_bytes())
    dst.write_bytes(gzip.compress(change(data)))


def test_tampered_truncated_and_foreign_bundles_are_refused_and_change_nothing(enrolled, demo_dir, tmp_path):
    db_url = enrolled
    stick = tmp_path / "stick.gkb"
    assert cli("bundle", "export", "--data-dir", str(demo_dir), "-o", str(stick)).returncode == 0
    before = _county_rows(db_url)
    tampered = tmp_path / "tampered.gkb"
    _rewrite(stick, tampered, lambda d: d.replace(b"103.55", b"203.55", 1))
    truncated = tmp_path / "truncated.gkb"
    truncated.write_bytes(stick.read_bytes()[: stick.stat().st_size // 2])
    foreign = tmp_path / "foreign.gkb"
    _rewrite(stick, foreign, lambda d: d.replace(b'"device_id": "', b'"device_id": "x', 1))
    garbage = tmp_path / "garbage.gkb"
    garbage.write_bytes(b"not a bundle at all")
    for bad, words in ((tampered, "校验失败"), (truncated, "损坏或不完整"), (foreign, "未注册或已停用"),
                       (garbage, "损坏或不完整")):
        out = cli("bundle", "import", str(bad), "--db", db_url, "-o", str(tmp_path / "r.gkb"))
        assert out.returncode == 1 and words in out.stderr, (bad.name, out.stderr)
        assert out.stderr.count("\n") == 1
    assert _county_rows(db_url) == before
    # a request bundle is not a reply
    wrong = cli("bundle", "import", str(stick), "--data-dir", str(demo_dir))
    assert wrong.returncode == 1 and "不是这一步需要的同步文件" in wrong.stderr


def test_a_bundle_the_county_applied_and_an_online_sync_cut_differently_raise_no_conflicts(
        county, enrolled, demo_dir, tmp_path, monkeypatch):  # noqa: F811
    """The stick reached the county but its reply never came back; meanwhile the clerk kept
    working, so the online sync cuts the same changes into other batches. The county has each row
    at its newest version already: older versions in earlier batches are steps of our own
    history, not conflicts for the clerk."""
    import sync.client
    from app.cli import open_context
    from app.notices import NoticeService
    from db.connection import close_database
    from db.models import Notice, Outbox, SyncProblem, User
    from sync.client import SyncClient

    stick = tmp_path / "stick.gkb"
    assert cli("bundle", "export", "--data-dir", str(demo_dir), "-o", str(stick)).returncode == 0
    applied = cli("bundle", "import", str(stick), "--db", enrolled, "-o", str(tmp_path / "reply.gkb"))
    assert applied.returncode == 0, applied.stderr
    ctx = open_context(str(demo_dir))
    try:
        clerk = User.get(User.username == "zhangli").id
        NoticeService(ctx).update_header(Notice.get(Notice.status == "draft").id, clerk, title="改过的标题")
        monkeypatch.setattr(sync.client, "MAX_BATCH_CHANGES", 97)
        report = SyncClient(ctx).sync(confirm_deletes=True)
        assert (report.conflicts, report.rejected) == (0, 0)
        assert SyncProblem.select().count() == 0 and Outbox.select().count() == 0
    finally:
        close_database()
    second = tmp_path / "second"
    assert cli("enroll", "--server", county[0], "--code", enroll_code(enrolled),
               "--data-dir", str(second)).returncode == 0
    assert cli("sync", "--data-dir", str(second)).returncode == 0
    assert notices(second) == notices(demo_dir)


def test_a_fresh_workstation_sends_its_deletions_only_in_the_bundle_after_a_full_reply(
        enrolled, demo_dir, tmp_path):
    """As online: before it has everything the county holds, a workstation's bundle carries no
    deletions; the reply brings everything, and the next bundle carries them."""
    from app.cli import open_context
    from app.notices import NoticeService
    from db.connection import close_database
    from db.models import Notice, User
    from sync.client import SyncClient

    ctx = open_context(str(demo_dir))
    try:
        clerk = User.get(User.username == "zhangli").id
        draft = Notice.get(Notice.status == "draft")
        row = NoticeService(ctx).rows(draft.id, 0, 1)[0]
        NoticeService(ctx).delete_row(row.id, clerk)
        client = SyncClient(ctx)
        first = client.export_bundle(tmp_path / "first.gkb")
        county = cli("bundle", "import", str(tmp_path / "first.gkb"), "--db", enrolled, "-o", str(tmp_path / "r1.gkb"))
        assert county.returncode == 0, county.stderr
        client.import_reply(tmp_path / "r1.gkb")
        assert _county_row_deleted(enrolled, row.id) is False  # the county still lists the row
        second = client.export_bundle(tmp_path / "second.gkb")
        assert first > 2500 and second == 1  # the deletion, held back until now
    finally:
        close_database()
    county = cli("bundle", "import", str(tmp_path / "second.gkb"), "--db", enrolled, "-o", str(tmp_path / "r2.gkb"))
    assert county.returncode == 0, county.stderr
    assert _county_row_deleted(enrolled, row.id) is True


def _county_row_deleted(db_url: str, row_id: str) -> bool | None:
    found = sqlite3.connect(db_url.removeprefix("sqlite:///")).execute(
        "SELECT deleted FROM sync_row WHERE id = ?", (row_id,)).fetchone()
    return None if found is None else bool(found[0])


def _set_public_url(db_url: str, url: str) -> None:
    from server.county import set_county_setting
    from server.db import database, open_server_database

    db = open_server_database(db_url)
    try:
        with db.connection_context():
            set_county_setting("public_url", url)
    finally:
        db.close()
        database.initialize(None)


def _public_url(data: Path) -> str:
    row = sqlite3.connect(data / "gongkai.sqlite3").execute(
        "SELECT json_extract(value, '$') FROM county_setting WHERE key = 'public_url'").fetchone()
    return row[0]


def test_an_older_county_reply_is_refused_and_changes_nothing(enrolled, demo_dir, tmp_path):
    """Two USB cycles; the county moves its public URL in between. The older reply, imported
    after the newer one (or again after an online sync), would roll the setting back: it is
    refused with a clear message and the workstation keeps the newer data."""
    db_url = enrolled
    replies = []
    for i, url in enumerate(("http://county.example/one", "http://county.example/two")):
        _set_public_url(db_url, url)
        stick, reply = tmp_path / f"stick{i}.gkb", tmp_path / f"reply{i}.gkb"
        assert cli("bundle", "export", "--data-dir", str(demo_dir), "-o", str(stick)).returncode == 0
        assert cli("bundle", "import", str(stick), "--db", db_url, "-o", str(reply)).returncode == 0
        replies.append(reply)
    newer = cli("bundle", "import", str(replies[1]), "--data-dir", str(demo_dir))
    assert newer.returncode == 0, newer.stderr
    assert _public_url(demo_dir) == "http://county.example/two"
    snapshot = notices(demo_dir)
    older = cli("bundle", "import", str(replies[0]), "--data-dir", str(demo_dir))
    assert older.returncode != 0 and "较早" in older.stderr and "未做任何更改" in older.stderr
    assert "Error" not in older.stderr  # a message for the clerk, not a traceback
    assert _public_url(demo_dir) == "http://county.example/two" and notices(demo_dir) == snapshot
    # the newest reply again changes nothing
    assert cli("bundle", "import", str(replies[1]), "--data-dir", str(demo_dir)).returncode == 0
    assert _public_url(demo_dir) == "http://county.example/two"
