"""Roster rows: normalising and validating one row against its notice type's schema, and
finding duplicate ID numbers within a notice and across notices of the same program and year."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.validation import (
    Issue,
    check_amount,
    check_id_number,
    check_name,
    check_phone,
    normalize_id_number,
    normalize_name,
    normalize_phone,
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


class RowChecker:
    """Normalises and validates rows against one roster schema.

    Built once per batch: an import of 100,000 rows must not re-read the schema per row.
    """

    def __init__(self, schema: list[dict]) -> None:
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
            extra={k: (v.strip() if isinstance(v, str) else v) for k, v in row.extra.items()} if row.extra else {},
        )

    def validate(self, row: RowInput) -> list[Issue]:
        """Every problem of one row that went through :meth:`normalize`, without duplicate checks
        (they need the notice)."""
        issues: list[Issue] = []
        for key, label in self._required:
            value = _CORE_VALUE[key](row) if key in _CORE_VALUE else row.extra.get(key)
            if value is None or value == "":
                issues.append(Issue(key, "missing_value", f"“{label}”不能为空", "error"))
        if self._person_name:
            issues.extend(check_name(row.name, normalized=True))
        elif self._name_required and not row.name:
            issues.append(Issue("name", "missing_value", f"“{self._name_label}”不能为空", "error"))
        if self._has_id and (row.id_number or self._id_required):
            issues.extend(check_id_number(row.id_number, normalized=True).issues)
        if self._has_phone and row.phone:
            issues.extend(check_phone(row.phone))
        if row.quantity is not None or row.rate is not None or row.amount_fen is not None:
            issues.extend(check_amount(row.quantity, row.rate, row.amount_fen))
        return issues


_CORE_VALUE = {
    "group": lambda r: r.group_name,
    "quantity": lambda r: r.quantity,
    "rate": lambda r: r.rate,
    "amount": lambda r: r.amount_fen,
}


def normalize_row(row: RowInput, schema: list[dict]) -> RowInput:
    return RowChecker(schema).normalize(row)


def validate_row(row: RowInput, schema: list[dict]) -> tuple[Issue, ...]:
    return tuple(RowChecker(schema).validate(row))


def has_errors(issues: list[dict] | tuple[Issue, ...]) -> bool:
    for i in issues:
        severity = i["severity"] if isinstance(i, dict) else i.severity
        if severity == "error":
            return True
    return False


DUPLICATE_CODE = "duplicate_id"


def duplicate_issues(
    rows: list[tuple[str, str]], elsewhere: dict[str, list[str]]
) -> dict[str, list[Issue]]:
    """Duplicate-ID issues per row id.

    ``rows`` are ``(row_id, id_number)`` of one notice; ``elsewhere`` maps an ID number to the
    titles of other notices of the same program and year that list it (一人多领).
    """
    by_id: dict[str, list[str]] = defaultdict(list)
    for row_id, number in rows:
        if number:
            by_id[number].append(row_id)
    out: dict[str, list[Issue]] = {}
    for number, row_ids in by_id.items():
        if len(row_ids) > 1:
            for rid in row_ids:
                out.setdefault(rid, []).append(Issue(
                    "id_number", DUPLICATE_CODE,
                    f"同一身份证号码在本公示中出现 {len(row_ids)} 次", "error"))
        if number in elsewhere:
            titles = "、".join(sorted(set(elsewhere[number]))[:3])
            for rid in row_ids:
                out.setdefault(rid, []).append(Issue(
                    "id_number", DUPLICATE_CODE,
                    f"同一项目同一年度的其他公示中已有此身份证号码（一人多领？）：{titles}", "warning"))
    return out


def issue_dicts(issues) -> list[dict]:
    return [
        {"column": i.column, "code": i.code, "message": i.message, "severity": i.severity}
        for i in issues
    ]
