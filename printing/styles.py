"""Every size, colour and distance used on printed pages, in one place (points unless named)."""

from __future__ import annotations

from dataclasses import dataclass

MM = 72 / 25.4

#: (width, height) in portrait orientation
PAPERS: dict[str, tuple[float, float]] = {"A4": (595.2756, 841.8898), "A3": (841.8898, 1190.5512)}


@dataclass(frozen=True)
class Style:
    # type sizes: 二号-ish title, 四号 body, 五号 table, 小五 footer
    title: float = 20.0
    doc_number: float = 12.0
    body: float = 13.0
    body_leading: float = 21.0
    table: float = 10.5
    table_leading: float = 13.5
    small: float = 8.5
    tiny: float = 7.0
    watermark: float = 150.0
    # page
    margin_x: float = 15 * MM
    margin_top: float = 13 * MM
    margin_bottom: float = 9 * MM
    # verification QR code in the footer band of every page
    qr_size: float = 24 * MM
    qr_caption: float = 9.0
    footer_gap: float = 3 * MM
    # table cells
    cell_pad_x: float = 3.5
    cell_pad_y: float = 2.8
    grid_width: float = 0.5
    frame_width: float = 0.9
    # colours (grey levels; 0 black, 1 white)
    ink: float = 0.0
    muted: float = 0.35
    header_fill: float = 0.88
    subtotal_fill: float = 0.95
    total_fill: float = 0.9
    watermark_grey: float = 0.86
    seal_grey: float = 0.6
    # a text column wider than this (in em) at its longest wraps instead of widening the table
    wrap_at_em: float = 8.0
    wrap_max_em: float = 16.0
    header_max_em: float = 6.0
    remark_min_em: float = 5.0
    # official seal (公章) area: 42 mm is the diameter of a government seal; the issuer's name
    # and the date sit inside its dashed outline with this much clear space, or outside it
    seal_diameter: float = 42 * MM
    seal_clearance: float = 2 * MM
    # the sign-off table is never wider than the text of an A4 portrait page
    sign_off_max_width: float = 180 * MM


STYLE = Style()
