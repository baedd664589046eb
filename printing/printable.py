"""Before anything is laid out: every character to be printed must have a font.

A character no installed font has would print as a blank (王𠮷 as 王, several households as the
same 王); instead printing stops with a message naming where it is — the roster row and column,
or the field — and the character with its code point. The whole roster is checked in one pass
over its distinct characters; rows are only searched when one is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.i18n import N_, _
from printing.errors import unprintable
from printing.fonts import Measure
from printing.table import Column, Row, SpanRow

HEADER = N_("表头")
TOTALS = N_("合计行")


def check_fields(measure: Measure, fields: Iterable[tuple[str, str]]) -> None:
    """``fields`` are (where, text), ``where`` translated; raises UnprintableCharacter for the
    first character no font has."""
    for where, text in fields:
        missing = measure.missing(text)
        if missing:
            raise unprintable(where, text, missing[0])


def check_table(measure: Measure, columns: Sequence[Column], rows: Sequence[Row], *,
                seq_column: int | None = None, name_column: int | None = None) -> None:
    """The header and every cell of ``rows``; a cell is named by its row (the 序号 in
    ``seq_column`` when there is one, else its place among the rows, from 1), the person of the
    row (``name_column``) when the cell is another one, and its column's label."""
    check_fields(measure, ((_(HEADER), c.label) for c in columns))
    plain = [r for r in rows if not isinstance(r, SpanRow)]
    if measure.missing("".join(["".join(r) for r in plain])):
        for k, row in enumerate(plain, start=1):
            for i, cell in enumerate(row):
                missing = measure.missing(cell)
                if not missing:
                    continue
                number = row[seq_column] if seq_column is not None and row[seq_column] else str(k)
                name = row[name_column] if name_column is not None and i != name_column else ""
                if name and not measure.missing(name):
                    where = _("第 {row} 行（{name}）{column}").format(row=number, name=name, column=columns[i].label)
                else:
                    where = _("第 {row} 行 {column}").format(row=number, column=columns[i].label)
                raise unprintable(where, cell, missing[0])
    check_fields(measure, ((_(TOTALS), cell.text) for r in rows if isinstance(r, SpanRow) for cell in r.cells))
