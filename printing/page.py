"""Page furniture drawn on every page: footer with page numbers, the verification QR code and its
caption (or a sentence saying there is none), the privacy footnote, a running header on
continuation pages, and the draft watermark."""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from printing.fonts import Measure
from printing.layout import PageSpec
from printing.qr import define_qr_form
from printing.styles import STYLE, Style
from printing.text import fit, wrap

RUNNING_HEADER = 18.0  # room taken by the running header on continuation pages
QR_FORM = "GongkaiVerifyQR"
#: the box where the QR code would be, for a notice the county does not have yet
UNPUBLISHED_BOX = ("尚未发布", "不印", "二维码")


@dataclass(frozen=True)
class Furniture:
    measure: Measure
    spec: PageSpec
    running_title: str = ""
    #: what the QR code opens; None prints a sentence that there is no code instead
    qr_url: str | None = None
    qr_caption: str = ""  # default 扫码核验
    with_qr: bool = True
    no_qr_text: str = "县级核验网址尚未设置，本页未印核验二维码。"
    #: the three short lines in the dashed box where the QR code would be
    no_qr_box: tuple[str, ...] = ("未设置", "核验网址", "无二维码")
    #: small lines above the page number, top first (privacy footnote, identity …)
    notes: tuple[str, ...] = ()
    url_line: bool = True
    watermark: str | None = None
    banner: str = ""
    style: Style = STYLE

    # ------------------------------------------------------------------ geometry
    @property
    def top_first(self) -> float:
        return self.spec.size[1] - self.style.margin_top

    @property
    def top_next(self) -> float:
        return self.top_first - (RUNNING_HEADER if self.running_title else 0)

    @property
    def qr_bottom(self) -> float:
        return self.style.margin_bottom + self.style.qr_caption + 4

    @property
    def bottom(self) -> float:
        """Lowest y that content may reach."""
        st = self.style
        band = self.qr_bottom + st.qr_size if self.with_qr else st.margin_bottom + 14 + 11 * len(self._note_lines())
        return band + st.footer_gap

    # ------------------------------------------------------------------ drawing
    def setup(self, c: Canvas) -> None:
        """Once per document: the QR code becomes one form drawn on every page."""
        if self.with_qr and self.qr_url:
            define_qr_form(c, QR_FORM, self.qr_url, self.style.qr_size)

    def under(self, c: Canvas, number: int, total: int) -> None:
        if not self.watermark:
            return
        w, h = self.spec.size
        size = min(w, h) * 0.3
        c.saveState()
        c.setFillGray(self.style.watermark_grey)
        c.translate(w / 2, h / 2)
        c.rotate(35)
        self.measure.draw(c, 0, -size * 0.35, self.watermark, size, "center")
        c.restoreState()

    def _note_lines(self) -> list[tuple[str, float]]:
        st, m = self.style, self.measure
        width = self._note_width()
        lines: list[tuple[str, float]] = []
        for note in self.notes:
            lines.extend((line, st.small) for line in wrap(note, m, st.small, width))
        if self.with_qr and self.qr_url and self.url_line:
            lines.append((fit("核验网址：" + self.qr_url, m, st.tiny, width), st.tiny))
        elif self.with_qr and not self.qr_url:
            lines.append((self.no_qr_text, st.small))
        return lines

    def _note_width(self) -> float:
        w = self.spec.size[0] - 2 * self.style.margin_x
        return w - (self.style.qr_size + 12 if self.with_qr else 0)

    def over(self, c: Canvas, number: int, total: int) -> None:
        st, m = self.style, self.measure
        w, h = self.spec.size
        x0, x1 = st.margin_x, w - st.margin_x
        yb = st.margin_bottom
        c.saveState()
        c.setFillGray(st.ink)
        m.draw(c, w / 2, yb + 2, f"第 {number} 页 共 {total} 页", 10, "center")
        y = yb + 16
        for line, size in reversed(self._note_lines()):
            c.setFillGray(st.muted if size < st.small else st.ink)
            m.draw(c, x0, y, line, size)
            y += size + 3
        if self.with_qr:
            q = st.qr_size
            qx, qy = x1 - q, self.qr_bottom
            c.setFillGray(st.ink)
            if self.qr_url:
                c.saveState()
                c.translate(qx, qy)
                c.doForm(QR_FORM)
                c.restoreState()
                m.draw(c, qx + q / 2, yb + 2, self.qr_caption or "扫码核验", st.qr_caption, "center")
            else:
                c.setStrokeGray(st.muted)
                c.setDash(2, 2)
                c.setLineWidth(0.6)
                c.rect(qx, qy, q, q, stroke=1, fill=0)
                c.setDash()
                c.setFillGray(st.muted)
                for i, text in enumerate(self.no_qr_box):
                    m.draw(c, qx + q / 2, qy + q * 0.66 - i * (st.small + 3), text, st.small, "center")
        if self.banner:
            c.setFillGray(st.muted)
            m.draw(c, w / 2, h - st.margin_top + 12, self.banner, st.small, "center")
        if number > 1 and self.running_title:
            c.setFillGray(st.muted)
            top = self.top_first
            m.draw(c, x0, top - st.small, fit(self.running_title + "（续）", m, st.small, x1 - x0), st.small)
            c.setStrokeGray(st.muted)
            c.setLineWidth(0.4)
            c.line(x0, top - st.small - 5, x1, top - st.small - 5)
        c.restoreState()
