"""What reading a roster file produces: parsed rows, reading problems and the one read failure."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from app.errors import AppError
from app.i18n import _
from app.rows import RowColumns, RowInput
from app.validation import Severity


class ReadError(AppError):
    """The file cannot be read as a roster at all; nothing was imported.

    ``str(err)`` names the file (and the sheet where relevant) and says what to do;
    ``err.details`` holds the technical cause.
    """


@dataclass(frozen=True, slots=True)
class ReportIssue:
    """One problem in one cell, as the clerk finds it in Excel.

    ``row`` is the Excel row number, ``column`` the header text shown in the file and ``key`` the
    schema key. ``message`` is fixed text: it never repeats an ID number, bank account or phone.
    """

    row: int
    column: str
    key: str
    code: str
    message: str
    severity: Severity = "error"
    #: for a message with values: its text before they were filled in, and the values (stored
    #: with the row so that each workstation shows it in its own language)
    template: str = ""
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """One data row: the values already converted (money in fen, quantity in 亩, rate in 元 per
    unit) and the problems found while reading it. Validation of the values is the caller's."""

    excel_row: int
    row: RowInput
    issues: tuple[ReportIssue, ...] = ()


@dataclass(frozen=True)
class ParsedRoster:
    """A roster table read from one sheet of one file.

    The data rows are held column by column (:attr:`columns`, :attr:`excel_rows`,
    :attr:`problems`); :attr:`rows` gives them as :class:`ParsedRow` objects, built on first use.
    """

    file: str
    sheet: str
    #: 1-based Excel row number of the (last) header row
    header_row: int
    #: schema key → header text as shown in the file
    mapping: dict[str, str]
    #: schema key → unit read from the header or the title rows ('公顷', '万元', '元/亩' …)
    units: dict[str, str]
    #: the values of the data rows, converted (money in fen, quantity in 亩, rate in 元 per unit)
    columns: RowColumns
    #: the Excel row number of each data row
    excel_rows: list[int]
    #: position of a data row → the problems found while reading it (rows without any are absent)
    problems: dict[int, tuple[ReportIssue, ...]]
    #: (excel_row, reason) of rows that are not data: 'blank', 'subtotal', 'note', 'header'
    skipped: tuple[tuple[int, str], ...]
    #: problems of the table as a whole (subtotal_mismatch, missing_column, mapping_not_found,
    #: parts_not_kept, quantity_guessed)
    warnings: tuple[ReportIssue, ...]
    #: how columns were chosen where the header alone could not say (a total over its parts, the
    #: area that fits amount = area × rate), for the clerk
    notes: tuple[str, ...] = ()

    @cached_property
    def rows(self) -> tuple[ParsedRow, ...]:
        problems, empty = self.problems, ()
        return tuple(
            ParsedRow(excel_row, row, problems.get(pos, empty))
            for pos, (excel_row, row) in enumerate(zip(self.excel_rows, self.columns.rows(), strict=True))
        )


def _row_list(rows: list[int]) -> str:
    """'4、6、8—11': runs of three or more rows as a range."""
    parts: list[str] = []
    i = 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1] == rows[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{rows[i]}—{rows[j]}")
        else:
            parts.extend(str(r) for r in rows[i:j + 1])
        i = j + 1
    return "、".join(parts)


def skipped_summary(skipped: tuple[tuple[int, str], ...] | list[tuple[int, str]]) -> str:
    """One sentence naming the rows below the header that were not imported, by kind and Excel
    row ('' when there are none)."""
    if not skipped:
        return ""
    kinds = {
        "subtotal": _("第 {rows} 行是小计或合计"),
        "note": _("第 {rows} 行是签字、盖章或说明"),
        "header": _("第 {rows} 行是重复的表头"),
        "heading": _("第 {rows} 行是组名行（下面各行归入该组）"),
        "blank": _("第 {rows} 行是空行"),
    }
    by_kind: dict[str, list[int]] = {}
    for row, reason in skipped:
        by_kind.setdefault(reason, []).append(row)
    parts = [kinds.get(kind, "{rows}").format(rows=_row_list(sorted(by_kind[kind])))
             for kind in (*kinds, *(k for k in by_kind if k not in kinds)) if kind in by_kind]
    return _("有 {count} 行不是明细，没有导入：{parts}。").format(count=len(skipped), parts="，".join(parts))
