"""Choosing between header cells that could each be a row's amount or its area.

Header words alone go wrong on two layouts townships use all the time:

- A compensation table splits each household's money into parts and their total: 土地补偿费 |
  安置补助费 | 青苗及地上附着物补偿费 | 合计, often under one merged 补偿费用（元）. Every part names
  money as surely as the total does, but what the household is paid is the total. The total
  becomes the amount; the parts are kept where the roster schema has columns for them (then
  app.rows checks that they add up, also after an edit), otherwise they are read only to check
  that sum, and the clerk is told they stay out.
- A subsidy table gives two areas (确权面积 and 实际种植面积, or 计税面积 and 实际种植面积 under a
  merged 补贴面积). The one that pays is the one for which amount = area × rate on the rows below
  the header — with the file's 标准 column, the rate written in a header or the program's rate —
  not the one with the longer name. The clerk is told which was taken and why, or that nothing
  could tell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from app.i18n import _
from app.importing import cells
from app.importing.headers import (
    HeaderCell,
    HeaderMatcher,
    Hit,
    column_unit,
    header_core,
    normalize_header,
)
from app.importing.model import ReportIssue
from app.importing.totals import subtotal_word
from app.money import compute_amount_fen, format_quantity

_TOTAL = re.compile(r"(合计|小计|总计|共计|总额)$|^(合计|总计|总金额)")
_MONEY = re.compile(r"(费|费用|金额|款|补偿|补助|补贴|资金|奖励|奖补|金)$")
_NOT_MONEY = re.compile(r"标准|单价|面积|亩|公顷|人数|数量|账号|帐号|卡号|日期|姓名|号码")
_RATE_LIKE = re.compile(r"标准|单价")
#: ranks a total above every header word that names money: it is what a household is paid
_TOTAL_RANK = 100


@dataclass(frozen=True)
class PartsGroup:
    """A total column and the columns it is the sum of, left to right."""

    total: HeaderCell
    members: tuple[HeaderCell, ...]


@dataclass(frozen=True)
class AreaChoice:
    """The area (quantity) column to read, and what the clerk is told about the choice."""

    cell: HeaderCell
    notes: tuple[str, ...]
    warnings: tuple[ReportIssue, ...]


def _core(cell: HeaderCell) -> str:
    return header_core(normalize_header(cell.name))


def _is_total(cell: HeaderCell) -> bool:
    core = _core(cell)
    return bool(cell.text) and bool(_TOTAL.search(core)) and not _NOT_MONEY.search(core)


def _is_money(cell: HeaderCell, part_keys: frozenset[str]) -> bool:
    if not cell.text or _is_total(cell):
        return False
    if cell.hit is not None and (cell.hit.key == "amount" or cell.hit.key in part_keys):
        return True
    core = _core(cell)
    return bool(_MONEY.search(core)) and not _NOT_MONEY.search(core)


def _run(cells_: list[HeaderCell], start: int, step: int, part_keys: frozenset[str]) -> list[HeaderCell]:
    """The money cells next to a total, skipping rate columns between them (土地补偿标准 |
    土地补偿费 | 安置补助标准 | 安置补助费 | 合计)."""
    run = []
    i = start + step
    while 0 <= i < len(cells_):
        cell = cells_[i]
        if _is_money(cell, part_keys):
            run.append(cell)
        elif not (cell.text and _RATE_LIKE.search(_core(cell))):
            break
        i += step
    return sorted(run, key=lambda c: c.index)


def regroup(cells_: list[HeaderCell], part_keys: frozenset[str]) -> tuple[list[HeaderCell], PartsGroup | None]:
    """The cells with a total made the amount and its parts unable to be it (they keep a hit
    only for the schema's part columns), and the group; the cells unchanged and None when there
    is no total over two or more money columns, or the clerk chose some other amount column."""
    chosen = next((c for c in cells_ if c.hit is not None and c.hit.strength == 4 and c.hit.key == "amount"), None)
    if chosen is not None and not _is_total(chosen):
        return cells_, None
    for total in [chosen] if chosen is not None else cells_:
        if not _is_total(total) or (total.hit is not None and total.hit.strength == 4 and total is not chosen):
            continue
        if total.parent:  # the siblings under the same merged parent
            members = [c for c in cells_ if c is not total and c.parent == total.parent and _is_money(c, part_keys)]
        else:
            members = _run(cells_, total.index, -1, part_keys) or _run(cells_, total.index, 1, part_keys)
        if len(members) < 2:
            continue
        out = list(cells_)
        new_total = total if total is chosen else replace(total, hit=Hit("amount", 3, _TOTAL_RANK))
        out[total.index] = new_total
        parts = []
        for member in members:
            hit = member.hit
            keep = hit is not None and (hit.key in part_keys or hit.strength == 4)
            out[member.index] = part = member if keep else replace(member, hit=None)
            parts.append(part)
        return out, PartsGroup(new_total, tuple(parts))
    return cells_, None


def _quoted(names: list[str]) -> str:
    return "".join(f"“{n}”" for n in names)


def describe_parts(group: PartsGroup | None, taken: dict[str, HeaderCell], part_keys: frozenset[str],
                   header_row: int) -> tuple[tuple[HeaderCell, ...], bool, tuple[str, ...], tuple[ReportIssue, ...]]:
    """(the parts, whether the schema keeps every one of them, notes, warnings) of a total's group.

    Parts are kept only all together: the sum of some of them would not be the total, and a row
    whose kept parts fall short would be wrongly marked."""
    if group is None:
        return (), True, (), ()
    members = group.members
    kept = all(m.hit is not None and m.hit.key in part_keys and taken.get(m.hit.key) is m for m in members)
    names = _quoted([m.name for m in members])
    total = group.total.text
    notes = (_("“{total}”是{parts}之和：金额按“{total}”导入，每行都核对各项相加是否等于它。").format(
        total=total, parts=names),)
    if kept:
        return members, True, notes, ()
    message = _("本公示事项的清册没有与{parts}逐一对应的列：这几列不导入，只用来核对每行各项相加是否等于"
                "“{total}”。如需在公示中列出，请县级主管部门在该公示事项的清册中加上这些列。").format(
        parts=names, total=total)
    return members, False, notes, (ReportIssue(header_row, members[0].text, "amount", "parts_not_kept", message,
                                               "warning"),)


def _value(raw: list, index: int, convert: cells.Converter) -> object:
    """The converted cell, or None when it is empty or cannot be read."""
    if index >= len(raw) or not cells.has_value(value := raw[index]):
        return None
    try:
        return convert(value.strip() if isinstance(value, str) else value)
    except (ValueError, cells.CellProblem):
        return None


def _listed(names: list[str]) -> str:
    quoted = [f"“{n}”" for n in names]
    return quoted[0] if len(quoted) == 1 else _("{first}和{last}").format(first="、".join(quoted[:-1]),
                                                                          last=quoted[-1])


def choose_area(matcher: HeaderMatcher, cells_: list[HeaderCell], taken: dict[str, HeaderCell], rows: list[list],
                start: int, title_units: dict[str, str]) -> AreaChoice | None:
    """Of several columns that each name the quantity, the one for which amount = quantity ×
    rate on most of the data rows among ``rows[start:]``; None when there is no choice to make
    (one such column, or the clerk chose it)."""
    current = taken.get("quantity")
    if current is None or current.hit is None or current.hit.strength == 4:
        return None
    candidates = [c for c in cells_ if c.hit is not None and c.hit.key == "quantity" and c.hit.strength < 4]
    if len(candidates) < 2:
        return None
    amount, rate = taken.get("amount"), taken.get("rate")
    fixed = rate.hit.fixed_rate if rate is not None and rate.hit is not None else None
    if fixed is not None and amount is rate:
        amount = None  # the rate header's cells hold the amounts: there is nothing to compare
    label = matcher.labels["quantity"]
    noun = _("面积") if matcher.quantity_unit in ("亩", "公顷") else _("数量")
    columns = _listed([c.text for c in candidates])
    source = ""
    if rate is not None and fixed is None:
        source = f"“{rate.text}”"
    elif fixed is not None:
        source = _("表头中的标准 {rate} {unit}").format(rate=format_quantity(fixed[0]), unit=fixed[1])
    elif matcher.rate is not None:
        source = _("本项目的标准 {rate} 元/{unit}").format(rate=format_quantity(matcher.rate),
                                                          unit=matcher.quantity_unit)
    fits, considered = _fits(matcher, candidates, amount, rate, fixed, rows, start, title_units) if (
        amount is not None and source) else ([0] * len(candidates), 0)
    best = max(fits)
    winners = [c for c, n in zip(candidates, fits, strict=True) if n == best]
    if considered and best and len(winners) == 1:
        chosen = winners[0]
        others = "、".join(_("“{column}”只有 {count} 行").format(column=c.text, count=n)
                          for c, n in zip(candidates, fits, strict=True) if c is not chosen)
        note = _("{columns}都是{noun}：按“{chosen}”导入，因为前 {rows} 行中有 {fits} 行的金额等于它乘以{rate}，"
                 "而{others}。如果应按另一列，请在导入时把“{label}”对应到那一列。").format(
            columns=columns, noun=noun, chosen=chosen.text, rows=considered, fits=best, rate=source,
            others=others, label=label)
        return AreaChoice(chosen, (note,), ())
    if considered and best == considered:
        return None  # the columns agree on every row read: either pays the same
    if amount is None:
        reason = _("文件中没有金额列")
    elif not source:
        reason = _("文件中没有标准列，本项目也没有设定标准")
    elif not considered:
        reason = _("表头下面的行中没有能核对的金额")
    elif not best:
        reason = _("没有一列乘以标准等于金额")
    else:
        reason = _("几列乘以标准等于金额的行一样多")
    message = _("{columns}都是{noun}，但从金额看不出是按哪一列计算的（{reason}），暂按“{chosen}”导入。"
                "如果不对，请在导入时把“{label}”对应到正确的列。").format(
        columns=columns, noun=noun, reason=reason, chosen=current.text, label=label)
    return AreaChoice(current, (), (ReportIssue(start, current.text, "quantity", "quantity_guessed", message,
                                                "warning"),))


def _fits(matcher: HeaderMatcher, candidates: list[HeaderCell], amount: HeaderCell, rate: HeaderCell | None,
          fixed: tuple[Decimal, str] | None, rows: list[list], start: int,
          title_units: dict[str, str]) -> tuple[list[int], int]:
    """For each candidate, on how many data rows amount = quantity × rate to the fen; and on how
    many rows that could be asked at all."""
    to_fen = cells.money(column_unit("amount", amount.norm) or title_units.get("amount") or "元")
    rate_unit = column_unit("rate", rate.norm) if rate is not None and fixed is None else None
    readers = []
    for c in candidates:
        unit = column_unit("quantity", c.norm) or title_units.get("quantity") or matcher.quantity_unit
        factor = cells.rate_factor(rate_unit, unit)
        header_rate = None
        if fixed is not None:
            try:
                header_rate = cells.scale_rate(fixed[0], cells.rate_factor(fixed[1], unit))
            except cells.CellProblem:
                header_rate = None
        readers.append((c.index, cells.quantity(unit), cells.rate(factor), header_rate))
    fits = [0] * len(candidates)
    considered = 0
    for raw in rows[start:]:
        if any(subtotal_word(v) for v in raw):
            continue
        fen = _value(raw, amount.index, to_fen)
        if fen is None:
            continue
        asked = False
        for k, (index, to_quantity, to_rate, header_rate) in enumerate(readers):
            quantity = _value(raw, index, to_quantity)
            per = _value(raw, rate.index, to_rate) if rate is not None and fixed is None else None
            per = per if per is not None else header_rate if header_rate is not None else matcher.rate
            if quantity is None or per is None:
                continue
            asked = True
            try:
                if compute_amount_fen(quantity, per) == fen:  # type: ignore[arg-type]
                    fits[k] += 1
            except ValueError:  # a product past any real amount
                continue
        considered += asked
    return fits, considered
