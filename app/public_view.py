"""The public view of a notice: the only form in which a notice is ever printed or served publicly.

:func:`build_public_view` is the one function that turns the internal roster (清册) into what
residents see. Personal fields (full ID numbers, bank accounts, phones) never pass through it
unmasked, whatever a roster schema or a county setting says; free-text cells are scrubbed of
anything that looks like one of those numbers.

The fingerprint is SHA-256 over a canonical serialisation (key-sorted compact JSON, UTF-8) of the
view's content, fixed when the notice is published; the QR code on the printed page carries it.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.masking import MaskPolicy, county_policy, mask_free_text, mask_id
from app.money import amount_in_words, format_quantity, format_yuan

#: columns that are personal whatever a schema says; only ``id_number`` may appear, masked
NEVER_PUBLIC = ("bank_account", "phone", "address")

@dataclass(frozen=True)
class PublicColumn:
    key: str
    label: str
    kind: str  # seq | text | group | name | id_masked | quantity | rate | money
    unit: str = ""


@dataclass(frozen=True)
class GroupSubtotal:
    group: str
    rows: int
    quantity: str
    amount_fen: int


@dataclass(frozen=True)
class PublicSignOff:
    kind: str
    body: str
    names: tuple[str, ...]
    signed_on: str


@dataclass(frozen=True)
class PublicNotice:
    """Everything a printed notice or the public page may show — and nothing more.

    Row cells are canonical values: money as integer fen, quantities and rates as decimal strings,
    text as text. ``display_row`` formats them for people.
    """

    notice_id: str
    edition: int
    notice_type: str
    category: str
    title: str
    doc_number: str
    salutation: str
    body: str
    legal_basis: str
    issuer: str
    township: str
    village: str
    contact_person: str
    contact_phone: str
    supervision_phone: str
    objection_clause: str
    posting_start: str | None
    posting_end: str | None
    posting_days: int | None
    posting_unit: str | None
    columns: tuple[PublicColumn, ...]
    rows: tuple[tuple[Any, ...], ...]
    group_subtotals: tuple[GroupSubtotal, ...]
    total_rows: int
    total_quantity: str
    total_amount_fen: int
    amount_in_words: str
    withheld: tuple[str, ...]
    sign_offs: tuple[PublicSignOff, ...]

    def canonical_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_canonical_json(cls, text: str | bytes) -> PublicNotice:
        data = json.loads(text)
        data["columns"] = tuple(PublicColumn(**c) for c in data["columns"])
        data["rows"] = tuple(tuple(r) for r in data["rows"])
        data["group_subtotals"] = tuple(GroupSubtotal(**g) for g in data["group_subtotals"])
        data["withheld"] = tuple(data["withheld"])
        data["sign_offs"] = tuple(
            PublicSignOff(s["kind"], s["body"], tuple(s["names"]), s["signed_on"]) for s in data["sign_offs"]
        )
        return cls(**data)

    def fingerprint(self) -> str:
        return hashlib.sha256(self.canonical_json()).hexdigest()

    def display_row(self, row: tuple[Any, ...]) -> list[str]:
        return [display_cell(c, v) for c, v in zip(self.columns, row, strict=True)]


def display_cell(column: PublicColumn, value: Any) -> str:
    if value is None or value == "":
        return ""
    if column.kind == "money":
        return format_yuan(value)
    return str(value)


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_template(template: str, values: dict[str, Any]) -> str:
    """Fill ``{placeholders}``; unknown ones stay as written so a clerk sees them."""
    try:
        return string.Formatter().vformat(template, (), _Keep(values))
    except (ValueError, IndexError):
        return template


def _sum_quantity(values: list[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))


def build_public_view(
    *,
    notice: dict[str, Any],
    notice_type: dict[str, Any],
    rows: list[dict[str, Any]],
    sign_offs: list[dict[str, Any]],
    policy: MaskPolicy,
    names: dict[str, str],
) -> PublicNotice:
    """Build the public view from plain data.

    ``notice``/``notice_type`` are field dicts, ``rows`` roster-row dicts in ``seq`` order,
    ``names`` holds ``township``, ``village``, ``program`` and ``year`` display values.
    """
    schema = notice_type["roster_schema"]
    columns = [PublicColumn("seq", "序号", "seq")]
    withheld = []
    for c in schema:
        key = c["key"]
        if key in NEVER_PUBLIC:
            withheld.append(c["label"])
        elif key == "id_number":
            if policy.show_id_column:
                columns.append(PublicColumn(key, c["label"] + "（部分隐去）", "id_masked"))
            else:
                withheld.append(c["label"])
        elif c.get("public", True):
            kind = {"quantity": "quantity", "rate": "rate", "money": "money", "group": "group"}.get(c["kind"], "text")
            columns.append(PublicColumn(key, c["label"], kind, c.get("unit", "")))
    withheld_labels = tuple(dict.fromkeys(withheld))

    out_rows = []
    subtotals: dict[str, list] = {}
    for seq, r in enumerate(rows, start=1):
        cells: list[Any] = []
        for col in columns:
            key = col.key
            if key == "seq":
                cells.append(seq)
            elif key == "id_number":
                cells.append(mask_id(r["id_number"], policy))
            elif key == "quantity":
                cells.append(None if r["quantity"] is None else format_quantity(r["quantity"]))
            elif key == "rate":
                cells.append(None if r["rate"] is None else format_quantity(r["rate"]))
            elif key == "amount":
                cells.append(r["amount_fen"])
            elif key in ("group", "name", "remark"):
                cells.append(mask_free_text(r[{"group": "group_name"}.get(key, key)], policy))
            else:
                cells.append(mask_free_text(str(r["extra"].get(key, "")), policy))
        out_rows.append(tuple(cells))
        sub = subtotals.setdefault(r["group_name"], [0, [], 0])
        sub[0] += 1
        sub[1].append(r["quantity"])
        sub[2] += r["amount_fen"] or 0

    total_fen = sum((r["amount_fen"] or 0) for r in rows)
    total_qty = _sum_quantity([r["quantity"] for r in rows])
    has_groups = any(c.kind == "group" for c in columns) and len(subtotals) > 1
    group_subtotals = tuple(
        GroupSubtotal(mask_free_text(g, policy), n, format_quantity(_sum_quantity(q)), a)
        for g, (n, q, a) in subtotals.items()
    ) if has_groups else ()

    words = amount_in_words(total_fen)
    figures = {
        **names,
        "households": len(rows),
        "quantity": format_quantity(total_qty),
        "amount": format_yuan(total_fen),
        "amount_words": words,
        "rate": names.get("rate", ""),
        "legal_basis": notice["legal_basis"] or notice_type["legal_basis"],
        "issuer": notice["issuer"],
    }

    def iso(d: date | str | None) -> str | None:
        return d.isoformat() if isinstance(d, date) else d

    return PublicNotice(
        notice_id=notice["id"],
        edition=notice["edition"],
        notice_type=notice_type["name"],
        category=notice_type["category"],
        title=mask_free_text(render_template(notice["title"], figures), policy),
        doc_number=notice["doc_number"],
        salutation=notice["salutation"],
        body=mask_free_text(render_template(notice["body"], figures), policy),
        legal_basis=figures["legal_basis"],
        issuer=notice["issuer"],
        township=names.get("township", ""),
        village=names.get("village", ""),
        contact_person=notice["contact_person"],
        contact_phone=notice["contact_phone"],
        supervision_phone=notice["supervision_phone"],
        objection_clause=mask_free_text(render_template(notice_type["objection_clause"], figures), policy),
        posting_start=iso(notice["posting_start"]),
        posting_end=iso(notice["posting_end"]),
        posting_days=notice["posting_days"],
        posting_unit=notice["posting_unit"],
        columns=tuple(columns),
        rows=tuple(out_rows),
        group_subtotals=group_subtotals,
        total_rows=len(rows),
        total_quantity=format_quantity(total_qty),
        total_amount_fen=total_fen,
        amount_in_words=words,
        withheld=withheld_labels,
        sign_offs=tuple(
            PublicSignOff(s["kind"], s["body"], tuple(s["names"]), iso(s["signed_on"]) or "")
            for s in sign_offs
        ),
    )


def view_names(township: str, village: str = "", program: dict | None = None) -> dict[str, str]:
    """The display values a notice's templates name (``build_public_view``'s ``names``), from the
    township's and village's names and the program's fields (``name``, ``year``, ``rate``)."""
    program = program or {}
    rate = program.get("rate")
    return {"township": township, "village": village, "program": program.get("name", "") or "",
            "year": str(program["year"]) if program.get("year") is not None else "",
            "rate": str(rate) if rate is not None else ""}


def public_view_from_wire(*, notice: dict[str, Any], notice_type: dict[str, Any], rows: list[dict[str, Any]],
                          sign_offs: list[dict[str, Any]], settings: dict[str, Any], township: str,
                          village: str = "", program: dict | None = None) -> PublicNotice:
    """The public view from rows as they travel between workstation and county (column names,
    JSON-plain values): how the county derives, from the rows it holds, what a township may
    publish. ``rows``/``sign_offs``: the live ones of the notice, in any order; ``settings``: the
    county's settings by key (absent keys take their defaults)."""
    from app.settings import COUNTY_DEFAULTS

    def decimal(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    def shown(key: str) -> Any:
        return settings.get(key, COUNTY_DEFAULTS[key])

    plain_rows = [{**r, "quantity": decimal(r.get("quantity")), "rate": decimal(r.get("rate")),
                   "extra": r.get("extra") or {}} for r in sorted(rows, key=row_order)]
    return build_public_view(
        notice=notice, notice_type=notice_type, rows=plain_rows, sign_offs=sorted(sign_offs, key=sign_off_order),
        policy=county_policy(shown("id_mask_pattern"), bool(shown("show_id_column"))),
        names=view_names(township, village, program))


def row_order(row: dict[str, Any]) -> tuple:
    """The order of a notice's rows in its public view: by position, then id."""
    return (row["seq"], row["id"])


def sign_off_order(sign_off: dict[str, Any]) -> tuple:
    """The order of a notice's sign-offs in its public view: by date signed, then when recorded."""
    return (str(sign_off["signed_on"]), sign_off.get("updated_at") or "", sign_off["id"])
