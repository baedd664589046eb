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


def test_print_commands_write_real_pdfs(demo_dir, tmp_path):
    from pypdf import PdfReader

    items = notices(demo_dir)
    published = next(n for n in items if n["status"] == "published" and n["type"] == "subsidy_payout")
    out = tmp_path / "n.pdf"
    run("print", published["id"], "--data-dir", str(demo_dir), "-o", str(out), check=True)
    text = "".join(p.extract_text() for p in PdfReader(out).pages)
    assert published["title"].replace("（更正）", "") in text.replace("\n", "")
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
