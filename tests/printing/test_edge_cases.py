"""Edge cases on a small township: no county URL, drafts, long rosters."""

from __future__ import annotations

from app.money import format_yuan
from db.changes import new_id, save_change
from db.models import CountySetting
from printing.service import PrintService
from tests.app.world import make_world
from tests.printing.pdfcheck import decode_qr, page_texts, squeeze


def _set_public_url(ctx, url: str) -> None:
    with ctx.write():
        save_change(CountySetting(id=new_id(), key="public_url", value=url), created=True)


def test_without_a_county_url_there_is_no_qr_and_every_page_says_so(ctx, tmp_path):
    w = make_world(ctx)
    nid = w.published(60)
    pdf = tmp_path / "notice.pdf"
    info = PrintService(ctx).print_notice(nid, pdf)
    assert info.url is None and info.pages >= 2
    for page in page_texts(pdf):
        assert "县级核验网址尚未设置，本页未印核验二维码。" in page
        assert "扫码核验" not in page and "http" not in page
    assert decode_qr(pdf, 1, tmp_path) == []
    assert decode_qr(pdf, info.pages, tmp_path) == []


def test_a_draft_is_marked_on_every_page_and_has_no_qr_to_a_version_the_county_lacks(ctx, tmp_path):
    w = make_world(ctx)
    _set_public_url(ctx, "https://gongkai.example.gov.cn/county")
    nid = w.draft(80)
    pdf = tmp_path / "draft.pdf"
    info = PrintService(ctx).print_notice(nid, pdf)
    pages = page_texts(pdf)
    assert info.url is None and len(pages) >= 2
    assert all("草稿" in p and "草稿不印核验二维码" in squeeze(p) for p in pages)
    assert "http" not in "".join(pages) and "扫描页面右下角二维码" not in squeeze("".join(pages))
    assert decode_qr(pdf, 1, tmp_path) == [] and decode_qr(pdf, len(pages), tmp_path) == []
    assert "公示期：自张贴之日起计算，起止日期于发布时确定。" in squeeze("".join(pages))
    published = tmp_path / "published.pdf"
    info = PrintService(ctx).print_notice(w.published(5), published)
    assert not any("草稿" in p for p in page_texts(published))
    assert decode_qr(published, 1, tmp_path) == [info.url] and info.url.startswith("https://gongkai.example")


def test_a_300_row_notice_spans_pages_with_the_header_on_each(ctx, tmp_path):
    w = make_world(ctx)
    _set_public_url(ctx, "https://gongkai.example.gov.cn/county/")
    nid = w.published(300)
    view = w.notices.public_view(nid)
    pdf = tmp_path / "long.pdf"
    info = PrintService(ctx).print_notice(nid, pdf)
    pages = page_texts(pdf)
    n = len(pages)
    assert info.pages == n >= 8
    assert f"第 1 页 共 {n} 页" in pages[0] and f"第 {n} 页 共 {n} 页" in pages[-1]
    with_rows = [p for p in pages if "组" in p and "103.55" in p]
    assert len(with_rows) >= n - 1
    # every row is printed once, in order, and the pages hold them with no page left out or blank
    import re

    printed = [[int(m) for m in re.findall(r"^(\d+) \d组", page, re.M)] for page in pages]
    assert [seq for page in printed for seq in page] == list(range(1, 301))
    assert all(printed[:n - 1]) and len(pages) == n
    assert all("户主姓名" in p and "补贴面积" in p for p in with_rows)
    flat = squeeze("".join(pages))
    assert f"合计（300户）{view.total_quantity}{format_yuan(view.total_amount_fen)}" in flat
    assert f"金额合计（大写）：{view.amount_in_words}" in flat
    # groups interleave in this roster (1组, 2组, 3组, 1组 …): their subtotals sit above the total
    for g in view.group_subtotals:
        assert f"{g.group}小计（{g.rows}户）" in flat and format_yuan(g.amount_fen) in flat
    assert str(300) in pages[-2] + pages[-1]
    expected = f"https://gongkai.example.gov.cn/county/v/{nid}/1?f={view.fingerprint()[:12]}"
    assert info.url == expected
    assert decode_qr(pdf, 1, tmp_path) == [expected]
    assert decode_qr(pdf, n, tmp_path) == [expected]


def test_a_county_id_column_prints_masked_numbers_only(ctx, tmp_path):
    w = make_world(ctx)
    with ctx.write():
        save_change(CountySetting(id=new_id(), key="show_id_column", value=True), created=True)
    nid = w.published(12)
    pdf = tmp_path / "ids.pdf"
    PrintService(ctx).print_notice(nid, pdf)
    flat = squeeze("".join(page_texts(pdf)))
    assert "身份证号码（部分隐去）" in flat and "身份证号码仅显示首尾部分数字" in flat
    for row in w.notices.rows(nid):
        masked = row.id_number[:2] + "*" * 13 + row.id_number[-3:]
        assert masked in flat and row.id_number not in flat
        assert row.bank_account not in flat and row.phone not in flat


def test_a_slip_without_a_qr_code_does_not_ask_to_scan_one(ctx, tmp_path):
    w = make_world(ctx)
    printer = PrintService(ctx)
    published = w.published(5)
    for name, nid, says in (("no-url", published, "县级网址尚未设置"), ("draft", w.draft(5), "本公示尚未发布")):
        if name == "draft":
            _set_public_url(ctx, "https://gongkai.example.gov.cn/county")
        pdf = tmp_path / f"{name}.pdf"
        info = printer.print_objection_slip(nid, pdf)
        flat = squeeze(page_texts(pdf)[0])
        assert info.url is None and decode_qr(pdf, 1, tmp_path) == []
        assert says in flat and "扫描" not in flat and "意见箱。联系人" in flat
    info = printer.print_objection_slip(published, tmp_path / "slip.pdf")
    assert info.url.endswith("/objection") and "扫描右下角二维码在线反映" in squeeze(page_texts(tmp_path / "slip.pdf")[0])


def test_a_printed_notice_is_readable_by_others_and_bad_targets_are_named(ctx, tmp_path):
    import os

    import pytest

    from printing.errors import PrintError

    w = make_world(ctx)
    nid = w.published(5)
    printer = PrintService(ctx)
    out = tmp_path / "out"
    out.mkdir()
    pdf = out / "notice.pdf"
    printer.print_notice(nid, pdf)
    umask = os.umask(0)
    os.umask(umask)
    assert pdf.stat().st_mode & 0o777 == 0o666 & ~umask  # a public document, for a print server
    with pytest.raises(PrintError, match="是一个文件夹"):
        printer.print_notice(nid, out)
    with pytest.raises(PrintError, match="找不到文件夹"):
        printer.print_notice(nid, out / "typo" / "notice.pdf")
    assert sorted(p.name for p in out.iterdir()) == ["notice.pdf"]  # no folder made, no part left


def test_the_document_number_is_printed_under_the_title(ctx, tmp_path):
    w = make_world(ctx)
    nid = w.draft(3)
    w.notices.update_header(nid, w.clerk, doc_number="石政发〔2026〕12号")
    pdf = tmp_path / "doc.pdf"
    PrintService(ctx).print_notice(nid, pdf)
    lines = [line.strip() for line in page_texts(pdf)[0].splitlines() if line.strip()]
    title = w.notices.detail(nid).title
    at = next(i for i, line in enumerate(lines) if "石政发〔2026〕12号" in line)
    assert squeeze(title) in squeeze("".join(lines[:at]))  # the title comes first
