"""A multi-row change killed with SIGKILL half-way leaves all of it or none of it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = 100_000

WORKER = f"""
import sys, random
from decimal import Decimal
from pathlib import Path
from app.context import Context
from app.demo import make_id_number, make_name
from app.money import compute_amount_fen
from app.notices import NoticeService
from app.rows import RowInput
from db.connection import open_database
from db.models import Notice, User

data = Path(sys.argv[1])
ctx = Context(db=open_database(data / "gongkai.sqlite3"), data_dir=data)
notice = Notice.get(Notice.status == "draft")
clerk = User.get(User.role == "preparer")
rng = random.Random(5)
rows = []
for _ in range({ROWS}):
    q = Decimal(rng.randrange(50, 2000)) / 100
    rows.append(RowInput(name=make_name(rng), id_number=make_id_number(rng), group_name="一组",
                         quantity=q, rate=Decimal("103.55"), amount_fen=compute_amount_fen(q, Decimal("103.55"))))
print(notice.id, flush=True)
NoticeService(ctx).add_rows(notice.id, clerk.id, rows)
print("committed", flush=True)
"""


def _counts(db: Path, notice_id: str) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT count(*) FROM roster_row WHERE notice_id = ?", (notice_id,)).fetchone()[0]
    outbox = conn.execute("SELECT count(*) FROM outbox WHERE entity = 'roster_row'").fetchone()[0]
    conn.close()
    return rows, outbox


def _kill_midway(demo_dir: Path, delay: float) -> tuple[str, bool]:
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(demo_dir)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    notice_id = proc.stdout.readline().strip()
    wal = demo_dir / "gongkai.sqlite3-wal"
    start_size = wal.stat().st_size if wal.exists() else 0
    deadline = time.monotonic() + 60
    # wait until the transaction is visibly writing, then a little longer
    while time.monotonic() < deadline and (not wal.exists() or wal.stat().st_size < start_size + 2_000_000):
        time.sleep(0.01)
    time.sleep(delay)
    finished = proc.poll() is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return notice_id, finished


def test_sigkill_during_a_large_roster_change_leaves_all_or_nothing(demo_dir):
    db = demo_dir / "gongkai.sqlite3"
    conn = sqlite3.connect(db)
    notice_id = conn.execute("SELECT id FROM notice WHERE status = 'draft' AND notice_type_id IN "
                             "(SELECT id FROM notice_type WHERE code = 'subsidy_payout')").fetchone()[0]
    before_rows, before_outbox = _counts(db, notice_id)
    conn.close()

    killed_id, finished = _kill_midway(demo_dir, delay=0.0)
    assert killed_id == notice_id
    assert not finished, "the worker finished before it could be killed; raise ROWS"

    rows, outbox = _counts(db, notice_id)
    # none of it, or (if the commit landed in the instant before the kill) all of it: never a part
    none_of_it = (rows, outbox) == (before_rows, before_outbox)
    all_of_it = rows == before_rows + ROWS and outbox >= before_outbox + ROWS
    assert none_of_it or all_of_it, (rows - before_rows, outbox - before_outbox)
    verify = subprocess.run([sys.executable, "main.py", "verify", "--data-dir", str(demo_dir)],
                            cwd=ROOT, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr


def test_the_same_change_run_to_the_end_is_all_there(demo_dir):
    db = demo_dir / "gongkai.sqlite3"
    proc = subprocess.run([sys.executable, "-c", WORKER, str(demo_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    notice_id, status = proc.stdout.split()
    assert status == "committed"
    rows, outbox = _counts(db, notice_id)
    conn = sqlite3.connect(db)
    assert rows == conn.execute("SELECT count(*) FROM roster_row WHERE notice_id = ? AND seq > 0",
                                (notice_id,)).fetchone()[0]
    conn.close()
    assert rows >= ROWS and outbox >= ROWS
