"""The sync client against the real county server running in a subprocess."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import county_server

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def county(tmp_path, demo_dir):
    """A county server (SQLite) that knows the demo township; yields (base URL, db URL, township id)."""
    import sqlite3

    township_id = sqlite3.connect(demo_dir / "gongkai.sqlite3").execute(
        "SELECT json_extract(value, '$') FROM local_setting WHERE key = 'township_id'").fetchone()[0]
    db_url = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    # the county holds the reference data the demo township works with: its villages and programs
    code = """
import sys, sqlite3, json
from server.db import open_server_database
from server.county import init_county, add_township
from server import sync_service as svc
open_server_database(sys.argv[1])
init_county("539901000000", "云岭县", "http://127.0.0.1:8765")
add_township("539901101000", "石门镇", township_id=sys.argv[2])
demo = sqlite3.connect(sys.argv[3])
for entity, payload in demo.execute(
        "SELECT entity, payload FROM outbox WHERE entity IN ('region', 'program') ORDER BY seq"):
    data = json.loads(payload)
    if data["id"] != sys.argv[2] and data.get("level") != "county":
        svc.put_county_row(entity, data["id"], data)
"""
    subprocess.run([sys.executable, "-c", code, db_url, township_id, str(demo_dir / "gongkai.sqlite3")],
                   cwd=ROOT, check=True)
    with county_server(db_url) as base:
        yield base, db_url, township_id


def enroll_code(db_url: str) -> str:
    out = cli("county", "enroll-code", "--db", db_url, "--township", "539901101000")
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def notices(data: Path) -> list[dict]:
    return json.loads(cli("notices", "--data-dir", str(data), "--json").stdout)


def test_a_township_syncs_and_a_second_workstation_sees_everything(county, demo_dir, tmp_path):
    base, db_url, township_id = county
    out = cli("enroll", "--server", base, "--code", enroll_code(db_url), "--data-dir", str(demo_dir))
    assert out.returncode == 0, out.stderr
    first = cli("sync", "--data-dir", str(demo_dir))
    assert first.returncode == 0, first.stderr
    assert "0 refused" in first.stdout and "0 conflicts" in first.stdout
    # what it sent does not come back: it receives the county's reference data and the township's
    # directory of workstations only
    sent, received = map(int, re.search(r"(\d+) sent, (\d+) received", first.stdout).groups())
    county_rows = sqlite3.connect(db_url.removeprefix("sqlite:///")).execute(
        "SELECT COUNT(*) FROM sync_row WHERE township_id IS NULL OR entity = 'workstation'").fetchone()[0]
    assert sent > 1000 and received == county_rows, first.stdout
    # an idle sync is one small request: nothing to push, one empty pull
    idle = cli("sync", "--data-dir", str(demo_dir))
    assert "0 sent" in idle.stdout and "(1 requests)" in idle.stdout

    second = tmp_path / "second"
    out = cli("enroll", "--server", base, "--code", enroll_code(db_url), "--data-dir", str(second))
    assert out.returncode == 0, out.stderr
    assert cli("sync", "--data-dir", str(second)).returncode == 0
    mine = sorted((n["id"], n["status"], n["rows"], n["total_fen"]) for n in notices(demo_dir))
    theirs = sorted((n["id"], n["status"], n["rows"], n["total_fen"]) for n in notices(second))
    assert theirs == mine
    # photos travel with the sync; the second workstation fetches them when it needs them
    from app.context import Context
    from db.connection import close_database, open_database
    from db.models import EvidenceFile
    from sync.client import SyncClient

    ctx = Context(db=open_database(second / "gongkai.sqlite3"), data_dir=second)
    photos = {e.sha256 for e in EvidenceFile.select()}
    assert photos and all(SyncClient(ctx).fetch_photo(p) for p in photos)
    close_database()
    verify = cli("verify", "--data-dir", str(second))
    assert verify.returncode == 0, verify.stderr
    assert "warning" not in verify.stderr  # every photo is on this workstation now


def test_a_used_code_and_an_unreachable_server_fail_with_one_line(county, demo_dir, tmp_path):
    base, db_url, _ = county
    code = enroll_code(db_url)
    assert cli("enroll", "--server", base, "--code", code, "--data-dir", str(demo_dir)).returncode == 0
    again = cli("enroll", "--server", base, "--code", code, "--data-dir", str(tmp_path / "x"))
    assert again.returncode == 1 and "注册码无效" in again.stderr and again.stderr.count("\n") == 1
    nowhere = cli("enroll", "--server", "http://127.0.0.1:9", "--code", "ABCD-EFGH-JKLM",
                  "--data-dir", str(tmp_path / "y"))
    assert nowhere.returncode == 1 and "无法连接" in nowhere.stderr


def test_two_workstations_recording_one_posting_get_a_conflict_not_a_silent_overwrite(county, demo_dir, tmp_path):
    """A notice has one writer, but the township's other records do not: two clerks record the
    same posting taken down, on different days. The second workstation gets a conflict with both
    dates, not a silent overwrite."""
    from datetime import date

    from app.boards import BoardService
    from app.context import Context
    from db.connection import close_database, open_database
    from db.models import Posting, SyncProblem, User
    from sync.client import SyncClient

    base, db_url, _ = county
    second = tmp_path / "second"
    for data in (demo_dir, second):
        assert cli("enroll", "--server", base, "--code", enroll_code(db_url), "--data-dir", str(data)).returncode == 0
        assert cli("sync", "--data-dir", str(data)).returncode == 0

    def take_down(data: Path, day: date) -> str:
        ctx = Context(db=open_database(data / "gongkai.sqlite3"), data_dir=data)
        posting = Posting.select().where(Posting.taken_down_on.is_null()).order_by(Posting.id).first()
        clerk = User.get_or_none(User.role == "preparer")
        if clerk is None:  # the second workstation has no accounts of its own yet
            from app.users import UserService

            clerk = User.get_by_id(UserService(ctx).create("clerk2", "经办乙", "preparer", "long enough").id)
        BoardService(ctx).take_down(posting.id, clerk.id, day)
        SyncClient(ctx).sync()
        close_database()
        return posting.id

    posting_id = take_down(demo_dir, date(2026, 11, 20))
    take_down(second, date(2026, 11, 21))
    open_database(second / "gongkai.sqlite3")
    problem = SyncProblem.get(SyncProblem.entity_id == posting_id)
    assert problem.kind == "conflict"
    assert problem.server_data["taken_down_on"] == "2026-11-20"
    assert problem.local_data["taken_down_on"] == "2026-11-21"
    close_database()


@pytest.mark.parametrize("choice", ["keep_mine", "take_theirs"])
def test_the_clerk_resolves_a_conflict_and_both_workstations_agree(county, demo_dir, tmp_path, choice):
    from datetime import date

    from app.boards import BoardService
    from app.context import Context
    from app.users import UserService
    from db.connection import close_database, open_database
    from db.models import Posting, User
    from sync.client import ConflictService, SyncClient

    base, db_url, _ = county
    second = tmp_path / "second"
    for data in (demo_dir, second):
        assert cli("enroll", "--server", base, "--code", enroll_code(db_url), "--data-dir", str(data)).returncode == 0
        assert cli("sync", "--data-dir", str(data)).returncode == 0

    def session(data: Path):
        ctx = Context(db=open_database(data / "gongkai.sqlite3"), data_dir=data)
        clerk = User.get_or_none(User.role == "preparer") or User.get_by_id(
            UserService(ctx).create("clerk2", "经办乙", "preparer", "long enough").id)
        return ctx, clerk

    ctx, clerk = session(demo_dir)
    posting = Posting.select().where(Posting.taken_down_on.is_null()).order_by(Posting.id).first().id
    BoardService(ctx).take_down(posting, clerk.id, date(2026, 11, 20))
    SyncClient(ctx).sync()
    close_database()

    ctx, clerk = session(second)
    BoardService(ctx).take_down(posting, clerk.id, date(2026, 11, 21))
    SyncClient(ctx).sync()
    conflicts = ConflictService(ctx)
    [problem] = conflicts.open_problems()
    getattr(conflicts, choice)(problem.id, clerk)
    report = SyncClient(ctx).sync()
    assert report.conflicts == 0 and conflicts.open_problems() == []
    expected = date(2026, 11, 21) if choice == "keep_mine" else date(2026, 11, 20)
    assert Posting.get_by_id(posting).taken_down_on == expected
    close_database()

    ctx, clerk = session(demo_dir)
    SyncClient(ctx).sync()
    assert Posting.get_by_id(posting).taken_down_on == expected
    close_database()
    for data in (demo_dir, second):
        assert cli("verify", "--data-dir", str(data)).returncode == 0
