"""Layout of printed text as a reader sees it: nothing cut off, nothing across a rule or a seal
outline, dates in one piece, no lonely last line, no page left blank by the closing block."""

from __future__ import annotations

import io
import math
from types import SimpleNamespace

import pytest
from reportlab.pdfgen.canvas import Canvas

import printing.table as table_module
from app.catalogue import DEFAULT_NOTICE_TYPES
from app.masking import MaskPolicy
from app.public_view import build_public_view
from printing.fonts import default_measure
from printing.layout import Flow, PageSpec, render
from printing.notice import render_notice
from printing.styles import MM, STYLE
from printing.table import Column, SpanRow, TableLayout
from printing.text import wrap
from tests.printing.pdfcheck import page_texts, squeeze

URL = "https://gongkai.example.gov.cn"
PERIOD = "2026年3月—2026年11月"
DESCRIPTION = (
    "新建村组产业路硬化工程，路面宽4.5米、厚0.2米，采用C25混凝土浇筑，配套建设排水边沟、错车道和安全防护栏，"
    "项目建成后解决沿线脱贫户和监测户农产品运输难、出行难问题，带动发展特色种植和乡村旅游，"
    "预计年均增加村集体经济收入3万元以上，受益群众满意度不低于95%，项目资产确权移交村集体管护，"
    "并建立长效管护机制，明确管护责任人和管护经费来源。"
)


@pytest.fixture(scope="module")
def measure():
    return default_measure()


def _notice(nt: dict, **fields) -> dict:
    notice = {"id": "layout-0000-0000-0000-000000000001", "edition": 1, "title": nt["title_template"],
              "doc_number": "", "salutation": "社会各界广大人民群众：", "body": nt["body_template"],
              "legal_basis": nt["legal_basis"], "issuer": "石门镇人民政府", "contact_person": "张丽",
              "contact_phone": "0872-6123456", "supervision_phone": "12317", "posting_start": "2026-11-21",
              "posting_end": "2026-12-01", "posting_days": 10, "posting_unit": "natural"}
    notice.update(fields)
    return notice


def project_list(rows: int = 15, description: str = DESCRIPTION, short: bool = True):
    """A 衔接资金 project list whose 建设内容及规模 cells are long (about 200 characters)."""
    nt = next(t for t in DEFAULT_NOTICE_TYPES if t["code"] == "poverty_project")
    data = [{"seq": i + 1, "name": f"第{i + 1}号村组道路硬化及配套设施建设项目", "group_name": "",
             "quantity": None, "rate": None, "amount_fen": (i + 1) * 10_000_000, "remark": "",
             "extra": {"x_location": "石门村", "x_period": PERIOD,
                       "x_content": description[: 150 + (i * 7) % 60] if short else description,
                       "x_implementer": "石门镇人民政府 / 石门村村民委员会",
                       "x_benefit": "带动脱贫户和监测户增收，受益群众满意度≥95%"}}
            for i in range(rows)]
    names = {"township": "石门镇", "village": "", "program": "2026年财政衔接推进乡村振兴补助资金", "year": "2026"}
    sign_offs = [{"kind": "township_approval", "body": "石门镇人民政府", "names": ["王强"], "signed_on": "2026-11-20"}]
    return build_public_view(notice=_notice(nt), notice_type=nt, rows=data, sign_offs=sign_offs,
                             policy=MaskPolicy(), names=names)


def subsidy_notice(issuer: str, rows: int = 12):
    nt = next(t for t in DEFAULT_NOTICE_TYPES if t["code"] == "subsidy_payout")
    data = [{"seq": i + 1, "name": f"张{'伟芳娜敏静丽强磊军洋'[i % 10]}", "id_number": "", "group_name": f"{i % 3 + 1}组",
             "quantity": None, "rate": None, "amount_fen": 10355 * (i + 1), "remark": "", "extra": {},
             "bank_account": "", "phone": ""} for i in range(rows)]
    names = {"township": "石门镇", "village": "青石村", "program": "2026年耕地地力保护补贴", "year": "2026",
             "rate": "103.55"}
    sign_offs = [{"kind": "village_review", "body": "青石村村务监督委员会", "names": ["李德明", "陈秀英"],
                  "signed_on": "2026-11-20"},
                 {"kind": "township_approval", "body": "石门镇人民政府", "names": ["王强"], "signed_on": "2026-11-22"}]
    return build_public_view(notice=_notice(nt, issuer=issuer, supervision_phone="12345"), notice_type=nt,
                             rows=data, sign_offs=sign_offs, policy=MaskPolicy(), names=names)


@pytest.fixture
def tables(monkeypatch):
    """Every table piece drawn while rendering: page, layout, rows and the strings at their x."""
    drawn: list[SimpleNamespace] = []
    draw, show = TableLayout.draw, table_module._Text.show

    def record_draw(self, c, x0, top, first, last, *rest):
        drawn.append(SimpleNamespace(page=c.getPageNumber(), layout=self, x0=x0, first=first, last=last,
                                     lines=rest, strings=[]))
        return draw(self, c, x0, top, first, last, *rest)

    def record_show(self, x, y, text):
        if drawn:
            drawn[-1].strings.append((x, y, text))
        return show(self, x, y, text)

    monkeypatch.setattr(TableLayout, "draw", record_draw)
    monkeypatch.setattr(table_module._Text, "show", record_show)
    return drawn


def _column(layout: TableLayout, x0: float, x: float) -> int:
    return max(i for i, left in enumerate(layout.xs[:-1]) if left <= x - x0 + 0.01)


def _span_texts(layout: TableLayout) -> set[str]:
    out = set()
    for k, row in enumerate(layout.rows):
        if isinstance(row, SpanRow):
            out.update(line for cell in layout.wrapped.get(k, [[c.text] for c in row.cells]) for line in cell)
    return out


# ---------------------------------------------------------------------- 1. nothing is cut off
def test_a_cell_taller_than_a_page_is_continued_on_the_next_pages(tables, tmp_path):
    long = "".join(f"{DESCRIPTION[:60]}（第{k}段）" for k in range(1, 31))  # about 2,000 characters
    view = project_list(rows=3, description=long, short=False)
    pdf = tmp_path / "long-cell.pdf"
    info = render_notice(view, pdf, public_url=URL, draft=False, paper="a4", landscape=False)
    flat = squeeze("".join(page_texts(pdf)))
    assert "从略" not in flat
    main = [d for d in tables if d.layout.columns[0].label == "序号"]
    content = next(i for i, c in enumerate(main[0].layout.columns) if c.label == "建设内容及规模")
    printed = "".join(text for d in main for x, _y, text in d.strings
                      if _column(d.layout, d.x0, x) == content and text != "建设内容及规模"
                      and text not in _span_texts(d.layout))
    assert printed == long * 3  # every line of every cell, in order, over several pages
    assert len({d.page for d in main}) >= 6 and info.pages >= 7
    # each page of the table starts with the header, and the split row goes on after it
    assert all(d.strings and d.strings[0][2] == "序号" for d in main)
    assert any(d.lines and d.lines[0] > 0 for d in main)
    assert "（第30段）" in flat and "合计（3项）" in flat


def test_rows_that_fit_on_a_page_are_never_split(tables, tmp_path):
    render_notice(project_list(), tmp_path / "list.pdf", public_url=URL, draft=False)
    main = [d for d in tables if d.layout.columns[0].label == "序号"]
    assert len(main) > 3
    assert all(not d.lines or (d.lines[0] == 0 and d.lines[1] is None) for d in main)
    rows = [k for d in main for k in range(d.first, d.last)]
    assert rows == list(range(len(main[0].layout.rows)))  # each row drawn once, whole


def test_a_split_row_keeps_a_few_lines_together_on_each_page(measure):
    columns = [Column("序号", "center", wrap=False), Column("说明")]
    text = "公示内容说明文字" * 400
    layout = TableLayout(columns, [("一", text), ("二", "短")], [40, 200], measure)
    spec = PageSpec("A4", False)
    flow = Flow(spec, measure, top_first=700, top_next=780, bottom=60)
    flow.y = 60 + layout.header_height + layout.leading + 2 * STYLE.cell_pad_y + 1  # one line fits here
    flow.pages[-1].append(lambda c: None)
    flow.table(layout)
    out = io.BytesIO()
    render(flow, out, furniture=lambda c, n, t: None)
    assert len(flow.pages) >= 3
    from pypdf import PdfReader

    pages = [squeeze(p.extract_text()) for p in PdfReader(out).pages]
    assert "说明" not in pages[0]  # not begun with one line at the foot of the first page
    body = "".join(p.replace("序号说明", "", 1) for p in pages[1:])
    assert body == "一" + text + "二短"


# ---------------------------------------------------------------------- 2. nothing crosses a rule
@pytest.mark.parametrize("paper, landscape", [("a4", False), ("a4", True)])
def test_table_text_stays_inside_its_column_rules(tables, tmp_path, paper, landscape):
    render_notice(project_list(rows=4), tmp_path / "list.pdf", public_url=URL, draft=False,
                  paper=paper, landscape=landscape)
    checked = 0
    for d in tables:
        spans, m = _span_texts(d.layout), d.layout.measure
        for x, _y, text in d.strings:
            if text in spans:
                continue
            i = _column(d.layout, d.x0, x)
            right = d.x0 + d.layout.xs[i + 1] - STYLE.cell_pad_x
            assert x + m.width(text, d.layout.size) <= right + 0.01, f"{text!r} crosses the rule of column {i}"
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("text", [PERIOD, DESCRIPTION, "受益群众满意度≥95%。", "（国开办发〔2018〕1号）。",
                                  "石门镇人民政府 / 石门村村民委员会", "新建或改造，具体规模见项目库"])
def test_outside_paragraphs_no_line_is_wider_than_its_box(measure, text):
    for width in range(40, 260, 3):
        for line in wrap(text, measure, 10.5, width):
            assert measure.width(line, 10.5) <= width + 1e-6 or len(line) == 1, (width, line)
            if width >= 45:  # narrower than four characters, a mark may have to start a line
                assert line[:1] not in "，。、；：？！）》〕—" or line == text, (width, line)


def test_body_paragraphs_may_still_hang_closing_punctuation(measure):
    text = "甲" * 19 + "。乙乙乙"
    assert wrap(text, measure, 10, 190, hang=True)[0] == "甲" * 19 + "。"
    assert wrap(text, measure, 10, 190)[0] == "甲" * 18


# ---------------------------------------------------------------------- 3. dates in one piece
@pytest.mark.parametrize("date", ["2026年11月", "11月24日", "2026年11月24日"])
def test_dates_stay_together_unless_wider_than_the_line(measure, date):
    need = measure.width(date, 10.5)
    for width in range(int(need) + 1, int(need) + 80, 2):
        for text in (date, f"{date}前", f"实施期限{date}", f"{date}—{date}"):
            lines = wrap(text, measure, 10.5, width)
            assert "".join(lines) == text
            assert any(date in line for line in lines), (width, lines)
    narrow = wrap(date, measure, 10.5, need / 2)  # wider than the line: it still breaks, at 年/月
    assert "".join(narrow) == date and len(narrow) > 1
    assert all(measure.width(line, 10.5) <= need / 2 for line in narrow)


def test_the_period_column_reads_as_two_dates(tables, tmp_path):
    render_notice(project_list(rows=3), tmp_path / "list.pdf", public_url=URL, draft=False)
    d = next(d for d in tables if d.layout.columns[0].label == "序号")
    period = next(i for i, c in enumerate(d.layout.columns) if c.label == "实施期限")
    lines = [text for x, _y, text in d.strings if _column(d.layout, d.x0, x) == period][1:]
    assert lines[:2] == ["2026年3月—", "2026年11月"]


# ---------------------------------------------------------------------- 4. no lonely last line
@pytest.mark.parametrize("text", [
    "扫描页面右下角二维码，可在县级公开平台核验本公示的正式版本，也可在线反映意见。",
    "公示期内，如对公示内容有异议，请以来电、来访或书面形式向青石村村民委员会、石门镇人民政府反映，"
    "提倡实名反映，以便调查核实。异议反映截止日期：2026年12月1日。",
    DESCRIPTION,
])
def test_a_paragraph_does_not_end_with_one_or_two_characters(measure, text):
    spec = PageSpec("A4", False)
    flow = Flow(spec, measure, top_first=800, top_next=800, bottom=60)
    lines = flow.wrap_paragraph(text, STYLE.body)
    assert "".join(lines).replace("\u3000", "") == text
    assert len(lines[-1]) >= 3, lines
    for width in range(120, 520, 7):  # and at any width, where the line above can spare a unit
        lines = wrap("\u3000\u3000" + text, measure, STYLE.body, width, hang=True)
        if len(lines) > 1:
            assert len(lines[-1]) >= 3, (width, lines)
            assert "".join(lines) == "\u3000\u3000" + text


def test_the_subsidy_notice_has_no_lonely_last_line(tmp_path):
    pdf = tmp_path / "subsidy.pdf"
    render_notice(subsidy_notice("青石村村民委员会\n石门镇人民政府"), pdf, public_url=URL, draft=False)
    lines = [line.strip() for page in page_texts(pdf) for line in page.splitlines()]
    assert "见。" not in lines and "意见。" in lines


# ---------------------------------------------------------------------- 5. seal outline clear of names
ISSUERS = [
    "青石村村民委员会",
    "村委会",
    "青石村村民委员会\n石门镇人民政府",
    "石门镇人民政府\n青石村村民委员会\n青石村村务监督委员会",
    "云岭县石门镇青石村村民委员会\n云岭县石门镇人民政府",
    "云岭县石门镇人民政府农业农村综合服务中心\n云岭县农业农村局\n云岭县财政局",
]


@pytest.mark.parametrize("issuer", ISSUERS)
def test_issuer_names_never_touch_the_seal_outline(monkeypatch, tmp_path, measure, issuer):
    circles, texts, size = [], [], [0.0]
    circle, string, font = Canvas.circle, Canvas.drawString, Canvas.setFont

    def record_circle(self, x, y, r, *a, **k):
        circles.append((self.getPageNumber(), x, y, r))
        return circle(self, x, y, r, *a, **k)

    def record_string(self, x, y, text, *a, **k):  # x is where the text starts
        texts.append((self.getPageNumber(), x + measure.width(text, size[0]) / 2, y, text, size[0]))
        return string(self, x, y, text, *a, **k)

    def record_font(self, name, s, *a, **k):
        size[0] = s
        return font(self, name, s, *a, **k)

    monkeypatch.setattr(Canvas, "circle", record_circle)
    monkeypatch.setattr(Canvas, "drawString", record_string)
    monkeypatch.setattr(Canvas, "setFont", record_font)
    render_notice(subsidy_notice(issuer), tmp_path / "n.pdf", public_url=URL, draft=False)
    names = issuer.split("\n")
    assert len(circles) == len(names)
    page = circles[0][0]
    clear = 1 * MM
    near = []
    for p, x, y, text, s in texts:
        if p != page:
            continue
        half = measure.width(text, s) / 2
        box = (x - half, y - 0.2 * s, x + half, y + 0.9 * s)  # the glyphs of a CJK line
        for _p, cx, cy, r in circles:
            dx = max(box[0] - cx, 0, cx - box[2])
            dy = max(box[1] - cy, 0, cy - box[3])
            nearest = math.hypot(dx, dy)
            farthest = math.hypot(max(abs(box[0] - cx), abs(box[2] - cx)), max(abs(box[1] - cy), abs(box[3] - cy)))
            inside, outside = farthest <= r - clear, nearest >= r + clear
            assert inside or outside, f"{text!r} touches the seal outline of issuer block {issuer!r}"
            if nearest < 2 * r:
                near.append(text)
    drawn = "".join(near)
    assert all(name in drawn for name in names)
    width = PageSpec("A4", False).size[0]
    assert all(STYLE.margin_x - 0.01 <= x - r and x + r <= width - STYLE.margin_x + 0.01 for _p, x, _y, r in circles)


# ---------------------------------------------------------------------- 6. the closing block
def test_the_closing_block_uses_the_room_left_after_a_long_project_list(tables, tmp_path):
    pdf = tmp_path / "list.pdf"
    info = render_notice(project_list(), pdf, public_url=URL, draft=False)
    assert (info.paper, info.landscape) == ("a4", True)
    pages = [squeeze(p) for p in page_texts(pdf)]
    end = next(i for i, p in enumerate(pages) if "金额合计（大写）" in p)
    assert "公示期：2026年11月21日至2026年12月1日" in pages[end]  # not pushed to a page of its own
    sign = next(i for i, p in enumerate(pages) if "审核环节" in p)
    assert "盖章处" in pages[sign] and "联系人：张丽" in pages[sign]  # sign-offs and 落款 stay together
    assert sign == len(pages) - 1


@pytest.mark.parametrize("paper, landscape", [("a3", True), ("a3", False), ("a4", True)])
def test_the_sign_off_table_is_not_stretched_over_a_wide_page(tables, tmp_path, paper, landscape):
    render_notice(project_list(rows=3), tmp_path / "list.pdf", public_url=URL, draft=False,
                  paper=paper, landscape=landscape)
    sign = next(d for d in tables if d.layout.columns[0].label == "审核环节")
    text_width = PageSpec(paper.upper(), landscape).size[0] - 2 * STYLE.margin_x
    assert sign.layout.xs[-1] <= text_width * 0.7
    assert sign.x0 == pytest.approx(STYLE.margin_x)
