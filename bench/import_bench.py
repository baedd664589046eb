"""Import benchmark: a 100,000-row .xlsx roster, end to end (parse, validate, store) against
pandas + openpyxl merely reading the same file, measured in the same run.

Each measurement runs in a fresh subprocess so that its peak memory (max RSS) is its own.
Goal (DESIGN §10): end-to-end ≤ 3 s on the 2-core reference machine and ≥ 3× faster than the
pandas read. Also measured: the same file imported a second time into the same program, where
every row is found in the first notice (一人多领) and marked.

    python bench/import_bench.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEADERS = ["序号", "村民小组", "户主姓名", "身份证号码", "补贴面积（亩）", "补贴标准（元/亩）", "补贴金额（元）",
           "一卡通账号", "联系电话", "备注"]


def make_file(path: Path, rows: int) -> None:
    """A realistic roster: title and date rows above the header, IDs and accounts as text."""
    import xlsxwriter

    from app.demo import make_id_number, make_name
    from app.money import compute_amount_fen

    rng = random.Random(7)
    rate = Decimal("103.55")
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = book.add_worksheet("补贴清册")
    ws.write_row(0, 0, ["石门镇2026年耕地地力保护补贴发放清册"])
    ws.write_row(1, 0, ["填报日期：2026年11月20日"])
    ws.write_row(2, 0, HEADERS)
    for i in range(rows):
        qty = Decimal(rng.randrange(50, 2500)) / 100
        ws.write_number(3 + i, 0, i + 1)
        ws.write_string(3 + i, 1, f"{i % 7 + 1}组")
        ws.write_string(3 + i, 2, make_name(rng))
        ws.write_string(3 + i, 3, make_id_number(rng))
        ws.write_number(3 + i, 4, float(qty))
        ws.write_number(3 + i, 5, 103.55)
        ws.write_number(3 + i, 6, compute_amount_fen(qty, rate) / 100)
        ws.write_string(3 + i, 7, "6228" + f"{rng.randrange(10**15):015d}")
        ws.write_string(3 + i, 8, "")
        ws.write_string(3 + i, 9, "")
    book.close()


PANDAS_READ = """
import sys, time, resource, json
import openpyxl, pandas as pd  # noqa: E401 - loaded before timing, as for the import below
t = time.perf_counter()
df = pd.read_excel(sys.argv[1], engine="openpyxl", header=2, dtype=str)
print(json.dumps({"seconds": time.perf_counter() - t, "rows": len(df),
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

GONGKAI_IMPORT = """
import sys, time, resource, json
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from app.context import Context
from db.connection import open_database
from app.demo import create_demo
from app.reference import ReferenceService
from db.models import User
data = Path(sys.argv[2])
ctx = Context(db=open_database(data / "gongkai.sqlite3"), data_dir=data)
create_demo(ctx)
ref = ReferenceService(ctx)
program = next(p for p in ref.programs() if p.notice_type_code == "subsidy_payout")
village = ref.regions("village")[0]
clerk = User.get(User.role == "preparer")
# modules loaded first: a clerk's import runs in an application that has them already
import app.importing, app.imports, python_calamine  # noqa: E401
from app.imports import ImportService
if len(sys.argv) > 4:  # "again": the same roster once more, into the same program (every row 一人多领)
    ImportService(ctx).import_file(Path(sys.argv[1]), program_id=program.id, by=clerk.id, village_id=village.id)
    village = ref.regions("village")[1]
t = time.perf_counter()
result = ImportService(ctx).import_file(Path(sys.argv[1]), program_id=program.id, by=clerk.id,
                                        village_id=village.id)
seconds = time.perf_counter() - t
from db.models import RosterRow
stored = RosterRow.select().where(RosterRow.notice == result.notice_id).count()
print(json.dumps({"seconds": seconds, "rows": result.data_rows, "stored": stored, "valid": result.valid_rows,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.xlsx"
        t = time.perf_counter()
        make_file(path, args.rows)
        print(f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
        baseline = measure(PANDAS_READ, str(path))
        ours = measure(GONGKAI_IMPORT, str(path), str(Path(tmp) / "data"), str(ROOT))
        again = measure(GONGKAI_IMPORT, str(path), str(Path(tmp) / "again"), str(ROOT), "again")
    assert ours["stored"] == ours["rows"] == baseline["rows"] == args.rows, (ours, baseline)
    ratio = baseline["seconds"] / ours["seconds"]
    print(f"pandas+openpyxl read only : {baseline['seconds']:6.2f} s   peak {baseline['max_rss_mb']:6.0f} MB")
    print(f"gongkai import end to end : {ours['seconds']:6.2f} s   peak {ours['max_rss_mb']:6.0f} MB"
          f"   ({ours['valid']:,} of {ours['rows']:,} rows valid)")
    print(f"ratio (pandas / gongkai)  : {ratio:6.2f}x   goal ≥ 3x and ≤ 3 s end to end")
    print(f"the same file again       : {again['seconds']:6.2f} s   peak {again['max_rss_mb']:6.0f} MB"
          f"   (every row marked 一人多领; {again['seconds'] / ours['seconds']:.1f}× the first import)")


if __name__ == "__main__":
    main()
