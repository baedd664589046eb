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
    return body + ric.calc_check_digit(body + "0")  # stdnum drops the last digit given


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


# ------------------------------------------------------------------ a land-compensation table

LAND_HOUSEHOLD = next(t for t in DEFAULT_NOTICE_TYPES if t["code"] == "land_household")["roster_schema"]
PARTS = ("土地补偿费", "安置补助费", "青苗及地上附着物补偿费")

# 征地补偿费分配到户: group, name, ID, area (亩), the three fees (元) and their total as written.
# 张建明's total is 500 元 short of his fees; 阿依古丽 has no 青苗 (empty cell).
HOUSEHOLDS = [
    ("一组", "王国华", id_number("53010219650304121"), 1.5, 30000, 15000, 2000, 47000),
    ("一组", "李秀英", id_number("53010219720811242"), 1.0, 20000, 10000, 1350.5, 31350.5),
    ("二组", "张建明", "11010519491231002X", 0.8, 16000, 8000, 500, 24000),
    ("二组", "阿依古丽·买买提", id_number("65010119880502361"), 2.25, 45000, 22500, None, 67500),
    ("二组", "刘春兰", id_number("53010219590117082"), 0.65, 13000, 6500, 880.4, 20380.4),
]
#: the Excel rows of the households in :func:`land_table`, and of its 小计, 合计 and footer rows
HOUSEHOLD_ROWS = [4, 5, 7, 8, 9]
SHORT_ROW = 7


def land_table() -> tuple[list[list], list[tuple[int, int, int, int]]]:
    """A village's per-household table as the township receives it: a merged title; 序号, 村, 组,
    户主姓名, 身份证号码, 征收面积（亩） and 备注 merged down over two header rows; 补偿费用（元）
    merged over its parts and 合计; 村 merged down the whole table; a 小计 row per group, a 合计
    row, a blank row and a signature line whose 监督委员会 lands in a fee column."""
    rows: list[list] = [
        ["石门村G318线改线工程征地补偿费分配到户明细表"] + [None] * 10,
        ["序号", "村", "组", "户主姓名", "身份证号码", "征收面积（亩）", "补偿费用（元）", None, None, None,
         "备注"],
        [None] * 6 + [*PARTS, "合计", None],
    ]

    def household(i: int) -> list:
        group, name, idn, area, land, place, crop, total = HOUSEHOLDS[i]
        return [i + 1, "石门村" if i == 0 else None, group, name, idn, area, land, place, crop, total, None]

    def subtotal(word: str, chosen: list[int]) -> list:
        sums = [sum(HOUSEHOLDS[i][k] or 0 for i in chosen) for k in range(3, 8)]
        return [None, None, word, None, None, *(round(v, 2) for v in sums), None]

    rows += [household(0), household(1), subtotal("小计", [0, 1]),
             household(2), household(3), household(4), subtotal("小计", [2, 3, 4]),
             subtotal("合计", [0, 1, 2, 3, 4]),
             [None] * 11,
             ["制表人：李会计", None, None, "审核人：王主任", None, None, None, "监督委员会：（签字）", None,
              None, None]]
    merges = [(0, 0, 0, 10), *((1, c, 2, c) for c in (0, 1, 2, 3, 4, 5, 10)), (1, 6, 1, 9), (3, 1, 10, 1)]
    return rows, merges


def household_fen(i: int, k: int) -> int | None:
    """Fee ``k`` (0 土地, 1 安置, 2 青苗, 3 合计) of household ``i`` in fen, as written."""
    value = HOUSEHOLDS[i][4 + k]
    return None if value is None else int(Decimal(str(value)) * 100)
