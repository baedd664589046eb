"""Importing a roster file into a new draft notice: read, validate, store — all or nothing.

Rows with errors are kept and marked so the clerk can fix them; a notice with any error cannot be
submitted. A file that cannot be read writes nothing. The report names the sheet, the Excel row and
the column header the clerk sees.

Speed (bench/import_bench.py: 100,000 rows end to end in under 3 s on two cores): the rows are
converted and checked a batch at a time, column by column, on the caller's thread, while a writer
thread stores the batches before them in the import's one transaction (:class:`_Writer`).
"""

from __future__ import annotations

import bisect
import functools
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.context import Context
from app.errors import Cancelled, NotFound
from app.i18n import _
from app.importing.model import ReportIssue, skipped_summary
from app.notices import NoticeService, PreparedRows
from app.reference import ReferenceService
from app.rows import VALUE_KEPT_CODES, RowChecker, duplicate_issues
from app.settings import get_local, set_local
from db.models import NoticeType

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ImportResult:
    file: str
    sheet: str
    header_row: int
    mapping: dict[str, str]
    data_rows: int
    valid_rows: int
    invalid_rows: tuple[ReportIssue, ...]
    warnings: tuple[ReportIssue, ...]
    skipped_rows: tuple[tuple[int, str], ...]
    amount_fen: int
    valid_amount_fen: int
    quantity: Decimal
    notice_id: str | None = None
    #: (excel_row, row) of every row with a problem, for the validation report
    problem_rows: tuple[tuple[int, Any], ...] = field(default=(), repr=False)
    #: how the table was read where the header alone could not say (the amount is a 合计 of
    #: fees, the area that fits amount = area × rate), and which rows were left out: for the clerk
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "mapping": self.mapping,
            "data_rows": self.data_rows,
            "valid_rows": self.valid_rows,
            "invalid_rows": [
                {"row": r.row, "column": r.column, "code": r.code, "message": r.message}
                for r in self.invalid_rows
            ],
            "warnings": [
                {"row": r.row, "column": r.column, "code": r.code, "message": r.message}
                for r in self.warnings
            ],
            "skipped_rows": [{"row": row, "reason": reason} for row, reason in self.skipped_rows],
            "notes": list(self.notes),
            "totals": {
                "amount_fen": self.amount_fen,
                "valid_amount_fen": self.valid_amount_fen,
                "quantity": str(self.quantity),
            },
            "notice_id": self.notice_id,
        }


def _mapping_key(program_id: str) -> str:
    return f"import_mapping:{program_id}"


class ImportService:
    """Import roster files. Runs on a worker thread; takes ``progress`` and ``cancel``."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._notices = NoticeService(ctx)

    def import_file(
        self,
        path: Path,
        *,
        program_id: str,
        by: str,
        village_id: str | None = None,
        sheet: str | None = None,
        mapping_override: dict[str, str] | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> ImportResult:
        from app.importing import collector_paused

        # a large import allocates millions of objects and frees almost none: collections would
        # only rescan the growing heap (nothing here forms reference cycles)
        with collector_paused():
            return self._import(path, program_id, by, village_id, sheet, mapping_override, dry_run,
                                progress, cancel)

    def _import(self, path, program_id, by, village_id, sheet, mapping_override, dry_run, progress,
                cancel) -> ImportResult:
        from app.importing import open_roster

        report = progress or (lambda done, total, message: None)
        program = ReferenceService(self._ctx).program(program_id)
        nt = NoticeType.get_or_none(NoticeType.id == program.notice_type_id)
        if nt is None:
            raise NotFound(_("找不到该项目的公开事项类型。"), details=program_id)
        schema = nt.roster_schema
        override = mapping_override if mapping_override is not None else get_local(_mapping_key(program_id))

        report(0, 3, _("正在读取 {file}").format(file=path.name))
        roster = open_roster(path, schema, sheet=sheet, mapping_override=override or None, rate=program.rate)
        if cancel is not None and cancel.is_set():
            raise Cancelled(_("导入已取消，未做任何更改。"))

        # The rows are converted, checked and stored a batch at a time: while the writer's thread
        # stores a batch, this one converts and checks the next. The reader returns rows already
        # normalised as RowChecker.normalize would.
        excel_rows = roster.excel_rows
        n = len(excel_rows)
        report(1, 3, _("正在校验 {count} 行").format(count=n))
        header_of = dict(roster.mapping)
        checker = RowChecker(schema, self._ctx.clock.today())
        # duplicates within the file, marked as the notice will mark them (they need every row's
        # ID number, which the reader gives before the rest)
        numbers = roster.id_numbers
        counts = Counter(numbers)
        dups = duplicate_issues([(pos, x) for pos, x in enumerate(numbers) if counts[x] > 1], {})
        dup_positions = sorted(dups)
        lines: list[ReportIssue] = []
        warnings: list[ReportIssue] = []
        writer = None if dry_run else _Writer(self._ctx, functools.partial(
            self._store, nt.id, program_id, village_id, by, mapping_override, cancel, numbers))
        try:
            if writer is not None:
                writer.wait_until_ready()
            for start, rows, reading in roster.batches(_BATCH):
                stop = start + len(rows)
                found = checker.validate_columns(rows)  # by position in the batch
                duplicated = dup_positions[bisect.bisect_left(dup_positions, start):
                                           bisect.bisect_left(dup_positions, stop)]
                batch_issues: dict[int, tuple] = {}
                for k in sorted(found.keys() | {p - start for p in (*reading, *duplicated)}):
                    pos = start + k
                    problems = reading.get(pos, ())
                    issues = found.get(k, ())
                    if problems and issues:
                        # a value the reader refused is reported once, as the reader saw it, not
                        # again as missing
                        refused = {i.key for i in problems if i.code not in VALUE_KEPT_CODES}
                        issues = [i for i in issues if i.column not in refused]
                    duplicates = dups.get(pos, ())
                    stored = (*issues, *(_as_issue(i) for i in problems), *duplicates)
                    if stored:
                        batch_issues[k] = stored
                    excel_row = excel_rows[pos]
                    for i in issues:
                        line = ReportIssue(excel_row, header_of.get(i.column, i.column), i.column, i.code,
                                           i.message, i.severity, i.template, i.params)
                        (lines if i.severity == "error" else warnings).append(line)
                    for i in problems:
                        (lines if i.severity == "error" else warnings).append(i)
                    for i in duplicates:
                        lines.append(ReportIssue(excel_row, header_of.get(i.column, i.column), i.column, i.code,
                                                 i.message, i.severity, i.template, i.params))
                if cancel is not None and cancel.is_set():
                    raise Cancelled(_("导入已取消，未做任何更改。"))
                if writer is not None:
                    writer.put(NoticeService.prepare_rows(rows, batch_issues))
            parsed = roster.result()
            columns = parsed.columns
            warnings.extend(parsed.warnings)
            lines.sort(key=lambda r: (r.row, r.column))

            bad_rows = {r.row for r in lines}
            flagged_rows = bad_rows | {w.row for w in warnings}
            amounts = columns.amount_fen
            amount = sum(a for a in amounts if a)
            valid_amount = amount - sum(amounts[pos] or 0 for pos, row in enumerate(excel_rows)
                                        if row in bad_rows)
            quantity = sum((q for q in columns.quantity if q is not None), Decimal(0))
            problem_rows = tuple((row, columns.row(pos)) for pos, row in enumerate(excel_rows)
                                 if row in flagged_rows)
            notice_id = None
            if writer is not None:
                if cancel is not None and cancel.is_set():
                    raise Cancelled(_("导入已取消，未做任何更改。"))
                report(2, 3, _("正在保存"))
                notice_id = writer.finish()
                writer = None
        finally:
            if writer is not None:
                writer.abort()
        report(3, 3, _("完成"))
        return ImportResult(
            file=parsed.file, sheet=parsed.sheet, header_row=parsed.header_row, mapping=dict(parsed.mapping),
            data_rows=n, valid_rows=n - len(bad_rows), invalid_rows=tuple(lines),
            warnings=tuple(warnings), skipped_rows=tuple(parsed.skipped), amount_fen=amount,
            valid_amount_fen=valid_amount, quantity=quantity, notice_id=notice_id, problem_rows=problem_rows,
            notes=(*parsed.notes, *filter(None, [skipped_summary(parsed.skipped)])),
        )

    def _store(self, notice_type_id: str, program_id: str, village_id: str | None, by: str,
               mapping_override: dict[str, str] | None, cancel: threading.Event | None,
               id_numbers: list[str], batches: Iterable[PreparedRows]) -> str:
        """The draft and all its rows (inside the writer's transaction); returns the notice id."""
        notice_id = self._notices.create(by, notice_type_id=notice_type_id, program_id=program_id,
                                         village_id=village_id)
        # the batches carry their duplicate marks within the file (found over all of it)
        self._notices.add_checked_rows(notice_id, by, batches, id_numbers=id_numbers)
        if mapping_override:
            set_local(_mapping_key(program_id), mapping_override)
        if cancel is not None and cancel.is_set():
            raise Cancelled(_("导入已取消，未做任何更改。"))
        return notice_id


#: rows checked and handed to the writer at a time (one INSERT statement where SQLite allows)
_BATCH = 10_000


class _Writer:
    """Runs ``work(batches)`` in one write transaction on a thread of its own, fed batch by batch.

    The import checks the next rows while SQLite stores the ones before: SQLite lets go of the GIL
    while it inserts, so the two cores share the work. Every write of the import happens on this
    thread's own connection (peewee keeps one per thread), in one IMMEDIATE transaction: all or
    nothing. Where a second connection would not see the same database (in memory) or would wait
    for a transaction the caller holds, the work runs on the caller's thread in :meth:`finish`.

    The writer is the slower of the two, and each of its many small queries before the first
    batch (the draft, the audit event, the search of other notices) waits for the GIL while the
    caller's thread computes: the caller lets it get that far first (:meth:`wait_until_ready`).
    """

    _END = object()
    _ABORT = object()

    def __init__(self, ctx: Context, work: Callable[[Iterable[Any]], Any]) -> None:
        self._ctx = ctx
        self._work = work
        self._pending: list[Any] = []
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()  # work has asked for its first batch (or has ended)
        db = ctx.db
        name = str(db.database or "")
        if not db.in_transaction() and name and ":memory:" not in name and "mode=memory" not in name:
            self._thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
            self._thread.start()

    def wait_until_ready(self) -> None:
        """Wait until ``work`` asks for its first batch (or has failed)."""
        if self._thread is not None:
            self._ready.wait()

    def put(self, batch: Any) -> None:
        if self._thread is None:
            self._pending.append(batch)
            return
        if self._error is not None:
            raise self._error  # the writer has failed: stop reading on
        self._queue.put(batch)

    def finish(self) -> Any:
        """Wait for the transaction to commit; returns what ``work`` returned or raises what it raised."""
        if self._thread is None:
            with self._ctx.write():
                return self._work(iter(self._pending))
        self._queue.put(self._END)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result

    def abort(self) -> None:
        """Roll the transaction back (nothing is written) and wait for the thread to end."""
        self._pending.clear()
        if self._thread is not None:
            self._queue.put(self._ABORT)
            self._thread.join()

    def _batches(self) -> Iterator[Any]:
        self._ready.set()
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if item is self._ABORT:
                raise Cancelled(_("导入已取消，未做任何更改。"))
            yield item

    def _run(self) -> None:
        db = self._ctx.db
        try:
            with self._ctx.write():
                self._result = self._work(self._batches())
        except BaseException as exc:  # handed to the caller's thread by put() or finish()
            self._error = exc
        finally:
            self._ready.set()
            db.close()  # this thread's connection only


def _as_issue(report_issue):
    """A reading problem stored with the row, keyed by the schema column."""
    from app.validation import Issue

    return Issue(report_issue.key, report_issue.code, report_issue.message, report_issue.severity,
                 report_issue.template, report_issue.params)



def write_validation_report(result: ImportResult, path: Path) -> Path:
    """An .xlsx listing every row with a problem, the bad cells highlighted and explained.

    It holds the clerk's own data (it is for fixing the source file), so it stays on the
    workstation like the internal roster.
    """
    import os

    import xlsxwriter

    from app.exports import cell_text

    by_row: dict[int, list[ReportIssue]] = {}
    for line in (*result.invalid_rows, *result.warnings):
        by_row.setdefault(line.row, []).append(line)
    keys = list(result.mapping)
    headers = [result.mapping[k] for k in keys]
    tmp = path.with_name(path.name + ".part")
    book = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False, "strings_to_formulas": False})
    try:
        ws = book.add_worksheet("校验结果")
        bold = book.add_format({"bold": True})
        head = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
        plain = book.add_format({"num_format": "@", "border": 1})
        bad = book.add_format({"num_format": "@", "border": 1, "bg_color": "#FFC7CE", "font_color": "#9C0006"})
        warn = book.add_format({"num_format": "@", "border": 1, "bg_color": "#FFEB9C"})
        ws.write(0, 0, f"{result.file}  工作表“{result.sheet}”  共 {result.data_rows} 行，"
                       f"{result.data_rows - result.valid_rows} 行有错误", bold)
        ws.write_row(2, 0, ["Excel 行号", *headers, "问题说明"], head)
        r = 3
        for excel_row, row in result.problem_rows:
            lines = by_row.get(excel_row, [])
            ws.write_number(r, 0, excel_row, plain)
            for c, key in enumerate(keys, start=1):
                cell_lines = [x for x in lines if x.column == result.mapping[key]]
                fmt = (bad if any(x.severity == "error" for x in cell_lines) else warn) if cell_lines else plain
                ws.write_string(r, c, cell_text({"key": key}, row), fmt)
                if cell_lines:
                    ws.write_comment(r, c, "\n".join(x.message for x in cell_lines))
            ws.write_string(r, len(keys) + 1, "；".join(f"{x.column}：{x.message}" for x in lines), plain)
            r += 1
        ws.freeze_panes(3, 1)
        ws.set_column(1, len(keys), 14)
        ws.set_column(len(keys) + 1, len(keys) + 1, 60)
        book.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
