"""Reading a roster (清册) file into rows: find the table, map its columns, convert its cells.

Pure Python with no database: :func:`read_roster` either returns every data row of one sheet
with the problems found while reading, or raises one :class:`ReadError`. Validation of the
values (ID check digits, amount = quantity × rate, duplicates) is the caller's.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from app.i18n import _
from app.importing.headers import HeaderMatch, HeaderMatcher, find_header, normalize_header
from app.importing.model import ParsedRoster, ReadError, ReportIssue
from app.importing.sources import Book, SheetSource, open_book
from app.importing.table import TableReader
from app.rows import RowColumns

MAX_BYTES = 100 * 1024 * 1024


def read_roster(path: Path, schema: list[dict], *, sheet: str | None = None,
                mapping_override: dict[str, str] | None = None, rate: Decimal | None = None,
                max_bytes: int = MAX_BYTES) -> ParsedRoster:
    """Read the roster table of ``path`` against ``schema`` (a notice type's roster_schema).

    ``sheet`` names the sheet to read (default: the one whose header best fits the schema).
    ``mapping_override`` maps a schema key to the exact header text to use for it ('' leaves
    the key unmapped); an override whose header is not in the file is ignored with a warning.
    ``rate`` is the program's rate (元 per the quantity's unit): with no rate in the file, it
    tells which of two area columns the amounts were computed from.
    Raises :class:`ReadError` when the file cannot be read as a roster. Safe on any thread.
    """
    with collector_paused():
        return open_roster(path, schema, sheet=sheet, mapping_override=mapping_override, rate=rate,
                           max_bytes=max_bytes).result()


def open_roster(path: Path, schema: list[dict], *, sheet: str | None = None,
                mapping_override: dict[str, str] | None = None, rate: Decimal | None = None,
                max_bytes: int = MAX_BYTES) -> RosterReading:
    """:func:`read_roster` a batch of rows at a time: the table is found and its rows sorted
    (ReadError here, as there), then :meth:`RosterReading.batches` converts the values. An
    importer checks and stores the first rows while the next ones are converted."""
    path = Path(path)
    book = open_book(path, max_bytes)
    matcher = HeaderMatcher(schema, mapping_override, rate)
    source, match = _choose(book, matcher, sheet)
    rows = source.load()
    columns = {c["key"]: c for c in schema}
    reader = TableReader(columns, match)
    reader.sort(rows)
    header_warnings = [*_header_warnings(columns, match, matcher, mapping_override), *match.warnings,
                       *reader.table_warnings]
    return RosterReading(book.file, source.name, match, reader, header_warnings)


class RosterReading:
    """A roster table found in a file, its rows sorted into data rows and skipped rows and the
    ID numbers of the data rows read; the other values are converted by :meth:`batches` (or
    all at once by :meth:`result`)."""

    def __init__(self, file: str, sheet: str, match: HeaderMatch, reader: TableReader,
                 warnings: list[ReportIssue]) -> None:
        self.file = file
        self.sheet = sheet
        self.header_row = match.last_row + 1
        self.mapping = dict(match.texts)
        self.units = dict(match.units)
        #: how columns were chosen where the header alone could not say
        self.notes = match.notes
        #: the Excel row number of each data row
        self.excel_rows = [i + 1 for i in reader.data]
        #: the ID number of each data row ('' where there is none or it could not be read)
        self.id_numbers = reader.id_numbers
        self._reader = reader
        self._warnings = warnings

    def batches(self, size: int) -> Iterator[tuple[int, RowColumns, dict[int, tuple[ReportIssue, ...]]]]:
        """The data rows ``size`` at a time, in order: ``(position of the first row, their
        values, their reading problems by position)``."""
        return self._reader.batches(size)

    def result(self) -> ParsedRoster:
        """Everything read (what batches have not converted yet is converted now)."""
        values, excel_rows, problems, skipped, totals_warnings = self._reader.result()
        return ParsedRoster(
            file=self.file, sheet=self.sheet, header_row=self.header_row, mapping=dict(self.mapping),
            units=dict(self.units), columns=values, excel_rows=excel_rows, problems=problems,
            skipped=tuple(skipped), warnings=(*self._warnings, *totals_warnings), notes=self.notes,
        )


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is read.

    Reading 100,000 rows allocates over a million objects and frees almost none, so every
    allocation burst starts a collection that scans the whole growing heap: that costs as much
    as the reading itself. Nothing built here forms a reference cycle, and the collector runs
    again as soon as the file is read (or the reading fails).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _expected(matcher: HeaderMatcher) -> str:
    return "、".join(matcher.labels.values())


def _choose(book: Book, matcher: HeaderMatcher, sheet: str | None) -> tuple[SheetSource, HeaderMatch]:
    file = book.file
    if sheet is not None and book.sheet_names != [""]:
        wanted = normalize_header(sheet)
        source = next((s for s in book.sheets if s.name == sheet), None) or next(
            (s for s in book.sheets if normalize_header(s.name) == wanted), None)
        if source is None:
            message = _("文件“{file}”中没有名为“{sheet}”的工作表。文件中的工作表有：{names}。")
            names = "、".join(f"“{n}”" for n in book.sheet_names)
            raise ReadError(message.format(file=file, sheet=sheet, names=names))
        candidates = [source]
    else:
        candidates = book.sheets
    filled = [s for s in candidates if not s.empty]
    if not filled:
        if sheet is not None and book.sheet_names != [""]:
            message = _("文件“{file}”的工作表“{sheet}”是空的，没有任何内容。")
            raise ReadError(message.format(file=file, sheet=candidates[0].name))
        raise ReadError(_("文件“{file}”中没有任何内容（所有工作表都是空的）。").format(file=file))
    best: tuple[HeaderMatch, SheetSource] | None = None
    for source in filled:
        match = find_header(source.head, matcher, source.merged)
        if match is not None and (best is None or (match.score, source.visible)
                                  > (best[0].score, best[1].visible)):
            best = (match, source)
    if best is None:
        if len(filled) == 1 and filled[0].name:
            message = _("在文件“{file}”的工作表“{sheet}”中找不到表头。表头应在前 30 行内，"
                        "并至少包含以下列中的两列：{columns}。")
            raise ReadError(message.format(file=file, sheet=filled[0].name, columns=_expected(matcher)))
        message = _("在文件“{file}”中找不到表头。表头应在前 30 行内，并至少包含以下列中的两列：{columns}。")
        raise ReadError(message.format(file=file, columns=_expected(matcher)))
    return best[1], best[0]


def _header_warnings(columns: dict[str, dict], match: HeaderMatch, matcher: HeaderMatcher,
                     override: dict[str, str] | None) -> list[ReportIssue]:
    row = match.last_row + 1
    out = []
    for key, text in (override or {}).items():
        if text and normalize_header(match.texts.get(key, "")) != normalize_header(text):
            message = _("指定的表头“{text}”在文件中没有找到，这一列已按自动识别处理").format(text=text)
            out.append(ReportIssue(row, text, key, "mapping_not_found", message, "warning"))
    for key, col in columns.items():
        if col.get("required") and key not in match.columns and key not in matcher.unmapped:
            message = _("表头中没有找到“{label}”列，各行的这一项都将按未填写处理；"
                        "如果表头写法不同，请在导入时指定对应的列").format(label=col["label"])
            out.append(ReportIssue(row, col["label"], key, "missing_column", message, "warning"))
    return out
