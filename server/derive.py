"""What the county itself makes of a notice a township publishes: its public view, built from the
rows, sign-offs and reference data the county holds, with the county's own settings, by the same
function the workstation prints with (:func:`app.public_view.public_view_from_wire`).

The county serves nothing a workstation merely claims: a publish whose public content or
fingerprint differs from the county's own derivation is refused (``public_view``).
"""

from __future__ import annotations

import json
from typing import Any

from app.public_view import PublicNotice, public_view_from_wire
from app.settings import COUNTY_DEFAULTS, county_setting_id
from server.models import IdLookup, SyncRow


class Underivable(Exception):
    """The county lacks what the notice's public view is made from (its notice type, say)."""


def _data(entity: str, row_id: Any) -> dict | None:
    if not isinstance(row_id, str):
        return None
    found = SyncRow.get_or_none((SyncRow.entity == entity) & (SyncRow.id == row_id) & (~SyncRow.deleted))
    return json.loads(found.data) if found is not None else None


def county_settings() -> dict[str, Any]:
    """The county's settings that shape a public view, by key."""
    out = {}
    for key in ("id_mask_pattern", "show_id_column"):
        found = _data("county_setting", county_setting_id(key))
        out[key] = found.get("value", COUNTY_DEFAULTS[key]) if found else COUNTY_DEFAULTS[key]
    return out


def derived_view(notice: dict, pending: dict[tuple[str, str], dict]) -> PublicNotice:
    """The public view of ``notice`` (its data as pushed) from what the county holds, with
    ``pending`` (data by (entity, id)) — the changes of the same batch accepted before it — on top.
    Raises :class:`Underivable`."""
    nid, township_id = notice["id"], notice.get("township_id")
    notice_type = _data("notice_type", notice.get("notice_type_id"))
    if notice_type is None:
        raise Underivable("the county has no such notice type")
    township = _data("region", township_id)
    if township is None:
        raise Underivable("the county does not know the township")
    village = _data("region", notice.get("village_id")) if notice.get("village_id") else None
    program = _data("program", notice.get("program_id")) if notice.get("program_id") else None
    if (notice.get("village_id") and village is None) or (notice.get("program_id") and program is None):
        raise Underivable("the county does not know the notice's village or program")

    # every roster row has a "check my row" lookup naming its notice (kept when rows move)
    rows = {rid: json.loads(data) for rid, data in (
        SyncRow.select(SyncRow.id, SyncRow.data).join(IdLookup, on=(IdLookup.row_id == SyncRow.id))
        .where((SyncRow.entity == "roster_row") & (IdLookup.notice_id == nid)
               & (SyncRow.township_id == township_id)).tuples())}
    sign_offs = {sid: json.loads(data) for sid, data in (
        SyncRow.select(SyncRow.id, SyncRow.data)
        .where((SyncRow.entity == "sign_off") & (SyncRow.township_id == township_id)
               & SyncRow.data.contains(nid)).tuples())}
    for (entity, row_id), data in pending.items():
        if entity == "roster_row":
            rows[row_id] = data
        elif entity == "sign_off":
            sign_offs[row_id] = data

    def live(found: dict) -> list[dict]:
        return [d for d in found.values() if d.get("notice_id") == nid and not d.get("deleted")]

    try:
        return public_view_from_wire(
            notice=notice, notice_type=notice_type, rows=live(rows), sign_offs=live(sign_offs),
            settings=county_settings(), township=township.get("name", ""),
            village=village.get("name", "") if village else "", program=program)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise Underivable(f"the notice's rows cannot make a public view ({type(exc).__name__})") from exc


def publish_refusal(notice_id: str, data: dict, pending: dict[tuple[str, str], dict]) -> dict | None:
    """Why the county will not serve the public content a publish of ``data`` carries — it is not
    what the county derives itself — or None."""
    try:
        view = derived_view(data, pending)
    except Underivable as exc:
        return {"code": "public_view", "notice_id": notice_id, "reason": str(exc)}
    if data.get("fingerprint") != view.fingerprint() or data.get("public_snapshot") != view.canonical_json().decode():
        return {"code": "public_view", "notice_id": notice_id,
                "reason": "the published content is not what the county makes of the notice's rows and settings"}
    return None
