"""Opening a roster file: .xlsx/.xls/.ods through calamine, .csv through the csv module.

The format is told from the file's first bytes, not its name: clerks rename files, and systems
export tab-separated text named .xls. Every failure becomes one :class:`ReadError` naming the
file; no calamine, zipfile or csv exception leaves this module.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import python_calamine

from app.i18n import _
from app.importing.headers import SCAN_ROWS
from app.importing.model import ReadError

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TEXT_SUFFIXES = {".csv", ".txt", ".tsv"}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
# calamine is Rust: a malformed file can make it panic, which pyo3 raises as PanicException, a
# BaseException. Everything it raises becomes a ReadError except what must stop the program.
_PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)


@dataclass
class SheetSource:
    """One sheet: its first rows for header detection and a loader for all rows.

    Row ``i`` of :meth:`rows` is Excel row ``i + 1``; cells keep their column position.
    """

    name: str
    visible: bool
    head: list[list]
    merged: list | None
    load: Callable[[], list[list]]

    @property
    def empty(self) -> bool:
        return not any(v != "" and v is not None for row in self.head for v in row)


@dataclass
class Book:
    file: str
    sheet_names: list[str]
    sheets: list[SheetSource]


def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def open_book(path: Path, max_bytes: int) -> Book:
    """Read ``path`` (at most ``max_bytes``, checked before reading) into sheet sources."""
    file = path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ReadError(_("找不到文件“{file}”。").format(file=file), details=str(path)) from None
    except OSError as err:
        raise ReadError(_("无法打开文件“{file}”。").format(file=file), details=repr(err)) from None
    if size > max_bytes:
        message = _("文件“{file}”太大（{size}），超过了 {limit} 的上限，没有读取。"
                    "请删去无关的工作表或把清册拆分成几个文件后再导入。")
        raise ReadError(message.format(file=file, size=_size_text(size), limit=_size_text(max_bytes)),
                        details=f"{size} bytes > {max_bytes}")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ReadError(_("无法打开文件“{file}”。").format(file=file), details=repr(err)) from None
    if not data:
        raise ReadError(_("文件“{file}”是空文件，没有任何内容。").format(file=file))
    if data.startswith(_ZIP) or data.startswith(_OLE):
        return _spreadsheet(file, data)
    return _text(file, data, path.suffix.lower() in _TEXT_SUFFIXES)


def _not_a_spreadsheet(file: str, details: str = "") -> ReadError:
    message = _("文件“{file}”不是能识别的表格文件。请用 Excel 或 WPS 打开它，"
                "另存为 .xlsx 格式后再导入。")
    return ReadError(message.format(file=file), details=details)


def _spreadsheet(file: str, data: bytes) -> Book:
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        metadata = book.sheets_metadata
    except _PASS_THROUGH:
        raise
    except BaseException as err:  # see _PASS_THROUGH
        raise _broken(file, data, err) from None
    names = [m.name for m in metadata]
    sheets = []
    for meta in metadata:
        if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
            continue
        try:
            sheet = book.get_sheet_by_name(meta.name)
            head = sheet.to_python(skip_empty_area=False, nrows=SCAN_ROWS + 1)
            merged = sheet.merged_cell_ranges
        except _PASS_THROUGH:
            raise
        except BaseException as err:
            message = _("文件“{file}”的工作表“{sheet}”已损坏，无法读取。请用 Excel 或 WPS 打开"
                        "后重新保存，再导入。")
            raise ReadError(message.format(file=file, sheet=meta.name), details=repr(err)) from None
        sheets.append(SheetSource(
            name=meta.name, visible=meta.visible == python_calamine.SheetVisibleEnum.Visible,
            head=head, merged=list(merged) if merged is not None else None,
            load=_loader(file, meta.name, sheet),
        ))
    return Book(file=file, sheet_names=names, sheets=sheets)


def _loader(file: str, name: str, sheet: python_calamine.CalamineSheet) -> Callable[[], list[list]]:
    def load() -> list[list]:
        try:
            return sheet.to_python(skip_empty_area=False)
        except _PASS_THROUGH:
            raise
        except BaseException as err:
            message = _("文件“{file}”的工作表“{sheet}”已损坏，无法读取。")
            raise ReadError(message.format(file=file, sheet=name), details=repr(err)) from None

    return load


def _broken(file: str, data: bytes, err: Exception) -> ReadError:
    text = str(err).lower()
    if "password" in text or "encrypt" in text or isinstance(err, python_calamine.PasswordError):
        message = _("文件“{file}”设有打开密码，无法读取。请在 Excel 或 WPS 中取消密码后再导入。")
        return ReadError(message.format(file=file), details=repr(err))
    if data.startswith(_ZIP):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                damaged = archive.testzip() is not None
        except Exception:  # zipfile raises BadZipFile, zlib.error, EOFError … on damaged data
            damaged = True
        if damaged:
            message = _("文件“{file}”不完整或已损坏（可能在下载或复制时被截断），无法读取。"
                        "请重新获取原文件后再导入。")
            return ReadError(message.format(file=file), details=repr(err))
    if data.startswith(_OLE):
        message = _("文件“{file}”无法作为表格读取：它可能已损坏，或者是 Word 等其他格式的文件。"
                    "请用 Excel 或 WPS 打开它，另存为 .xlsx 格式后再导入。")
        return ReadError(message.format(file=file), details=repr(err))
    return _not_a_spreadsheet(file, repr(err))


def decode_text(data: bytes) -> str | None:
    """The text of a CSV file in UTF-8 (with or without BOM), UTF-16 with BOM or GB18030; None
    when it is in none of them (or is binary)."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = [(data[3:], "utf-8")]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [(data, "utf-16")]  # Excel's "Unicode 文本" export
    else:
        candidates = [(data, "utf-8"), (data, "gb18030")]
    for raw, encoding in candidates:
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if _CONTROL.search(text):
            return None  # binary data, or UTF-16 without a BOM (every ASCII char has a NUL)
        if encoding == "gb18030" and _PRIVATE_USE.search(text):
            return None  # byte pairs that GB18030 only maps to private-use code points
        return text
    return None


def _text(file: str, data: bytes, named_as_text: bool) -> Book:
    text = decode_text(data)
    if text is None:
        if named_as_text:
            message = _("无法识别 CSV 文件“{file}”的文字编码（只支持 UTF-8 和 GBK/GB18030）。"
                        "请用 Excel 或 WPS 打开后另存为 .xlsx，或另存为“CSV UTF-8”格式再导入。")
            raise ReadError(message.format(file=file))
        raise _not_a_spreadsheet(file)
    first = text.lstrip()[:2000].lower()
    if first.startswith("<") and ("<html" in first or "<table" in first or "<?xml" in first):
        message = _("文件“{file}”实际上是网页（HTML/XML）格式，不是表格。请用 Excel 或 WPS 打开它，"
                    "另存为 .xlsx 格式后再导入。")
        raise ReadError(message.format(file=file))
    lines = text.splitlines()[:SCAN_ROWS]
    tabs, commas = sum(x.count("\t") for x in lines), sum(x.count(",") for x in lines)
    if not named_as_text and not (tabs or commas):
        raise _not_a_spreadsheet(file)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t" if tabs > commas else ","))
    except csv.Error as err:
        message = _("CSV 文件“{file}”的格式有误（引号不成对或某个单元格过长），无法读取。")
        raise ReadError(message.format(file=file), details=repr(err)) from None
    width = max((len(r) for r in rows), default=0)
    for row in rows:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
    sheet = SheetSource(name="", visible=True, head=rows[: SCAN_ROWS + 1], merged=None,
                        load=lambda: rows)
    return Book(file=file, sheet_names=[""], sheets=[sheet])
