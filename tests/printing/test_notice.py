"""Printed notices of the demo township, read back as a reader would."""

from __future__ import annotations

import io
import re
from datetime import date

from app.money import format_yuan
from app.notices import NoticeService
from app.periods import format_date
from app.reference import ReferenceService
from app.settings import CountySettings
from printing.service import PrintService
from tests.printing.pdfcheck import decode_qr, fonts, page_texts, squeeze


def _summary(ctx, type_code: str, status: str = "published"):
    return next(s for s in NoticeService(ctx).summaries() if s.type_code == type_code and s.status == status)


def _expected_url(ctx, notice_id: str) -> str:
    n = NoticeService(ctx).get(notice_id)
    return f"{CountySettings.load().public_url}/v/{n.id}/{n.edition}?f={n.fingerprint[:12]}"


def test_published_subsidy_notice_reads_right(demo_ctx, tmp_path):
    s = _summary(demo_ctx, "subsidy_payout")
    view = NoticeService(demo_ctx).public_view(s.id)
    pdf = tmp_path / "notice.pdf"
    info = PrintService(demo_ctx).print_notice(s.id, pdf)

    pages = page_texts(pdf)
    assert info.pages == len(pages) > 1
    assert (info.paper, info.landscape) == ("a4", False)
    text = "\n".join(pages)
    flat = squeeze(text)
    assert squeeze(view.title) in flat
    assert format_yuan(view.total_amount_fen) in text and view.total_quantity in text
    assert view.amount_in_words in flat
    assert f"金额合计（大写）：{view.amount_in_words}" in flat
    start, end = (date.fromisoformat(d) for d in (view.posting_start, view.posting_end))
    assert f"公示期：{format_date(start)}至{format_date(end)}（7个自然日）" in flat
    assert f"异议反映截止日期：{format_date(end)}" in flat
    assert "监督举报电话：12345" in flat and "联系人：张丽" in flat
    assert "为保护个人信息，本公示未公开：身份证号码、一卡通账号、联系电话" in flat
    assert "草稿" not in text
    for number, page in enumerate(pages, start=1):
        assert f"第 {number} 页 共 {len(pages)} 页" in page
    # the header is repeated on every page that carries roster rows
    table_pages = [p for p in pages if re.search(r"^\d+ .组 ", p, re.M)]
    assert len(table_pages) >= len(pages) - 1
    assert all("户主姓名" in p and "补贴金额" in p and "补贴面积" in p for p in table_pages)
    # 小计 after each village group, and the village review and approval are printed
    groups = [g.group for g in view.group_subtotals]
    assert all(f"{g}小计" in flat for g in groups)
    assert "李德明、陈秀英、赵国强" in flat and "石门镇人民政府" in flat


def test_no_personal_number_of_the_roster_is_printed(demo_ctx, tmp_path):
    """Every demo notice, against the real internal roster: no ID, account or phone number."""
    notices = NoticeService(demo_ctx)
    printer = PrintService(demo_ctx)
    checked = 0
    for s in notices.summaries():
        pdf = tmp_path / f"{s.id}.pdf"
        printer.print_notice(s.id, pdf)
        flat = squeeze("".join(page_texts(pdf)))
        assert not re.search(r"\d{17}[\dX]", flat), s.title
        for row in notices.rows(s.id):
            for secret in (row.id_number, row.bank_account, row.phone):
                if secret:
                    assert secret not in flat, f"{s.title}: a personal number is printed"
                    checked += 1
    assert checked > 2000


def test_cjk_font_embedded_as_subset(demo_ctx, tmp_path):
    pdf = tmp_path / "notice.pdf"
    PrintService(demo_ctx).print_notice(_summary(demo_ctx, "poverty_household").id, pdf)
    rows = fonts(pdf)
    assert rows and all(r["emb"] == "yes" and r["sub"] == "yes" for r in rows), rows
    assert any("WenQuanYi" in r["name"] or "+" in r["name"] for r in rows)


def test_qr_on_first_and_last_page_opens_this_version(demo_ctx, tmp_path):
    s = _summary(demo_ctx, "subsidy_payout")
    pdf = tmp_path / "notice.pdf"
    info = PrintService(demo_ctx).print_notice(s.id, pdf)
    expected = _expected_url(demo_ctx, s.id)
    assert expected.startswith("http://127.0.0.1:8765/v/") and info.url == expected
    assert decode_qr(pdf, 1, tmp_path) == [expected]
    assert decode_qr(pdf, info.pages, tmp_path) == [expected]
    assert "扫码核验" in page_texts(pdf)[-1]


def test_same_input_same_bytes(demo_ctx):
    s = _summary(demo_ctx, "poverty_project")
    printer = PrintService(demo_ctx)
    first, second = io.BytesIO(), io.BytesIO()
    printer.print_notice(s.id, first)
    printer.print_notice(s.id, second)
    assert first.getvalue() == second.getvalue()
    assert first.getvalue().startswith(b"%PDF")


def test_paper_follows_the_columns(demo_ctx, tmp_path):
    printer = PrintService(demo_ctx)
    projects = _summary(demo_ctx, "poverty_project")
    info = printer.print_notice(projects.id, tmp_path / "projects.pdf")
    assert (info.paper, info.landscape) == ("a4", True)  # nine columns of long text: landscape
    text = squeeze("".join(page_texts(tmp_path / "projects.pdf")))
    assert "绩效目标及带贫减贫机制" in text and "带动脱贫户和监测户增收" in text
    assert "监督举报电话：12317" in text

    plan = next(s for s in NoticeService(demo_ctx).summaries() if s.type_code == "land_compensation_plan")
    info = printer.print_notice(plan.id, tmp_path / "plan.pdf")
    assert (info.paper, info.landscape) == ("a4", False)  # six short columns fit upright

    # the same plan with the columns of a real per-village table (阿坝/三星村) needs more room
    ReferenceService(demo_ctx).override_notice_type("land_compensation_plan", roster_schema=[
        {"key": "group", "label": "被征地村民小组", "kind": "group", "public": True},
        {"key": "x_land_class", "label": "地类", "kind": "text", "public": True},
        {"key": "quantity", "label": "面积（亩）", "kind": "quantity", "unit": "亩", "public": True},
        {"key": "x_land_rate", "label": "土地补偿费标准（万元/公顷）", "kind": "text", "public": True},
        {"key": "x_resettle_rate", "label": "安置补助费标准（万元/公顷）", "kind": "text", "public": True},
        {"key": "x_land_fee", "label": "土地补偿费（元）", "kind": "text", "public": True},
        {"key": "x_resettle_fee", "label": "安置补助费（元）", "kind": "text", "public": True},
        {"key": "rate", "label": "综合补偿标准（元/亩）", "kind": "rate", "unit": "元/亩", "public": True},
        {"key": "amount", "label": "土地补偿费用合计（元）", "kind": "money", "unit": "元", "public": True},
        {"key": "remark", "label": "备注", "kind": "text", "public": True},
    ])
    with demo_ctx.write():
        from db.models import RosterRow

        RosterRow.update(extra={"x_land_class": "耕地", "x_land_rate": "24.9", "x_resettle_rate": "31.65",
                                "x_land_fee": "1,400,000.00", "x_resettle_fee": "1,781,880.00"}).where(
            RosterRow.notice == plan.id).execute()
    info = printer.print_notice(plan.id, tmp_path / "plan-wide.pdf")
    assert info.landscape
    assert "土地补偿费标准" in squeeze("".join(page_texts(tmp_path / "plan-wide.pdf")))

    # the clerk can override the choice
    info = printer.print_notice(projects.id, tmp_path / "projects-a3.pdf", paper="a3")
    assert info.paper == "a3"
    info = printer.print_notice(projects.id, tmp_path / "projects-upright.pdf", landscape=False)
    assert (info.paper, info.landscape) == ("a3", False)  # upright, on the paper where it fits
    info = printer.print_notice(projects.id, tmp_path / "projects-a4.pdf", paper="a4", landscape=False)
    assert (info.paper, info.landscape) == ("a4", False)  # squeezed: long cells wrap
    assert "带动脱贫户和监测户增收" in squeeze("".join(page_texts(tmp_path / "projects-a4.pdf")))


def test_drafts_and_withdrawn_notices_carry_a_watermark(demo_ctx, tmp_path):
    printer = PrintService(demo_ctx)
    for status, mark in (("draft", "草稿"), ("approved", "草稿"), ("withdrawn", "已撤回")):
        s = _summary(demo_ctx, "subsidy_payout", status)
        pdf = tmp_path / f"{status}.pdf"
        printer.print_notice(s.id, pdf)
        pages = page_texts(pdf)
        assert all(mark in p for p in pages), status
        assert "不得张贴" in pages[0]
