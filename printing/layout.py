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
        font, width_of, x0, width = self.measure.name, self.measure.width, self.x0, self.width
        for line in lines:
            self.ensure(leading)
            baseline = self.y - leading + (leading - size) / 2 + 0.14 * size
            if align == "center":
                x = x0 + (width - width_of(line, size)) / 2
            elif align == "right":
                x = x0 + width - width_of(line, size)
            else:
                x = x0

            def draw(c: Canvas, line=line, x=x, baseline=baseline) -> None:
                c.saveState()  # text render mode and colours are graphics state: keep them local
                t = c.beginText(x, baseline)
                t.setFont(font, size)
                t.setFillGray(grey)
                if bold:
                    c.setLineWidth(size * 0.035)
                    c.setStrokeGray(grey)
                    t.setTextRenderMode(2)
                t.textOut(line)
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
                lines.extend(wrap(para, self.measure, size, self.width))
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
        """Place all rows, starting new pages as needed, each page beginning with the header."""
        x0 = self.x0 if x0 is None else x0
        heights, header, n = layout.heights, layout.header_height, len(layout.rows)
        i = 0
        if n == 0:
            self.ensure(header)
        while i < n or (n == 0 and i == 0):
            if n and self.y - header - heights[i] < self.bottom and not self._fresh():
                self.new_page()
            top = self.y
            y = top - header
            j = i
            bottom = self.bottom
            while j < n and y - heights[j] >= bottom:
                y -= heights[j]
                j += 1
            if j == i and n:  # a single row taller than a page is drawn as far as it goes
                y -= heights[j]
                j += 1
            self.pages[-1].append(lambda c, i=i, j=j, top=top: layout.draw(c, x0, top, i, j))
            self.y = y
            if j >= n:
                break
            self.new_page()
            i = j


@contextlib.contextmanager
def _target(out: Path | BinaryIO) -> Iterator[BinaryIO | str]:
    """A file to write to: a file object as given, or a temporary file renamed into place."""
    if not isinstance(out, str | os.PathLike):
        yield out
        return
    path = Path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".print-", suffix=".part", dir=path.parent)
    except OSError as err:
        raise PrintError(_("无法写入文件“{name}”，请检查文件夹是否存在且可写。").format(name=path.name),
                         details=str(err)) from err
    os.close(fd)
    try:
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
