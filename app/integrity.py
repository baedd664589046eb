"""``verify``: is the database sound and untampered?

Checks, in order: SQLite's own integrity check, foreign keys, the audit chain, every notice's
status against the audit log (a status no logged action gave it), and every published notice
against what was frozen when it was published (public view fingerprint, the digest of the full
internal roster, and the posting dates its publish event recorded). The first problem found is
named.

The chain cannot show that its newest events were cut off on their own; the county, which
receives every event, can: the check after each sync compares counts with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from app.audit import verify_chain
from app.boards import evidence_path
from app.context import Context
from app.notices import content_digest
from db.models import AuditEvent, EvidenceFile, Notice

FROZEN_STATUSES = ("published", "closed", "superseded", "withdrawn")


@dataclass(frozen=True)
class IntegrityReport:
    ok: bool
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def first_problem(self) -> str:
        return self.problems[0] if self.problems else ""


def verify_database(ctx: Context) -> IntegrityReport:
    db = ctx.db
    problems: list[str] = []
    warnings: list[str] = []
    checked: dict[str, int] = {}

    result = [r[0] for r in db.execute_sql("PRAGMA integrity_check").fetchall()]
    if result != ["ok"]:
        problems.append(f"SQLite integrity check failed: {result[0]}")
    fk = db.execute_sql("PRAGMA foreign_key_check").fetchall()
    if fk:
        table, rowid, parent, _ = fk[0]
        problems.append(f"foreign key broken: {table} row {rowid} points to a missing {parent} ({len(fk)} in all)")

    chain = verify_chain()
    checked["audit_events"] = chain.events
    if not chain.ok:
        problems.append(f"audit chain broken at event {chain.broken_seq}: {chain.reason}")

    logged = _logged_statuses()
    published = _publish_events()
    for n in Notice.select(Notice.id, Notice.edition, Notice.status).where(~Notice.deleted).iterator():
        if n.status != "draft" and n.status not in logged.get(n.id, ()):
            problems.append(f"notice {n.id} (edition {n.edition}): status {n.status} was not given by any "
                            "action in the audit log")

    frozen = Notice.select().where(Notice.status.in_(FROZEN_STATUSES) & Notice.fingerprint.is_null(False))
    checked["published_notices"] = 0
    for n in frozen:
        checked["published_notices"] += 1
        snapshot = (n.public_snapshot or "").encode("utf-8")
        events = published.get(n.id, [])
        if hashlib.sha256(snapshot).hexdigest() != n.fingerprint:
            problems.append(f"published notice {n.id} (edition {n.edition}): public view differs from its fingerprint")
        elif content_digest(n) != n.content_digest:
            problems.append(f"published notice {n.id} (edition {n.edition}): roster or header changed after publishing")
        elif not events:
            problems.append(f"published notice {n.id} (edition {n.edition}): no publish event in the audit log")
        elif not any(all(k not in event or event[k] == v for k, v in _frozen_facts(n).items()) for event in events):
            # one of them: the same notice published on two workstations logs two publishes, and
            # the edition the county kept is the one every workstation ends up holding
            problems.append(f"published notice {n.id} (edition {n.edition}): fingerprint, roster digest or posting "
                            "dates differ from those recorded when it was published")

    checked["evidence_files"] = 0
    for e in EvidenceFile.select().where(~EvidenceFile.deleted):
        checked["evidence_files"] += 1
        path = evidence_path(ctx.evidence_dir, e.sha256)
        if not path.is_file():
            warnings.append(f"photo {e.sha256[:12]} is not on this workstation yet")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != e.sha256:
            problems.append(f"photo {e.sha256[:12]} was changed on disk")
    return IntegrityReport(not problems, tuple(problems), tuple(warnings), checked)


def _logged_statuses() -> dict[str, set[str]]:
    """notice id → every status a logged lifecycle action gave it."""
    statuses: dict[str, set[str]] = {}
    query = (AuditEvent.select(AuditEvent.object_id, AuditEvent.action, AuditEvent.summary)
             .where((AuditEvent.object_entity == "notice") & AuditEvent.action.startswith("notice.")))
    for object_id, action, summary in query.tuples().iterator():
        to = "superseded" if action == "notice.superseded" else (summary or {}).get("to")
        if to:
            statuses.setdefault(object_id, set()).add(to)
    return statuses


def _publish_events() -> dict[str, list[dict]]:
    """notice id → the summaries of its publish events."""
    query = (AuditEvent.select(AuditEvent.object_id, AuditEvent.summary)
             .where((AuditEvent.object_entity == "notice") & (AuditEvent.action == "notice.publish")))
    events: dict[str, list[dict]] = {}
    for object_id, summary in query.tuples().iterator():
        events.setdefault(object_id, []).append(summary or {})
    return events


def _frozen_facts(n: Notice) -> dict[str, str | None]:
    """What a publish event records, in the form it records it (events written before the
    roster digest was recorded lack ``digest``; what is missing is not compared)."""
    return {"fingerprint": n.fingerprint, "digest": n.content_digest,
            "start": str(n.posting_start) if n.posting_start else None,
            "end": str(n.posting_end) if n.posting_end else None}
