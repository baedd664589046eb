"""A direct canvas table renderer for long rosters.

Column widths are computed once from the header and a sample of the content; only cells that do
not fit are wrapped; rows are drawn into one text object per page and the grid is one path per
page. Much faster than a platypus Table, which measures and splits the whole table per page.
No cell is ever shortened: a row taller than a page is drawn in pieces of whole lines, one per
page (see ``TableLayout.draw``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from printing.fonts import Measure
from printing.styles import STYLE, Style
from printing.text import EPSILON, wrap

SAMPLE_ROWS = 4000


@dataclass(frozen=True)
class Column:
    label: str
    align: str = "left"  # left | center | right | decimal (right, decimal points lined up)
    wrap: bool = True  # text may break over lines; numbers may not
    min_em: float = 0.0  # natural width at least this many em (a remark column wants room)


@dataclass(frozen=True)
class SpanCell:
    start: int  # first column
    end: int  # one past the last column
    text: str
    align: str = "left"


@dataclass(frozen=True)
class SpanRow:
    """A row whose cells span columns: subtotals, totals, the amount in words."""

    cells: tuple[SpanCell, ...]
    fill: float | None = None
    bold: bool = False


Row = tuple[str, ...] | SpanRow


def _sample(rows: Sequence[Row], limit: int = SAMPLE_ROWS) -> list[Row]:
    n = len(rows)
    if n <= limit:
        return list(rows)
    step = n / limit
    return [rows[int(i * step)] for i in range(limit)] + [rows[-1]]


def _split_decimal(text: str) -> tuple[str, str]:
    point = text.find(".")
    return (text, "") if point < 0 else (text[:point], text[point:])


def _header_em(label: str, measure: Measure, style: Style) -> tuple[float, float]:
    """(natural, minimum) width of a header label in em; labels break before their '（unit）'."""
    full = measure.em(label)
    pieces = [p for p in label.replace("（", "\n（").split("\n") if p]
    piece = max(measure.em(p) for p in pieces) if pieces else 0.0
    natural = full if full <= style.header_max_em else min(max(piece, style.header_max_em * 0.6), style.header_max_em)
    return natural, min(piece, 4.0)


@dataclass(frozen=True)
class Widths:
    """Column widths in points, padding included: ``natural`` (what the paper choice uses),
    ``minimum`` (narrowest acceptable) and ``full`` (wide enough that nothing wraps)."""

    natural: list[float]
    minimum: list[float]
    full: list[float]

    def fit(self, columns: Sequence[Column], width: float) -> list[float]:
        """Stretch or shrink to exactly ``width``.

        Extra room first goes to wrapping columns whose text would otherwise wrap, then to every
        column in proportion to its natural width. When there is too little, wrapping columns
        give up room first, down to their minimum, then all columns shrink alike.
        """
        natural = list(self.natural)
        total = sum(natural)
        if total <= width:
            extra = width - total
            wants = [max(f - n, 0.0) if c.wrap else 0.0
                     for n, f, c in zip(natural, self.full, columns, strict=True)]
            if sum(wants) > 0:
                share = min(1.0, extra / sum(wants))
                natural = [n + w * share for n, w in zip(natural, wants, strict=True)]
            total = sum(natural)
            return [w * width / total for w in natural]
        flex = [n - m if c.wrap else 0.0 for n, m, c in zip(natural, self.minimum, columns, strict=True)]
        excess = total - width
        if sum(flex) >= excess:
            share = excess / sum(flex)
            return [n - f * share for n, f in zip(natural, flex, strict=True)]
        squeezed = [n - f for n, f in zip(natural, flex, strict=True)]
        scale = width / sum(squeezed)
        return [w * scale for w in squeezed]


def natural_widths(columns: Sequence[Column], rows: Sequence[Row], measure: Measure,
                   style: Style = STYLE) -> Widths:
    """Column widths from the header and a sample of the rows.

    A text column is as wide as its longest sampled cell up to ``wrap_at_em``; a column with
    longer text gets a width at which most cells take three lines (within ``wrap_max_em``).
    Number columns never wrap, so their minimum is their natural width.
    """
    size = style.table
    pad = 2 * style.cell_pad_x
    sample = [r for r in _sample(rows) if not isinstance(r, SpanRow)]
    natural, minimum, full = [], [], []
    for i, col in enumerate(columns):
        head_nat, head_min = _header_em(col.label, measure, style)
        if col.align == "decimal":
            parts = [_split_decimal(r[i]) for r in sample]
            widths = [max((measure.em(a) for a, _ in parts), default=0.0)
                      + max((measure.em(b) for _, b in parts), default=0.0)]
        else:
            widths = sorted(measure.em(r[i]) for r in sample) or [0.0]
        longest = widths[-1]
        if col.wrap and longest > style.wrap_at_em:
            p90 = widths[int(0.9 * (len(widths) - 1))]
            content = min(max(style.wrap_at_em, p90 / 3), style.wrap_max_em)
            low = max(head_min, 3.0)
        else:
            content = longest
            low = max(content, head_min) if not col.wrap else max(head_min, min(content, 3.0))
        nat = max(head_nat, content, col.min_em)
        natural.append(nat * size + pad)
        minimum.append(min(low, nat) * size + pad)
        # room that stops most cells wrapping; one outlier must not take all the spare width
        full.append(max(nat, widths[int(0.9 * (len(widths) - 1))]) * size + pad)
    # single-column cells of span rows (subtotals, totals) must fit in their number columns
    for r in [r for r in rows if isinstance(r, SpanRow)][:64]:
        for cell in r.cells:
            if cell.end - cell.start == 1 and cell.end <= len(columns) and not columns[cell.start].wrap:
                need = measure.width(cell.text, size) + pad
                for widths_ in (natural, minimum, full):
                    widths_[cell.start] = max(widths_[cell.start], need)
    return Widths(natural, minimum, full)


class TableLayout:
    """Rows of one table laid out for given column widths: heights and wrapped cells."""

    def __init__(self, columns: Sequence[Column], rows: Sequence[Row], widths: Sequence[float],
                 measure: Measure, style: Style = STYLE) -> None:
        self.columns = tuple(columns)
        self.rows = rows
        self.widths = list(widths)
        self.measure = measure
        self.style = style
        self.size = style.table
        self.leading = style.table_leading
        pad_y = style.cell_pad_y
        inner = [w - 2 * style.cell_pad_x for w in widths]
        self.inner = inner
        self.header_lines = [wrap(c.label.replace("（", "\n（") if measure.width(c.label, self.size) > w + EPSILON else c.label,
                                  measure, self.size, w) for c, w in zip(columns, inner, strict=True)]
        self.header_height = max(len(x) for x in self.header_lines) * self.leading + 2 * pad_y + 2
        base = self.leading + 2 * pad_y
        self.base_height = base
        # quick fit test: a cell of n characters fits when n × the widest advance fits
        size = self.size
        fits_chars = [int(w / (measure.max_em * size)) for w in inner]
        width_of = measure.width
        heights: list[float] = [base] * len(rows)
        wrapped: dict[int, list[list[str]]] = {}
        for k, row in enumerate(rows):
            if isinstance(row, SpanRow):
                lines = 1
                cells = []
                for cell in row.cells:
                    span = sum(self.widths[cell.start:cell.end]) - 2 * style.cell_pad_x
                    cl = wrap(cell.text, measure, size, span)
                    cells.append(cl)
                    lines = max(lines, len(cl))
                if lines > 1:
                    wrapped[k] = cells
                    heights[k] = lines * self.leading + 2 * pad_y
                continue
            split = None
            for i, text in enumerate(row):
                if len(text) > fits_chars[i] and width_of(text, size) > inner[i]:
                    if split is None:
                        split = [[t] for t in row]
                    split[i] = wrap(text, measure, size, inner[i])
            if split is not None:
                wrapped[k] = split
                heights[k] = max(len(c) for c in split) * self.leading + 2 * pad_y
        self.heights = heights
        self.wrapped = wrapped
        # decimal columns: the widest fractional part ('.5', '.0001'), in em, from a sample
        sample = [r for r in _sample(rows) if not isinstance(r, SpanRow)]
        self.fraction = [
            max((measure.em(_split_decimal(r[i])[1]) for r in sample), default=0.0)
            if c.align == "decimal" else 0.0
            for i, c in enumerate(columns)
        ]
        xs = [0.0]
        for w in widths:
            xs.append(xs[-1] + w)
        self.xs = xs
        # vertical position of a baseline inside a line box
        face = measure.font.face
        ascent, descent = face.ascent / 1000, -abs(face.descent) / 1000
        self.baseline = (self.leading - (ascent - descent) * size) / 2 + ascent * size

    # ------------------------------------------------------------------ splitting rows
    def lines(self, k: int) -> int:
        """The number of text lines of row ``k`` (its tallest cell)."""
        cells = self.wrapped.get(k)
        return max(len(c) for c in cells) if cells else 1

    def piece_height(self, lines: int) -> float:
        """Height of a row, or of a piece of a split row, holding ``lines`` lines."""
        return lines * self.leading + 2 * self.style.cell_pad_y

    def lines_within(self, height: float) -> int:
        """How many lines of a row fit in ``height``."""
        return max(int((height - 2 * self.style.cell_pad_y) / self.leading + EPSILON), 0)

    # ------------------------------------------------------------------ drawing
    def _x(self, i: int, j: int, text: str, align: str) -> float:
        """Left x (relative to the table) of ``text`` in columns i..j-1 aligned as given."""
        pad, size = self.style.cell_pad_x, self.size
        left, right = self.xs[i], self.xs[j]
        if align == "left":
            return left + pad
        w = self.measure.width(text, size)
        if align == "center":
            return (left + right - w) / 2
        if align == "decimal" and j == i + 1:
            point = text.find(".")
            short = self.fraction[i] - (self.measure.em(text[point:]) if point >= 0 else 0.0)
            return right - pad - max(short, 0.0) * size - w
        return right - pad - w

    def draw(self, c: Canvas, x0: float, top: float, first: int, last: int, first_line: int = 0,
             last_line: int | None = None) -> float:
        """Draw the header and rows ``first``..``last - 1`` with the top-left corner at (x0, top).

        A row split over pages is drawn in pieces: row ``first`` from its line ``first_line``
        on, row ``last - 1`` up to (not including) its line ``last_line``. The cells of such a
        row are set from the top, so that line n of every cell stays on the same level.
        Text goes out as one literal text object (one Tm per cell, hex strings), fills and grid
        as single paths: reportlab's per-call number formatting would dominate otherwise.
        Returns the y of the bottom edge.
        """
        st = self.style
        size, leading, pad_y = self.size, self.leading, st.cell_pad_y
        xs = self.xs
        right = xs[-1]
        text = _Text(c, self.measure, size)
        fills: list[tuple[float, float, float]] = []  # (grey, y_bottom, height)
        hh = self.header_height
        fills.append((st.header_fill, top - hh, hh))
        text.mode(2)  # header and totals bold: fill and stroke the glyphs
        for i, lines in enumerate(self.header_lines):
            y = top - (hh - len(lines) * leading) / 2 - self.baseline
            for line in lines:
                text.show(x0 + self._x(i, i + 1, line, "center"), y, line)
                y -= leading
        text.mode(0)
        rules = [top, top - hh]
        verticals: list[tuple[float, float, float]] = []  # (x, y_top, y_bottom)
        run_top = top
        y = top - hh
        rows, heights, wrapped = self.rows, self.heights, self.wrapped
        aligns = [col.align for col in self.columns]
        plain = [a == "left" for a in aligns]
        lefts = [x0 + x + st.cell_pad_x for x in xs]
        baseline = self.baseline
        show = text.show
        final = last - 1
        for k in range(first, last):
            row = rows[k]
            h = heights[k]
            if k == first and first_line or k == final and last_line is not None:
                a = first_line if k == first else 0
                b = last_line if k == final and last_line is not None else self.lines(k)
                y = self._piece(text, x0, y, k, a, b, fills, verticals, run_top)
                rules.append(y)
                if isinstance(row, SpanRow):
                    run_top = y
                continue
            if isinstance(row, SpanRow):
                if run_top != y:
                    verticals.extend((x, run_top, y) for x in xs[1:-1])
                cells = wrapped.get(k) or [[cell.text] for cell in row.cells]
                if row.fill is not None:
                    fills.append((row.fill, y - h, h))
                text.mode(2 if row.bold else 0)
                for cell, lines in zip(row.cells, cells, strict=True):
                    if cell.start > 0:
                        verticals.append((xs[cell.start], y, y - h))
                    align = "decimal" if aligns[cell.start] == "decimal" and cell.end == cell.start + 1 else cell.align
                    ly = y - pad_y - (h - 2 * pad_y - len(lines) * leading) / 2 - baseline
                    for line in lines:
                        show(x0 + self._x(cell.start, cell.end, line, align), ly, line)
                        ly -= leading
                text.mode(0)
                y -= h
                run_top = y
                rules.append(y)
                continue
            split = wrapped.get(k)
            if split is None:
                ly = y - pad_y - baseline
                for i, cell_text in enumerate(row):
                    if cell_text:
                        show(lefts[i] if plain[i] else x0 + self._x(i, i + 1, cell_text, aligns[i]), ly, cell_text)
            else:
                for i, lines in enumerate(split):
                    ly = y - pad_y - (h - 2 * pad_y - len(lines) * leading) / 2 - baseline
                    for line in lines:
                        if line:
                            align = "right" if aligns[i] == "decimal" else aligns[i]
                            show(x0 + self._x(i, i + 1, line, align), ly, line)
                        ly -= leading
            y -= h
            rules.append(y)
        if run_top != y:
            verticals.extend((x, run_top, y) for x in xs[1:-1])
        ops = ["q"]
        for grey, fy, fh in fills:
            ops.append(f"{grey:.3f} g {x0:.2f} {fy:.2f} {right:.2f} {fh:.2f} re f")
        ops.append(f"{st.ink:.3f} g {size * 0.03:.3f} w")
        ops.append(text.literal())
        # grid: inner rules thin, outer frame heavier
        ops.append(f"{st.ink:.3f} G {st.grid_width:.2f} w")
        x1 = x0 + right
        ops.extend(f"{x0:.2f} {ry:.2f} m {x1:.2f} {ry:.2f} l" for ry in rules[1:-1])
        ops.extend(f"{x0 + x:.2f} {a:.2f} m {x0 + x:.2f} {b:.2f} l" for x, a, b in verticals)
        ops.append("S")
        ops.append(f"{st.frame_width:.2f} w {x0:.2f} {y:.2f} {right:.2f} {top - y:.2f} re S Q")
        c.addLiteral("\n".join(ops))
        return y

    def _piece(self, text: _Text, x0: float, y: float, k: int, a: int, b: int,
               fills: list[tuple[float, float, float]], verticals: list[tuple[float, float, float]],
               run_top: float) -> float:
        """Lines ``a``..``b - 1`` of every cell of row ``k``, set from the top; returns the bottom y."""
        row, xs, leading = self.rows[k], self.xs, self.leading
        h = self.piece_height(b - a)
        top = y - self.style.cell_pad_y - self.baseline
        aligns = [col.align for col in self.columns]
        if isinstance(row, SpanRow):
            if run_top != y:
                verticals.extend((x, run_top, y) for x in xs[1:-1])
            if row.fill is not None:
                fills.append((row.fill, y - h, h))
            text.mode(2 if row.bold else 0)
            cells = self.wrapped.get(k) or [[cell.text] for cell in row.cells]
            for cell, lines in zip(row.cells, cells, strict=True):
                if cell.start > 0:
                    verticals.append((xs[cell.start], y, y - h))
                align = "decimal" if aligns[cell.start] == "decimal" and cell.end == cell.start + 1 else cell.align
                for n, line in enumerate(lines[a:b]):
                    text.show(x0 + self._x(cell.start, cell.end, line, align), top - n * leading, line)
            text.mode(0)
            return y - h
        for i, lines in enumerate(self.wrapped.get(k) or [[t] for t in row]):
            align = "right" if aligns[i] == "decimal" else aligns[i]
            for n, line in enumerate(lines[a:b]):
                if line:
                    text.show(x0 + self._x(i, i + 1, line, align), top - n * leading, line)
        return y - h


class _Text:
    """One PDF text object written directly: absolute positions, hex-encoded subset strings, each
    run of characters in the font of the measure's chain that has them."""

    def __init__(self, c: Canvas, measure: Measure, size: float) -> None:
        self._doc = c._doc
        self._font = measure.font
        self._plain = measure.plain
        self._runs = measure.runs
        self._names: dict[tuple[str, int], str] = {}
        self._size = f"{size:g}"
        self._current = measure.font  # the font and subset last set
        self._subset = -1
        self._out = ["BT"]

    def mode(self, render_mode: int) -> None:
        self._out.append(f"{render_mode} Tr")

    def show(self, x: float, y: float, text: str) -> None:
        out, doc = self._out, self._doc
        out.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm")
        for font, run in ((self._font, text),) if self._plain(text) else self._runs(text):
            for subset, data in font.splitString(run, doc):
                if subset != self._subset or font is not self._current:
                    key = (font.fontName, subset)
                    name = self._names.get(key)
                    if name is None:
                        name = self._names[key] = font.getSubsetInternalName(subset, doc)
                    out.append(f"{name} {self._size} Tf")
                    self._current, self._subset = font, subset
                out.append(f"<{data.hex()}> Tj")

    def literal(self) -> str:
        return "\n".join(self._out) + "\nET"
