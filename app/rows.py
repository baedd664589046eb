"""Roster rows: normalising and validating one row against its notice type's schema, and
finding duplicate ID numbers within a notice and across notices of the same program and year."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from app.validation import (
    Issue,
    check_amount,
    check_id_number,
    check_name,
    check_phone,
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


def _schema_keys(schema: list[dict]) -> dict[str, dict]:
    return {c["key"]: c for c in schema}


def normalize_row(row: RowInput, schema: list[dict]) -> RowInput:
    """Trim and normalise the text fields the schema uses."""
    keys = _schema_keys(schema)
    name = row.name.strip()
    if "name" in keys and keys["name"]["kind"] == "name":
        name = normalize_name(name)
    from app.validation import normalize_id_number

    return replace(
        row,
        name=name,
        id_number=normalize_id_number(row.id_number) if row.id_number else "",
        group_name=" ".join(row.group_name.split()),
        bank_account="".join(row.bank_account.split()),
        phone=normalize_phone(row.phone) if row.phone else "",
        remark=row.remark.strip(),
        extra={k: (v.strip() if isinstance(v, str) else v) for k, v in row.extra.items()},
    )


def validate_row(row: RowInput, schema: list[dict]) -> tuple[Issue, ...]:
    """Every problem of one (normalised) row, without duplicate checks (they need the notice)."""
    keys = _schema_keys(schema)
    issues: list[Issue] = []
    for key, col in keys.items():
        if not col.get("required"):
            continue
        value = {
            "group": row.group_name, "name": row.name, "id_number": row.id_number,
            "quantity": row.quantity, "rate": row.rate, "amount": row.amount_fen,
        }.get(key, row.extra.get(key))
        if value is None or value == "":
            if key in ("name", "id_number"):
                continue  # reported by the field checks below, with their own wording
            issues.append(Issue(key, "missing_value", f"“{col['label']}”不能为空", "error"))
    if "name" in keys:
        if keys["name"]["kind"] == "name":
            issues.extend(check_name(row.name))
        elif keys["name"].get("required") and not row.name:
            issues.append(Issue("name", "missing_value", f"“{keys['name']['label']}”不能为空", "error"))
    if "id_number" in keys:
        if row.id_number or keys["id_number"].get("required"):
            issues.extend(check_id_number(row.id_number).issues)
    if "phone" in keys:
        issues.extend(check_phone(row.phone))
    issues.extend(check_amount(row.quantity, row.rate, row.amount_fen))
    return tuple(issues)


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
