"""Turning one cell value (str, float, int, date from calamine; str from csv) into a row field.

Converters are built once per column; the reader memoises the ones whose values repeat (groups,
rates, quantities, amounts), since per-cell work is what bounds an import's speed.
Floats are read at Excel's own precision of 15 significant digits, which is what the clerk sees
in the cell: a formula residue such as 0.30000000000000004 is 0.3, not a seventeen-digit number.
Problems raise :class:`CellProblem` (or ``ValueError`` from app.money, code bad_number); no
message repeats the cell, which may hold an ID or account number.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation

from app.i18n import N_
from app.money import COMMON_UNITS, format_yuan, parse_money_fen, parse_quantity, to_decimal
from app.validation import normalize_id_number, normalize_name

Converter = Callable[[object], object]

_ONE = Decimal(1)
_LIMIT = Decimal(10) ** 15
_PLAIN = re.compile(r"-?\d{1,15}(?:\.\d{1,8})?")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+")
_DATE_HEADER = re.compile("日期|时间|出生|年月")
_RATE_UNITS = COMMON_UNITS | {"元/公顷", "万元/亩", "万元/公顷"}
_EXACT = Context(prec=40, traps=[Inexact, InvalidOperation])
_EXCEL_EPOCH = date(1899, 12, 30)
_MAX_SERIAL = 2958466  # 9999-12-31


class CellProblem(Exception):
    """A cell that cannot be taken as it is; ``message`` never repeats the cell."""

    def __init__(self, code: str, message: str, severity: str = "error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.severity = severity


def has_value(value: object) -> bool:
    """Whether a cell holds anything but whitespace."""
    if value.__class__ is str:
        return bool(value) and not value.isspace()  # type: ignore[union-attr]
    return value is not None


def spreadsheet_decimal(value: float) -> Decimal:
    """A spreadsheet float as the Decimal Excel shows (15 significant digits)."""
    return Decimal(format(value, ".15g"))


def _plain(number: Decimal) -> Decimal:
    if number == 0:
        return Decimal(0)
    normal = number.normalize()
    return normal.quantize(_ONE) if normal.as_tuple().exponent > 0 else normal


def _number_in(value: object) -> object:
    """Floats through their 15-digit text; everything else unchanged for app.money."""
    if value.__class__ is float and math.isfinite(value):  # type: ignore[arg-type]
        return spreadsheet_decimal(value)  # type: ignore[arg-type]
    return value


def text(value: object) -> str:
    """Any cell as text: '1' for 1.0, ISO for dates."""
    if value.__class__ is str:
        return value.strip()  # type: ignore[union-attr]
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".15g") if math.isfinite(value) else ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def money(unit: str) -> Converter:
    """Cell → integer fen; ``unit`` is the column's unit (元 or 万元)."""
    factor = Decimal(100) if unit == "元" else Decimal(1_000_000)

    def convert(value: object) -> int:
        cls = value.__class__
        if cls is float and math.isfinite(value):  # type: ignore[arg-type]
            number = spreadsheet_decimal(value)  # type: ignore[arg-type]
        elif cls is str and _PLAIN.fullmatch(value):  # type: ignore[arg-type]
            number = Decimal(value)  # type: ignore[arg-type]
        elif cls is int:
            number = Decimal(value)  # type: ignore[arg-type]
        else:  # units, separators, full-width digits, bad values: the careful path
            return parse_money_fen(value, unit)
        if abs(number) >= _LIMIT:
            return parse_money_fen(number, unit)  # raises the standard message
        return int((number * factor).quantize(_ONE, rounding=ROUND_HALF_UP))

    return convert


def money_text(unit: str) -> Converter:
    """Cell → exact 元 text ('16000.00'): a part of the amount, kept in a row's extra columns."""
    to_fen = money(unit)
    return lambda value: format_yuan(to_fen(value), thousands=False)  # type: ignore[arg-type]


def quantity(unit: str) -> Converter:
    """Cell → exact Decimal in the canonical unit (公顷 → 亩 ×15)."""
    return lambda value: parse_quantity(_number_in(value), unit)


def rate_factor(rate_unit: str | None, quantity_unit: str) -> tuple[Decimal, Decimal]:
    """(money factor, divisor) that turn a rate as written into 元 per canonical quantity unit.

    A rate that names no quantity unit ('标准（元）') is per the quantity column's unit.
    """
    money_unit, _sep, per = (rate_unit or "元").partition("/")
    per = per or quantity_unit
    return (Decimal(10000) if money_unit == "万元" else _ONE,
            Decimal(15) if per == "公顷" else _ONE)


def scale_rate(number: Decimal, factor: tuple[Decimal, Decimal]) -> Decimal:
    """Exact conversion of a rate; CellProblem when it has no exact per-亩 value."""
    multiply, divisor = factor
    if multiply == 1 and divisor == 1:
        return _plain(number)
    try:
        return _plain(_EXACT.divide(_EXACT.multiply(number, multiply), divisor))
    except (Inexact, InvalidOperation):
        message = N_("按公顷计的标准换算成每亩时除不尽，无法精确计算，此行未填标准；"
                    "请改用“元/亩”填写标准")
        raise CellProblem("rate_inexact", message, "warning") from None


def rate(factor: tuple[Decimal, Decimal]) -> Converter:
    """Cell → Decimal 元 per canonical quantity unit."""
    return lambda value: scale_rate(to_decimal(_number_in(value), _RATE_UNITS), factor)


def _id_as_number() -> str:
    return N_("身份证号码被 Excel 存成了数字，后几位可能已经丢失，无法确认原号码。"
             "请把该列设置为“文本”格式，再按身份证重新录入此号码")


def _account_as_number() -> str:
    return N_("账号被 Excel 存成了数字，后几位可能已经丢失，无法确认原账号。"
             "请把该列设置为“文本”格式，再重新录入此账号")


def _digits_cell(value: object, code: str, message: Callable[[], str]) -> str:
    """ID and account cells: a number (or its scientific text) has lost digits in Excel."""
    if isinstance(value, int | float) and value.__class__ is not bool:
        raise CellProblem(code, message())
    compact = normalize_id_number(text(value)) if code == "id_as_number" else "".join(
        unicodedata.normalize("NFKC", text(value)).split())
    if compact.startswith("'"):  # a typed apostrophe keeps digits as text in Excel
        compact = compact[1:]
    if compact.startswith('="') and compact.endswith('"'):  # ="…" from CSV exports
        compact = compact[2:-1]
    if _SCIENTIFIC.fullmatch(compact):
        raise CellProblem(code, message())
    return compact


def id_number(value: object) -> str:
    if value.__class__ is str and value.isascii():  # type: ignore[union-attr]
        if value.isdigit():  # type: ignore[union-attr]
            return value  # type: ignore[return-value]
        if value[-1:] in "xX" and value[:-1].isdigit():  # type: ignore[index]
            return value[:-1] + "X"  # type: ignore[index]
    return _digits_cell(value, "id_as_number", _id_as_number)


def bank_account(value: object) -> str:
    if value.__class__ is str and value.isascii() and value.isdigit():  # type: ignore[union-attr]
        return value  # type: ignore[return-value]
    if isinstance(value, int | float) and value.__class__ is not bool and abs(value) < 10**15:
        return text(value)  # fewer than 16 digits survive a double exactly
    return _digits_cell(value, "account_as_number", _account_as_number)


def phone(value: object) -> str:
    return "".join(unicodedata.normalize("NFKC", text(value)).split())


def name(value: object) -> str:
    return normalize_name(text(value))


def plain_text(value: object) -> str:
    return text(value)


def group(value: object) -> str:
    return " ".join(unicodedata.normalize("NFKC", text(value)).split())


def excel_date(value: object) -> str:
    """A date column: Excel serials and date cells become ISO dates; text stays text."""
    if isinstance(value, float | int) and value.__class__ is not bool and 1 <= value < _MAX_SERIAL:
        days = int(value)
        # Excel counts a 29 February 1900 that never was: serials before it are one day later.
        base = _EXCEL_EPOCH if days >= 61 else _EXCEL_EPOCH + timedelta(days=1)
        return (base + timedelta(days=days)).isoformat()
    return text(value)


def for_extra(header_norm: str) -> Converter:
    return excel_date if _DATE_HEADER.search(header_norm) else plain_text
