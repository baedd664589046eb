"""Importing a roster file into a new draft notice: read, validate, store — all or nothing.

Rows with errors are kept and marked so the clerk can fix them; a notice with any error cannot be
submitted. A file that cannot be read writes nothing. The report names the sheet, the Excel row and
the column header the clerk sees.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.context import Context
from app.errors import Cancelled, NotFound
from app.i18n import _
from app.importing.model import ReportIssue
from app.notices import NoticeService
from app.reference import ReferenceService
from app.rows import RowChecker, duplicate_issues
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
        from app.importing import read_roster

        report = progress or (lambda done, total, message: None)
        program = ReferenceService(self._ctx).program(program_id)
        nt = NoticeType.get_or_none(NoticeType.id == program.notice_type_id)
        if nt is None:
            raise NotFound(_("找不到该项目的公开事项类型。"), details=program_id)
        schema = nt.roster_schema
        override = mapping_override if mapping_override is not None else get_local(_mapping_key(program_id))

        report(0, 3, _("正在读取 {file}").format(file=path.name))
        parsed = read_roster(path, schema, sheet=sheet, mapping_override=override or None)
        if cancel is not None and cancel.is_set():
            raise Cancelled(_("导入已取消，未做任何更改。"))

        report(1, 3, _("正在校验 {count} 行").format(count=len(parsed.rows)))
        header_of = dict(parsed.mapping)
        checker = RowChecker(schema)
        rows, prechecked, lines, warnings = [], [], [], []
        for pr in parsed.rows:
            row = pr.row  # the reader returns rows already normalised as RowChecker.normalize would
            # a value the reader refused is reported once, as the reader saw it, not again as missing
            refused = {i.key for i in pr.issues}
            found = [i for i in checker.validate(row) if i.column not in refused]
            rows.append(row)
            prechecked.append((*found, *(_as_issue(i) for i in pr.issues)))
            for i in found:
                line = ReportIssue(pr.excel_row, header_of.get(i.column, i.column), i.column, i.code, i.message,
                                   i.severity)
                (lines if i.severity == "error" else warnings).append(line)
            for i in pr.issues:
                (lines if i.severity == "error" else warnings).append(i)
        dups = duplicate_issues([(str(k), r.id_number) for k, r in enumerate(rows)], {})
        for k, issues in dups.items():
            position = int(k)
            excel_row = parsed.rows[position].excel_row
            prechecked[position] = (*prechecked[position], *issues)  # stored as the notice will mark them
            for i in issues:
                lines.append(ReportIssue(excel_row, header_of.get(i.column, i.column), i.column, i.code, i.message,
                                         i.severity))
        warnings.extend(parsed.warnings)
        lines.sort(key=lambda r: (r.row, r.column))

        bad_rows = {r.row for r in lines}
        flagged_rows = bad_rows | {w.row for w in warnings}
        amount = sum((r.amount_fen or 0) for r in rows)
        valid_amount = sum((r.amount_fen or 0) for r, p in zip(rows, parsed.rows, strict=True) if p.excel_row not in bad_rows)
        quantity = sum((r.quantity for r in rows if r.quantity is not None), Decimal(0))
        notice_id = None
        if not dry_run:
            if cancel is not None and cancel.is_set():
                raise Cancelled(_("导入已取消，未做任何更改。"))
            report(2, 3, _("正在保存"))
            with self._ctx.write():  # the draft and all its rows, or nothing
                notice_id = self._notices.create(by, notice_type_id=nt.id, program_id=program_id,
                                                 village_id=village_id)
                self._notices.add_rows(notice_id, by, rows, prechecked=prechecked, validated=True)
                if mapping_override:
                    set_local(_mapping_key(program_id), mapping_override)
        report(3, 3, _("完成"))
        return ImportResult(
            file=parsed.file, sheet=parsed.sheet, header_row=parsed.header_row, mapping=dict(parsed.mapping),
            data_rows=len(rows), valid_rows=len(rows) - len(bad_rows), invalid_rows=tuple(lines),
            warnings=tuple(warnings), skipped_rows=tuple(parsed.skipped), amount_fen=amount,
            valid_amount_fen=valid_amount, quantity=quantity, notice_id=notice_id,
            problem_rows=tuple((p.excel_row, r) for p, r in zip(parsed.rows, rows, strict=True)
                               if p.excel_row in flagged_rows),
        )


def _as_issue(report_issue):
    """A reading problem stored with the row, keyed by the schema column."""
    from app.validation import Issue

    return Issue(report_issue.key, report_issue.code, report_issue.message, report_issue.severity)



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
