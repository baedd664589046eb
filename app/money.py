"""Exact parsing, arithmetic and formatting of amounts (fen) and quantities (Decimal).

Guarantees: no value ever passes through a binary float (a float from a spreadsheet reader is
converted through its ``repr``); amounts are integer fen; every rounding is ROUND_HALF_UP to the
fen, which is what 财政 and bank payment lists use. Parse failures raise ``ValueError`` whose
message names the kind of problem and never repeats the input, because a cell in the wrong
column may hold an ID or account number.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation, localcontext

from app.i18n import N_

COMMON_UNITS: frozenset[str] = frozenset(
    {"元", "万元", "亩", "公顷", "人", "户", "元/亩", "元/人", "元/户"}
)

# Unit → (unit the value is stored in, exact factor). 1 公顷 = 15 亩 by the statutory definition of
# the 市亩 (1 亩 = 10000/15 m²), so the conversion is exact.
_CANONICAL: dict[str, tuple[str, Decimal]] = {
    "元": ("元", Decimal(1)),
    "万元": ("元", Decimal(10000)),
    "亩": ("亩", Decimal(1)),
    "公顷": ("亩", Decimal(15)),
}

# Anything this large is a mistyped or misplaced cell, and the cap keeps every later Decimal
# operation well inside the context precision so it cannot raise InvalidOperation instead.
_LIMIT = Decimal(10) ** 15
_NUMBER = re.compile(r"[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)?(?:\.\d+)?")
_QUANTITY_PLACES = Decimal("0.0001")
_ONE = Decimal(1)


def _split_unit(text: str, units: Collection[str]) -> tuple[str, str | None]:
    """Return the number text and the unit word it ended with (longest match wins)."""
    for unit in sorted(units, key=len, reverse=True):
        if unit and text.endswith(unit):
            return text[: -len(unit)].rstrip(), unit
    return text, None


def _parse(value: object, units: Collection[str]) -> tuple[Decimal, str | None]:
    if isinstance(value, bool):
        # bool is an int subclass; True in an amount cell is a spreadsheet accident, not 1.
        raise ValueError(N_("数值不能是是/否（布尔）值"))
    unit: str | None = None
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(N_("数值不能是无穷大或非数字（NaN）"))
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).replace("\u2212", "-").strip()
        text, unit = _split_unit(text, units)
        if text.startswith("¥"):  # NFKC has already folded the full-width ￥
            text = text[1:].lstrip()
        if not text:
            raise ValueError(N_("数值不能为空"))
        if not _NUMBER.fullmatch(text) or not any(c.isdigit() for c in text):
            raise ValueError(N_("数值中不能含有数字、小数点、千位分隔符和单位以外的字符"))
        number = Decimal(text.replace(",", ""))
    elif value is None:
        raise ValueError(N_("数值不能为空"))
    else:
        raise ValueError(N_("数值不能是日期或其他非数字内容"))
    if not number.is_finite():
        raise ValueError(N_("数值不能是无穷大或非数字（NaN）"))
    if abs(number) >= _LIMIT:
        raise ValueError(N_("数值过大，不能超过 15 位整数"))
    return number, unit


def to_decimal(value: object, units: Collection[str] = COMMON_UNITS) -> Decimal:
    """Convert a cell value (int, Decimal, str or spreadsheet float) to an exact ``Decimal``.

    Strings may use full-width characters, thousands separators and a trailing unit word from
    ``units``. The unit is dropped: call :func:`parse_money_fen` or :func:`parse_quantity` when
    the unit changes the value (万元, 公顷).
    """
    return _parse(value, units)[0]


def _scaled(value: object, unit: str) -> Decimal:
    """Parse ``value`` and convert it to the canonical unit of ``unit``.

    A unit written in the cell wins over the column's unit when both measure the same thing
    ('1.2万元' in a 元 column is 12000 元); a different kind of unit is refused.
    """
    target, _factor = _CANONICAL.get(unit, (unit, _ONE))
    number, written = _parse(value, COMMON_UNITS | {unit})
    effective = written or unit
    canonical, factor = _CANONICAL.get(effective, (effective, _ONE))
    if canonical != target:
        raise ValueError(N_("单位不符：此列不能填写其他计量单位"))
    return number * factor


def parse_money_fen(value: object, unit: str = "元") -> int:
    """Parse an amount in 元 (or 万元) and return integer fen, rounded half-up to the fen."""
    if _CANONICAL.get(unit, (unit,))[0] != "元":
        raise ValueError(N_("金额单位只能是元或万元"))
    with localcontext() as ctx:
        ctx.prec = 40
        return int((_scaled(value, unit) * 100).quantize(_ONE, rounding=ROUND_HALF_UP))


def _plain(number: Decimal) -> Decimal:
    """Drop trailing zeros without ever producing exponent form such as 1E+1 or -0."""
    if number == 0:
        return Decimal(0)
    normal = number.normalize()
    return normal.quantize(_ONE) if normal.as_tuple().exponent > 0 else normal


def parse_quantity(value: object, unit: str = "亩") -> Decimal:
    """Parse a quantity exactly; 公顷 becomes 亩 (×15).

    The result has at most 4 decimal places and no trailing zeros. More places are refused
    rather than rounded: 1.23456 亩 is a typing or formula error the clerk must see.
    """
    with localcontext() as ctx:
        ctx.prec = 40
        number = _scaled(value, unit)
        if number.quantize(_QUANTITY_PLACES) != number:
            raise ValueError(N_("数量最多只能有 4 位小数"))
    return _plain(number)


def format_quantity(quantity: Decimal) -> str:
    """Plain text for a quantity: '12.5', '10', '0.0001' (never exponent notation)."""
    return format(_plain(quantity), "f")


# Operands are bounded (|value| < 10**15, at most 4 decimals for quantities), so a product has
# well under 60 significant digits: with this precision the multiplication is exact and the only
# rounding is the one to the fen.
_EXACT = Context(prec=60, traps=[InvalidOperation, Inexact])  # raises rather than round
_ROUND = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation])
_HUNDRED = Decimal(100)


def compute_amount_fen(quantity: Decimal | int, rate_yuan: Decimal | int) -> int:
    """quantity × rate (元 per unit) in fen, rounded half-up once, on the exact product."""
    for operand in (quantity, rate_yuan):
        if isinstance(operand, bool) or not isinstance(operand, Decimal | int):
            raise TypeError("compute_amount_fen takes Decimal or int, never float")
    q, r = Decimal(quantity), Decimal(rate_yuan)
    if not (q.is_finite() and r.is_finite()):
        raise ValueError(N_("数量和标准必须是有限的数值"))
    try:
        product = _EXACT.multiply(_EXACT.multiply(q, r), _HUNDRED)
    except Inexact:
        raise ValueError(N_("数值位数过多，无法精确计算")) from None
    return int(_ROUND.quantize(product, _ONE))


def _check_fen(fen: int) -> None:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("amounts are integer fen")


def format_yuan(fen: int, thousands: bool = True) -> str:
    """'1,216.48' for 121648 fen; negative amounts get a leading '-'."""
    _check_fen(fen)
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    whole = f"{yuan:,}" if thousands else str(yuan)
    return f"{sign}{whole}.{cents:02d}"


def amount_in_words(fen: int) -> str:
    """The 大写 form for financial documents, e.g. '壹仟贰佰壹拾陆元肆角捌分', '壹佰元整'.

    Follows 《会计基础工作规范》第五十二条: '整' after 元 or 角, none after 分. cn2an omits '整'
    after 角 ('壹仟元壹角'), which the bank rules allow but which leaves room to append 分, so it
    is added here. Negative amounts start with '负'. Raises ValueError beyond 16 integer digits.
    """
    _check_fen(fen)
    if abs(fen) >= 10**18:
        raise ValueError(N_("金额过大，无法转换为大写"))
    import cn2an  # loaded on first use: it takes a noticeable part of the desktop's start-up

    yuan, cents = divmod(abs(fen), 100)
    # cn2an reads a string exactly; a float would reintroduce binary rounding.
    words: str = cn2an.an2cn(f"{'-' if fen < 0 else ''}{yuan}.{cents:02d}", "rmb")
    if words.endswith("角"):
        words += "整"
    return words
