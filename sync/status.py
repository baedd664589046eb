"""The sync state a clerk sees: enrolled or not, the county server, the last success and the last
error, how many changes wait to be sent, open conflicts, the clock check, and a log of recent
sync runs (kept in the LocalSetting ``sync_log``; newest first, bounded).

Read-only except ``record_run``; safe to call from any thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime

from app.context import Context
from app.settings import get_local, set_local
from db.models import Outbox, SyncProblem, SyncState
from sync.protocol import COUNTY_ENTITIES

LOG_KEY = "sync_log"
LOG_LENGTH = 50
#: a workstation clock further than this from the county server's gets a warning (SYNC.md "Time")
CLOCK_SKEW_WARNING_SECONDS = 300

KINDS = ("sync", "bundle_export", "bundle_import", "enroll")


@dataclass(frozen=True)
class SyncRun:
    """One sync run as the log keeps it. ``at`` is UTC ISO; counts are changes."""

    at: str
    kind: str  # sync | bundle_export | bundle_import | enroll
    ok: bool
    pushed: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    pulled: int = 0
    requests: int = 0
    seconds: float = 0.0
    error: str = ""  # clerk-readable text, no personal data
    offline: bool = False  # the county server could not be reached
    cancelled: bool = False
    clock_skew: float | None = None  # seconds: workstation clock minus the county server's
    file: str = ""  # bundle file name

    @classmethod
    def from_dict(cls, data: dict) -> SyncRun:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def at_datetime(self) -> datetime:
        return parse_utc(self.at)


@dataclass(frozen=True)
class SyncStatus:
    enrolled: bool
    server_url: str
    device_id: str
    last_success_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    offline: bool  # the latest attempt could not reach the county server
    queue: int  # changes waiting to be sent
    open_problems: int  # conflicts and refusals waiting for the clerk
    clock_skew: float | None  # seconds, from the latest exchange with the server
    runs: tuple[SyncRun, ...]  # newest first

    @property
    def clock_warning(self) -> bool:
        return self.clock_skew is not None and abs(self.clock_skew) > CLOCK_SKEW_WARNING_SECONDS


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def queued_changes() -> int:
    """Outbox entries that a push will send (the county's own rows edited locally are not sent)."""
    county = [e for e in COUNTY_ENTITIES if e != "program"]
    q = Outbox.select().where(Outbox.entity.not_in(county))
    county_programs = (Outbox.entity == "program") & Outbox.payload.contains('"township_id":null')
    return q.count() - Outbox.select().where(county_programs).count()


def sync_log() -> list[SyncRun]:
    return [SyncRun.from_dict(d) for d in (get_local(LOG_KEY) or []) if isinstance(d, dict)]


def record_run(ctx: Context, run: SyncRun) -> None:
    """Add a run to the log (newest first, at most LOG_LENGTH kept)."""
    with ctx.write():
        runs = [asdict(run), *(get_local(LOG_KEY) or [])][:LOG_LENGTH]
        set_local(LOG_KEY, runs)


def sync_status(ctx: Context) -> SyncStatus:
    state = SyncState.get_or_none(SyncState.id == 1)
    runs = tuple(sync_log())
    enrolled = bool(state and state.token)
    successes = [r.at_datetime for r in runs if r.ok and r.kind in ("sync", "bundle_import")]
    if state and state.last_success_at:
        successes.append(parse_utc(state.last_success_at))
    last_success = max(successes, default=None)
    attempts = [r for r in runs if r.kind in ("sync", "bundle_import") and not r.cancelled]
    last_failed = attempts[0] if attempts and not attempts[0].ok else None
    last_error = (state.last_error if state else None) or (last_failed.error if last_failed else "")
    last_error_at = parse_utc(state.last_error_at) if state and state.last_error_at else None
    if last_failed is not None and (last_error_at is None or last_failed.at_datetime > last_error_at):
        last_error_at = last_failed.at_datetime
    if last_error_at is not None and last_success is not None and last_success > last_error_at:
        last_error, last_error_at = "", None  # settled by a later success
    skews = [r.clock_skew for r in runs if r.clock_skew is not None]
    open_problems = SyncProblem.select().where(SyncProblem.resolved_at.is_null()).count()
    return SyncStatus(
        enrolled=enrolled,
        server_url=(state.server_url or "") if state else "",
        device_id=(state.device_id or "") if state else "",
        last_success_at=last_success,
        last_error=last_error or "",
        last_error_at=last_error_at if last_error else None,
        offline=bool(last_error and last_failed is not None and last_failed.offline),
        queue=queued_changes(),
        open_problems=open_problems,
        clock_skew=skews[0] if skews else None,
        runs=runs,
    )
