"""Printing benchmark: a 20,000-row subsidy notice rendered to a finished PDF by the project's
renderer and by a naive reportlab platypus Table (the baseline), in the same run.

The notice is built in memory with ``build_public_view`` (no database). Goal (DESIGN §10):
≥ 8,000 rows/s and ≥ 3× the baseline.

    python bench/print_bench.py [--rows 20000] [--out DIR]
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_ROWS_PER_S = 8000
GOAL_RATIO = 3.0


def make_view(rows: int):
    """A published-looking 耕地地力保护补贴 notice with ``rows`` households in 7 groups."""
    from app.catalogue import DEFAULT_NOTICE_TYPES
    from app.demo import make_account, make_id_number, make_name, make_phone
    from app.masking import MaskPolicy
    from app.money import compute_amount_fen
    from app.public_view import build_public_view

    nt = next(t for t in DEFAULT_NOTICE_TYPES if t["code"] == "subsidy_payout")
    rng = random.Random(20000)
    rate = Decimal("103.55")
    data = []
    for i in range(rows):
        qty = Decimal(rng.randrange(50, 2500)) / 100
        data.append({
            "seq": i + 1, "name": make_name(rng), "id_number": make_id_number(rng),
            "group_name": f"{i * 7 // rows + 1}组", "quantity": qty, "rate": rate,
            "amount_fen": compute_amount_fen(qty, rate), "bank_account": make_account(rng),
            "phone": make_phone(rng), "remark": "补发" if i % 97 == 0 else "", "extra": {},
        })
    notice = {
        "id": "bench-0000-0000-0000-000000000001", "edition": 1, "title": nt["title_template"],
        "doc_number": "石政发〔2026〕18号", "salutation": "广大村民群众：", "body": nt["body_template"],
        "legal_basis": "", "issuer": "石门村村民委员会\n石门镇人民政府", "contact_person": "张丽",
        "contact_phone": "0872-6123456", "supervision_phone": "12345", "posting_start": "2026-11-24",
        "posting_end": "2026-12-01", "posting_days": 7, "posting_unit": "natural",
    }
    names = {"township": "石门镇", "village": "石门村", "program": "2026年耕地地力保护补贴", "year": "2026",
             "rate": "103.55"}
    sign_offs = [{"kind": "village_review", "body": "石门村村务监督委员会", "names": ["李德明", "陈秀英"],
                  "signed_on": "2026-11-20"},
                 {"kind": "township_approval", "body": "石门镇人民政府", "names": ["王强"],
                  "signed_on": "2026-11-22"}]
    return build_public_view(notice=notice, notice_type=nt, rows=data, sign_offs=sign_offs,
                             policy=MaskPolicy(), names=names)


def project(view, out) -> int:
    from printing.notice import render_notice

    return render_notice(view, out, public_url="https://gongkai.example.gov.cn", draft=False).pages


def baseline(view, out) -> int:
    """What one would write first: the whole roster as one platypus Table with a repeated header."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    from printing.fonts import default_measure

    font = default_measure().name
    data = [[c.label for c in view.columns]] + [view.display_row(r) for r in view.rows]
    table = Table(data, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 10.5),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("ALIGN", (3, 1), (-2, -1), "RIGHT"),
    ]))
    pages = []
    doc = SimpleDocTemplate(str(out) if isinstance(out, Path) else out, pagesize=A4, invariant=1)
    title = Paragraph(view.title, ParagraphStyle("t", fontName=font, fontSize=18, leading=26))
    doc.build([title, table], onLaterPages=lambda c, d: pages.append(1))
    return len(pages) + 1


def timed(fn, view, out_dir: Path | None, name: str) -> tuple[float, int, int]:
    target = out_dir / f"{name}.pdf" if out_dir else io.BytesIO()
    start = time.perf_counter()
    pages = fn(view, target)
    seconds = time.perf_counter() - start
    size = target.stat().st_size if isinstance(target, Path) else len(target.getvalue())
    return seconds, pages, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--out", type=Path, help="keep the two PDFs in this folder")
    args = parser.parse_args()
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)

    from printing.fonts import default_measure

    default_measure()  # font discovery and registration are start-up costs, not per-notice ones
    view = make_view(args.rows)
    results = {}
    for name, fn in (("project", project), ("baseline", baseline)):
        seconds, pages, size = timed(fn, view, args.out, name)
        results[name] = args.rows / seconds
        print(f"{name:9s} {args.rows} rows  {pages:4d} pages  {size / 1e6:6.1f} MB  {seconds:6.2f} s  "
              f"{args.rows / seconds:8.0f} rows/s")
    ratio = results["project"] / results["baseline"]
    ok = results["project"] >= GOAL_ROWS_PER_S and ratio >= GOAL_RATIO
    print(f"ratio     {ratio:.1f}× the platypus baseline (goal ≥ {GOAL_RATIO:.0f}×, ≥ {GOAL_ROWS_PER_S} rows/s): "
          f"{'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
