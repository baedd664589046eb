"""Roster rows: normalising and validating one row against its notice type's schema, and
finding duplicate ID numbers within a notice and across notices of the same program and year.

Columns marked ``part_of: "amount"`` (土地补偿费, 安置补助费 … of a compensation) hold exact 元 text;
a row that fills any of them must have them add up to its amount."""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from app.i18n import N_
from app.masking import has_personal_number
from app.money import format_yuan, parse_money_fen
from app.validation import (
    Issue,
    check_amount,
    check_id_number,
    check_name,
    check_phone,
    id_number_issues,
    normalize_id_number,
    normalize_name,
    normalize_phone,
    parts_issue,
)


@dataclass(frozen=True)
class RowInput:
    """One roster row as a clerk or an importer supplies it. Money in fen, quantities exact."""

    name: str = ""
    id_number: str = ""
    group_name: str = ""
    quantity: Decimal | None = None
    rate: Decimal | None = None
    amount_fen: int | None = None
    bank_account: str = ""
    phone: str = ""
    remark: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_ROW_FIELDS = ("name", "id_number", "group_name", "quantity", "rate", "amount_fen", "bank_account",
               "phone", "remark", "extra")
if tuple(f.name for f in dataclasses.fields(RowInput)) == _ROW_FIELDS:
    _make_row: Callable[..., RowInput] = RowInput  # positional: a third faster than keywords
else:  # pragma: no cover - RowInput changed its field order
    def _make_row(*values: object) -> RowInput:
        return RowInput(**dict(zip(_ROW_FIELDS, values, strict=True)))


@dataclass(frozen=True)
class RowColumns:
    """Many rows as one list per :class:`RowInput` field: item ``i`` of every list is row ``i``.

    An importer's 100,000 rows are checked and stored column by column without building 100,000
    row objects; :meth:`row` builds one where it is needed (a row to show in a report).
    ``extra`` is None when no row has extra fields.
    """

    name: list[str]
    id_number: list[str]
    group_name: list[str]
    quantity: list[Decimal | None]
    rate: list[Decimal | None]
    amount_fen: list[int | None]
    bank_account: list[str]
    phone: list[str]
    remark: list[str]
    extra: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.name)

    def row(self, i: int) -> RowInput:
        return _make_row(self.name[i], self.id_number[i], self.group_name[i], self.quantity[i], self.rate[i],
                         self.amount_fen[i], self.bank_account[i], self.phone[i], self.remark[i],
                         dict(self.extra[i]) if self.extra is not None else {})

    def rows(self) -> list[RowInput]:
        extras = self.extra if self.extra is not None else [{} for _ in range(len(self))]
        return list(map(_make_row, self.name, self.id_number, self.group_name, self.quantity, self.rate,
                        self.amount_fen, self.bank_account, self.phone, self.remark, extras))


class RowChecker:
    """Normalises and validates rows against one roster schema.

    Built once per batch: an import of 100,000 rows must not re-read the schema per row.
    ``today`` (from the context's clock) bounds birth dates in ID numbers; a checker made only to
    normalise rows may leave it out.
    """

    def __init__(self, schema: list[dict], today: date | None = None) -> None:
        self._today_given = today
        keys = {c["key"]: c for c in schema}
        self._person_name = "name" in keys and keys["name"]["kind"] == "name"
        self._name_label = keys["name"]["label"] if "name" in keys else ""
        self._name_required = bool(keys.get("name", {}).get("required"))
        self._has_name = "name" in keys
        self._has_id = "id_number" in keys
        self._id_required = bool(keys.get("id_number", {}).get("required"))
        self._has_phone = "phone" in keys
        self._required = [
            (k, c["label"]) for k, c in keys.items()
            if c.get("required") and k not in ("name", "id_number")
        ]
        # public free-text columns (a remark, a 代领人 column, the group): a personal number typed
        # into one is masked when published, and the clerk is told
        self._free_text = [
            (k, c["label"]) for k, c in keys.items()
            if c.get("public", True) and (c["kind"] in ("text", "group") or (k == "name" and c["kind"] != "name"))
        ]
        # the parts of the amount, named as in a message ('土地补偿费', without its unit)
        self._parts = [(k, _UNIT_SUFFIX.sub("", c["label"]).strip() or k) for k, c in keys.items()
                       if c.get("part_of") == "amount"]
        # validate_columns' answers for values that repeat (pure functions of the value)
        self._names_seen: dict[str, tuple[Issue, ...]] = {}
        self._amounts_seen: dict[tuple, tuple[Issue, ...]] = {}

    @property
    def _today(self) -> date:
        if self._today_given is None:
            raise ValueError("RowChecker needs today's date to check ID numbers")
        return self._today_given

    def normalize(self, row: RowInput) -> RowInput:
        """Trim and normalise the text fields."""
        name = row.name.strip()
        if self._person_name and name:
            name = normalize_name(name)
        return RowInput(
            name=name,
            id_number=normalize_id_number(row.id_number) if row.id_number else "",
            group_name=" ".join(row.group_name.split()),
            quantity=row.quantity,
            rate=row.rate,
            amount_fen=row.amount_fen,
            bank_account="".join(row.bank_account.split()) if row.bank_account else "",
            phone=normalize_phone(row.phone) if row.phone else "",
            remark=row.remark.strip(),
            extra=self._normalize_extra(row.extra) if row.extra else {},
        )

    def _normalize_extra(self, extra: dict[str, Any]) -> dict[str, Any]:
        out = {k: (v.strip() if isinstance(v, str) else v) for k, v in extra.items()}
        for key, _label in self._parts:
            value = out.get(key)
            if value is not None and value != "":
                try:  # '16,000' or '8000元' typed in the editor is kept as '16000.00'
                    out[key] = format_yuan(parse_money_fen(value), thousands=False)
                except ValueError:
                    pass  # reported by validate, and kept as typed for the clerk to correct
        return out

    def _parts_issues(self, extra: dict[str, Any], amount_fen: int | None) -> list[Issue]:
        """bad_number for a part that is no amount; parts_mismatch when the filled parts do not
        add up to the amount (an empty part is nothing paid for it)."""
        total, found, filled = 0, [], False
        for key, _label in self._parts:
            value = extra.get(key)
            if value is None or value == "":
                continue
            filled = True
            try:
                total += parse_money_fen(value)
            except ValueError as err:
                found.append(Issue(key, "bad_number", str(err)))
        if not filled or found or amount_fen is None:
            return found
        issue = parts_issue([label for _k, label in self._parts], total, amount_fen)
        return [issue] if issue is not None else []

    def validate(self, row: RowInput) -> list[Issue]:
        """Every problem of one row that went through :meth:`normalize`, without duplicate checks
        (they need the notice)."""
        issues: list[Issue] = []
        for key, label in self._required:
            value = _CORE_VALUE[key](row) if key in _CORE_VALUE else row.extra.get(key)
            if value is None or value == "":
                issues.append(Issue.filled(key, "missing_value", N_("“{label}”不能为空"), label=label))
        if self._person_name:
            issues.extend(check_name(row.name, normalized=True))
        elif self._name_required and not row.name:
            issues.append(Issue.filled("name", "missing_value", N_("“{label}”不能为空"), label=self._name_label))
        if self._has_id and (row.id_number or self._id_required):
            issues.extend(check_id_number(row.id_number, today=self._today, normalized=True).issues)
        if self._has_phone and row.phone:
            issues.extend(check_phone(row.phone))
        if row.quantity is not None or row.rate is not None or row.amount_fen is not None:
            issues.extend(check_amount(row.quantity, row.rate, row.amount_fen))
        if self._parts and row.extra:
            issues.extend(self._parts_issues(row.extra, row.amount_fen))
        for key, label in self._free_text:
            value = _FREE_TEXT_VALUE[key](row) if key in _FREE_TEXT_VALUE else row.extra.get(key)
            if isinstance(value, str) and has_personal_number(value):
                issues.append(_number_in_text(key, label))
        return issues

    def validate_columns(self, rows: RowColumns, start: int = 0, stop: int | None = None) -> dict[int, list[Issue]]:
        """:meth:`validate` of rows ``start`` to ``stop`` of ``rows``, which went through
        :meth:`normalize`: the issues of every row that has any, by position, in the same order.

        Works one check at a time down a column, remembering the result for values that repeat
        (names, quantity × rate): the same answers as :meth:`validate`, several times faster.
        """
        stop = len(rows) if stop is None else min(stop, len(rows))
        out: dict[int, list[Issue]] = {}

        def add(pos: int, issues: Iterable[Issue]) -> None:
            if pos in out:
                out[pos].extend(issues)
            else:
                out[pos] = list(issues)

        positions = range(start, stop)
        for key, label in self._required:
            if key in _CORE_COLUMN:
                values = getattr(rows, _CORE_COLUMN[key])[start:stop]
            else:
                extras = rows.extra[start:stop] if rows.extra is not None else [{}] * (stop - start)
                values = [e.get(key) for e in extras]
            missing = (Issue.filled(key, "missing_value", N_("“{label}”不能为空"), label=label),)
            for pos, value in zip(positions, values, strict=True):
                if value is None or value == "":
                    add(pos, missing)
        if self._person_name:
            seen = self._names_seen
            for pos, name in zip(positions, rows.name[start:stop], strict=True):
                found = seen.get(name)
                if found is None:
                    found = seen[name] = check_name(name, normalized=True)
                if found:
                    add(pos, found)
        elif self._name_required:
            missing = (Issue.filled("name", "missing_value", N_("“{label}”不能为空"), label=self._name_label),)
            for pos, name in zip(positions, rows.name[start:stop], strict=True):
                if not name:
                    add(pos, missing)
        if self._has_id:
            today = self._today
            required = self._id_required
            for pos, number in zip(positions, rows.id_number[start:stop], strict=True):
                if number or required:
                    found = id_number_issues(number, today)
                    if found:
                        add(pos, found)
        if self._has_phone:
            for pos, phone in zip(positions, rows.phone[start:stop], strict=True):
                if phone:
                    found = check_phone(phone)
                    if found:
                        add(pos, found)
        known = self._amounts_seen
        for pos, q, r, a in zip(positions, rows.quantity[start:stop], rows.rate[start:stop],
                                rows.amount_fen[start:stop], strict=True):
            if q is None and r is None and a is None:
                continue
            # equal Decimals ('1.0', '1') give the same answer: the check only compares values
            if q.__class__ is Decimal and r.__class__ is Decimal and a.__class__ is int:
                key3 = (q, r, a)
                found = known.get(key3)
                if found is None:
                    found = known[key3] = check_amount(q, r, a)
            else:
                found = check_amount(q, r, a)
            if found:
                add(pos, found)
        if self._parts and rows.extra is not None:
            for pos, extra, a in zip(positions, rows.extra[start:stop], rows.amount_fen[start:stop], strict=True):
                if extra and (found := self._parts_issues(extra, a)):
                    add(pos, found)
        for key, label in self._free_text:
            if key in _FREE_TEXT_COLUMN:
                values = getattr(rows, _FREE_TEXT_COLUMN[key])[start:stop]
            else:
                extras = rows.extra[start:stop] if rows.extra is not None else [{}] * (stop - start)
                values = [e.get(key) for e in extras]
            for pos, value in zip(positions, values, strict=True):
                if value and isinstance(value, str) and has_personal_number(value):
                    add(pos, (_number_in_text(key, label),))
        return out


_UNIT_SUFFIX = re.compile(r"[（(][^）)]*[）)]$")

_CORE_VALUE = {
    "group": lambda r: r.group_name,
    "quantity": lambda r: r.quantity,
    "rate": lambda r: r.rate,
    "amount": lambda r: r.amount_fen,
}
_CORE_COLUMN = {"group": "group_name", "quantity": "quantity", "rate": "rate", "amount": "amount_fen"}
_FREE_TEXT_VALUE = {"group": lambda r: r.group_name, "remark": lambda r: r.remark, "name": lambda r: r.name}
_FREE_TEXT_COLUMN = {"group": "group_name", "remark": "remark", "name": "name"}


def _number_in_text(key: str, label: str) -> Issue:
    return Issue.filled(key, "number_in_text", N_("“{label}”里有像身份证号、手机号或银行卡号的号码，公示和打印时会自动隐去；"
                                                  "如果不该写在这里，请删掉。"), "warning", label=label)


def normalize_row(row: RowInput, schema: list[dict]) -> RowInput:
    return RowChecker(schema).normalize(row)


def validate_row(row: RowInput, schema: list[dict], today: date) -> tuple[Issue, ...]:
    return tuple(RowChecker(schema, today).validate(row))


def has_errors(issues: list[dict] | tuple[Issue, ...]) -> bool:
    for i in issues:
        severity = i["severity"] if isinstance(i, dict) else i.severity
        if severity == "error":
            return True
    return False


DUPLICATE_CODE = "duplicate_id"
#: reading problems that leave the value in place (the parts of an amount do not add up to it):
#: the value's own checks still run, where other problems stand for a value that was refused
VALUE_KEPT_CODES = frozenset({"parts_mismatch", "part_unreadable"})


K = TypeVar("K", bound=Hashable)


def duplicate_issues(
    rows: Iterable[tuple[K, str]], elsewhere: dict[str, list[str]]
) -> dict[K, list[Issue]]:
    """Duplicate-ID issues per row id.

    ``rows`` are ``(row_id, id_number)`` of one notice (any hashable row id, such as a position);
    ``elsewhere`` maps an ID number to the titles of other notices of the same program and year
    that list it (一人多领).
    """
    by_id: dict[str, list[K]] = defaultdict(list)
    for row_id, number in rows:
        if number:
            by_id[number].append(row_id)
    out: dict[K, list[Issue]] = {}
    for number, row_ids in by_id.items():
        if len(row_ids) > 1:
            for rid in row_ids:
                out.setdefault(rid, []).append(Issue.filled(
                    "id_number", DUPLICATE_CODE, N_("同一身份证号码在本公示中出现 {count} 次"), count=len(row_ids)))
        if number in elsewhere:
            titles = "、".join(sorted(set(elsewhere[number]))[:3])
            for rid in row_ids:
                out.setdefault(rid, []).append(Issue.filled(
                    "id_number", DUPLICATE_CODE, N_("同一项目同一年度的其他公示中已有此身份证号码（一人多领？）：{titles}"),
                    "warning", titles=titles))
    return out


def issue_dicts(issues) -> list[dict]:
    """Issues as stored with their row: a message with values also keeps its template and the
    values, to be shown in the clerk's language (:func:`app.validation.issue_text`)."""
    return [
        {"column": i.column, "code": i.code, "message": i.message, "severity": i.severity}
        | ({"template": i.template, "params": dict(i.params)} if i.template else {})
        for i in issues
    ]
