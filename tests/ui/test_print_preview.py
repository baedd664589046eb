"""Print preview, printing through a real Qt printer (PDF output), save as PDF and batch printing."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPageLayout
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QMessageBox

from app.notices import NoticeService
from app.reference import ReferenceService
from printing.service import INDEX_PDF, PrintService

from .conftest import save_screenshot


def _text(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [re.sub(r"\s+", "", page.extract_text() or "") for page in PdfReader(str(pdf)).pages]


def _published(ctx, min_rows: int = 100):
    return next(s for s in NoticeService(ctx).summaries() if s.status == "published" and s.rows >= min_rows)


def _preview(qtbot, env, notice_id: str):
    from ui.print_preview import PrintPreviewDialog

    dialog = PrintPreviewDialog(env, notice_id)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.rendered, timeout=20_000) as rendered:
        dialog.show()
    return dialog, rendered.args[0]


def test_the_preview_shows_every_page_and_saves_the_pdf(qtbot, clerk_env, tmp_path):
    notice = _published(clerk_env.ctx)
    expected = PrintService(clerk_env.ctx).print_notice(notice.id, tmp_path / "reference.pdf").pages
    dialog, pages = _preview(qtbot, clerk_env, notice.id)
    assert pages == expected == dialog.document.pageCount() > 1
    assert dialog.pages.text().endswith(f"{expected} 页")
    assert "二维码核验地址" in dialog.note.text() and "水印" not in dialog.note.text()
    dialog.resize(1366, 740)
    qtbot.wait(1500)  # QPdfView draws its pages on a thread of its own
    save_screenshot(dialog, "print_preview_zh")
    dialog.zoom.setCurrentIndex(dialog.zoom.findData("width"))
    qtbot.wait(1500)
    save_screenshot(dialog, "print_preview_width_zh")

    qtbot.mouseClick(dialog.next_page, Qt.MouseButton.LeftButton)
    assert dialog.current_page() == 1 and dialog.page.value() == 2
    dialog.go_to_page(99)
    assert dialog.current_page() == expected - 1 and not dialog.next_page.isEnabled()

    target = tmp_path / "saved.pdf"
    with qtbot.waitSignal(dialog.saved):
        dialog.save_pdf(target)
    texts = _text(target)
    assert len(texts) == expected
    assert re.sub(r"\s+", "", notice.title) in texts[0]


def test_save_as_goes_through_the_file_dialog(qtbot, clerk_env, tmp_path, monkeypatch):
    notice = _published(clerk_env.ctx)
    dialog, _pages = _preview(qtbot, clerk_env, notice.id)
    chosen = tmp_path / "公示"
    monkeypatch.setattr("ui.print_preview.QFileDialog.getSaveFileName", lambda *a, **k: (str(chosen), ""))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert chosen.with_suffix(".pdf").read_bytes() == dialog.pdf


def test_printing_paints_each_page_on_a_real_qt_printer(qtbot, clerk_env, tmp_path):
    notice = _published(clerk_env.ctx)
    dialog, pages = _preview(qtbot, clerk_env, notice.id)
    out = tmp_path / "printed.pdf"
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    from ui.print_preview import prepare_printer

    prepare_printer(printer, dialog.pdf, dialog.title)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(out))
    printer.setResolution(150)
    with qtbot.waitSignal(dialog.printed, timeout=60_000) as printed:
        dialog.print_to(printer)
    assert printed.args == [pages]
    from pypdf import PdfReader

    reader = PdfReader(str(out))
    assert len(reader.pages) == pages
    first = reader.pages[0]
    # the page is the rendered picture (one band at 150 dpi) on paper of the notice's size …
    images = list(first.images)
    assert images and images[0].image.width == round(float(dialog.document.pagePointSize(0).width()) / 72 * 150)
    assert abs(float(first.mediabox.width) - dialog.document.pagePointSize(0).width()) < 2
    # … with the notice's own words on it
    texts = _text(out)
    assert re.sub(r"\s+", "", notice.title) in texts[0]
    assert f"第1页共{pages}页" in texts[0] and f"第{pages}页共{pages}页" in texts[-1]


def test_a_page_range_prints_only_those_pages(qtbot, clerk_env, tmp_path):
    from ui.print_preview import prepare_printer, print_pdf

    notice = _published(clerk_env.ctx)
    dialog, pages = _preview(qtbot, clerk_env, notice.id)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    prepare_printer(printer, dialog.pdf, dialog.title)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "range.pdf"))
    printer.setResolution(72)
    printer.setPrintRange(QPrinter.PrintRange.PageRange)
    printer.setFromTo(2, 2)
    assert print_pdf(dialog.pdf, printer) == 1
    assert len(_text(tmp_path / "range.pdf")) == 1 and f"第2页共{pages}页" in _text(tmp_path / "range.pdf")[0]


def test_a_draft_preview_warns_and_the_slip_and_paper_can_be_chosen(qtbot, clerk_env):
    draft = next(s for s in NoticeService(clerk_env.ctx).summaries() if s.status == "draft" and s.rows > 100)
    dialog, pages = _preview(qtbot, clerk_env, draft.id)
    assert "水印" in dialog.note.text()
    assert dialog.info.paper == "a4"
    with qtbot.waitSignal(dialog.rendered, timeout=20_000):
        dialog.paper.setCurrentIndex(dialog.paper.findText("A3 纵向"))
    assert (dialog.info.paper, dialog.info.landscape) == ("a3", False)
    assert dialog.document.pageCount() < pages  # a taller page holds more rows
    with qtbot.waitSignal(dialog.rendered, timeout=20_000) as rendered:
        dialog.kind.setCurrentIndex(dialog.kind.findData("objection_slip"))
    assert rendered.args == [1] and not dialog.paper.isEnabled()


def test_the_print_dialog_is_set_to_the_notice_paper(qtbot, clerk_env):
    notice = _published(clerk_env.ctx)
    dialog, _pages = _preview(qtbot, clerk_env, notice.id)
    print_dialog = dialog.print_document()
    qtbot.addWidget(print_dialog)
    printer = print_dialog.printer()
    assert printer.pageLayout().pageSize().id().name in ("A4", "A3")
    landscape = dialog.info.landscape
    assert (printer.pageLayout().orientation() == QPageLayout.Orientation.Landscape) == landscape
    print_dialog.reject()


def test_board_sheet_preview(qtbot, clerk_env):
    from ui.print_preview import PrintPreviewDialog

    board = ReferenceService(clerk_env.ctx).boards()[0]
    dialog = PrintPreviewDialog.for_board_sheet(clerk_env, board.id)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.rendered, timeout=20_000) as rendered:
        dialog.show()
    assert rendered.args == [1] and board.name in dialog.windowTitle()


def test_batch_print_writes_one_pdf_per_village(qtbot, clerk_env, tmp_path):
    from ui.print_preview import BatchPrintDialog

    ctx = clerk_env.ctx
    program = next(p for p in ReferenceService(ctx).programs() if p.notice_type_code == "subsidy_payout")
    expected = PrintService(ctx).batch_notices(program.id)
    dialog = BatchPrintDialog(clerk_env)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.program.setCurrentIndex(dialog.program.findData(program.id))
    assert dialog.program.currentText().endswith(f"（{len(expected)} 个村）")
    dialog.folder.setText(str(tmp_path / "打印" / "耕地"))
    with qtbot.waitSignal(dialog.finished_batch, timeout=60_000) as finished:
        qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    paths = finished.args[0]
    assert len(paths) == len(expected) == 4
    assert {p.name.split("-")[1] for p in paths} == {s.village for s in expected}
    for path, s in zip(paths, expected, strict=True):
        assert re.sub(r"\s+", "", s.title) in "".join(_text(path))
    assert (tmp_path / "打印" / "耕地" / INDEX_PDF).exists()
    assert dialog.files.count() == len(paths) + 2
    save_screenshot(dialog, "batch_print_zh")


def test_batch_print_of_published_notices_and_cancel(qtbot, clerk_env, tmp_path, monkeypatch):
    from ui.print_preview import BatchPrintDialog

    published = [s for s in NoticeService(clerk_env.ctx).summaries() if s.status == "published"]
    dialog = BatchPrintDialog(clerk_env)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.published.setChecked(True)
    dialog.folder.setText(str(tmp_path / "all"))
    with qtbot.waitSignal(dialog.finished_batch, timeout=60_000) as finished:
        qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    assert len(finished.args[0]) == len(published)

    shown = []
    monkeypatch.setattr("ui.print_preview.show_error", lambda parent, exc: shown.append(exc))
    dialog.folder.setText(str(tmp_path / "cancelled"))
    op = dialog.run()
    op.cancel_event.set()
    qtbot.waitUntil(lambda: bool(shown), timeout=20_000)
    assert "已取消" in str(shown[0]) and dialog.start.isEnabled()
    assert len(list((tmp_path / "cancelled").glob("*.pdf"))) < len(published)


def test_the_preview_in_english(qtbot, clerk_env, english):
    notice = _published(clerk_env.ctx)
    dialog, pages = _preview(qtbot, clerk_env, notice.id)
    assert dialog.print_button.text() == "Print…"
    assert dialog.pages.text().endswith(f"{pages}")
    dialog.resize(1366, 740)
    qtbot.wait(1500)
    save_screenshot(dialog, "print_preview_en")
    from ui.print_preview import BatchPrintDialog

    batch = BatchPrintDialog(clerk_env)
    qtbot.addWidget(batch)
    save_screenshot(batch, "batch_print_en")


def test_a_print_error_is_shown_not_raised(qtbot, clerk_env, monkeypatch):
    from ui import print_preview

    shown = []
    monkeypatch.setattr(print_preview, "show_error", lambda parent, exc: shown.append(exc) or QMessageBox())
    monkeypatch.setattr(print_preview.PrintService, "print_notice",
                        lambda *a, **k: (_ for _ in ()).throw(print_preview.PrintError("找不到可用的中文字体")))
    dialog = print_preview.PrintPreviewDialog(clerk_env, _published(clerk_env.ctx).id)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: bool(shown), timeout=20_000)
    assert "字体" in str(shown[0]) and not dialog.print_button.isEnabled()


def test_a_character_no_font_has_is_named_in_the_preview(qtbot, clerk_env, monkeypatch):
    from db.models import RosterRow
    from printing.errors import UnprintableCharacter
    from ui import print_preview

    shown = []
    monkeypatch.setattr(print_preview, "show_error", lambda parent, exc: shown.append(exc) or QMessageBox())
    draft = next(s for s in NoticeService(clerk_env.ctx).summaries() if s.status == "draft" and s.rows >= 7)
    with clerk_env.ctx.write():  # a code point of Extension G's range that no font has
        RosterRow.update(name="王\U0003134f").where((RosterRow.notice == draft.id) & (RosterRow.seq == 7)).execute()
    dialog = print_preview.PrintPreviewDialog(clerk_env, draft.id)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: bool(shown), timeout=20_000)
    assert isinstance(shown[0], UnprintableCharacter)
    assert "第 7 行" in dialog.note.text() and "U+3134F" in dialog.note.text()
    assert not dialog.print_button.isEnabled() and not dialog.save_button.isEnabled()
