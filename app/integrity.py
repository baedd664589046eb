"""``verify``: is the database sound and untampered?

Checks, in order: SQLite's own integrity check, foreign keys, the audit chain, and every
published notice against what was frozen when it was published (public view fingerprint and the
digest of the full internal roster). The first problem found is named.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from app.audit import verify_chain
from app.boards import evidence_path
from app.context import Context
from app.notices import content_digest
from db.models import EvidenceFile, Notice

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

    frozen = Notice.select().where(Notice.status.in_(FROZEN_STATUSES) & Notice.fingerprint.is_null(False))
    checked["published_notices"] = 0
    for n in frozen:
        checked["published_notices"] += 1
        snapshot = (n.public_snapshot or "").encode("utf-8")
        if hashlib.sha256(snapshot).hexdigest() != n.fingerprint:
            problems.append(f"published notice {n.id} (edition {n.edition}): public view differs from its fingerprint")
        elif content_digest(n) != n.content_digest:
            problems.append(f"published notice {n.id} (edition {n.edition}): roster or header changed after publishing")

    checked["evidence_files"] = 0
    for e in EvidenceFile.select().where(~EvidenceFile.deleted):
        checked["evidence_files"] += 1
        path = evidence_path(ctx.evidence_dir, e.sha256)
        if not path.is_file():
            warnings.append(f"photo {e.sha256[:12]} is not on this workstation yet")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != e.sha256:
            problems.append(f"photo {e.sha256[:12]} was changed on disk")
    return IntegrityReport(not problems, tuple(problems), tuple(warnings), checked)
