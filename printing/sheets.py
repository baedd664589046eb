"""Smaller printed documents, from plain data: the board sheet (公开栏张贴一览), the objection
slip (异议登记表) of a notice, and the index of a batch print."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from reportlab.pdfgen.canvas import Canvas

from app.i18n import _
from app.masking import mask_free_text
from app.money import format_yuan
from app.periods import format_date
from app.public_view import PublicNotice
from printing.fonts import Measure, default_measure
from printing.layout import Flow, PageSpec, render
from printing.notice import RenderInfo, choose_page
from printing.page import UNPUBLISHED_BOX, Furniture
from printing.printable import check_fields, check_table
from printing.styles import MM, STYLE, Style
from printing.table import Column, SpanCell, SpanRow, TableLayout, natural_widths
from printing.text import balanced, wrap


@dataclass(frozen=True)
class BoardEntry:
    title: str
    posted_on: date
    posting_end: date | None
    days_left: int | None


@dataclass(frozen=True)
class BoardSheet:
    board: str
    location: str
    printed_on: date
    entries: tuple[BoardEntry, ...]


@dataclass(frozen=True)
class IndexEntry:
    file: str
    village: str
    title: str
    status: str
    rows: int
    total_fen: int
    pages: int


def objection_url(public_url: str, notice_id: str, edition: int) -> str | None:
    """``{public_url}/v/{notice_id}/{version}/objection``: the county page with the notice filled in."""
    base = (public_url or "").strip().rstrip("/")
    return f"{base}/v/{notice_id}/{edition}/objection" if base else None


def days_left_text(days: int | None) -> str:
    if days is None:
        return "—"
    if days > 0:
        return f"{days} 天"
    if days == 0:
        return "今日截止"
    return "已期满"


def _listing(out: Path | BinaryIO, title: str, subtitle: Sequence[str], columns: list[Column],
             rows: list, notes: Sequence[str], measure: Measure, style: Style = STYLE) -> RenderInfo:
    """A titled table on as few pages as it takes, with page numbers and no QR code. Like every
    printed page, it carries no personal number: free text (a notice title, say) is masked."""
    title, subtitle = mask_free_text(title), [mask_free_text(line) for line in subtitle]
    rows = [row if isinstance(row, SpanRow) else tuple(mask_free_text(c) if isinstance(c, str) else c for c in row)
            for row in rows]
    check_fields(measure, [(_("标题"), title), *((_("标题"), line) for line in subtitle),
                           *((_("说明"), note) for note in notes)])
    check_table(measure, columns, rows, seq_column=0)
    widths = natural_widths(columns, rows, measure, style)
    spec = choose_page(widths.natural, widths.minimum, style=style)
    furniture = Furniture(measure, spec, running_title=title, with_qr=False, style=style)
    flow = Flow(spec, measure, top_first=furniture.top_first, top_next=furniture.top_next,
                bottom=furniture.bottom, style=style)
    flow.lines(balanced(title, measure, style.title, flow.width * 0.9), style.title, style.title * 1.45,
               align="center", bold=True, keep=True)
    for line in subtitle:
        flow.lines([line], style.body - 1, style.body_leading, align="center")
    flow.space(6)
    flow.table(TableLayout(columns, rows, widths.fit(columns, flow.width), measure, style))
    flow.space(8)
    for note in notes:
        flow.paragraph(note, style.body - 2, style.body_leading - 3, indent=False)
    pages = render(flow, out, furniture=furniture.over, title=title)
    return RenderInfo(pages, spec.paper.lower(), spec.landscape)


def render_board_sheet(sheet: BoardSheet, out: Path | BinaryIO, *, measure: Measure | None = None) -> RenderInfo:
    """What is posted on one board: titles, posting windows and days left on the day printed."""
    measure = measure or default_measure()
    columns = [Column("序号", "center", wrap=False), Column("公示名称"),
               Column("张贴日期", "center", wrap=False), Column("公示期至", "center", wrap=False),
               Column("剩余天数", "center", wrap=False), Column("撤下日期（手填）", min_em=6)]
    rows = [(str(i), e.title, format_date(e.posted_on), format_date(e.posting_end) if e.posting_end else "—",
             days_left_text(e.days_left), "") for i, e in enumerate(sheet.entries, start=1)]
    if not rows:
        rows = [SpanRow((SpanCell(0, len(columns), "本公开栏当前没有张贴中的公示。", "center"),))]
    where = f"（{sheet.location}）" if sheet.location else ""
    subtitle = [f"{sheet.board}{where}　打印日期：{format_date(sheet.printed_on)}　共 {len(sheet.entries)} 份"]
    notes = ["剩余天数按打印当日计算，公示期最后一日为“今日截止”。公示期满且无未答复异议的，"
               "请及时撤下，拍照留存，并在系统中登记撤下日期。"]
    return _listing(out, f"{sheet.board}张贴公示一览", subtitle, columns, rows, notes, measure)


def render_index(title: str, entries: Sequence[IndexEntry], out: Path | BinaryIO, *,
                 measure: Measure | None = None) -> RenderInfo:
    """The cover list of a batch print: which file holds which village's notice."""
    measure = measure or default_measure()
    columns = [Column("序号", "center", wrap=False), Column("行政村"), Column("公示名称"),
               Column("状态", "center", wrap=False), Column("明细行数", "right", wrap=False),
               Column("金额合计（元）", "right", wrap=False), Column("页数", "right", wrap=False),
               Column("文件名")]
    rows: list = [(str(i), e.village, e.title, e.status, str(e.rows), format_yuan(e.total_fen), str(e.pages), e.file)
                  for i, e in enumerate(entries, start=1)]
    rows.append(SpanRow((SpanCell(0, 4, "合计", "center"),
                         SpanCell(4, 5, str(sum(e.rows for e in entries)), "right"),
                         SpanCell(5, 6, format_yuan(sum(e.total_fen for e in entries)), "right"),
                         SpanCell(6, 7, str(sum(e.pages for e in entries)), "right"),
                         SpanCell(7, 8, "")), STYLE.total_fill, True))
    return _listing(out, title, [f"共 {len(entries)} 个村"], columns, rows, (), measure)


# ---------------------------------------------------------------------- objection slip
def _grid(c: Canvas, measure: Measure, x0: float, top: float, width: float,
          rows: Sequence[tuple[float, Sequence[tuple[float, str, bool]]]], style: Style) -> float:
    """A form grid. Each row is (height, cells); a cell is (width share, text, is_label).
    Labels sit on grey, centred; values start top-left and wrap. Returns the bottom y."""
    size, pad = style.body - 2, 5.0
    y = top
    c.saveState()
    c.setLineWidth(style.grid_width)
    for height, cells in rows:
        total = sum(share for share, _t, _l in cells)
        x = x0
        for share, text, label in cells:
            w = width * share / total
            if label:
                c.setFillGray(style.header_fill)
                c.rect(x, y - height, w, height, stroke=0, fill=1)
            c.setFillGray(style.ink)
            c.rect(x, y - height, w, height, stroke=1, fill=0)
            lines = wrap(text, measure, size, w - 2 * pad) if text else []
            # labels and short values are centred vertically; large boxes are written from the top
            ly = y - pad - size if height > 20 * MM else y - (height - len(lines) * size * 1.35) / 2 - size
            for line in lines:
                if label:
                    measure.draw(c, x + w / 2, ly, line, size, "center")
                else:
                    measure.draw(c, x + pad, ly, line, size)
                ly -= size * 1.35
            x += w
        y -= height
    c.setLineWidth(style.frame_width)
    c.rect(x0, y, width, top - y, stroke=1, fill=0)
    c.restoreState()
    return y


def render_objection_slip(view: PublicNotice, out: Path | BinaryIO, *, public_url: str, answer_days: int,
                          unpublished: bool = False, measure: Measure | None = None,
                          style: Style = STYLE) -> RenderInfo:
    """异议登记表 for one notice: filled in by hand and handed in, or replaced by scanning its QR
    code, which opens the county objection page with this notice already chosen. Without a county
    URL, or for an ``unpublished`` notice the county does not have yet, there is no QR code and
    the slip does not mention one."""
    measure = measure or default_measure()
    check_fields(measure, [(_("公示名称"), view.title), (_("落款单位"), view.issuer),
                           (_("联系人"), view.contact_person), (_("联系电话"), view.contact_phone),
                           (_("监督举报电话"), view.supervision_phone)])
    spec = PageSpec("A4", False)
    url = None if unpublished else objection_url(public_url, view.notice_id, view.edition)
    furniture = Furniture(
        measure, spec, qr_url=url, qr_caption="扫码在线反映", url_line=True, style=style,
        no_qr_text=("本公示尚未发布，本表未印在线反映二维码。" if unpublished
                    else "县级网址尚未设置，本表未印在线反映二维码。"),
        no_qr_box=UNPUBLISHED_BOX if unpublished else ("未设置", "县级网址", "无二维码"),
        notes=("反映人信息仅用于调查核实和答复，不予公开。",
               f"公示编号：{view.notice_id}　第 {view.edition} 版"))
    flow = Flow(spec, measure, top_first=furniture.top_first, top_next=furniture.top_next,
                bottom=furniture.bottom, style=style)
    flow.lines(["异议登记表"], style.title + 2, (style.title + 2) * 1.5, align="center", bold=True)
    flow.lines(balanced(view.title, measure, style.body, flow.width * 0.9), style.body, style.body_leading,
               align="center")
    flow.space(8)
    start, end = (date.fromisoformat(d) if d else None for d in (view.posting_start, view.posting_end))
    period = f"{format_date(start)}至{format_date(end)}" if start and end \
        else "发布时确定"
    issuer = "、".join(s.strip() for s in view.issuer.split("\n") if s.strip())
    row_h, big = 11 * MM, 62 * MM
    info = [
        (row_h, [(1, "公示名称", True), (4, view.title, False)]),
        (row_h, [(1, "公示期", True), (1.6, period, False), (0.8, "异议截止", True),
                 (1.6, format_date(end) if end else "公示期满之日", False)]),
        (row_h, [(1, "受理单位", True), (1.6, issuer, False), (0.8, "监督电话", True),
                 (1.6, view.supervision_phone, False)]),
        (row_h, [(1, "反映人姓名", True), (1.6, "", False), (0.8, "联系方式", True), (1.6, "", False)]),
        (row_h, [(1, "所在村民小组", True), (1.6, "", False), (0.8, "涉及明细序号", True), (1.6, "", False)]),
        (big, [(1, "异议事项及理由", True), (4, "", False)]),
        (24 * MM, [(1, "请求", True), (4, "", False)]),
        (row_h, [(1, "反映人签字", True), (1.6, "", False), (0.8, "日期", True),
                 (1.6, "        年    月    日", False)]),
    ]
    office = [
        (row_h, [(1, "受理编号", True), (1.6, "", False), (0.8, "受理人", True), (1.6, "", False)]),
        (row_h, [(1, "受理日期", True), (1.6, "        年    月    日", False), (0.8, "答复期限", True),
                 (1.6, f"自受理之日起 {answer_days} 日内", False)]),
    ]
    info_h = sum(h for h, _c in info)
    flow.block(info_h, lambda c, x0, top, w: _grid(c, measure, x0, top, w, info, style))
    flow.space(8)
    flow.lines(["以下由受理单位填写"], style.small + 1, style.small * 2, grey=style.muted)
    flow.block(sum(h for h, _c in office), lambda c, x0, top, w: _grid(c, measure, x0, top, w, office, style))
    flow.space(6)
    online = "；也可扫描右下角二维码在线反映，系统会自动带出本公示。" if url else "。"
    how = ("填写后可交至{issuer}，或投入村务公开栏旁的意见箱{online}"
           "联系人：{person}，联系电话：{phone}。".format(issuer=issuer, online=online, person=view.contact_person or "—",
                                                  phone=view.contact_phone or "—"))
    flow.paragraph(how, style.body - 2, style.body_leading - 3, indent=False)
    pages = render(flow, out, furniture=furniture.over, setup=furniture.setup, title="异议登记表")
    return RenderInfo(pages, "a4", False, url)
