"""Batch printing by village, the board sheet and the objection slip."""

from __future__ import annotations

import threading

import pytest

from app.boards import BoardService
from app.errors import Cancelled
from app.notices import NoticeService
from app.reference import ReferenceService
from app.settings import CountySettings, set_local
from printing.errors import PrintError
from printing.service import FONT_SETTING, INDEX_PDF, INDEX_TXT, PrintService
from printing.sheets import days_left_text
from tests.printing.pdfcheck import decode_qr, page_texts, squeeze
from tests.printing.test_fonts import _otf


def _soil_program(ctx):
    return next(p for p in ReferenceService(ctx).programs() if p.notice_type_code == "subsidy_payout")


def test_one_file_per_village_with_an_index(demo_ctx, tmp_path):
    program = _soil_program(demo_ctx)
    notices = NoticeService(demo_ctx)
    expected = {s.village: s for s in notices.summaries()
                if s.status in ("approved", "published") and notices.get(s.id).program_id == program.id}
    assert len(expected) == 4  # the demo has 2 published, 1 corrected (published) and 1 approved
    calls = []
    files = PrintService(demo_ctx).print_program_by_village(
        program.id, tmp_path / "out", progress=lambda done, total, msg: calls.append((done, total, msg)))
    assert len(files) == len(expected) and all(f.exists() for f in files)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.pdf")) == sorted([INDEX_PDF] + [f.name for f in files])
    for f in files:
        village = f.stem.split("-")[1]
        s = expected[village]
        flat = squeeze("".join(page_texts(f)))
        assert squeeze(s.title) in flat
        assert ("草稿" in flat) == (s.status == "approved")
    index = (tmp_path / "out" / INDEX_TXT).read_text(encoding="utf-8").splitlines()
    assert len(index) == 2 + len(files)
    for f in files:
        line = next(x for x in index if x.startswith(f.name))
        assert str(expected[f.stem.split("-")[1]].rows) in line.split("\t")
    assert "1032" in squeeze("".join(page_texts(tmp_path / "out" / INDEX_PDF)))
    assert [c[0] for c in calls] == list(range(len(files) + 1))
    assert calls[-1][:2] == (len(files), len(files))


def test_batch_stops_when_cancelled(demo_ctx, tmp_path):
    cancel = threading.Event()
    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        PrintService(demo_ctx).print_program_by_village(
            _soil_program(demo_ctx).id, out, progress=lambda done, total, msg: cancel.set(), cancel=cancel)
    assert len(list(out.glob("*.pdf"))) == 1
    assert not (out / INDEX_TXT).exists() and not (out / INDEX_PDF).exists()


def test_board_sheet_lists_titles_and_days_left(demo_ctx, tmp_path):
    boards = BoardService(demo_ctx)
    postings = [p for p in boards.postings() if p.taken_down_on is None]
    board_id = postings[0].board_id
    on_board = [p for p in postings if p.board_id == board_id]
    pdf = tmp_path / "board.pdf"
    info = PrintService(demo_ctx).print_board_sheet(board_id, pdf)
    assert info.pages == 1
    flat = squeeze(page_texts(pdf)[0])
    assert squeeze(f"{on_board[0].board}张贴公示一览") in flat
    for p in on_board:
        assert squeeze(p.title) in flat
        assert squeeze(days_left_text(p.days_left)) in flat
    assert on_board[0].days_left is not None and on_board[0].days_left >= 0


def test_objection_slip_qr_opens_the_objection_page(demo_ctx, tmp_path):
    s = next(s for s in NoticeService(demo_ctx).summaries() if s.status == "published")
    pdf = tmp_path / "slip.pdf"
    info = PrintService(demo_ctx).print_objection_slip(s.id, pdf)
    expected = f"{CountySettings.load().public_url}/v/{s.id}/{s.edition}/objection"
    assert info.pages == 1 and info.url == expected
    assert decode_qr(pdf, 1, tmp_path) == [expected]
    flat = squeeze(page_texts(pdf)[0])
    assert "异议登记表" in flat and squeeze(s.title) in flat and "自受理之日起7日内" in flat


def test_a_configured_cff_font_stops_printing(demo_ctx, tmp_path):
    with demo_ctx.write():
        set_local(FONT_SETTING, str(_otf(tmp_path / "font.otf")))
    s = next(s for s in NoticeService(demo_ctx).summaries() if s.status == "published")
    with pytest.raises(PrintError, match="OpenType/CFF"):
        PrintService(demo_ctx).print_notice(s.id, tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_printed_papers_stay_in_chinese_when_the_clerk_works_in_english(demo_ctx, tmp_path, monkeypatch):
    """A notice is a Chinese public document whatever language the desktop app is set to: nothing
    that goes on paper (or into the posting period stored at publishing) may pass through the
    translation catalogue."""
    import app.i18n
    from db.models import User

    class EverythingTranslated(dict):
        def get(self, message, default=None):
            return "EN<" + message + ">"

    monkeypatch.setattr(app.i18n, "_messages", EverythingTranslated())
    notices = NoticeService(demo_ctx)
    approved = next(s for s in notices.summaries() if s.status == "approved" and s.village)
    reviewer = User.get(User.role == "reviewer")
    notices.publish(approved.id, reviewer.id)
    printer = PrintService(demo_ctx)
    out = tmp_path / "out"
    out.mkdir()
    printer.print_notice(approved.id, out / "notice.pdf")
    printer.print_objection_slip(approved.id, out / "slip.pdf")
    board = next(p for p in BoardService(demo_ctx).postings() if p.taken_down_on is None).board_id
    printer.print_board_sheet(board, out / "board.pdf")
    printer.print_program_by_village(notices.get(approved.id).program_id, out / "batch")
    pdfs = sorted(out.rglob("*.pdf"))
    assert len(pdfs) >= 5
    for pdf in pdfs:
        text = "".join(page_texts(pdf))
        assert "EN<" not in text, pdf.name
        assert "第1页共" in squeeze(text) or pdf.parent.name == "batch", pdf.name
    assert "公示期" in squeeze("".join(page_texts(out / "notice.pdf")))
    assert "EN<" not in (out / "batch" / INDEX_TXT).read_text(encoding="utf-8")


def test_no_personal_number_in_a_title_reaches_the_board_sheet_or_the_batch_index(demo_ctx, tmp_path):
    """A title typed with a phone or card number in it: the sheets posted beside the notices and
    the batch index mask it like the notice itself does."""
    from db.models import Notice

    boards = BoardService(demo_ctx)
    posting = next(p for p in boards.postings() if p.taken_down_on is None)
    with demo_ctx.write():
        Notice.update(title=Notice.title.concat("（代领人电话１３８ ５１４３ ０２６６，卡号6228 4800 0000 0000 018）")).execute()
    pdf = tmp_path / "board.pdf"
    PrintService(demo_ctx).print_board_sheet(posting.board_id, pdf)
    out = tmp_path / "batch"
    PrintService(demo_ctx).print_program_by_village(_soil_program(demo_ctx).id, out)
    texts = [squeeze("".join(page_texts(pdf))), squeeze("".join(page_texts(out / INDEX_PDF))),
             (out / INDEX_TXT).read_text(encoding="utf-8")]
    for text in texts:
        flat = text.replace(" ", "").translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        assert "13851430266" not in flat and "6228480000000000018" not in flat
        assert "138****0266" in flat  # masked, not dropped
