"""Page flow: blocks placed top to bottom, tables split by rows with their header repeated, then
every page drawn with its furniture (footer, page numbers, QR, watermark) once the page count is
known. Output is deterministic (reportlab invariant mode: fixed dates and document id)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas

from app.i18n import _
from printing.errors import PrintError
from printing.fonts import Measure
from printing.styles import PAPERS, STYLE, Style
from printing.table import TableLayout
from printing.text import wrap

# Binary (Flate-only) streams: ASCII85 on top of Flate only makes files larger and, in pure
# Python, slower to write. Every PDF reader accepts binary streams.
rl_config.useA85 = 0

Op = Callable[[Canvas], None]
#: draws page furniture: (canvas, page number from 1, page count)
Furniture = Callable[[Canvas, int, int], None]
#: a row split over pages leaves at least this many lines on each page where it can
MIN_PIECE_LINES = 2


@dataclass(frozen=True)
class PageSpec:
    paper: str  # A4 | A3
    landscape: bool

    @property
    def size(self) -> tuple[float, float]:
        w, h = PAPERS[self.paper]
        return (h, w) if self.landscape else (w, h)


class Flow:
    """Places content on pages between ``top`` and ``bottom`` (points from the page bottom)."""

    def __init__(self, spec: PageSpec, measure: Measure, *, top_first: float, top_next: float,
                 bottom: float, style: Style = STYLE) -> None:
        self.spec = spec
        self.measure = measure
        self.style = style
        self.page_width, self.page_height = spec.size
        self.x0 = style.margin_x
        self.width = self.page_width - 2 * style.margin_x
        self.top_next = top_next
        self.bottom = bottom
        self.pages: list[list[Op]] = [[]]
        self.y = top_first

    def new_page(self) -> None:
        self.pages.append([])
        self.y = self.top_next

    def _fresh(self) -> bool:
        return not self.pages[-1] or self.y == self.top_next

    def ensure(self, height: float) -> None:
        """Start a new page unless ``height`` fits below the current position."""
        if self.y - height < self.bottom and not self._fresh():
            self.new_page()

    def space(self, height: float) -> None:
        if self.y - height < self.bottom:
            self.new_page()
        elif not self._fresh():
            self.y -= height

    def lines(self, lines: list[str], size: float, leading: float, *, align: str = "left",
              grey: float = 0.0, bold: bool = False, keep: bool = False) -> None:
        """Place lines of text; they may break across pages unless ``keep``."""
        if keep:
            self.ensure(leading * len(lines))
        width_of, runs_of, x0, width = self.measure.width, self.measure.runs, self.x0, self.width
        for line in lines:
            self.ensure(leading)
            baseline = self.y - leading + (leading - size) / 2 + 0.14 * size
            if align == "center":
                x = x0 + (width - width_of(line, size)) / 2
            elif align == "right":
                x = x0 + width - width_of(line, size)
            else:
                x = x0

            runs = runs_of(line)  # a character no font has stops here, before the file is made

            def draw(c: Canvas, runs=runs, x=x, baseline=baseline) -> None:
                c.saveState()  # text render mode, colours and font are graphics state: keep them local
                t = c.beginText(x, baseline)
                t.setFillGray(grey)
                if bold:
                    c.setLineWidth(size * 0.035)
                    c.setStrokeGray(grey)
                    t.setTextRenderMode(2)
                for font, run in runs:  # each run in the font that has its characters
                    t.setFont(font.fontName, size)
                    t.textOut(run)
                c.drawText(t)
                c.restoreState()

            self.pages[-1].append(draw)
            self.y -= leading

    def wrap_paragraph(self, text: str, size: float, *, indent: bool = True) -> list[str]:
        """Lines of a paragraph with a two-character first-line indent (newlines start new ones)."""
        lines: list[str] = []
        for para in text.split("\n"):
            if para.strip():
                para = ("\u3000\u3000" + para.strip()) if indent else para.strip()
                lines.extend(wrap(para, self.measure, size, self.width, hang=True))
        return lines

    def paragraph(self, text: str, size: float, leading: float, *, indent: bool = True,
                  grey: float = 0.0, keep: bool = False) -> None:
        self.lines(self.wrap_paragraph(text, size, indent=indent), size, leading, grey=grey, keep=keep)

    @property
    def page_room(self) -> float:
        """Height available on a continuation page."""
        return self.top_next - self.bottom

    def block(self, height: float, draw: Callable[[Canvas, float, float, float], None]) -> None:
        """An unbreakable block; ``draw(canvas, left, top, width)``."""
        self.ensure(height)
        top, x0, width = self.y, self.x0, self.width
        self.pages[-1].append(lambda c: draw(c, x0, top, width))
        self.y -= height

    def table(self, layout: TableLayout, x0: float | None = None) -> None:
        """Place all rows, starting new pages as needed, each page beginning with the header.

        A row that does not fit in the room left goes whole to the next page; only a row taller
        than a whole page is split, by lines, over as many pages as it takes (every line of
        every cell is printed), starting where it is when a few of its lines fit there.
        """
        x0 = self.x0 if x0 is None else x0
        heights, header, n = layout.heights, layout.header_height, len(layout.rows)
        if n == 0:
            self.ensure(header)
            top = self.y
            self.pages[-1].append(lambda c: layout.draw(c, x0, top, 0, 0))
            self.y -= header
            return
        bottom = self.bottom
        tall = self.page_room - header  # a row taller than this is split over pages
        i, start = 0, 0  # the next row to place, and its first line not placed yet
        while True:
            rest = layout.piece_height(layout.lines(i) - start) if start else heights[i]
            if self.y - header - rest < bottom and not self._fresh() and (
                    rest <= tall or layout.lines_within(self.y - header - bottom) < MIN_PIECE_LINES):
                self.new_page()
            top = self.y
            y = top - header
            first_line, last_line = start, None
            if y - rest >= bottom:
                y -= rest
                j = i + 1
                while j < n and y - heights[j] >= bottom:
                    y -= heights[j]
                    j += 1
                if j < n and heights[j] > tall:  # too tall for any page: begin it here if it can
                    k = self._split(layout, j, 0, y - bottom)
                    if k >= MIN_PIECE_LINES:
                        y -= layout.piece_height(k)
                        last_line = k
                        j += 1
            else:  # the row is taller than the room (a fresh page's, or enough for a piece of it)
                last_line = start + max(self._split(layout, i, start, y - bottom), 1)
                y -= layout.piece_height(last_line - start)
                j = i + 1
            if last_line is not None and last_line >= layout.lines(j - 1):
                last_line = None  # rounding: the whole rest fitted after all
            self.pages[-1].append(lambda c, i=i, j=j, top=top, a=first_line, b=last_line:
                                  layout.draw(c, x0, top, i, j, a, b))
            self.y = y
            if last_line is not None:
                i, start = j - 1, last_line
            else:
                i, start = j, 0
            if i >= n:
                break
            self.new_page()

    @staticmethod
    def _split(layout: TableLayout, k: int, start: int, room: float) -> int:
        """How many lines of row ``k`` from line ``start`` to put in ``room``, leaving at least
        ``MIN_PIECE_LINES`` for the next page when the row is long enough."""
        left = layout.lines(k) - start
        take = min(layout.lines_within(room), left)
        if 0 < left - take < MIN_PIECE_LINES and take > MIN_PIECE_LINES:
            take = max(left - MIN_PIECE_LINES, MIN_PIECE_LINES)
        return take


def _file_mode() -> int:
    """The permissions a new file gets here (what the umask leaves of rw-rw-rw-): a notice is a
    public document, for a print server or a shared folder to read."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


@contextlib.contextmanager
def _target(out: Path | BinaryIO) -> Iterator[BinaryIO | str]:
    """A file to write to: a file object as given, or a temporary file renamed into place. The
    folder must exist: a mistyped one is reported, not made."""
    if not isinstance(out, str | os.PathLike):
        yield out
        return
    path = Path(out)
    if path.is_dir():
        raise PrintError(_("“{name}”是一个文件夹，请给出 PDF 文件名。").format(name=path.name), details=str(path))
    if not path.parent.is_dir():
        raise PrintError(_("找不到文件夹“{folder}”，请先建好文件夹或另选保存位置。").format(folder=path.parent),
                         details=str(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".print-", suffix=".part", dir=path.parent)
    except OSError as err:
        raise PrintError(_("无法写入文件“{name}”，请检查文件夹是否可写。").format(name=path.name),
                         details=str(err)) from err
    os.close(fd)
    try:
        os.chmod(tmp, _FILE_MODE)
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        raise PrintError(_("无法写入文件“{name}”：文件可能正被其他程序打开，请关闭后重试。").format(name=path.name),
                         details=str(err)) from err
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def render(flow: Flow, out: Path | BinaryIO, *, furniture: Furniture, under: Furniture | None = None,
           setup: Op | None = None, title: str = "", author: str = "", subject: str = "") -> int:
    """Draw every page of ``flow`` to ``out``; returns the page count."""
    total = len(flow.pages)
    with _target(out) as target:
        # the initial font is the CJK face, so no non-embedded standard font enters the file
        c = Canvas(target, pagesize=flow.spec.size, invariant=1, pageCompression=1,
                   initialFontName=flow.measure.name, initialFontSize=10, initialLeading=12)
        c.setTitle(title)
        c.setAuthor(author)
        c.setSubject(subject)
        c.setCreator("Gongkai")
        if setup is not None:
            setup(c)
        for number, ops in enumerate(flow.pages, start=1):
            if under is not None:
                under(c, number, total)
            for op in ops:
                op(c)
            furniture(c, number, total)
            c.showPage()
        c.save()
    return total
