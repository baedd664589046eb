"""The hash-chained audit log (tamper-evident: each event hashes the one before it).

Summaries never hold personal data: no ID numbers, bank accounts or phones — only ids, counts,
titles and statuses.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from peewee import fn

from app.context import Context
from db.changes import new_id, save_change, utc_now
from db.models import AuditEvent

GENESIS = "0" * 64


def _event_hash(e: AuditEvent) -> str:
    body = {
        "seq": e.seq,
        "id": e.id,
        "at": e.at,
        "user_id": e.user_id,
        "username": e.username,
        "action": e.action,
        "entity": e.object_entity,
        "entity_id": e.object_id,
        "summary": e.summary,
        "prev": e.prev_hash,
    }
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record(ctx: Context, user, action: str, entity: str, entity_id: str, summary: dict[str, Any]) -> AuditEvent:
    """Append one event. Call inside the transaction of the change it describes."""
    from app.settings import local_township_id, workstation_id

    station = workstation_id()
    last = (AuditEvent.select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.workstation_id == station)
            .order_by(AuditEvent.seq.desc()).first())
    event = AuditEvent(
        id=new_id(),
        workstation_id=station,
        seq=(last.seq + 1) if last else 1,
        at=utc_now(),
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", "") or "",
        action=action,
        object_entity=entity,
        object_id=entity_id,
        summary=summary,
        prev_hash=last.hash if last else GENESIS,
        township_id=local_township_id(),
    )
    event.hash = _event_hash(event)
    return save_change(event, created=True)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    broken_seq: int | None = None
    reason: str = ""


def verify_chain() -> ChainReport:
    """Walk each workstation's chain in order; report the first event whose link or content was
    altered, or that is missing."""
    count = 0
    stations = [w for (w,) in AuditEvent.select(AuditEvent.workstation_id).distinct().tuples()]
    for station in sorted(stations):
        prev = GENESIS
        expected_seq = 1
        events = AuditEvent.select().where(AuditEvent.workstation_id == station).order_by(AuditEvent.seq)
        for event in events.iterator():
            count += 1
            if event.seq != expected_seq:
                return ChainReport(False, count, expected_seq, "event missing from the chain")
            if event.prev_hash != prev:
                return ChainReport(False, count, event.seq, "link to the previous event does not match")
            if _event_hash(event) != event.hash:
                return ChainReport(False, count, event.seq, "event content was changed after it was written")
            prev = event.hash
            expected_seq += 1
    return ChainReport(True, count)


def count() -> int:
    return AuditEvent.select(fn.COUNT(AuditEvent.id)).scalar()
