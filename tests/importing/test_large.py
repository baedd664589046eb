"""A 100,000-row roster is read completely and exactly (its speed is measured by bench/import_bench.py)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from app.importing import read_roster
from app.money import compute_amount_fen

from .files import HEADER, write_fast_xlsx
from .roster import RATE, SUBSIDY, id_number

ROWS = 100_000
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "国建华明志秀英桂兰玉芳德文军平春红海云成永强福祥金凤良"


@pytest.mark.slow
def test_a_100k_row_roster_is_read_completely_with_exact_totals(tmp_path):
    rng = random.Random(7)
    rows: list[list] = [["石门镇2026年耕地地力保护补贴发放清册"], [], HEADER]
    total = 0
    for i in range(ROWS):
        quantity = Decimal(rng.randrange(50, 2000)) / 100
        amount = compute_amount_fen(quantity, RATE)
        total += amount
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        body = f"530102{1940 + rng.randrange(60)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        rows.append([i + 1, f"{i // 5000 + 1}组", name, id_number(body + f"{rng.randrange(1000):03d}"),
                     float(quantity), float(RATE), amount / 100, f"6228{rng.randrange(10**15):015d}"])
    path = write_fast_xlsx(tmp_path / "big.xlsx", "清册", rows)

    parsed = read_roster(path, SUBSIDY)

    assert len(parsed.rows) == ROWS and parsed.rows[-1].excel_row == ROWS + 3
    assert sum(r.row.amount_fen for r in parsed.rows) == total
    assert not any(r.issues for r in parsed.rows)
