"""The sync protocol shared by the workstation client and the county server (SYNC.md).

Plain definitions only: no HTTP client, no server framework, no database.
"""

from __future__ import annotations

PROTOCOL_VERSION = 1
PROTOCOL_HEADER = "X-Gongkai-Protocol"

#: bounded batches: the client chunks, the server refuses larger ones
MAX_BATCH_CHANGES = 500
MAX_BATCH_BYTES = 2 * 1024 * 1024  # compressed request body
MAX_INFLATED_BYTES = 32 * 1024 * 1024  # a gzip body may not inflate beyond this
MAX_PULL_LIMIT = 2000

#: rows the county owns and sends to every township
COUNTY_ENTITIES = frozenset({"region", "notice_type", "program", "holiday_override", "county_setting"})

#: rows a township owns and pushes (``program`` only for the township's own local programs)
TOWNSHIP_ENTITIES = frozenset({
    "notice", "roster_row", "sign_off", "board", "posting", "evidence_file", "objection",
    "objection_answer", "audit_event", "program",
})

#: a published notice edition may still move to one of these, and change only these fields
FROZEN_NOTICE_STATUSES = frozenset({"published", "closed", "superseded", "withdrawn"})
NOTICE_FIELDS_AFTER_PUBLISH = frozenset({
    "status", "closed_at", "funds_released", "withdraw_reason", "version", "updated_at",
})

