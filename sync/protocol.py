"""The sync protocol shared by the workstation client and the county server (SYNC.md).

Plain definitions only: no HTTP client, no server framework, no database.
"""

from __future__ import annotations

PROTOCOL_VERSION = 1
PROTOCOL_HEADER = "X-Gongkai-Protocol"
#: the county's time (ISO 8601, UTC) on every sync answer: workstations learn their clock's error
COUNTY_TIME_HEADER = "X-Gongkai-County-Time"

#: bounded batches: the client chunks, the server refuses larger ones
MAX_BATCH_CHANGES = 500
MAX_BATCH_BYTES = 2 * 1024 * 1024  # compressed request body
MAX_INFLATED_BYTES = 32 * 1024 * 1024  # a gzip body may not inflate beyond this
MAX_PULL_LIMIT = 2000

#: rows the county owns and sends to every township
COUNTY_ENTITIES = frozenset({"region", "notice_type", "program", "holiday_override", "county_setting"})

#: rows the county keeps for one township and sends to it alone: its directory of workstations
#: (id, name, revoked), which names each notice's owner, and the public pages of its notices the
#: county has taken down (id = the notice's id; ``active`` false once put back)
COUNTY_TOWNSHIP_ENTITIES = frozenset({"workstation", "page_takedown"})

#: rows a township owns and pushes (``program`` only for the township's own local programs)
TOWNSHIP_ENTITIES = frozenset({
    "notice", "roster_row", "sign_off", "board", "posting", "evidence_file", "objection",
    "objection_answer", "audit_event", "program",
})

#: a published notice edition may still move to one of these, and change only these fields
FROZEN_NOTICE_STATUSES = frozenset({"published", "closed", "superseded", "withdrawn"})
NOTICE_FIELDS_AFTER_PUBLISH = frozenset({
    "status", "closed_at", "funds_released", "withdraw_reason", "version", "updated_at", "owner_device",
})


#: the rows compared by the check after sync: the township's own rows (county reference data is
#: the county's to send and may legitimately hold extra local rows, e.g. the shipped catalogue)
CHECK_ENTITIES = tuple(sorted(TOWNSHIP_ENTITIES))
#: at most this many rows (pending or in dispute) are left out of one check; beyond it, no check
MAX_CHECK_EXCLUDED = 5000


#: at most this many columns per entity are named for the content digest
MAX_CHECK_FIELDS = 100


def row_content(values: list) -> str:
    """The canonical text of a row's content: its values in the order of the columns the
    workstation named (nested objects with sorted keys), as both sides compute it."""
    import json

    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def row_hash(row_id: str, version: int, content: str = "") -> int:
    """One row's share of an entity digest. The digest is the XOR of its rows' shares, so both sides
    can compute it in any order (PostgreSQL and Python sort text differently) and leave rows out.
    ``content`` (:func:`row_content`): two copies of a row at the same version that differ in
    content differ in digest."""
    import hashlib

    text = f"{row_id}:{version}:{content}" if content else f"{row_id}:{version}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big")


def digest_hex(value: int) -> str:
    return f"{value:032x}"


#: why the county refuses a change: the ``code`` of each entry of a push result's ``rejected``
#: (with an English ``reason`` for logs, and ``notice_id`` for the published-notice ones)
REFUSAL_CODES = frozenset({
    "malformed", "county_row", "unknown_entity", "other_township", "county_program",
    "published_notice", "published_notice_part", "resident_objection", "implausible_date", "not_owner",
    "public_view",
})
#: refusals where the county's copy is the truth: the refusal carries it (``server_version``,
#: ``server_data``; None where the county has no such row) and the workstation takes it, keeping
#: its own version in the problem record
COUNTY_COPY_REFUSALS = frozenset({"published_notice", "published_notice_part", "resident_objection",
                                  "implausible_date", "not_owner", "public_view"})
