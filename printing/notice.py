"""The printed notice (公示/公告), rendered from its public view only.

Anatomy (DOMAIN §1D): title, 文号, salutation, body, roster table (header on every page, 小计 per
village group, 合计 with the amount in words), posting period, objection channel and deadline,
contacts and supervision numbers, review/sign-off block, issuer, date and seal area; on every
page the footer with 第 x 页 共 y 页, the privacy footnote and the verification QR code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations
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
from printing.page import UNPUBLISHED_BOX, Furniture
from printing.printable import check_fields, check_table
from printing.styles import STYLE, Style
from printing.table import Column, SpanCell, SpanRow, TableLayout, natural_widths
from printing.text import balanced

PAPERS = ("auto", "a4", "a3")
_UNITS = {"natural": "个自然日", "working": "个工作日"}
_SIGN_OFF_LABELS = {"village_review": "村级审核", "township_approval": "乡镇审批"}
#: the closing block is split rather than moved whole to a new page when at least this share of
#: a page is left for it
CLOSING_SPLIT = 0.25


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
    columns, rows, _keys = _notice_table(view)
    return columns, rows


def _notice_table(view: PublicNotice) -> tuple[list[Column], list, list[str]]:
    """:func:`notice_table`, and the key of each column printed (seq, name, remark …)."""
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
    return columns, rows, [c.key for c in public]


def _check_characters(view: PublicNotice, columns: list[Column], rows: list, keys: list[str],
                      explanation: Sequence[str], measure: Measure) -> None:
    """Every text of the notice has a font for each of its characters, or UnprintableCharacter
    names the first one that has none, and where it is."""
    check_fields(measure, [
        (_("标题"), view.title), (_("文号"), view.doc_number), (_("称呼"), view.salutation),
        (_("正文"), view.body), (_("异议反映方式"), view.objection_clause),
        (_("联系人"), view.contact_person), (_("联系电话"), view.contact_phone),
        (_("监督举报电话"), view.supervision_phone), (_("落款单位"), view.issuer), (_("乡镇"), view.township),
        *((_("审核机构"), s.body) for s in view.sign_offs),
        *((_("审核人"), name) for s in view.sign_offs for name in s.names),
        *((_("期限计算说明"), line) for line in explanation),
    ])
    check_table(measure, columns, rows, seq_column=keys.index("seq") if "seq" in keys else None,
                name_column=keys.index("name") if "name" in keys else None)


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
    # as wide as the text of an A4 page at most (unless it needs more): not stretched over A3
    width = min(width, max(sum(widths.natural), STYLE.sign_off_max_width))
    return TableLayout(columns, rows, widths.fit(columns, width), measure)


#: an issuer's name may break before these words when it does not fit inside its seal on one line
_NAME_BREAKS = ("村民委员会", "居民委员会", "村务监督委员会", "人民政府", "党委", "党总支", "党支部", "委员会")
_NAME_SIZES = (1.0, 0.5, 0.0, -0.5, -1.0)  # name sizes tried, in points over the body size
_ASCENT, _DESCENT = 0.9, 0.2  # extent of a CJK glyph around its baseline, in em (generous)


@dataclass(frozen=True)
class SealSlot:
    """One issuer of the 落款 laid out in its slot; distances are down from the slot's top and
    across from its centre line (seal circle and text are centred on it)."""

    width: float
    height: float
    circle: float  # centre of the dashed seal circle
    lines: tuple[tuple[str, float, float], ...]  # (text, size, baseline) of the name lines, then the date
    label: float  # baseline of the small 盖章处 label inside the circle, down from the circle's top


def _name_lines(name: str, count: int, measure: Measure, size: float) -> list[str] | None:
    """``name`` on ``count`` lines of similar width, broken before an organisation word
    (村民委员会, 人民政府 …) or after a place (…县, …镇); None when it has no such break."""
    if count == 1:
        return [name]
    cuts = sorted({i for i in range(2, len(name) - 1)
                   if name[i - 1] in "省市县区乡镇" or any(name.startswith(w, i) for w in _NAME_BREAKS)})
    best: tuple[float, list[str]] | None = None
    for picks in combinations(cuts, count - 1):
        bounds = (0, *picks, len(name))
        parts = [name[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
        widest = max(measure.width(p, size) for p in parts)
        if best is None or widest < best[0]:
            best = (widest, parts)
    return best[1] if best else None


def _text_boxes(lines: Sequence[tuple[str, float, float]], measure: Measure) -> list[tuple[float, float, float]]:
    """(half width, top, bottom) of each line, with distances measured downwards."""
    return [(measure.width(t, size) / 2, base - _ASCENT * size, base + _DESCENT * size) for t, size, base in lines]


def _label_baseline(style: Style) -> float:
    """Baseline of the small 盖章处 label, down from the top of the seal circle."""
    return style.seal_clearance + 1.5 * style.tiny


def _stack(names: Sequence[str], size: float, when: str, date_size: float) -> list[tuple[str, float, float]]:
    """Name lines and the date under them, baselines from the first baseline."""
    lines, base = [], 0.0
    for name in names:
        lines.append((name, size, base))
        base += size * 1.3
    lines.append((when, date_size, base - size * 1.3 + size * 1.55))
    return lines


def _seal_slot(name: str, when: str, size: float, lines_max: int, measure: Measure,
               style: Style) -> SealSlot | None:
    """The issuer with name and date inside the seal circle, clear of its outline, in at most
    ``lines_max`` name lines at ``size``; None when that cannot be done."""
    r = style.seal_diameter / 2
    room = r - style.seal_clearance  # every corner of every text box stays within this radius
    label = _label_baseline(style)
    label_bottom = label + _DESCENT * style.tiny
    date_size = min(style.body, size)
    for count in range(1, lines_max + 1):
        names = _name_lines(name, count, measure, size)
        if names is None:
            continue
        stacked = _stack(names, size, when, date_size)
        boxes = _text_boxes(stacked, measure)
        top, bottom = boxes[0][1], boxes[-1][2]
        shift = r - (top + bottom) / 2  # block centred on the circle's centre
        if any(math.hypot(half, max(abs(t + shift - r), abs(b + shift - r))) > room for half, t, b in boxes):
            continue
        if top + shift < label_bottom + style.seal_clearance:
            continue
        return SealSlot(2 * r, 2 * r, r, tuple((t, s, b + shift) for t, s, b in stacked), label)
    return None


def _seal_above(name: str, when: str, size: float, measure: Measure, style: Style, width: float) -> SealSlot:
    """A name too long to sit inside a seal: the seal circle above, name and date under it."""
    r = style.seal_diameter / 2
    names = balanced(name, measure, size, min(width, 3 * r))
    stacked = _stack(names, size, when, min(style.body, size))
    boxes = _text_boxes(stacked, measure)
    shift = 2 * r + style.seal_clearance - boxes[0][1]
    lines = tuple((t, s, b + shift) for t, s, b in stacked)
    text_width = 2 * max(half for half, _t, _b in boxes)
    height = boxes[-1][2] + shift
    return SealSlot(max(2 * r, text_width), height, r, lines, _label_baseline(style))


def _issuer_slots(issuers: Sequence[str], when: str, measure: Measure, style: Style,
                 width: float) -> list[SealSlot]:
    """Each issuer with its seal circle: name and date inside the circle with clear space
    around them, all names on as few lines and as large as every one of them allows."""
    for lines_max in (1, 2, 3):
        for delta in _NAME_SIZES:
            slots = [_seal_slot(n, when, style.body + delta, lines_max, measure, style) for n in issuers]
            if all(slots):
                return slots  # type: ignore[return-value]
    # some name is too long for any seal: it goes under its circle, at the size the others take
    small = style.body + _NAME_SIZES[-1]
    fits = [_seal_slot(n, when, small, 3, measure, style) is not None for n in issuers]
    for delta in _NAME_SIZES:
        size = style.body + delta
        slots = [_seal_slot(n, when, size, 3, measure, style) if ok else None
                 for n, ok in zip(issuers, fits, strict=True)]
        if all(s is not None for s, ok in zip(slots, fits, strict=True) if ok):
            break
    return [s or _seal_above(n, when, size, measure, style, width) for s, n in zip(slots, issuers, strict=True)]


def _issuer_block(issuers: list[str], when: str, measure: Measure, style: Style, width: float):
    """落款: each issuing body with the date under it inside a dashed circle marking where its
    official seal (公章) goes, side by side from the right margin (in rows when they do not fit
    on one). Names never touch the circle: they sit inside it with clear space, or under it."""
    slots = _issuer_slots(issuers, when, measure, style, width)
    gap_max, gap_min = 4 * style.body, 2 * style.body
    rows: list[list[SealSlot]] = [[]]
    for slot in slots:
        row = rows[-1]
        if row and sum(s.width for s in row) + slot.width + gap_min * len(row) > width:
            rows.append([])
        rows[-1].append(slot)
    placed: list[tuple[float, float, SealSlot]] = []  # (centre from the right edge, top from the block's, slot)
    down = 0.0
    for row in rows:
        spare = width - sum(s.width for s in row)
        gap = min(gap_max, spare / (len(row) - 1)) if len(row) > 1 else 0.0
        right = 0.0
        for slot in reversed(row):
            placed.append((right + slot.width / 2, down, slot))
            right += slot.width + gap
        down += max(s.height for s in row) + style.body
    height = down - style.body + 4

    def draw(c: Canvas, x0: float, top: float, width: float) -> None:
        r = style.seal_diameter / 2
        c.saveState()
        for from_right, dy, slot in placed:
            cx, y = x0 + width - from_right, top - dy
            c.setStrokeGray(style.seal_grey)
            c.setLineWidth(0.6)
            c.setDash(3, 3)
            c.circle(cx, y - slot.circle, r, stroke=1, fill=0)
            c.setDash()
            c.setFillGray(style.seal_grey)
            measure.draw(c, cx, y - slot.circle + r - slot.label, "（盖章处）", style.tiny, "center")
            c.setFillGray(style.ink)
            for text, size, base in slot.lines:
                measure.draw(c, cx, y - base, text, size, "center")
        c.restoreState()

    return height, draw


def _closing(flow: Flow, view: PublicNotice, url: str | None, issued_on: date | None,
             explanation: Sequence[str], style: Style) -> None:
    """Posting period, objections, contacts, sign-offs and 落款.

    Kept on one page when they fit there, or moved whole to the next page when little room is
    left on this one; otherwise the paragraphs use the room left and the last paragraph, the
    sign-off table and the 落款 go on together.
    """
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
        issuers, format_date(when) if when else "    年  月  日", flow.measure, style, flow.width)
    heights = [len(lines) * lead for lines, _s, lead, _g in wrapped]
    tail = 8 + sign_height + 4 + issuer_height  # sign-offs and 落款: never apart
    total = 10 + sum(heights) + tail
    room = flow.y - flow.bottom
    if total <= flow.page_room and (total <= room or room < max(CLOSING_SPLIT * flow.page_room, 3 * leading)):
        flow.ensure(total)  # on this page, or whole on the next when little room is left here
    flow.space(10)
    for n, ((lines, size, lead, grey), height) in enumerate(zip(wrapped, heights, strict=True)):
        # a paragraph is not split; the last one stays with the sign-offs, which never stand alone
        need = height + tail if n == len(wrapped) - 1 else height
        flow.ensure(need if need <= flow.page_room else height)
        flow.lines(lines, size, lead, grey=grey)
    flow.space(8)
    flow.ensure(sign_height + 4 + issuer_height)
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
    Raises PrintError (no usable font, unwritable file, unknown paper) and its
    UnprintableCharacter (a character no installed font has), before any file is written.
    """
    measure = measure or default_measure()
    columns, rows, keys = _notice_table(view)
    _check_characters(view, columns, rows, keys, posting_explanation, measure)
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
            "no_qr_box": UNPUBLISHED_BOX} if unpublished else {}),
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
