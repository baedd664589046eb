"""Checking the 小计/合计/总计 rows of a roster against the rows above them.

A 小计 row covers the data rows since the previous subtotal row; a 合计, 总计 or 共计 row covers
every data row above it (or, when a file uses 合计 per group, the rows since the previous subtotal).
A mismatch is a warning: the clerk's own sum is wrong or a row is missing, and the published
total is computed from the rows anyway.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from decimal import Decimal

from app.i18n import _
from app.importing import cells
from app.importing.headers import T2S
from app.importing.model import ReportIssue
from app.money import format_quantity, format_yuan

SUBTOTAL_WORDS = ("小计", "合计", "总计", "共计")


def subtotal_word(value: object) -> str | None:
    """'小计', '合计', '总计' or '共计' when a cell says so (any spacing, traditional too)."""
    if value.__class__ is not str or ("计" not in value and "計" not in value):  # type: ignore[operator]
        return None
    compact = "".join(value.split()).translate(T2S)  # type: ignore[union-attr]
    return next((w for w in SUBTOTAL_WORDS if w in compact), None)


@dataclass(frozen=True)
class Subtotal:
    """A subtotal row: its Excel row, its word, how many data rows precede it, and its raw
    amount and quantity cells."""

    excel_row: int
    word: str
    data_rows_above: int
    figures: dict[str, object]


def check_subtotals(subtotals: list[Subtotal], amounts: list, quantities: list,
                    bad: dict[str, list[int]], converters: dict[str, cells.Converter],
                    texts: dict[str, str], quantity_unit: str) -> list[ReportIssue]:
    """subtotal_mismatch warnings. ``amounts`` and ``quantities`` are the data rows' values
    (None when empty or unreadable); ``bad`` lists, per key, the data positions whose value
    could not be read: a sum over them proves nothing, so it is not compared."""
    unit = "亩" if quantity_unit in ("亩", "公顷") else quantity_unit
    series = {"amount": (amounts, 0), "quantity": (quantities, Decimal(0))}
    total = {key: zero for key, (_v, zero) in series.items()}
    warnings: list[ReportIssue] = []
    previous = 0
    for sub in subtotals:
        start, end = previous, sub.data_rows_above
        section = {key: sum((v for v in values[start:end] if v is not None), zero)
                   for key, (values, zero) in series.items()}
        for key in section:
            total[key] += section[key]
        for key, value in sub.figures.items():
            if key not in converters or not cells.has_value(value):
                continue
            try:
                given = converters[key](value.strip() if isinstance(value, str) else value)
            except (ValueError, cells.CellProblem):
                continue  # an unreadable subtotal is not data; nothing to compare
            positions = bad.get(key, [])
            if sub.word == "小计":
                unreadable = bisect_left(positions, end) > bisect_left(positions, start)
                ok, expected = given == section[key], section[key]
            else:  # 合计/总计/共计: everything above, or only this group where 合计 is per group
                unreadable = bisect_left(positions, end) > 0
                ok, expected = given in (total[key], section[key]), total[key]
            if not ok and not unreadable:
                warnings.append(_mismatch(sub, key, given, expected, texts[key], unit))
        previous = end
    return warnings


def _mismatch(sub: Subtotal, key: str, given: object, expected: object, header: str,
              unit: str) -> ReportIssue:
    if key == "amount":
        message = _("{word}行的金额为 {given} 元，而上面各行相加为 {expected} 元，请核对").format(
            word=sub.word, given=format_yuan(given), expected=format_yuan(expected))  # type: ignore[arg-type]
    else:
        message = _("{word}行的“{header}”为 {given} {unit}，而上面各行相加为 {expected} {unit}，"
                    "请核对").format(word=sub.word, header=header, unit=unit,
                                   given=format_quantity(given),  # type: ignore[arg-type]
                                   expected=format_quantity(expected))  # type: ignore[arg-type]
    return ReportIssue(sub.excel_row, header, key, "subtotal_mismatch", message, "warning")
