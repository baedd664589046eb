"""What the import wizard shows before anything is stored: the sheets of a roster file, the header
found on one sheet and how its columns map to the roster schema; and adding a file's rows to an
existing draft.

Reading goes through app.importing (the same header detection that the import uses, so the
preview shows what the import will do); storing goes through NoticeService. Nothing here is
Qt: the wizard runs these on a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from app.context import Context
from app.errors import Cancelled, NotFound
from app.i18n import _
from app.importing import MAX_BYTES, ReadError, read_roster
from app.importing.cells import text as cell_text
from app.importing.headers import HeaderMatch, HeaderMatcher, find_header, normalize_header
from app.importing.sources import open_book
from app.imports import _mapping_key
from app.notices import NoticeService, NoticeSummary
from app.reference import ReferenceService
from app.settings import get_local, set_local
from app.validation import Issue

Progress = Callable[[int, int, str], None]

#: data rows shown below the header on the mapping page
PREVIEW_ROWS = 8


@dataclass(frozen=True)
class SchemaColumn:
    key: str
    label: str
    required: bool


@dataclass(frozen=True, eq=False)
class SheetPreview:
    """One sheet: its first rows as the reader sees them. ``name`` is '' for a CSV file."""

    name: str
    visible: bool
    empty: bool
    #: schema columns the best header row of this sheet names (0: no header found)
    matched: int
    head: list[list]
    merged: list | None

    def text_rows(self, limit: int | None = None) -> list[list[str]]:
        """The first rows as text, trailing empty columns trimmed."""
        rows = [[cell_text(v) for v in row] for row in self.head[:limit]]
        width = max((max((i + 1 for i, v in enumerate(r) if v), default=0) for r in rows), default=0)
        return [r[:width] + [""] * (width - len(r)) for r in rows]


@dataclass(frozen=True, eq=False)
class FilePreview:
    path: Path
    file: str
    program_id: str
    schema: list[dict]
    sheets: tuple[SheetPreview, ...]
    #: the sheet the import would choose on its own (best header, visible first); None if none fits
    suggested: str | None
    #: the program's rate, which tells area columns apart as the import does
    rate: Decimal | None = None

    @property
    def is_csv(self) -> bool:
        return [s.name for s in self.sheets] == [""]

    def sheet(self, name: str) -> SheetPreview:
        for s in self.sheets:
            if s.name == name:
                return s
        raise NotFound(_("文件“{file}”中没有名为“{sheet}”的工作表。").format(file=self.file, sheet=name))

    def columns(self) -> list[SchemaColumn]:
        return [SchemaColumn(c["key"], c["label"], bool(c.get("required"))) for c in self.schema]


@dataclass(frozen=True)
class HeaderCellInfo:
    index: int  # 0-based column
    letter: str  # Excel column letter
    text: str  # the header text as the import names it (two header rows joined)


@dataclass(frozen=True)
class MappingPreview:
    sheet: str
    #: 1-based Excel rows of the header (equal for a one-row header)
    header_first: int
    header_last: int
    headers: tuple[HeaderCellInfo, ...]
    #: schema key → header text; keys missing here are not imported
    mapping: dict[str, str]
    units: dict[str, str]
    #: (excel_row, cells as text) of the first data rows
    rows: tuple[tuple[int, tuple[str, ...]], ...]
    #: how columns were chosen where the header alone could not say, and choices to check
    notes: tuple[str, ...] = ()

    def missing_required(self, columns: list[SchemaColumn]) -> list[SchemaColumn]:
        return [c for c in columns if c.required and c.key not in self.mapping]


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the column as Excel labels it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def roster_schema(ctx: Context, program_id: str) -> list[dict]:
    """The roster columns of the program's notice type."""
    from db.models import NoticeType

    program = ReferenceService(ctx).program(program_id)
    nt = NoticeType.get_or_none(NoticeType.id == program.notice_type_id)
    if nt is None:
        raise NotFound(_("找不到该项目的公开事项类型。"), details=program_id)
    return list(nt.roster_schema)


def _program_rate(ctx: Context, program_id: str | None) -> Decimal | None:
    return ReferenceService(ctx).program(program_id).rate if program_id else None


def preview_file(ctx: Context, path: Path, program_id: str) -> FilePreview:
    """Open ``path`` and read the first rows of every sheet. Raises ReadError for a file that
    cannot be read as a table (the same messages as the import). Safe on any thread."""
    path = Path(path)
    schema = roster_schema(ctx, program_id)
    rate = _program_rate(ctx, program_id)
    book = open_book(path, MAX_BYTES)
    matcher = HeaderMatcher(schema, rate=rate)
    sheets = []
    best: tuple[tuple, str] | None = None
    for source in book.sheets:
        match = None if source.empty else find_header(source.head, matcher, source.merged)
        matched = len(match.columns) if match is not None else 0
        sheets.append(SheetPreview(source.name, source.visible, source.empty, matched,
                                   [list(r) for r in source.head], source.merged))
        if match is not None and (best is None or (match.score, source.visible) > best[0]):
            best = ((match.score, source.visible), source.name)
    if all(s.empty for s in sheets):
        raise ReadError(_("文件“{file}”中没有任何内容（所有工作表都是空的）。").format(file=book.file))
    return FilePreview(path, book.file, program_id, schema, tuple(sheets), best[1] if best else None, rate)


def _header(preview: FilePreview, sheet: SheetPreview, override: dict[str, str] | None) -> HeaderMatch:
    match = find_header(sheet.head, HeaderMatcher(preview.schema, override or None, preview.rate), sheet.merged)
    if match is None:
        expected = "、".join(c["label"] for c in preview.schema)
        if sheet.name:
            message = _("在文件“{file}”的工作表“{sheet}”中找不到表头。表头应在前 30 行内，"
                        "并至少包含以下列中的两列：{columns}。")
            raise ReadError(message.format(file=preview.file, sheet=sheet.name, columns=expected))
        message = _("在文件“{file}”中找不到表头。表头应在前 30 行内，并至少包含以下列中的两列：{columns}。")
        raise ReadError(message.format(file=preview.file, columns=expected))
    return match


def applicable_mapping(preview: FilePreview, sheet: str, mapping: dict[str, str]) -> dict[str, str]:
    """The entries of a remembered mapping that this sheet's header can use: texts it has, and
    columns the clerk chose not to import. Others would only be reported as not found."""
    match = _header(preview, preview.sheet(sheet), None)
    texts = {normalize_header(c.text) for c in match.cells if c.text}
    keys = {c["key"] for c in preview.schema}
    return {k: t for k, t in mapping.items() if k in keys and (not t or normalize_header(t) in texts)}


def preview_mapping(preview: FilePreview, sheet: str, override: dict[str, str] | None = None) -> MappingPreview:
    """The header the import will find on ``sheet`` with ``override`` (schema key → header text,
    '' for not imported), and the first data rows below it. Works on the rows already read."""
    source = preview.sheet(sheet)
    match = _header(preview, source, override)
    headers = tuple(HeaderCellInfo(c.index, column_letter(c.index), c.text) for c in match.cells if c.text)
    rows = []
    for index in range(match.last_row + 1, len(source.head)):
        values = tuple(cell_text(v) for v in source.head[index])
        if any(values):
            rows.append((index + 1, values))
        if len(rows) == PREVIEW_ROWS:
            break
    return MappingPreview(sheet, match.first_row + 1, match.last_row + 1, headers, dict(match.texts),
                          dict(match.units), tuple(rows), (*match.notes, *(w.message for w in match.warnings)))


def remembered_mapping(program_id: str) -> dict[str, str]:
    """The column choices saved by the last import for this program (schema key → header text)."""
    value = get_local(_mapping_key(program_id))
    return dict(value) if isinstance(value, dict) else {}


def drafts_for_program(ctx: Context, program_id: str) -> list[NoticeSummary]:
    """Drafts of this program that rows can still be added to, newest first."""
    notices = NoticeService(ctx)
    return [s for s in notices.summaries() if s.status == "draft" and notices.get(s.id).program_id == program_id]


def append_to_draft(ctx: Context, notice_id: str, path: Path, *, by: str, sheet: str | None = None,
                    mapping_override: dict[str, str] | None = None, progress: Progress | None = None,
                    cancel: threading.Event | None = None) -> int:
    """Add the rows of ``path`` to the draft ``notice_id``, validated and marked like an import;
    returns how many rows were added. All rows or none: a file that cannot be read, a cancel or
    a notice that is no longer a draft changes nothing. Runs on any thread."""
    from app.importing import collector_paused

    report = progress or (lambda done, total, message: None)
    notices = NoticeService(ctx)
    n = notices.get(notice_id)
    schema = n.notice_type.roster_schema
    override = mapping_override if mapping_override is not None else (
        remembered_mapping(n.program_id) if n.program_id else {})
    report(0, 3, _("正在读取 {file}").format(file=Path(path).name))
    with collector_paused():
        parsed = read_roster(Path(path), schema, sheet=sheet, mapping_override=override or None,
                             rate=_program_rate(ctx, n.program_id))
    if cancel is not None and cancel.is_set():
        raise Cancelled(_("导入已取消，未做任何更改。"))
    report(1, 3, _("正在校验并保存 {count} 行").format(count=len(parsed.rows)))
    rows = [pr.row for pr in parsed.rows]
    prechecked = [tuple(Issue(i.key, i.code, i.message, i.severity, i.template, i.params) for i in pr.issues)
                  for pr in parsed.rows]
    with ctx.write():  # the rows and the remembered mapping, or nothing
        added = notices.add_rows(notice_id, by, rows, prechecked)
        if mapping_override and n.program_id:
            set_local(_mapping_key(n.program_id), mapping_override)
    report(3, 3, _("完成"))
    return added


@dataclass(frozen=True)
class ProgramChoice:
    """A program a roster can be imported for, with its notice type as the clerk knows it."""

    id: str
    name: str
    year: int
    notice_type_name: str
    #: 县 | 乡 | 村: who publishes this kind of notice
    level: str


def program_choices(ctx: Context) -> list[ProgramChoice]:
    """Every program, newest year first, for choosing what a roster is for."""
    types = {t.id: t for t in ReferenceService(ctx).notice_types()}
    out = []
    for p in ReferenceService(ctx).programs():
        nt = types.get(p.notice_type_id)
        if nt is not None:
            out.append(ProgramChoice(p.id, p.name, p.year, nt.name, nt.level))
    return out
