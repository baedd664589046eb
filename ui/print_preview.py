"""打印预览 and 批量打印.

The PDF comes from PrintService (which only ever sees the public view) on a worker thread and is
shown with QtPdf. Printing paints the PDF's pages, rendered by QPdfDocument at the printer's
resolution, onto a QPrinter with QPainter — also on a worker thread (QPainter may paint on a
QPrinter outside the GUI thread). Saving as PDF writes the rendered file itself.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QPointF,
    QRect,
    QRectF,
    QSize,
    QSizeF,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QDesktopServices, QFont, QPageLayout, QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument, QPdfDocumentRenderOptions
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import AppError, Cancelled
from app.i18n import _
from app.notices import NoticeService
from app.reference import ReferenceService
from printing.errors import PrintError
from printing.service import INDEX_PDF, INDEX_TXT, PrintService
from ui.background import BackgroundOp
from ui.common import NOTE_STYLE, UiEnv, show_error

#: highest resolution pages are rendered at for a printer; above it only the file grows
MAX_PRINT_DPI = 600
#: a page is rendered in horizontal bands of at most this many bytes
BAND_BYTES = 32 * 1024 * 1024

Progress = Callable[[int, int, str], None]


# ------------------------------------------------------------------------------- printing
def _load(data: bytes) -> tuple[QPdfDocument, QBuffer]:
    """A QPdfDocument over ``data``; the buffer must live as long as the document."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    document.load(buffer)
    if document.status() != QPdfDocument.Status.Ready:
        raise PrintError(_("生成的 PDF 无法打开，没有打印。请重新生成预览后再试。"),
                         details=str(document.error()))
    return document, buffer


def prepare_printer(printer: QPrinter, data: bytes, title: str) -> None:
    """Paper size and orientation from the PDF's first page, so the print dialog shows them."""
    document, _buffer = _load(data)
    size = document.pagePointSize(0)
    landscape = size.width() > size.height()
    portrait = QSizeF(min(size.width(), size.height()), max(size.width(), size.height()))
    page_size = QPageSize(portrait, QPageSize.Unit.Point, "", QPageSize.SizeMatchPolicy.FuzzyMatch)
    printer.setPageSize(page_size)
    printer.setPageOrientation(QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait)
    printer.setFullPage(True)  # the PDF has its own margins
    printer.setDocName(title)


def print_pdf(data: bytes, printer: QPrinter, progress: Progress | None = None,
              cancel: threading.Event | None = None) -> int:
    """Paint the pages of the PDF ``data`` onto ``printer``; returns the pages printed.

    Each page is rendered by QPdfDocument at the printer's resolution (at most MAX_PRINT_DPI),
    band by band so that an A3 page at 600 dpi never needs one huge image, and fitted to the
    paper. A PDF-format printer (print to file) also gets each line's text, invisible, over the
    picture, so the printed file stays searchable. Runs on any thread; raises Cancelled (the job
    is aborted) or PrintError.
    """
    report = progress or (lambda done, total, message: None)
    document, _buffer = _load(data)
    count = document.pageCount()
    first, last = 1, count
    if printer.printRange() == QPrinter.PrintRange.PageRange and printer.fromPage() > 0:
        first, last = max(printer.fromPage(), 1), min(printer.toPage() or count, count)
    pages = list(range(first - 1, last))
    copies = 1 if printer.supportsMultipleCopies() else max(printer.copyCount(), 1)
    jobs = [p for _copy in range(copies) for p in pages]
    painter = QPainter()
    if not painter.begin(printer):
        raise PrintError(_("无法开始打印：打印机不可用或输出文件无法写入。请检查打印机后重试。"),
                         details=printer.printerName() or printer.outputFileName())
    text_layer = printer.outputFormat() == QPrinter.OutputFormat.PdfFormat
    try:
        for done, page in enumerate(jobs):
            if cancel is not None and cancel.is_set():
                printer.abort()
                raise Cancelled(_("已取消打印。"))
            report(done, len(jobs), _("正在打印第 {page} 页（共 {total} 页）").format(page=done + 1, total=len(jobs)))
            if done:
                printer.newPage()
            _paint_page(painter, printer, document, page, text_layer)
    finally:
        painter.end()
    report(len(jobs), len(jobs), _("打印完成"))
    return len(jobs)


def _paint_page(painter: QPainter, printer: QPrinter, document: QPdfDocument, page: int, text_layer: bool) -> None:
    size = document.pagePointSize(page)
    target = QRectF(printer.paperRect(QPrinter.Unit.DevicePixel))
    scale = min(target.width() / size.width(), target.height() / size.height())  # device px per pt
    x0 = target.x() + (target.width() - size.width() * scale) / 2
    y0 = target.y() + (target.height() - size.height() * scale) / 2
    dpi = min(printer.resolution(), MAX_PRINT_DPI)
    width, height = round(size.width() / 72 * dpi), round(size.height() / 72 * dpi)
    band = max(64, BAND_BYTES // (width * 4))
    px = size.width() * scale / width  # device px per rendered px
    for top in range(0, height, band):
        rows = min(band, height - top)
        options = QPdfDocumentRenderOptions()
        options.setScaledSize(QSize(width, height))
        options.setScaledClipRect(QRect(0, top, width, rows))
        image = document.render(page, QSize(width, rows), options)
        painter.drawImage(QRectF(x0, y0 + top * px, width * px, rows * px), image)
    if text_layer:
        _paint_text(painter, document, page, x0, y0, scale)


def _paint_text(painter: QPainter, document: QPdfDocument, page: int, x0: float, y0: float, scale: float) -> None:
    """Each text line of the page, invisible, where it stands on the page."""
    text = document.getAllText(page).text()
    painter.save()
    painter.setPen(QColor(0, 0, 0, 0))
    font = QFont(painter.font())
    start = 0
    for line in text.replace("\r\n", "\n").split("\n"):
        length = len(line)
        if line.strip():
            bounds = document.getSelectionAtIndex(page, start, length).boundingRectangle()
            if bounds.height() > 0:
                font.setPixelSize(max(1, round(bounds.height() * scale * 0.8)))
                painter.setFont(font)
                rect = QRectF(x0 + bounds.x() * scale, y0 + bounds.y() * scale,
                              max(bounds.width(), 1) * scale, bounds.height() * scale)
                painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), line)
        start += length + (2 if "\r\n" in text else 1)
    painter.restore()


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _safe_name(text: str) -> str:
    cleaned = "".join("_" if c in '\\/:*?"<>|' or c.isspace() else c for c in text).strip("._")
    return cleaned[:60] or "notice"


# -------------------------------------------------------------------------------- preview
_PAPERS = (("auto", None), ("a4", False), ("a4", True), ("a3", False), ("a3", True))


class PrintPreviewDialog(QDialog):
    """Preview of a notice (or its objection slip, or a board sheet) as it will print, with print
    and save as PDF. Emits ``rendered(pages)`` when a preview is shown, ``printed(pages)`` when a
    print job is done and ``saved(path)`` after saving as PDF."""

    rendered = Signal(int)
    printed = Signal(int)
    saved = Signal(str)

    def __init__(self, env: UiEnv, notice_id: str | None, parent: QWidget | None = None, *,
                 board_id: str | None = None) -> None:
        super().__init__(parent)
        self.env = env
        self.notice_id = notice_id
        self.board_id = board_id
        self.pdf: bytes | None = None
        self.info = None
        self.op: BackgroundOp | None = None
        self._buffer: QBuffer | None = None
        self._printer: QPrinter | None = None
        if notice_id is not None:
            summary = next((s for s in NoticeService(env.ctx).summaries() if s.id == notice_id), None)
            self.title = summary.title if summary else notice_id
            self.status = summary.status if summary else ""
            kinds = [("notice", _("公示正文")), ("objection_slip", _("异议登记表"))]
        else:
            board = next((b for b in ReferenceService(env.ctx).boards() if b.id == board_id), None)
            self.title = board.name if board else ""
            self.status = ""
            kinds = [("board_sheet", _("公开栏张贴一览表"))]
        self.setWindowTitle(_("打印预览 — {title}").format(title=self.title))

        self.kind = QComboBox()
        for key, label in kinds:
            self.kind.addItem(label, key)
        self.paper = QComboBox()
        for (paper, landscape), label in zip(_PAPERS, (_("自动（按表格宽度）"), _("A4 纵向"), _("A4 横向"), _("A3 纵向"),
                                                       _("A3 横向")), strict=True):
            self.paper.addItem(label, (paper, landscape))
        self.prev_page = QToolButton()
        self.prev_page.setText("◀")
        self.prev_page.setToolTip(_("上一页"))
        self.next_page = QToolButton()
        self.next_page.setText("▶")
        self.next_page.setToolTip(_("下一页"))
        self.page = QSpinBox()
        self.page.setMinimum(1)
        self.page.setMaximum(1)
        self.pages = QLabel()
        self.zoom = QComboBox()
        for label, value in ((_("整页"), "page"), (_("适合宽度"), "width"), ("50%", 0.5), ("75%", 0.75),
                             ("100%", 1.0), ("125%", 1.25), ("150%", 1.5), ("200%", 2.0)):
            self.zoom.addItem(label, value)
        bar = QHBoxLayout()
        bar.addWidget(QLabel(_("内容：")))
        bar.addWidget(self.kind)
        bar.addSpacing(12)
        bar.addWidget(QLabel(_("纸张：")))
        bar.addWidget(self.paper)
        bar.addStretch(1)
        bar.addWidget(self.prev_page)
        bar.addWidget(QLabel(_("第")))
        bar.addWidget(self.page)
        bar.addWidget(self.pages)
        bar.addWidget(self.next_page)
        bar.addSpacing(12)
        bar.addWidget(QLabel(_("缩放：")))
        bar.addWidget(self.zoom)

        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitInView)
        self.note = QLabel()
        self.note.setWordWrap(True)

        self.print_button = QPushButton(_("打印…"))
        self.save_button = QPushButton(_("另存为 PDF…"))
        buttons = QDialogButtonBox()
        buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setText(_("关闭"))
        buttons.rejected.connect(self.reject)
        footer = QHBoxLayout()
        footer.addWidget(self.note, 1)
        footer.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addLayout(footer)

        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.paper.currentIndexChanged.connect(self.render)
        self.prev_page.clicked.connect(lambda: self.go_to_page(self.current_page() - 1))
        self.next_page.clicked.connect(lambda: self.go_to_page(self.current_page() + 1))
        self.page.valueChanged.connect(lambda value: self.go_to_page(value - 1))
        self.view.pageNavigator().currentPageChanged.connect(self._on_navigator_current_page_changed)
        self.zoom.currentIndexChanged.connect(self._on_zoom_changed)
        self.print_button.clicked.connect(self.print_document)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.resize(1100, 720)
        self._set_ready(False)
        self.render()

    @classmethod
    def for_board_sheet(cls, env: UiEnv, board_id: str, parent: QWidget | None = None) -> PrintPreviewDialog:
        """The preview of a board's 张贴一览表 (what is posted there now, with days left)."""
        return cls(env, None, parent, board_id=board_id)

    # --------------------------------------------------------------------------- render
    def kind_key(self) -> str:
        return self.kind.currentData()

    def render(self) -> BackgroundOp:
        """Render the chosen content in the background; the view shows it when done."""
        ctx, kind = self.env.ctx, self.kind_key()
        notice_id, board_id = self.notice_id, self.board_id
        paper, landscape = self.paper.currentData() or ("auto", None)

        def work(progress, cancel):
            import io

            out = io.BytesIO()
            service = PrintService(ctx)
            if kind == "notice":
                info = service.print_notice(notice_id, out, paper=paper, landscape=landscape)
            elif kind == "objection_slip":
                info = service.print_objection_slip(notice_id, out)
            else:
                info = service.print_board_sheet(board_id, out)
            return out.getvalue(), info

        self._set_ready(False)
        self.note.setText(_("正在生成预览……"))
        self.op = (BackgroundOp(self, work).on_success(self._on_rendered).on_failure(self._on_render_failed)
                   .with_progress(_("正在生成预览……")).run())
        return self.op

    def _on_rendered(self, result) -> None:
        data, info = result
        self.pdf, self.info = data, info
        buffer = QBuffer(self)
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.load(buffer)
        if self._buffer is not None:
            self._buffer.deleteLater()
        self._buffer = buffer
        count = self.document.pageCount()
        self.page.blockSignals(True)
        self.page.setMaximum(max(count, 1))
        self.page.setValue(1)
        self.page.blockSignals(False)
        self.pages.setText(_("页，共 {n} 页").format(n=count))
        self._on_zoom_changed()
        self._set_ready(count > 0)
        self.note.setText(self._describe(info))
        self.rendered.emit(count)

    def _describe(self, info) -> str:
        paper = f"{info.paper.upper()} {_('横向') if info.landscape else _('纵向')}"
        parts = [_("共 {n} 页，{paper}。").format(n=info.pages, paper=paper)]
        if self.kind_key() == "notice" and self.status not in ("published", "closed"):
            parts.append(_("本公示尚未发布，打印件带有水印，只供核对，不得张贴。"))
        if info.url:
            parts.append(_("二维码核验地址：{url}").format(url=info.url))
        elif self.kind_key() != "board_sheet":
            parts.append(_("尚未设置县级公开网址，打印件上没有核验二维码。"))
        return " ".join(parts)

    def _on_render_failed(self, exc: BaseException) -> None:
        # the reason stays in view once the message box is closed (which row, which character …)
        self.note.setText(_("预览生成失败：{reason}").format(reason=exc) if isinstance(exc, AppError)
                          else _("预览生成失败。"))
        show_error(self, exc)

    def _set_ready(self, ready: bool) -> None:
        for widget in (self.print_button, self.save_button, self.page, self.prev_page, self.next_page):
            widget.setEnabled(ready)

    def _on_kind_changed(self) -> None:
        self.paper.setEnabled(self.kind_key() == "notice")
        self.render()

    # ------------------------------------------------------------------------ navigation
    def current_page(self) -> int:
        return self.view.pageNavigator().currentPage()

    def go_to_page(self, page: int) -> None:
        """Show page ``page`` (0-based), clamped to the document."""
        count = self.document.pageCount()
        if count == 0:
            return
        page = min(max(page, 0), count - 1)
        navigator = self.view.pageNavigator()
        navigator.jump(page, QPointF(), navigator.currentZoom())
        self._on_navigator_current_page_changed(page)

    def _on_navigator_current_page_changed(self, page: int) -> None:
        self.page.blockSignals(True)
        self.page.setValue(page + 1)
        self.page.blockSignals(False)
        count = self.document.pageCount()
        self.prev_page.setEnabled(page > 0)
        self.next_page.setEnabled(page < count - 1)

    def _on_zoom_changed(self, *_args) -> None:
        value = self.zoom.currentData()
        if value == "width":
            self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        elif value == "page":
            self.view.setZoomMode(QPdfView.ZoomMode.FitInView)
        else:
            self.view.setZoomMode(QPdfView.ZoomMode.Custom)
            self.view.setZoomFactor(float(value))

    # -------------------------------------------------------------------------- output
    def save_pdf(self, path: Path) -> Path:
        """Write the previewed PDF to ``path``."""
        if self.pdf is None:
            raise PrintError(_("预览还没有生成，请稍候。"))
        path = Path(path)
        try:
            _write_atomically(path, self.pdf)
        except OSError as err:
            raise PrintError(_("无法保存到“{file}”。请确认文件没有被其他程序打开，并且有写入权限。")
                             .format(file=path.name), details=repr(err)) from None
        self.note.setText(_("已保存：{path}").format(path=path))
        self.saved.emit(str(path))
        return path

    def _default_name(self) -> str:
        suffix = {"objection_slip": _("异议登记表"), "board_sheet": ""}.get(self.kind_key(), "")
        return _safe_name(self.title + (f"-{suffix}" if suffix else "")) + ".pdf"

    def _on_save_clicked(self) -> None:
        start = Path.home() / self._default_name()
        name, _selected = QFileDialog.getSaveFileName(self, _("另存为 PDF"), str(start), _("PDF 文件 (*.pdf)"))
        if not name:
            return
        if not name.lower().endswith(".pdf"):
            name += ".pdf"
        try:
            self.save_pdf(Path(name))
        except AppError as err:
            show_error(self, err)

    def print_document(self) -> QPrintDialog | None:
        """Open the print dialog; printing starts when the clerk confirms it."""
        if self.pdf is None:
            return None
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        prepare_printer(printer, self.pdf, self.title)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle(_("打印"))
        dialog.setMinMax(1, self.document.pageCount())
        dialog.accepted.connect(lambda: self.print_to(printer))
        self._printer = printer
        QDialog.open(dialog)  # QPrintDialog.open() wants a receiver; the plain window-modal open
        return dialog

    def print_to(self, printer: QPrinter) -> BackgroundOp | None:
        """Print the previewed pages on ``printer`` in the background (progress and cancel)."""
        if self.pdf is None:
            return None
        data = self.pdf
        self._printer = printer  # kept alive until the job is done
        self.print_button.setEnabled(False)

        def done(pages: int) -> None:
            self.print_button.setEnabled(True)
            self.note.setText(_("已送往打印机：{n} 页。").format(n=pages))
            self.printed.emit(pages)

        def failed(exc: BaseException) -> None:
            self.print_button.setEnabled(True)
            show_error(self, exc)

        self.op = (BackgroundOp(self, lambda progress, cancel: print_pdf(data, printer, progress, cancel))
                   .on_success(done).on_failure(failed).with_progress(_("正在打印……")).run())
        return self.op


# ---------------------------------------------------------------------------- batch print
class BatchPrintDialog(QDialog):
    """按村批量打印: one program's notices, one PDF per village, or every notice being posted now,
    into a folder. Emits ``finished_batch(paths)`` when done."""

    finished_batch = Signal(list)

    def __init__(self, env: UiEnv, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.env = env
        self.op: BackgroundOp | None = None
        self.written: list[Path] = []
        self.setWindowTitle(_("按村批量打印"))
        self.by_program = QRadioButton(_("某个项目各村的公示（每个村一个 PDF 文件，附打印清单）"))
        self.published = QRadioButton(_("正在公示的全部公示（每份一个 PDF 文件）"))
        group = QButtonGroup(self)
        group.addButton(self.by_program)
        group.addButton(self.published)
        self.program = QComboBox()
        service = PrintService(env.ctx)
        for p in ReferenceService(env.ctx).programs():
            count = len(service.batch_notices(p.id))
            self.program.addItem(_("{program}（{n} 个村）").format(program=p.name, n=count), p.id)
            if not count:
                self.program.model().item(self.program.count() - 1).setEnabled(False)
        first = next((i for i in range(self.program.count())
                      if self.program.model().item(i).isEnabled()), 0)
        self.program.setCurrentIndex(first)
        self.folder = QLineEdit(str(Path.home() / _("公示打印")))
        browse = QPushButton(_("选择…"))
        browse.clicked.connect(self._on_browse_clicked)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        note = QLabel(_("只打印已审批和公示中的公示；已审批但尚未发布的带“草稿”水印，仅供核对。"
                        "生成的 PDF 可以直接送打印机，也可以拷到村里打印。"))
        note.setWordWrap(True)
        note.setStyleSheet(NOTE_STYLE)
        program_form = QFormLayout()
        program_form.setContentsMargins(24, 0, 0, 0)
        program_form.addRow(_("项目："), self.program)
        form = QFormLayout()
        form.addRow(_("保存到文件夹："), folder_row)
        self.files = QListWidget()
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.start = QPushButton(_("开始生成"))
        self.start.setDefault(True)
        self.open_folder = QPushButton(_("打开文件夹"))
        self.open_folder.setEnabled(False)
        buttons = QDialogButtonBox()
        buttons.addButton(self.start, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.open_folder, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setText(_("关闭"))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.by_program)
        layout.addLayout(program_form)
        layout.addWidget(self.published)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(QLabel(_("生成的文件：")))
        layout.addWidget(self.files, 1)
        layout.addWidget(self.result)
        layout.addWidget(buttons)
        self.by_program.toggled.connect(lambda on: self.program.setEnabled(on))
        self.by_program.setChecked(True)
        self.start.clicked.connect(self.run)
        self.open_folder.clicked.connect(self._on_open_folder_clicked)
        self.resize(720, 520)

    def _on_browse_clicked(self) -> None:
        name = QFileDialog.getExistingDirectory(self, _("选择保存文件夹"), self.folder.text())
        if name:
            self.folder.setText(name)

    def _on_open_folder_clicked(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder.text()))

    def run(self) -> BackgroundOp | None:
        """Print into the chosen folder in the background, with progress and cancel."""
        folder = Path(self.folder.text().strip())
        if not self.folder.text().strip():
            show_error(self, PrintError(_("请选择保存打印文件的文件夹。")))
            return None
        ctx = self.env.ctx
        program_id = self.program.currentData() if self.by_program.isChecked() else None

        def work(progress, cancel) -> list[Path]:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise PrintError(_("无法创建文件夹“{folder}”。请换一个文件夹。").format(folder=folder),
                                 details=repr(err)) from None
            service = PrintService(ctx)
            if program_id is not None:
                return service.print_program_by_village(program_id, folder, progress, cancel)
            return service.print_published(folder, progress, cancel)

        self.start.setEnabled(False)
        self.files.clear()
        self.result.setText(_("正在生成……"))
        self.op = (BackgroundOp(self, work).on_success(self._on_done).on_failure(self._on_failed)
                   .with_progress(_("正在批量生成打印文件……")).run())
        return self.op

    def _on_done(self, paths: list[Path]) -> None:
        self.start.setEnabled(True)
        self.written = list(paths)
        folder = Path(self.folder.text().strip())
        extras = [name for name in (INDEX_PDF, INDEX_TXT) if (folder / name).exists()]
        for name in [*extras, *(p.name for p in paths)]:
            self.files.addItem(name)
        self.open_folder.setEnabled(True)
        if paths:
            self.result.setText(_("已生成 {n} 个 PDF 文件，保存在：{folder}").format(n=len(paths), folder=folder))
        else:
            self.result.setText(_("没有需要打印的公示。"))
        self.finished_batch.emit(self.written)

    def _on_failed(self, exc: BaseException) -> None:
        self.start.setEnabled(True)
        self.open_folder.setEnabled(True)
        self.result.setText(str(exc) if isinstance(exc, Cancelled) else _("批量打印没有完成。"))
        show_error(self, exc)

    def reject(self) -> None:
        if self.op is not None and not self.start.isEnabled():
            self.op.cancel_event.set()  # stops after the file being written
            return
        super().reject()
