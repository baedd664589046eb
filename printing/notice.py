"""The printed notice (公示/公告), rendered from its public view only.

Anatomy (DOMAIN §1D): title, 文号, salutation, body, roster table (header on every page, 小计 per
village group, 合计 with the amount in words), posting period, objection channel and deadline,
contacts and supervision numbers, review/sign-off block, issuer, date and seal area; on every
page the footer with 第 x 页 共 y 页, the privacy footnote and the verification QR code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from reportlab.pdfgen.canvas import Canvas

from app.i18n import _
from app.money import format_yuan
from app.periods import format_date
from app.public_view import PublicNotice
from printing.errors import PrintError
from printing.fonts import Measure, default_measure
from printing.layout import Flow, PageSpec, render
from printing.page import Furniture
from printing.styles import STYLE, Style
from printing.table import Column, SpanCell, SpanRow, TableLayout, natural_widths
from printing.text import balanced

PAPERS = ("auto", "a4", "a3")
_UNITS = {"natural": "个自然日", "working": "个工作日"}
_SIGN_OFF_LABELS = {"village_review": "村级审核", "township_approval": "乡镇审批"}


@dataclass(frozen=True)
class RenderInfo:
    pages: int
    paper: str  # a4 | a3
    landscape: bool
    url: str | None = None  # what the QR code opens, None when there is none


def verification_url(public_url: str, view: PublicNotice, fingerprint: str | None = None) -> str | None:
    """``{public_url}/v/{notice_id}/{version}?f={fingerprint[:12]}``, or None without a URL."""
    base = (public_url or "").strip().rstrip("/")
    if not base:
        return None
    return f"{base}/v/{view.notice_id}/{view.edition}?f={(fingerprint or view.fingerprint())[:12]}"


def _iso(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


# ---------------------------------------------------------------------- the roster table
def _column(c) -> Column:
    if c.kind == "seq":
        return Column(c.label, "center", wrap=False)
    if c.kind in ("quantity", "rate"):
        return Column(c.label, "decimal", wrap=False)
    if c.kind == "money":
        return Column(c.label, "right", wrap=False)
    if c.kind == "id_masked":
        return Column(c.label, "center", wrap=False)
    return Column(c.label, "left", min_em=STYLE.remark_min_em if c.key == "remark" else 0.0)


def _shown(view: PublicNotice) -> list[int]:
    """Indexes of the columns to print: a quantity, rate or extra column empty in every row is
    left out (备注 stays: it is expected on every list)."""
    keep = []
    for i, c in enumerate(view.columns):
        optional = c.kind in ("quantity", "rate") or (c.kind == "text" and c.key.startswith("x_"))
        if not optional or any(r[i] not in (None, "") for r in view.rows):
            keep.append(i)
    return keep


def notice_table(view: PublicNotice) -> tuple[list[Column], list]:
    """Columns and display rows of the roster, with 小计, 合计 and 大写 rows."""
    shown = _shown(view)
    public = [view.columns[i] for i in shown]
    columns = [_column(c) for c in public]
    kinds = [c.kind for c in public]
    if len(shown) == len(view.columns):
        rows: list = [tuple(view.display_row(r)) for r in view.rows]
    else:
        rows = [tuple(view.display_row(r)[i] for i in shown) for r in view.rows]
    n = len(columns)
    q = kinds.index("quantity") if "quantity" in kinds else None
    money = kinds.index("money") if "money" in kinds else None
    totals = [i for i in (q, money) if i is not None]
    first = min(totals) if totals else n
    names = [c.label for c in public if c.key == "name"]
    noun = "户" if names and "姓名" in names[0] else "项" if names and "项目" in names[0] else ""

    def summary(label: str, quantity: str, fen: int, fill: float, bold: bool = False) -> SpanRow:
        cells = [SpanCell(0, first, label, "center")]
        for i in range(first, n):
            text = quantity if i == q else format_yuan(fen) if i == money else ""
            cells.append(SpanCell(i, i + 1, text, "right"))
        return SpanRow(tuple(cells), fill, bold)

    subtotals = list(view.group_subtotals)
    if subtotals and any(s.rows > 1 for s in subtotals) and "group" in kinds:
        g = kinds.index("group")
        by_group = {s.group: s for s in subtotals}

        def label(s) -> str:
            return f"{s.group}小计（{s.rows}{noun}）" if noun else f"{s.group}小计"

        runs = [r[g] for i, r in enumerate(rows) if i == 0 or rows[i - 1][g] != r[g]]
        if len(runs) == len(set(runs)) and set(runs) <= set(by_group):
            with_subtotals: list = []
            for i, r in enumerate(rows):
                with_subtotals.append(r)
                if i + 1 == len(rows) or rows[i + 1][g] != r[g]:
                    s = by_group[r[g]]
                    with_subtotals.append(summary(label(s), s.quantity, s.amount_fen, STYLE.subtotal_fill))
            rows = with_subtotals
        else:  # groups interleave: their subtotals go together above the grand total
            rows.extend(summary(label(s), s.quantity, s.amount_fen, STYLE.subtotal_fill) for s in subtotals)
    total_label = f"合计（{view.total_rows}{noun}）" if noun else "合计"
    if first < n:
        rows.append(summary(total_label, view.total_quantity, view.total_amount_fen, STYLE.total_fill, bold=True))
    else:
        label = total_label if noun else f"{total_label}：共 {view.total_rows} 条"
        rows.append(SpanRow((SpanCell(0, n, label, "center"),), STYLE.total_fill, True))
    if money is not None:
        words = f"金额合计（大写）：{view.amount_in_words}（小写：¥{format_yuan(view.total_amount_fen)}元）"
        rows.append(SpanRow((SpanCell(0, n, words, "left"),), STYLE.total_fill, True))
    return columns, rows


def content_width(spec: PageSpec, style: Style = STYLE) -> float:
    return spec.size[0] - 2 * style.margin_x


def choose_page(natural: Sequence[float], minimum: Sequence[float], paper: str = "auto",
                landscape: bool | None = None, style: Style = STYLE) -> PageSpec:
    """The smallest page on which the columns fit at natural width: A4 portrait, then A4
    landscape, then A3 landscape; ``paper``/``landscape`` restrict the choice."""
    paper = (paper or "auto").lower()
    if paper not in PAPERS:
        raise PrintError(_("纸张只能是 A4 或 A3。"), details=paper)
    order = [PageSpec("A4", False), PageSpec("A4", True), PageSpec("A3", False), PageSpec("A3", True)]
    if paper == "auto" and landscape is None:
        order = [s for s in order if s != PageSpec("A3", False)]
    candidates = [s for s in order if (paper == "auto" or s.paper == paper.upper())
                  and (landscape is None or s.landscape == landscape)]
    for need in (sum(natural), sum(minimum)):
        for spec in candidates:
            if need <= content_width(spec, style) + 0.01:
                return spec
    return candidates[-1]


# ---------------------------------------------------------------------- closing blocks
def _period_text(view: PublicNotice) -> str:
    start, end = _iso(view.posting_start), _iso(view.posting_end)
    if not (start and end):
        return "公示期：自张贴之日起计算，起止日期于发布时确定。"
    unit = _UNITS.get(view.posting_unit or "", "天")
    return f"公示期：{format_date(start)}至{format_date(end)}（{view.posting_days}{unit}）。"


def _objection_text(view: PublicNotice) -> str:
    text = view.objection_clause.replace("\n", "、").strip()
    end = _iso(view.posting_end)
    if end:
        text += f"异议反映截止日期：{format_date(end)}。"
    return text


def _contacts_text(view: PublicNotice) -> str:
    parts = [("联系人", view.contact_person), ("联系电话", view.contact_phone),
             ("监督举报电话", view.supervision_phone)]
    return "\u3000\u3000".join(f"{k}：{v}" for k, v in parts if v.strip())


def _sign_off_table(view: PublicNotice, measure: Measure, width: float) -> TableLayout:
    columns = [Column("审核环节", "center", wrap=False), Column("审核机构"),
               Column("审核人（签字）"), Column("日期", "center", wrap=False)]
    rows = []
    kinds = ["village_review", "township_approval"] if view.village else ["township_approval"]
    for kind in kinds:
        done = [s for s in view.sign_offs if s.kind == kind]
        for s in done or [None]:
            when = format_date(date.fromisoformat(s.signed_on)) if s and s.signed_on else "    年  月  日"
            rows.append((_SIGN_OFF_LABELS[kind], s.body if s else "", "、".join(s.names) if s else "", when))
    widths = natural_widths(columns, rows, measure)
    widths.natural[2] = max(widths.natural[2], 9 * STYLE.table)  # room to sign by hand
    return TableLayout(columns, rows, widths.fit(columns, width), measure)


def _issuer_block(issuers: list[str], when: str, measure: Measure, style: Style):
    """落款: each issuing body with the date under it, side by side from the right margin, each
    inside a dashed circle marking where its official seal (公章) goes."""
    size, date_size = style.body + 1, style.body
    seal = style.seal_diameter
    gap = 4 * style.body

    def draw(c: Canvas, x0: float, top: float, width: float) -> None:
        slots = [max(measure.width(s, size), measure.width(when, date_size), seal) + gap for s in issuers]
        scale = min(1.0, width / sum(slots))
        right = x0 + width
        centre_y = top - seal / 2
        c.saveState()
        for name, slot in zip(reversed(issuers), reversed(slots), strict=True):
            cx = right - (slot - gap) * scale / 2
            c.setStrokeGray(style.seal_grey)
            c.setLineWidth(0.6)
            c.setDash(3, 3)
            c.circle(cx, centre_y, seal / 2, stroke=1, fill=0)
            c.setDash()
            c.setFillGray(style.seal_grey)
            c.setFont(measure.name, style.tiny)
            c.drawCentredString(cx, centre_y + seal / 2 - style.tiny - 5, "（盖章处）")
            c.setFillGray(style.ink)
            c.setFont(measure.name, size)
            c.drawCentredString(cx, centre_y + 4, name)
            c.setFont(measure.name, date_size)
            c.drawCentredString(cx, centre_y - date_size - 6, when)
            right -= slot * scale
        c.restoreState()

    return seal + 4, draw


def _closing(flow: Flow, view: PublicNotice, url: str | None, issued_on: date | None,
             explanation: Sequence[str], style: Style) -> None:
    """Posting period, objections, contacts, sign-offs and 落款, kept on one page if they fit."""
    body, leading = style.body, style.body_leading
    paragraphs = [(_period_text(view), body, leading, 0.0)]
    if explanation:
        paragraphs.append(("（期限计算：{lines}）".format(lines="；".join(explanation)),
                           style.small, style.small * 1.6, style.muted))
    paragraphs.append((_objection_text(view), body, leading, 0.0))
    if url:
        paragraphs.append(("扫描页面右下角二维码，可在县级公开平台核验本公示的正式版本，也可在线反映意见。",
                           body, leading, 0.0))
    contacts = _contacts_text(view)
    if contacts:
        paragraphs.append((contacts, body, leading, 0.0))
    wrapped = [(flow.wrap_paragraph(text, size), size, lead, grey) for text, size, lead, grey in paragraphs]
    sign = _sign_off_table(view, flow.measure, flow.width)
    sign_height = sign.header_height + sum(sign.heights) + 6
    issuers = [s.strip() for s in view.issuer.split("\n") if s.strip()] or [view.township]
    when = issued_on or _iso(view.posting_start)
    issuer_height, draw_issuer = _issuer_block(
        issuers, format_date(when) if when else "    年  月  日", flow.measure, style)
    spaces = 10 + 8 + 4
    total = spaces + sum(len(lines) * lead for lines, _s, lead, _g in wrapped) + sign_height + issuer_height
    if total <= flow.page_room:
        flow.ensure(total)
    flow.space(10)
    for lines, size, lead, grey in wrapped:
        flow.lines(lines, size, lead, grey=grey)
    flow.space(8)
    flow.block(sign_height, lambda c, x0, top, w: sign.draw(c, x0, top, 0, len(sign.rows)))
    flow.space(4)
    flow.block(issuer_height, draw_issuer)


# ---------------------------------------------------------------------- the renderer
def render_notice(
    view: PublicNotice,
    out: Path | BinaryIO,
    *,
    public_url: str,
    draft: bool,
    unpublished: bool = False,
    paper: str = "auto",
    landscape: bool | None = None,
    issued_on: date | None = None,
    posting_explanation: Sequence[str] = (),
    watermark: str | None = None,
    measure: Measure | None = None,
    style: Style = STYLE,
) -> RenderInfo:
    """Render ``view`` to a PDF at ``out`` (a path, written atomically, or a binary file).

    ``draft`` prints a large 草稿 watermark (or ``watermark``) on every page. Without a
    ``public_url`` there is no QR code and every page says so; neither is there for an
    ``unpublished`` notice, whose version the county does not have yet (the box stays, so the
    proof is laid out like the final print). The same input gives the same bytes.
    Raises PrintError (no usable font, unwritable file, unknown paper).
    """
    measure = measure or default_measure()
    columns, rows = notice_table(view)
    widths = natural_widths(columns, rows, measure, style)
    spec = choose_page(widths.natural, widths.minimum, paper, landscape, style)
    fingerprint = view.fingerprint()
    url = None if unpublished else verification_url(public_url, view, fingerprint)
    notes = []
    if view.withheld:
        notes.append("注：为保护个人信息，本公示未公开：{fields}。".format(fields="、".join(view.withheld)))
    if any(c.kind == "id_masked" for c in view.columns):
        notes.append("注：身份证号码仅显示首尾部分数字。")
    notes.append(f"公示编号：{view.notice_id}　第 {view.edition} 版　核验码：{fingerprint[:12]}")
    furniture = Furniture(
        measure, spec, running_title=view.title, qr_url=url, notes=tuple(notes),
        watermark=(watermark or "草稿") if draft else None,
        **({"no_qr_text": "草稿不印核验二维码；发布后打印的正式版本每页都有，扫码可核验县级平台上的正式版本。",
            "no_qr_box": ("尚未发布", "不印", "二维码")} if unpublished else {}),
        banner="{mark}：本公示尚未发布，仅供核对，不得张贴".format(mark=watermark or "草稿") if draft else "",
        style=style,
    )
    flow = Flow(spec, measure, top_first=furniture.top_first, top_next=furniture.top_next,
                bottom=furniture.bottom, style=style)
    width = flow.width
    title_lines = balanced(view.title, measure, style.title, width * 0.9)
    flow.lines(title_lines, style.title, style.title * 1.45, align="center", bold=True, keep=True)
    if view.doc_number.strip():
        flow.lines([view.doc_number.strip()], style.doc_number, style.doc_number * 1.8, align="center")
    flow.space(6)
    if view.salutation.strip():
        flow.paragraph(view.salutation, style.body, style.body_leading, indent=False)
    flow.paragraph(view.body, style.body, style.body_leading)
    flow.space(6)
    layout = TableLayout(columns, rows, widths.fit(columns, width), measure, style)
    flow.table(layout)
    _closing(flow, view, url, issued_on, posting_explanation, style)
    issuer = view.issuer.strip().split("\n")[-1] or view.township
    pages = render(flow, out, furniture=furniture.over, under=furniture.under, setup=furniture.setup,
                   title=view.title, author=issuer, subject=view.notice_type)
    return RenderInfo(pages, spec.paper.lower(), spec.landscape, url)
