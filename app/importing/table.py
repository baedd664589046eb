"""Converting the rows below a found header into parsed rows.

Works column by column rather than row by row: one pass sorts the rows into data rows and
skipped rows (blank, 小计/合计, notes and signature lines, repeated headers, group headings), then
each mapped column is converted in a tight loop with a memo for repeating values. This keeps the Python work per
cell small enough to read 100,000-row rosters in about a second. The ID numbers are converted
first and the other columns a batch of rows at a time, so that an importer can check and store
the first rows while the next ones are converted.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from app.i18n import N_
from app.importing import cells
from app.importing.headers import T2S, HeaderMatch, column_unit, header_core, normalize_header
from app.importing.model import ReportIssue
from app.importing.totals import Subtotal, check_subtotals, subtotal_word
from app.rows import RowColumns
from app.validation import parts_issue

_NOTE_PREFIXES = ("注", "说明", "制表", "填表", "审核", "审批", "复核", "负责人", "经办人", "联系人",
                  "监督电话", "举报电话", "盖章", "村委会盖章")


def _is_note(value: object) -> bool:
    if value.__class__ is not str:
        return False
    compact = "".join(value.split()).translate(T2S)  # type: ignore[union-attr]
    return compact.startswith(_NOTE_PREFIXES)


# What the lines under a table say: who made, checked and approved it, signatures, seals, dates.
_DIGIT = "\\d〇零一二三四五六七八九十"
_FOOTER = re.compile(
    "^(制表|填表|填报|制单|审核|审批|审定|复核|核对|核实|负责人|经办|联系人|联系电话|监督|村务监督|监委|"
    "会计|出纳|记账|主管|分管|领导|主任|书记|村长|组长|村委会|村民委员会|村党|党支部|单位|日期|时间|"
    "签字|签名|签章|盖章|公章|报送)"
    f"|签字|签名|签章|盖章|[(（]章[)）]|^[{_DIGIT}]{{2,4}}年[{_DIGIT}]{{0,3}}月([{_DIGIT}]{{0,3}}日)?$|^年月日$"
)


def is_footer(raw: list) -> bool:
    """Whether every filled cell of a row is a signature, seal, role or date text (制表人：…,
    审核人：…, 监督委员会：（签字）, 村委会（盖章）, 2026年11月20日): a line under the table, in whichever
    columns it landed."""
    said = False
    for value in raw:
        if value.__class__ is str:
            compact = "".join(value.split()).translate(T2S)  # type: ignore[union-attr]
            if not compact:
                continue
            if not _FOOTER.search(compact):
                return False
            said = True
        elif value is not None and not isinstance(value, date):
            return False
    return said


class TableReader:
    """Converts the rows below one header of one schema; :meth:`read` runs once."""

    def __init__(self, columns: dict[str, dict], match: HeaderMatch) -> None:
        self.match = match
        self.table_warnings: list[ReportIssue] = []
        units = match.units

        def part_unit(norm: str) -> str:
            return column_unit("amount", norm) or units.get("amount") or "元"

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
            convert = converters.get(key)
            if convert is None and columns.get(key, {}).get("part_of") == "amount":
                convert = cells.money_text(part_unit(norms.get(col, "")))  # checked by app.rows
            self.plan.append((key, col, match.texts[key], convert or cells.for_extra(norms.get(col, ""))))
        # parts of the amount that the schema does not keep: read only to check their sum
        self.loose_parts: list[tuple[int, str, str, cells.Converter]] = []
        if match.parts and not match.parts_kept and "amount" in match.columns:
            self.loose_parts = [
                (c.index, header_core(normalize_header(c.name)), c.text, cells.money(part_unit(c.norm)))
                for c in match.parts]
        self.totals_converters = {"amount": converters["amount"], "quantity": converters["quantity"]}
        self.quantity_unit = quantity_unit
        self.group_col = match.columns.get("group", -1)
        self.name_col = match.columns.get("name", -1)
        self.header_names: frozenset = frozenset()  # the name header's raw cells, set by read()

    def _subtotal(self, raw: list, first: object) -> str | None:
        for col in (self.name_col, self.group_col):
            if col >= 0 and (word := subtotal_word(raw[col])):
                return word
        if word := subtotal_word(first):
            return word
        if self.name_col < 0 or not cells.has_value(raw[self.name_col]):
            # nobody's row: 小计 may be written in any cell (备注, 序号 …)
            return next((w for v in raw if (w := subtotal_word(v))), None)
        return None

    def _special(self, raw: list, filled: list) -> str | None:
        """Why a row with content is not a data row, or None for a data row."""
        first = next(v for v in raw if v != "" and v is not None)
        if self._subtotal(raw, first):
            return "subtotal"
        if self.name_col >= 0 and raw[self.name_col] in self.header_names:
            return "header"  # the header repeated on every printed page
        if is_footer(raw):
            return "note"  # signatures and seals, even where they landed in the amount column
        if first.__class__ is str and first[:1] in _NOTE_STARTS and _is_note(first) and not any(
                cells.has_value(raw[c]) for k, c, _t, _f in self.plan if k in ("amount", "quantity")):
            return "note"
        if self.group_col >= 0 and len(filled) == 1 and filled[0] is raw[self.group_col]:
            return "heading"  # a row that only names the group of the rows below
        return None

    def read(self, rows: list[list]) -> tuple[RowColumns, list[int], dict[int, tuple[ReportIssue, ...]],
                                             list[tuple[int, str]], list[ReportIssue]]:
        """(columns of the data rows, their Excel row numbers, reading problems by data position,
        skipped rows, subtotal warnings)."""
        self.sort(rows)
        return self.result()

    def sort(self, rows: list[list]) -> None:
        """Sort the rows below the header into data rows and skipped rows, and convert the ID
        numbers of all data rows (an importer marks duplicates before it stores the first rows).
        The other values are converted by :meth:`batches`."""
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
                        "计" not in first and "計" not in first and first[:1] not in _NOTE_STARTS
                        and "年" not in first))
                    and (name_col < 0 or (v := raw[name_col]).__class__ is not str or (
                        v and "计" not in v and "計" not in v and v not in header_names))
                    and (group_col < 0 or (v := raw[group_col]).__class__ is not str or (
                        "计" not in v and "計" not in v))):
                data.append(index)
                continue
            if not filled or all(v.__class__ is str and v.isspace() for v in filled):
                skipped.append((index + 1, "note" if is_footer(raw) else "blank"))
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
        self._rows, self.data, self.skipped = rows, data, skipped
        self._subtotals, self._headings = subtotals, headings
        self._converted: dict[str, list] = {key: [] for key, _c, _h, _f in self.plan}
        self._memos: dict[str, dict] = {key: {} for key in self._converted if key in _MEMO_KEYS}
        self._problems: dict[int, list[ReportIssue]] = {}
        self._bad: dict[str, list[int]] = {}
        self._group = ""  # the group the next rows fall under when their 组 cell is empty
        self._done = 0
        # converted ahead, with their problems by position
        self._ahead: dict[str, tuple[list, dict[int, list[ReportIssue]], list[int]]] = {}
        for key, col, header, convert in self.plan:
            if key == "id_number":
                problems: dict[int, list[ReportIssue]] = {}
                bad: dict[str, list[int]] = {}
                values = _convert_column([rows[i][col] for i in data], convert, key, header, data, 0, problems,
                                         bad, None)
                self._ahead[key] = (values, problems, sorted(problems))
        self.id_numbers: list[str] = (self._ahead["id_number"][0] if "id_number" in self._ahead
                                      else [""] * len(data))

    def batches(self, size: int) -> Iterator[tuple[int, RowColumns, dict[int, tuple[ReportIssue, ...]]]]:
        """The data rows converted ``size`` at a time, in order, after :meth:`sort`:
        ``(position of the first row, their values, their reading problems by position)``."""
        rows, data, n = self._rows, self.data, len(self.data)
        while self._done < n:
            start, stop = self._done, min(n, self._done + size)
            chunk: dict[str, list] = {}
            problems: dict[int, list[ReportIssue]] = {}
            for key, col, header, convert in self.plan:
                if key in self._ahead:
                    values, found, order = self._ahead[key]
                    chunk[key] = values[start:stop]
                    for pos in order[bisect_left(order, start):bisect_left(order, stop)]:
                        problems.setdefault(pos, []).extend(found[pos])
                        self._bad.setdefault(key, []).append(pos)
                    continue
                chunk[key] = _convert_column([rows[i][col] for i in data[start:stop]], convert, key, header,
                                             data, start, problems, self._bad, self._memos.get(key))
            m = stop - start
            if self.loose_parts:
                self._check_parts(chunk["amount"], start, problems)
            if self.group_col >= 0 or self._headings:
                chunk["group"] = self._fill_down(chunk.get("group", [""] * m), start)
            if self.fixed_rate is not None:
                chunk["rate"] = [self.fixed_rate] * m
            for key, values in chunk.items():
                self._converted.setdefault(key, []).extend(values)
            self._problems.update(problems)
            self._done = stop
            if stop == n:
                self._rows = []  # the sheet's cells are no longer needed
            yield start, _columns(chunk, m), {pos: tuple(p) for pos, p in problems.items()}

    def result(self) -> tuple[RowColumns, list[int], dict[int, tuple[ReportIssue, ...]],
                              list[tuple[int, str]], list[ReportIssue]]:
        """What :meth:`read` returns, once :meth:`sort` was called (converts what batches did not)."""
        for _batch in self.batches(max(1, len(self.data) - self._done)):
            pass
        n = len(self.data)
        converted = self._converted
        amounts = converted.get("amount", [None] * n)
        quantities = converted.get("quantity", [None] * n)
        warnings = check_subtotals(self._subtotals, amounts, quantities, self._bad, self.totals_converters,
                                   self.match.texts, self.quantity_unit)
        return (_columns(converted, n), [i + 1 for i in self.data],
                {pos: tuple(self._problems[pos]) for pos in sorted(self._problems)}, self.skipped, warnings)

    def _check_parts(self, amounts: list, start: int, problems: dict[int, list[ReportIssue]]) -> None:
        """parts_mismatch on the amount of each row whose parts (not kept) do not add up to it."""
        rows, data = self._rows, self.data
        header = self.match.texts["amount"]
        names = [name for _c, name, _t, _f in self.loose_parts]
        for pos, fen in enumerate(amounts, start):
            if fen is None:
                continue  # no amount, or one the reader refused and reported
            raw = rows[data[pos]]
            total = 0
            for col, _name, text, to_fen in self.loose_parts:
                value = raw[col]
                if not cells.has_value(value):
                    continue  # an empty part is nothing paid for it
                try:
                    total += to_fen(value.strip() if value.__class__ is str else value)
                except (ValueError, cells.CellProblem):
                    template = N_("“{part}”这一格不是能识别的金额，无法核对各项相加是否等于“{total}”")
                    params = (("part", text), ("total", header))
                    problems.setdefault(pos, []).append(ReportIssue(
                        data[pos] + 1, text, "amount", "part_unreadable", template.format(**dict(params)),
                        "warning", template, params))
                    break
            else:
                if (issue := parts_issue(names, total, fen)) is not None:
                    problems.setdefault(pos, []).append(ReportIssue(
                        data[pos] + 1, header, "amount", issue.code, issue.message, issue.severity,
                        issue.template, issue.params))

    def _fill_down(self, groups: list[str], start: int) -> list[str]:
        """Empty 组 cells take the group above: a merged cell keeps its text in its first row only."""
        headings = self._headings
        last = self._group
        out = []
        for pos, group in enumerate(groups, start):
            if pos in headings:
                last = headings[pos]
            if group:
                last = group
            out.append(group or last)
        self._group = last
        return out


_NOTE_STARTS = frozenset("注说說制製填审審复複负負经經联聯监監举舉盖蓋村出会會主书書日时時签簽分单單组組核记記"
                         "领領党黨公报報乡鄉镇鎮县縣")


# Columns whose values repeat enough for a memo to pay (names do in villages of few surnames).
_MEMO_KEYS = frozenset({"name", "group", "quantity", "rate", "amount"})
_NUMBER_KEYS = frozenset({"quantity", "rate", "amount"})


def _convert_column(values: list, convert: cells.Converter, key: str, header: str, data: list[int],
                    offset: int, problems: dict[int, list[ReportIssue]], bad: dict[str, list[int]],
                    memo: dict | None) -> list:
    """Convert the cells ``values`` of the data rows from position ``offset`` on. ``memo`` (kept
    from batch to batch) remembers the results of repeating values."""
    default = None if key in _NUMBER_KEYS or key.startswith("x_") else ""
    if values.count("") == len(values):
        return [default] * len(values)  # an empty column, such as 备注 on most rosters
    out: list = []
    append = out.append
    for pos, value in enumerate(values, offset):
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


def _columns(converted: dict[str, list], n: int) -> RowColumns:
    blank = [""] * n
    none = [None] * n
    extra_keys = [k for k in converted if k.startswith("x_")]
    extras = None
    if extra_keys:
        extras = [{k: v for k, v in zip(extra_keys, vals, strict=True) if v is not None and v != ""}
                  for vals in zip(*(converted[k] for k in extra_keys), strict=True)]
    get = converted.get
    return RowColumns(get("name", blank), get("id_number", blank), get("group", blank), get("quantity", none),
                      get("rate", none), get("amount", none), get("bank_account", blank), get("phone", blank),
                      get("remark", blank), extras)
