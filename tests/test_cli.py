"""The command line as scripts and schedulers use it: real subprocesses on a real data folder."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def notices(data: Path) -> list[dict]:
    return json.loads(run("notices", "--data-dir", str(data), "--json", check=True).stdout)


def test_demo_creates_a_township_with_notices_in_every_state(tmp_path):
    data = tmp_path / "d"
    out = run("demo", "--data-dir", str(data), "--json", check=True)
    summary = json.loads(out.stdout)
    assert summary["villages"] >= 8
    items = notices(data)
    assert {"draft", "in_review", "approved", "published", "closed", "withdrawn", "superseded"} <= {
        n["status"] for n in items}
    assert sum(n["rows"] for n in items) >= 2000
    assert {"subsidy_payout", "poverty_household", "poverty_project", "land_preannouncement",
            "land_compensation_plan"} <= {n["type"] for n in items}
    first = items[0]
    assert set(first) >= {"id", "title", "type", "status", "village", "version", "posting_start",
                          "posting_end", "rows", "total_fen"}
    corrected = [n for n in items if n["version"] == 2]
    assert corrected and corrected[0]["status"] == "published"
    # a second demo into the same folder is refused, and changes nothing
    again = run("demo", "--data-dir", str(data))
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert notices(data) == items


def test_list_commands_print_reference_data_with_ids_and_codes(demo_dir):
    townships = json.loads(run("list", "townships", "--data-dir", str(demo_dir), "--json", check=True).stdout)
    assert [t["code"] for t in townships] == ["539901101000"]
    villages = json.loads(run("list", "villages", "--data-dir", str(demo_dir), "--json", check=True).stdout)
    assert len(villages) == 9 and all(len(v["code"]) == 12 for v in villages)
    assert all(v["parent_id"] == townships[0]["id"] for v in villages)
    programs = json.loads(run("list", "programs", "--data-dir", str(demo_dir), "--json", check=True).stdout)
    assert {p["category"] for p in programs} == {"subsidy", "poverty_fund", "land"}
    boards = json.loads(run("list", "boards", "--data-dir", str(demo_dir), "--json", check=True).stdout)
    assert len(boards) == 10
    users = json.loads(run("list", "users", "--data-dir", str(demo_dir), "--json", check=True).stdout)
    assert {u["role"] for u in users} == {"admin", "preparer", "reviewer"}
    assert all("password" not in json.dumps(u) for u in users)


def test_verify_passes_on_a_sound_database(demo_dir):
    out = run("verify", "--data-dir", str(demo_dir))
    assert out.returncode == 0, out.stderr
    assert "audit events" in out.stdout


def _published_row(db: Path) -> tuple[str, str]:
    conn = sqlite3.connect(db)
    row = conn.execute(
        "SELECT r.id, n.id FROM roster_row r JOIN notice n ON r.notice_id = n.id "
        "WHERE n.status = 'published' ORDER BY r.seq LIMIT 1").fetchone()
    conn.close()
    return row


@pytest.mark.parametrize("column, value", [("amount_fen", "amount_fen + 100"), ("id_number", "'110105194912310021'"),
                                           ("name", "'张冒名'")])
def test_changing_a_published_roster_row_in_sqlite_is_detected(demo_dir, column, value):
    db = demo_dir / "gongkai.sqlite3"
    row_id, notice_id = _published_row(db)
    conn = sqlite3.connect(db)
    conn.execute(f"UPDATE roster_row SET {column} = {value} WHERE id = ?", (row_id,))
    conn.commit()
    conn.close()
    out = run("verify", "--data-dir", str(demo_dir))
    assert out.returncode == 1
    assert notice_id in out.stderr and "changed after publishing" in out.stderr


@pytest.mark.parametrize("change, says", [
    ("UPDATE notice SET posting_end = date(posting_end, '-5 days') WHERE id = :id", "posting dates differ"),
    ("UPDATE notice SET status = 'closed' WHERE id = :id", "status closed was not given by any action"),
    # the publish event and everything after it: the chain itself still links up
    ("DELETE FROM audit_event WHERE seq >= (SELECT seq FROM audit_event WHERE object_id = :id "
     "AND action = 'notice.publish')", "status published was not given by any action"),
])
def test_changing_a_published_notice_behind_the_audit_log_is_detected(demo_dir, change, says):
    """A back-dated posting end would allow an early close; a status set in SQLite skips the rules."""
    db = demo_dir / "gongkai.sqlite3"
    _row, notice_id = _published_row(db)
    conn = sqlite3.connect(db)
    assert conn.execute(change, {"id": notice_id}).rowcount >= 1
    conn.commit()
    conn.close()
    out = run("verify", "--data-dir", str(demo_dir))
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert notice_id in out.stderr and says in out.stderr


def test_changing_an_audit_event_in_sqlite_is_detected(demo_dir):
    db = demo_dir / "gongkai.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE audit_event SET username = 'someone' WHERE seq = 10")
    conn.commit()
    conn.close()
    out = run("verify", "--data-dir", str(demo_dir))
    assert out.returncode == 1
    assert "audit chain broken at event 10" in out.stderr


def test_deleting_an_audit_event_is_detected(demo_dir):
    conn = sqlite3.connect(demo_dir / "gongkai.sqlite3")
    conn.execute("DELETE FROM audit_event WHERE seq = 5")
    conn.commit()
    conn.close()
    out = run("verify", "--data-dir", str(demo_dir))
    assert out.returncode == 1 and "event 5" in out.stderr


def test_backup_and_restore_round_trip(demo_dir, tmp_path):
    backup = tmp_path / "b.sqlite3"
    run("backup", "--data-dir", str(demo_dir), "-o", str(backup), check=True)
    before = notices(demo_dir)
    conn = sqlite3.connect(demo_dir / "gongkai.sqlite3")
    conn.execute("UPDATE notice SET title = '被改动' WHERE status = 'draft'")
    conn.commit()
    conn.close()
    assert notices(demo_dir) != before
    out = run("restore", "--data-dir", str(demo_dir), str(backup), check=True)
    assert "restored" in out.stdout
    assert notices(demo_dir) == before
    assert list((demo_dir / "backups").glob("before-restore-*.sqlite3"))
    assert run("verify", "--data-dir", str(demo_dir)).returncode == 0
    conn = sqlite3.connect(demo_dir / "gongkai.sqlite3")
    restored = conn.execute("SELECT summary FROM audit_event WHERE action = 'database.restore'").fetchall()
    conn.close()
    assert len(restored) == 1 and "b.sqlite3" in restored[0][0] and "command line" in restored[0][0]


def test_a_backup_goes_where_the_user_says_without_touching_the_folder(demo_dir, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    out = run("--data-dir", str(demo_dir), "backup", "-o", str(shared / "b.sqlite3"), check=True)
    assert "backup written" in out.stdout
    assert shared.stat().st_mode & 0o777 == 0o755  # a folder the user chose keeps its permissions
    assert (shared / "b.sqlite3").stat().st_mode & 0o777 == 0o600  # the copy holds personal data
    conn = sqlite3.connect(demo_dir / "gongkai.sqlite3")
    assert conn.execute("SELECT count(*) FROM audit_event WHERE action = 'database.backup'").fetchone()[0] == 1
    conn.close()
    # a folder as the file name, or a place that cannot be written: one line, and nothing left behind
    for target in (shared, Path("/proc/no-such-process/b.sqlite3")):
        failed = run("backup", "--data-dir", str(demo_dir), "-o", str(target))
        assert failed.returncode == 1 and failed.stderr.count("\n") == 1, failed.stderr
        assert failed.stderr.startswith("error: ") and str(target.parent if target != shared else target) in failed.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []
    assert sorted(p.name for p in shared.iterdir()) == ["b.sqlite3"]


def test_restoring_a_broken_file_is_refused_and_changes_nothing(demo_dir, tmp_path):
    before = notices(demo_dir)
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)
    out = run("restore", "--data-dir", str(demo_dir), str(bad))
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
    assert notices(demo_dir) == before


def test_commands_on_a_missing_data_folder_fail_with_one_line(tmp_path):
    out = run("notices", "--data-dir", str(tmp_path / "nothing"), "--json")
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for args in (("demo",), ("notices",), ("restore", str(a_file))):
        out = run(*args, "--data-dir", str(a_file))
        assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
        assert str(a_file) in out.stderr or "a-file" in out.stderr
    assert a_file.read_text() == "x"


def test_the_data_folder_may_be_given_before_the_command(demo_dir, tmp_path, monkeypatch):
    expected = notices(demo_dir)
    before = json.loads(run("--data-dir", str(demo_dir), "notices", "--json", check=True).stdout)
    assert before == expected
    # a demo asked for with the folder first goes to that folder, not to the user data folder
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    run("--data-dir", str(tmp_path / "fresh"), "demo", check=True)
    assert (tmp_path / "fresh" / "gongkai.sqlite3").exists() and not (tmp_path / "home").exists()


def test_print_commands_write_real_pdfs(demo_dir, tmp_path):
    from pypdf import PdfReader

    items = notices(demo_dir)
    published = next(n for n in items if n["status"] == "published" and n["type"] == "subsidy_payout")
    out = tmp_path / "n.pdf"
    run("print", published["id"], "--data-dir", str(demo_dir), "-o", str(out), check=True)
    text = "".join(p.extract_text() for p in PdfReader(out).pages)
    assert published["title"].replace("（更正）", "") in text.replace("\n", "")
    # another process prints the very same bytes, so a layout change shows up as a diff
    again = tmp_path / "n-again.pdf"
    run("print", published["id"], "--data-dir", str(demo_dir), "-o", str(again), check=True)
    assert again.read_bytes() == out.read_bytes()
    programs = json.loads(run("list", "programs", "--data-dir", str(demo_dir), "--json", check=True).stdout)
    soil = next(p for p in programs if p["notice_type"] == "subsidy_payout")
    folder = tmp_path / "villages"
    result = run("print", "--program", soil["id"], "--per-village", "--data-dir", str(demo_dir), "-o", str(folder),
                 check=True)
    pdfs = sorted(p.name for p in folder.glob("*.pdf"))
    assert pdfs[0] == "00-打印清单.pdf" and len(pdfs) >= 4 and "notices printed" in result.stdout
    boards = json.loads(run("list", "boards", "--data-dir", str(demo_dir), "--json", check=True).stdout)
    sheet = tmp_path / "board.pdf"
    run("print-board", boards[0]["id"], "--data-dir", str(demo_dir), "-o", str(sheet), check=True)
    assert len(PdfReader(sheet).pages) == 1
    missing = run("print", "no-such-notice", "--data-dir", str(demo_dir), "-o", str(tmp_path / "x.pdf"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    # the wide project list goes landscape by itself, and portrait when asked
    projects = next(n for n in items if n["type"] == "poverty_project" and n["status"] == "published")
    auto = run("print", projects["id"], "--data-dir", str(demo_dir), "-o", str(tmp_path / "p.pdf"), check=True)
    assert "(A4 landscape)" in auto.stdout
    forced = run("print", projects["id"], "--data-dir", str(demo_dir), "-o", str(tmp_path / "p.pdf"),
                 "--paper", "a4", "--portrait", check=True)
    assert "(A4 portrait)" in forced.stdout
    box = PdfReader(tmp_path / "p.pdf").pages[0].mediabox
    assert box.height > box.width
    # a folder that cannot be made: one line naming it
    failed = run("print", "--program", soil["id"], "--per-village", "--data-dir", str(demo_dir),
                 "-o", "/proc/no-such-process/out")
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1 and "/proc/no-such-process" in failed.stderr


def _add_objection(data: Path, notice_id: str) -> None:
    """An objection that arrived after the notice closed (recorded by phone), through the service."""
    from app.context import Clock, Context
    from app.objections import ObjectionService
    from db.connection import DB_FILENAME, close_database, open_database
    from db.models import User

    from .conftest import FIXED_NOW

    ctx = Context(db=open_database(data / DB_FILENAME), data_dir=data, clock=Clock.fixed(FIXED_NOW))
    try:
        clerk = User.get(User.username == "zhangli")
        ObjectionService(ctx).record(notice_id, clerk.id, channel="phone", content="我家的补贴面积少算了")
    finally:
        close_database()


def test_the_payment_file_only_for_a_closed_notice_without_open_objections(demo_dir, tmp_path):
    items = notices(demo_dir)
    draft = next(n for n in items if n["status"] == "draft")
    refused = run("export", draft["id"], "--view", "payment", "--data-dir", str(demo_dir), "-o", str(tmp_path / "d.xlsx"))
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("error: ") and "还没有发布（当前状态：草稿）" in refused.stderr
    assert not list(tmp_path.glob("d.xlsx*"))

    first, second = [n for n in items if n["status"] == "closed" and n["type"] == "subsidy_payout"][:2]
    out = tmp_path / "pay.xlsx"
    done = run("export", first["id"], "--view", "payment", "--user", "wangqiang", "--data-dir", str(demo_dir),
               "-o", str(out), check=True)
    assert out.exists() and f"exported {first['rows']} rows (payment)" in done.stdout
    conn = sqlite3.connect(demo_dir / "gongkai.sqlite3")
    try:
        [(who, summary)] = conn.execute("SELECT username, summary FROM audit_event WHERE action = 'export.payment' "
                                        "AND object_id = ?", (first["id"],)).fetchall()
    finally:
        conn.close()
    assert who == "wangqiang"
    assert json.loads(summary) == {"payments": first["rows"], "total_fen": first["total_fen"], "file": "pay.xlsx"}

    _add_objection(demo_dir, second["id"])
    late = run("export", second["id"], "--view", "payment", "--data-dir", str(demo_dir), "-o", str(tmp_path / "s.xlsx"))
    assert late.returncode == 1 and late.stderr.count("\n") == 1 and "还有 1 条异议未办结" in late.stderr
    assert not list(tmp_path.glob("s.xlsx*"))


def test_an_unexpected_failure_is_one_line_and_its_details_hold_no_personal_data(demo_dir, capsys, monkeypatch):
    """A bug is a fault that is hard to cause for real: a command's handler is made to fail."""
    import app.cli

    def broken(args):
        raise RuntimeError("张三 110105194912310021 13812345678")

    monkeypatch.setattr(app.cli, "cmd_notices", broken)
    assert app.cli.main(["notices", "--data-dir", str(demo_dir)]) == 1
    err = capsys.readouterr().err
    assert err == "error: unexpected RuntimeError (run again with -v for details)\n"
    assert app.cli.main(["notices", "--data-dir", str(demo_dir), "-v"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError" in err
    assert "110105194912310021" not in err and "13812345678" not in err and "张三" not in err
