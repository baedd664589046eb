"""Desktop UI benchmark (offscreen Qt), against the goals of DESIGN §10:

(a) cold start to a usable main window: a fresh ``python`` process on a copy of the demo
    township does what ``ui.app.run`` does (open and check the database, language, sign-in check,
    main window with every page, background sync) and reports once the window is shown and the
    event loop is idle; the time runs from process start. Goal ≤ 1.5 s.
(b) opening a 100,000-row roster in the notice editor, until the first page is painted.
    Goal ≤ 0.3 s. Baseline, same run: merely loading all rows (what a model without paging needs).
(c) filtering that roster (the service's filter: a change check in SQL, then the in-memory index
    of app.roster_index) until the table shows the result. Goal ≤ 100 ms. Baseline, same run:
    filtering all loaded rows with ``app.search.matches``, as a filter proxy over them would.

    python bench/ui_bench.py [--rows 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GOAL_START_S = 1.5
GOAL_OPEN_S = 0.3
GOAL_FILTER_S = 0.100
FILTERS = (("张", False), ("zl", False), ("1234", False), ("", True))
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


# ------------------------------------------------------------------------------- (a) child
def child_start(data_dir: str) -> int:
    """Runs in a fresh interpreter: start like ``ui.app.run`` and say READY when idle."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.i18n import set_language
    from app.maintenance import open_workstation, workstation_state
    from app.paths import AppPaths
    from app.preferences import ui_language
    from app.users import UserService
    from ui.app import install_qt_translator

    app = QApplication(sys.argv[:1])
    ctx = open_workstation(AppPaths.resolve(data_dir))
    language = ui_language()
    set_language(language)
    install_qt_translator(app, language)
    workstation_state()
    # the sign-in dialog waits for a person; the password check it runs is part of the start
    from ui.login import LoginDialog

    LoginDialog(ctx, username="zhangli")
    user = UserService(ctx).authenticate("zhangli", os.environ["GONGKAI_BENCH_PASSWORD"])
    try:
        from ui.app import start_main_window

        window, scheduler = start_main_window(ctx, user)
    except ImportError as exc:  # a page that colleagues have not written yet
        print(f"MISSING {exc.name}", flush=True)
        return 2
    window.show()

    def ready() -> None:
        print("READY", flush=True)
        scheduler.stop()
        app.quit()

    QTimer.singleShot(0, ready)  # runs once the window's first events have been processed
    return app.exec()


def cold_start(data_dir: Path) -> float | str:
    """Seconds from spawning the process to READY, or why it could not be measured."""
    from app.demo import DEMO_PASSWORD  # not imported by the child: the app does not load app.demo

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GONGKAI_DATA_DIR": str(data_dir),
           "GONGKAI_BENCH_PASSWORD": DEMO_PASSWORD}
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--child-start", str(data_dir)],
                                stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
        outcome: float | str = "start-up failed"
        for line in proc.stdout:
            if line.startswith("READY"):
                outcome = time.perf_counter() - start
                break
            if line.startswith("MISSING"):
                outcome = f"a main window page is not written yet ({line.split()[1]})"
                break
        proc.wait(timeout=60)
        if outcome == "start-up failed":
            errors.seek(0)
            lines = [x for x in errors.read().splitlines() if x.strip()]
            outcome += f": {lines[-1]}" if lines else ""
    return outcome


# ------------------------------------------------------------------------------- set-up
def make_demo(target: Path) -> None:
    from app.context import Context
    from app.demo import create_demo
    from db.connection import DB_FILENAME, close_database, open_database

    db = open_database(target / DB_FILENAME)
    create_demo(Context(db=db, data_dir=target))
    close_database()


def _id_number(i: int) -> str:
    born = date(1950, 1, 1) + timedelta(days=i // 1000)
    body = f"530102{born:%Y%m%d}{i % 1000:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def add_big_notice(ctx, user_id: str, rows: int) -> str:
    """A draft of ``rows`` households (with 1 in 1000 amounts wrong), by the service's bulk path."""
    import random

    from app.demo import make_name
    from app.money import compute_amount_fen
    from app.notices import NoticeService
    from app.reference import ReferenceService
    from app.rows import RowChecker, RowInput

    service = NoticeService(ctx)
    program = next(p for p in ReferenceService(ctx).programs() if p.notice_type_code == "subsidy_payout")
    nid = service.create(user_id, notice_type_id=program.notice_type_id, program_id=program.id,
                         title=f"{rows}户补贴发放名单（基准测试）")
    checker = RowChecker(service.detail(nid).roster_schema, ctx.clock.today())
    rng = random.Random(rows)
    rate = Decimal("103.55")
    data, issues = [], []
    for i in range(rows):
        qty = Decimal(rng.randrange(50, 2500)) / 100
        amount = compute_amount_fen(qty, rate) + (100 if i % 1000 == 999 else 0)
        row = RowInput(name=make_name(rng), id_number=_id_number(i), group_name=f"{i * 7 // rows + 1}组",
                       quantity=qty, rate=rate, amount_fen=amount, bank_account=f"6228{i:015d}")
        data.append(row)
        issues.append(checker.validate(row) if i % 1000 == 999 else ())
    service.add_rows(nid, user_id, data, issues, validated=True)
    return nid


# ----------------------------------------------------------------------------- (b), (c)
def open_and_filter(data_dir: Path, nid: str, runs: int) -> dict[str, list[float] | float]:
    from PySide6.QtWidgets import QApplication

    from app.context import Context
    from app.notices import NoticeService
    from app.search import matches
    from app.users import UserService
    from db.connection import DB_FILENAME, open_database
    from ui.common import ChangeBus, UiEnv
    from ui.notice_editor import NoticeEditor

    app = QApplication.instance() or QApplication(sys.argv[:1])
    ctx = Context(db=open_database(data_dir / DB_FILENAME), data_dir=data_dir)
    user = next(u for u in UserService(ctx).list() if u.username == "zhangli")
    env = UiEnv(ctx, user, ChangeBus())
    service = NoticeService(ctx)

    def show(editor) -> None:
        editor.resize(1366, 768)
        editor.show()
        while editor.roster.model.fetch_count == 0:
            app.processEvents()

    # the main window is up before anyone opens a notice: warm fonts and styles with a small one
    small = next(s.id for s in service.summaries() if s.status == "draft")
    warm = NoticeEditor(env, small)
    show(warm)
    warm.close()

    out: dict[str, list[float] | float] = {"open": []}
    editor = None
    for _ in range(runs):
        if editor is not None:
            editor.close()
            editor.deleteLater()
            app.processEvents()
        start = time.perf_counter()
        editor = NoticeEditor(env, nid)
        show(editor)
        out["open"].append(time.perf_counter() - start)
    model = editor.roster.model
    for query, only_issues in FILTERS:
        key = f"filter {query or '(problems only)'}"
        out[key] = []
        if query:  # the editor reads the roster's searchable text while the clerk starts typing
            start = time.perf_counter()
            service.prepare_filter(nid)
            out.setdefault("prepare", time.perf_counter() - start)
        out[key + " query"] = []
        for _ in range(runs):
            start = time.perf_counter()
            ids = service.row_ids(nid, query, only_issues)
            out[key + " query"].append(time.perf_counter() - start)
            model.set_ids(ids)
            app.processEvents()
            out[key].append(time.perf_counter() - start)
        out[key + " rows"] = float(model.rowCount())
    start = time.perf_counter()
    rows = service.rows(nid)
    out["baseline load"] = time.perf_counter() - start
    start = time.perf_counter()
    kept = [r.id for r in rows if matches("zl", r.name, r.id_number, r.group_name)]
    out["baseline filter"] = time.perf_counter() - start
    out["baseline filter rows"] = float(len(kept))
    editor.close()
    return out


# ------------------------------------------------------------------------------- report
def verdict(seconds: float, goal: float) -> str:
    return f"{seconds / goal:5.2f}× goal  {'OK' if seconds <= goal else 'MISSED'}"


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child-start":
        return child_start(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    ok = True
    with tempfile.TemporaryDirectory(prefix="gongkai-ui-bench-") as tmp:
        demo = Path(tmp) / "demo"
        make_demo(demo)
        start_dir = Path(tmp) / "start"
        shutil.copytree(demo, start_dir)
        starts = [cold_start(start_dir) for _ in range(args.runs)]
        numbers = [s for s in starts if isinstance(s, float)]
        if numbers:
            median = statistics.median(numbers)
            ok &= median <= GOAL_START_S
            print(f"(a) cold start to usable main window   median {median:6.3f} s  (first {numbers[0]:.3f} s, "
                  f"best {min(numbers):.3f} s)  goal ≤ {GOAL_START_S} s  {verdict(median, GOAL_START_S)}")
        else:
            print(f"(a) cold start: NOT MEASURED — {starts[0]}")

        from app.context import Context
        from app.users import UserService
        from db.connection import DB_FILENAME, close_database, open_database

        big = Path(tmp) / "big"
        shutil.copytree(demo, big)
        ctx = Context(db=open_database(big / DB_FILENAME), data_dir=big)
        clerk = next(u for u in UserService(ctx).list() if u.username == "zhangli")
        nid = add_big_notice(ctx, clerk.id, args.rows)
        close_database()
        r = open_and_filter(big, nid, args.runs)
        opened = statistics.median(r["open"])
        ok &= opened <= GOAL_OPEN_S
        print(f"(b) open a {args.rows}-row roster          median {opened:6.3f} s  (first {r['open'][0]:.3f} s)"
              f"  goal ≤ {GOAL_OPEN_S} s  {verdict(opened, GOAL_OPEN_S)}")
        print(f"    baseline: loading all {args.rows} rows {r['baseline load']:6.3f} s "
              f"({r['baseline load'] / opened:.1f}× the lazy editor's whole opening)")
        worst = 0.0
        for query, _only_issues in FILTERS:
            key = f"filter {query or '(problems only)'}"
            seconds = statistics.median(r[key])
            worst = max(worst, seconds)
            label = f"“{query}”" if query else "problems only"
            print(f"(c) filter {label:16s} {int(r[key + ' rows']):6d} rows  median {seconds * 1000:6.1f} ms"
                  f"  goal ≤ {GOAL_FILTER_S * 1000:.0f} ms  {verdict(seconds, GOAL_FILTER_S)}"
                  f"   (query {statistics.median(r[key + ' query']) * 1000:.1f} ms, the rest is the repaint)")
        ok &= worst <= GOAL_FILTER_S
        print(f"    reading the roster's searchable text once per notice (while the clerk starts typing): "
              f"{r['prepare'] * 1000:.0f} ms")
        print(f"    baseline: “zl” over loaded rows in Python {r['baseline filter'] * 1000:8.1f} ms "
              f"({r['baseline filter'] / statistics.median(r['filter zl']):.1f}× the editor's filter)")
    print(f"{'all goals met' if ok else 'some goals MISSED'} (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
