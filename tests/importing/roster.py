"""A small subsidy roster (惠农补贴清册) shared by the reading tests."""

from __future__ import annotations

from decimal import Decimal

from stdnum.cn import ric

from app.catalogue import DEFAULT_NOTICE_TYPES
from app.money import compute_amount_fen

SUBSIDY = next(t for t in DEFAULT_NOTICE_TYPES if t["code"] == "subsidy_payout")["roster_schema"]
LAND_PLAN = next(t for t in DEFAULT_NOTICE_TYPES if t["code"] == "land_compensation_plan")["roster_schema"]
RATE = Decimal("103.55")


def id_number(body: str) -> str:
    """A synthetic ID number with a valid check digit from 17 digits."""
    return body + ric.calc_check_digit(body)


# name, ID, quantity (亩): IDs include one ending in X
PEOPLE = [
    ("王国华", id_number("53010219650304121"), Decimal("12.5")),
    ("李秀英", id_number("53010219720811242"), Decimal("8.2")),
    ("张建明", "11010519491231002X", Decimal("3.75")),
    ("阿依古丽·买买提", id_number("65010119880502361"), Decimal("20")),
    ("刘春兰", id_number("53010219590117082"), Decimal("0.65")),
]
AMOUNTS = [compute_amount_fen(q, RATE) for _n, _i, q in PEOPLE]
ACCOUNTS = [f"62284800000000000{i}" for i in range(10, 15)]


def yuan(fen: int) -> float:
    """Fen as the float a spreadsheet cell holds."""
    return float(Decimal(fen) / 100)
