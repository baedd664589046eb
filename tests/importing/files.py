"""Writers for the messy roster files the tests read: every file is built in the test.

``write_book(path, {sheet: rows}, merges={sheet: [(r0, c0, r1, c1), ...]})`` picks the writer
from the suffix: .xlsx (openpyxl, or XlsxWriter with ``engine="xlsxwriter"``: the writer most
township systems export with), .xls (xlwt), .ods (odfpy), .csv (one sheet; ``encoding``).
Rows are lists of str, int, float, date/datetime or None (empty); merges are 0-based and
inclusive, with the value in the top-left cell.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

Merge = tuple[int, int, int, int]

# Column headers of the subsidy_payout roster as a village typically writes them.
HEADER = ["序号", "组别", "户主姓名", "身份证号码", "补贴面积（亩）", "补贴标准（元/亩）",
          "补贴金额（元）", "一卡通账号", "备注"]


def write_book(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[Merge]] | None = None,
               *, encoding: str = "utf-8", bom: bool = False, engine: str = "openpyxl") -> Path:
    merges = merges or {}
    suffix = path.suffix.lower()
    if suffix == ".xlsx" and engine == "xlsxwriter":
        _xlsxwriter(path, sheets, merges)
    elif suffix == ".xlsx":
        _xlsx(path, sheets, merges)
    elif suffix == ".xls":
        _xls(path, sheets, merges)
    elif suffix == ".ods":
        _ods(path, sheets, merges)
    elif suffix == ".csv":
        (rows,) = sheets.values()
        _csv(path, rows, encoding, bom)
    else:
        raise ValueError(suffix)
    return path


def _covered(merges: list[Merge]) -> set[tuple[int, int]]:
    return {(r, c) for r0, c0, r1, c1 in merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)
            if (r, c) != (r0, c0)}


def _xlsx(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[Merge]]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    cell = ws.cell(row=r + 1, column=c + 1, value=value)
                    if isinstance(value, date):
                        cell.number_format = "yyyy-mm-dd"
        for r0, c0, r1, c1 in merges.get(name, []):
            ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
    if not sheets:
        book.create_sheet("Sheet1")
    book.save(path)


def _xlsxwriter(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[Merge]]) -> None:
    """Merged ranges through ``merge_range``, which writes the value once and blanks the rest."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        spans = {(r0, c0): (r1, c1) for r0, c0, r1, c1 in merges.get(name, [])}
        covered = _covered(merges.get(name, []))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if (r, c) in covered:
                    continue
                fmt = day if isinstance(value, date) else None
                if (r, c) in spans:
                    r1, c1 = spans[(r, c)]
                    ws.merge_range(r, c, r1, c1, "" if value is None else value, fmt)
                elif isinstance(value, date):
                    ws.write_datetime(r, c, datetime.combine(value, datetime.min.time()), day)
                elif value is not None:
                    ws.write(r, c, value)
    book.close()


def _xls(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[Merge]]) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for name, rows in sheets.items():
        ws = book.add_sheet(name)
        spans = {(r0, c0): (r1, c1) for r0, c0, r1, c1 in merges.get(name, [])}
        covered = _covered(merges.get(name, []))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if (r, c) in covered or value is None:
                    continue
                style = date_style if isinstance(value, date) else xlwt.Style.default_style
                if (r, c) in spans:
                    r1, c1 = spans[(r, c)]
                    ws.write_merge(r, r1, c, c1, value, style)
                else:
                    ws.write(r, c, value, style)
    book.save(str(path))


def _ods(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[Merge]]) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        spans = {(r0, c0): (r1 - r0 + 1, c1 - c0 + 1) for r0, c0, r1, c1 in merges.get(name, [])}
        covered = _covered(merges.get(name, []))
        for r, row in enumerate(rows):
            tr = TableRow()
            for c, value in enumerate(row):
                if (r, c) in covered:
                    tr.addElement(CoveredTableCell())
                    continue
                attrs: dict = {}
                if (r, c) in spans:
                    attrs = {"numberrowsspanned": spans[(r, c)][0],
                             "numbercolumnsspanned": spans[(r, c)][1]}
                if value is None:
                    cell = TableCell(**attrs)
                elif isinstance(value, bool):
                    raise TypeError("no bools in test files")
                elif isinstance(value, int | float):
                    cell = TableCell(valuetype="float", value=repr(value), **attrs)
                    cell.addElement(P(text=repr(value)))
                elif isinstance(value, date):
                    cell = TableCell(valuetype="date", datevalue=value.isoformat(), **attrs)
                    cell.addElement(P(text=value.isoformat()))
                else:
                    cell = TableCell(valuetype="string", **attrs)
                    cell.addElement(P(text=value))
                tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))


def _csv(path: Path, rows: list[list], encoding: str, bom: bool) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, date | datetime) else v
                         for v in row])
    data = out.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def write_fast_xlsx(path: Path, sheet: str, rows: list[list]) -> Path:
    """A minimal .xlsx written directly (inline strings, numbers): ten times faster than a
    general writer, for the 100,000-row speed test."""
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    def cell(value: object) -> str:
        if isinstance(value, int | float):
            return f"<c t=\"n\"><v>{value!r}</v></c>"
        return f"<c t=\"inlineStr\"><is><t>{escape(str(value))}</t></is></c>"

    body = "".join(
        f"<row r=\"{r}\">{''.join(cell(v) for v in row if v is not None)}</row>"
        for r, row in enumerate(rows, start=1) if row
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'worksheet+xml"/></Types>'),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            f'<sheet name={quoteattr(sheet)} sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>'),
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{body}</sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + text)
    return path
