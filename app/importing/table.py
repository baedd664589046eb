"""Converting the rows below a found header into parsed rows.

Works column by column rather than row by row: one pass sorts the rows into data rows and
skipped rows (blank, 小计/合计, notes, repeated headers, group headings), then each mapped column
is converted in a tight loop with a memo for repeating values. This keeps the Python work per
cell small enough to read 100,000-row rosters in about a second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

from app.importing import cells
from app.importing.headers import T2S, HeaderMatch
from app.importing.model import ParsedRow, ReportIssue
from app.importing.totals import Subtotal, check_subtotals, subtotal_word
from app.rows import RowInput

_NOTE_PREFIXES = ("注", "说明", "制表", "填表", "审核", "审批", "复核", "负责人", "经办人", "联系人",
                  "监督电话", "举报电话", "盖章", "村委会盖章")


def _is_note(value: object) -> bool:
    if value.__class__ is not str:
        return False
    compact = "".join(value.split()).translate(T2S)  # type: ignore[union-attr]
    return compact.startswith(_NOTE_PREFIXES)


class TableReader:
    """Converts the rows below one header of one schema; :meth:`read` runs once."""

    def __init__(self, columns: dict[str, dict], match: HeaderMatch) -> None:
        self.match = match
        self.table_warnings: list[ReportIssue] = []
        units = match.units
        quantity_unit = units.get("quantity") or columns.get("quantity", {}).get("unit") or "亩"
        factor = cells.rate_factor(units.get("rate"), quantity_unit)
        self.fixed_rate: Decimal | None = None
        if match.fixed_rate is not None:
            try:
                self.fixed_rate = cells.scale_rate(match.fixed_rate[0], factor)
            except cells.CellProblem as problem:
                self.table_warnings.append(ReportIssue(
                    match.last_row + 1, match.texts["rate"], "rate", problem.code, problem.message,
                    "warning"))
        person = columns.get("name", {}).get("kind") == "name"
        converters: dict[str, cells.Converter] = {
            "name": cells.name if person else cells.plain_text,
            "id_number": cells.id_number,
            "group": cells.group,
            "quantity": cells.quantity(quantity_unit),
            "rate": cells.rate(factor),
            "amount": cells.money(units.get("amount") or "元"),
            "bank_account": cells.bank_account,
            "phone": cells.phone,
            "remark": cells.plain_text,
        }
        norms = {c.index: c.norm for c in match.cells}
        self.plan: list[tuple[str, int, str, cells.Converter]] = []
        for key, col in match.columns.items():
            if key == "rate" and match.fixed_rate is not None:
                continue  # the header holds the rate; the cells, if anything, the amounts
            convert = converters.get(key) or cells.for_extra(norms.get(col, ""))
            self.plan.append((key, col, match.texts[key], convert))
        self.totals_converters = {"amount": converters["amount"], "quantity": converters["quantity"]}
        self.quantity_unit = quantity_unit
        self.group_col = match.columns.get("group", -1)
        self.name_col = match.columns.get("name", -1)
        self.header_names: frozenset = frozenset()  # the name header's raw cells, set by read()

    def _subtotal(self, raw: list, first: object) -> str | None:
        for col in (self.name_col, self.group_col):
            if col >= 0 and (word := subtotal_word(raw[col])):
                return word
        return subtotal_word(first)

    def _special(self, raw: list, filled: list) -> str | None:
        """Why a row with content is not a data row, or None for a data row."""
        first = next(v for v in raw if v != "" and v is not None)
        if self._subtotal(raw, first):
            return "subtotal"
        if self.name_col >= 0 and raw[self.name_col] in self.header_names:
            return "header"  # the header repeated on every printed page
        if first.__class__ is str and first[:1] in _NOTE_STARTS and _is_note(first) and not any(
                cells.has_value(raw[c]) for k, c, _t, _f in self.plan if k in ("amount", "quantity")):
            return "note"
        if self.group_col >= 0 and len(filled) == 1 and filled[0] is raw[self.group_col]:
            return "heading"  # a row that only names the group of the rows below
        return None

    def read(self, rows: list[list]) -> tuple[list[ParsedRow], list[tuple[int, str]], list[ReportIssue]]:
        cols = [col for _k, col, _t, _f in self.plan]
        data: list[int] = []  # indexes into rows
        skipped: list[tuple[int, str]] = []
        subtotals: list[Subtotal] = []
        headings: dict[int, str] = {}  # data position → group named by a heading row above it
        figures = {k: c for k, c in self.match.columns.items() if k in ("amount", "quantity")}
        name_col, group_col = self.name_col, self.group_col
        if name_col >= 0:
            self.header_names = frozenset(
                v for r in range(self.match.first_row, self.match.last_row + 1)
                if cells.has_value(v := rows[r][name_col]))
        header_names = self.header_names
        left = min((c.index for c in self.match.cells if c.text), default=0)  # the table's edge
        for index in range(self.match.last_row + 1, len(rows)):
            raw = rows[index]
            filled = [v for c in cols if (v := raw[c]) != "" and v is not None]
            # Fast path for the ordinary data row: no subtotal word, note or repeated header in
            # the cells that could hold one. Anything else takes the careful path below.
            first, lead = raw[left], filled[0] if filled else ""
            if (len(filled) > 1 and first != "" and first is not None
                    and (lead.__class__ is not str or not lead.isspace())
                    and (first.__class__ is not str or (
                        "计" not in first and "計" not in first and first[:1] not in _NOTE_STARTS))
                    and (name_col < 0 or (v := raw[name_col]).__class__ is not str or (
                        "计" not in v and "計" not in v and v not in header_names))
                    and (group_col < 0 or (v := raw[group_col]).__class__ is not str or (
                        "计" not in v and "計" not in v))):
                data.append(index)
                continue
            if not filled or all(v.__class__ is str and v.isspace() for v in filled):
                skipped.append((index + 1, "blank"))
                continue
            reason = self._special(raw, filled)
            if reason is None:
                data.append(index)
                continue
            skipped.append((index + 1, reason))
            if reason == "subtotal":
                first = next(v for v in raw if v != "" and v is not None)
                subtotals.append(Subtotal(index + 1, self._subtotal(raw, first) or "合计", len(data),
                                          {k: raw[c] for k, c in figures.items()}))
            elif reason == "heading":
                headings[len(data)] = cells.group(raw[self.group_col])

        problems: dict[int, list[ReportIssue]] = {}
        bad: dict[str, list[int]] = {}
        converted: dict[str, list] = {}
        for key, col, header, convert in self.plan:
            values = [rows[i][col] for i in data]
            converted[key] = _convert_column(values, convert, key, header, data, problems, bad)
        n = len(data)
        if self.group_col >= 0 or headings:
            converted["group"] = _fill_down(converted.get("group", [""] * n), headings)
        if self.fixed_rate is not None:
            converted["rate"] = [self.fixed_rate] * n
        amounts = converted.get("amount", [None] * n)
        quantities = converted.get("quantity", [None] * n)
        warnings = check_subtotals(subtotals, amounts, quantities, bad, self.totals_converters,
                                   self.match.texts, self.quantity_unit)
        return _assemble(data, converted, problems, n), skipped, warnings


_ROW_FIELDS = ("name", "id_number", "group_name", "quantity", "rate", "amount_fen", "bank_account",
               "phone", "remark", "extra")
if tuple(f.name for f in dataclasses.fields(RowInput)) == _ROW_FIELDS:
    _make_row: Callable[..., RowInput] = RowInput  # positional: a third faster than keywords
else:  # pragma: no cover - RowInput changed its field order
    def _make_row(*values: object) -> RowInput:
        return RowInput(**dict(zip(_ROW_FIELDS, values, strict=True)))

_NOTE_STARTS = frozenset("注说說制製填审審复複负負经經联聯监監举舉盖蓋村")


# Columns whose values repeat enough for a memo to pay (names do in villages of few surnames).
_MEMO_KEYS = frozenset({"name", "group", "quantity", "rate", "amount"})
_NUMBER_KEYS = frozenset({"quantity", "rate", "amount"})


def _convert_column(values: list, convert: cells.Converter, key: str, header: str, data: list[int],
                    problems: dict[int, list[ReportIssue]], bad: dict[str, list[int]]) -> list:
    default = None if key in _NUMBER_KEYS or key.startswith("x_") else ""
    if values.count("") == len(values):
        return [default] * len(values)  # an empty column, such as 备注 on most rosters
    memo: dict | None = {} if key in _MEMO_KEYS else None
    out: list = []
    append = out.append
    for pos, value in enumerate(values):
        cls = value.__class__
        if cls is str:
            value = value.strip()
            if not value:
                append(default)
                continue
        elif value is None:
            append(default)
            continue
        if memo is not None and cls is not bool:  # True == 1 must not share 1's result
            if value in memo:
                append(memo[value])
                continue
        try:
            result = convert(value)
        except cells.CellProblem as problem:
            code, message, severity = problem.code, problem.message, problem.severity
        except ValueError as err:
            code, message, severity = "bad_number", str(err), "error"
        else:
            append(result)
            if memo is not None and cls is not bool:
                memo[value] = result
            continue
        append(default)
        problems.setdefault(pos, []).append(
            ReportIssue(data[pos] + 1, header, key, code, message, severity))  # type: ignore[arg-type]
        bad.setdefault(key, []).append(pos)
    return out


def _fill_down(groups: list[str], headings: dict[int, str]) -> list[str]:
    """Empty 组 cells take the group above: a merged cell keeps its text in its first row only."""
    last = ""
    out = []
    for pos, group in enumerate(groups):
        if pos in headings:
            last = headings[pos]
        if group:
            last = group
        out.append(group or last)
    return out


def _assemble(data: list[int], converted: dict[str, list], problems: dict[int, list[ReportIssue]],
              n: int) -> list[ParsedRow]:
    blank = [""] * n
    none = [None] * n
    extra_keys = [k for k in converted if k.startswith("x_")]
    if extra_keys:
        extras = [{k: v for k, v in zip(extra_keys, vals, strict=True) if v is not None and v != ""}
                  for vals in zip(*(converted[k] for k in extra_keys), strict=True)]
    else:
        extras = [{} for _ in range(n)]
    get = converted.get
    columns = (get("name", blank), get("id_number", blank), get("group", blank),
               get("quantity", none), get("rate", none), get("amount", none),
               get("bank_account", blank), get("phone", blank), get("remark", blank), extras)
    inputs = map(_make_row, *columns)
    empty: tuple[ReportIssue, ...] = ()
    return [
        ParsedRow(index + 1, row, tuple(problems[pos]) if pos in problems else empty)
        for pos, (index, row) in enumerate(zip(data, inputs, strict=True))
    ]
