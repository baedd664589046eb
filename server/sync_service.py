"""Server half of SYNC.md: enrolment, authentication, push and pull. No web framework here.

A push batch is applied in one transaction that takes its sequence numbers last, by an increment
that locks the counter row until commit, so batches commit in sequence order; its result is stored under the batch id and returned again, unchanged,
for a repeated batch id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from peewee import Tuple

from server.db import database, is_postgres, write_transaction
from server.models import (
    SERVER_MODELS,
    Blob,
    Device,
    EnrollCode,
    IdLookup,
    PushBatch,
    SeqCounter,
    ServerMeta,
    SyncRow,
    Township,
)
from sync.protocol import (
    COUNTY_ENTITIES,
    FROZEN_NOTICE_STATUSES,
    MAX_BATCH_CHANGES,
    MAX_PULL_LIMIT,
    NOTICE_FIELDS_AFTER_PUBLISH,
    TOWNSHIP_ENTITIES,
)

ENROLL_CODE_HOURS = 72
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone


class SyncError(Exception):
    """A request the server refuses as a whole; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_schema() -> None:
    with database.atomic():
        database.create_tables(SERVER_MODELS, safe=True)
        if SeqCounter.get_or_none(SeqCounter.id == 1) is None:
            SeqCounter.create(id=1, value=0)
        for key, make in (("epoch", lambda: str(uuid.uuid4())), ("id_hmac_key", lambda: secrets.token_hex(32))):
            if ServerMeta.get_or_none(ServerMeta.key == key) is None:
                ServerMeta.create(key=key, value=make())


def meta(key: str) -> str:
    return ServerMeta.get_by_id(key).value


_epoch_cache: dict[tuple, tuple[float, str]] = {}


def epoch() -> str:
    """The server epoch, read at most every few seconds per database (it changes only when the
    database is restored from a backup, which restarts the server anyway)."""
    import time

    key = (id(database.obj), database.obj.database)
    cached = _epoch_cache.get(key)
    if cached is None or time.monotonic() - cached[0] > 5:
        cached = (time.monotonic(), meta("epoch"))
        _epoch_cache[key] = cached
    return cached[1]


# ------------------------------------------------------------------------- enrolment and tokens
def create_enroll_code(township_code: str, hours: int = ENROLL_CODE_HOURS) -> str:
    """A one-time code (e.g. 'K7QF-9ZRM-2WXA') for enrolling one workstation of a township."""
    township = Township.get_or_none(Township.code == township_code)
    if township is None:
        raise SyncError(404, f"unknown township code {township_code}")
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    code = "-".join(raw[i : i + 4] for i in (0, 4, 8))
    now = datetime.now(UTC)
    EnrollCode.create(code_hash=_digest(raw), township_id=township.id, created_at=now.isoformat(),
                      expires_at=(now + timedelta(hours=hours)).isoformat())
    return code


def enroll(code: str, device_name: str) -> tuple[Device, str]:
    """Exchange a one-time code for a device id and a bearer token (stored hashed only)."""
    raw = "".join(c for c in code.upper() if c.isalnum())
    with write_transaction():
        entry = EnrollCode.get_or_none(EnrollCode.code_hash == _digest(raw))
        if entry is None or entry.used_at is not None or entry.expires_at < datetime.now(UTC).isoformat():
            raise SyncError(403, "enrolment code unknown, used or expired")
        token = secrets.token_urlsafe(32)
        device = Device.create(id=str(uuid.uuid4()), township_id=entry.township_id, name=device_name[:100],
                               token_hash=_digest(token), created_at=now_iso())
        entry.used_at = now_iso()
        entry.save()
    return device, token


def authenticate(token: str | None) -> Device:
    if not token:
        raise SyncError(401, "missing bearer token")
    device = Device.get_or_none(Device.token_hash == _digest(token))
    if device is None:
        raise SyncError(401, "unknown token")
    if device.revoked_at is not None:
        raise SyncError(401, "this workstation's access was revoked by the county")
    return device


def revoke(device_id: str) -> None:
    Device.update(revoked_at=now_iso()).where(Device.id == device_id).execute()


# ------------------------------------------------------------------------- push
@dataclass
class _Outcome:
    accepted: list[dict]
    duplicates: list[dict]
    conflicts: list[dict]
    rejected: list[dict]

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "conflicts": self.conflicts,
                "rejected": self.rejected}


def id_hmac(id_number: str, key: bytes | None = None) -> str:
    """Keyed hash of an ID number; pass ``key`` when hashing many (it is read from the database)."""
    key = key if key is not None else bytes.fromhex(meta("id_hmac_key"))
    return hmac.new(key, id_number.encode(), hashlib.sha256).hexdigest()


def _check_change(device: Device, change: dict, current: SyncRow | None, notices) -> str | None:
    """Why the device may not make this change, or None when it may."""
    entity, data = change["entity"], change["data"]
    if entity in COUNTY_ENTITIES and entity != "program":
        return f"{entity} rows belong to the county"
    if entity not in TOWNSHIP_ENTITIES:
        return f"unknown entity {entity}"
    if data.get("township_id") != device.township_id:
        return "row belongs to another township"
    if current is not None and current.township_id != device.township_id:
        return "row belongs to another township"
    if entity == "program" and data.get("township_id") is None:
        return "county programs belong to the county"
    if current is None:
        return None
    old = json.loads(current.data)
    if entity == "notice" and old.get("status") in FROZEN_NOTICE_STATUSES:
        changed = {k for k in set(old) | set(data) if old.get(k) != data.get(k)}
        if changed - NOTICE_FIELDS_AFTER_PUBLISH:
            return "a published notice is immutable; publish a correction instead"
    if entity == "roster_row" and notices.status(old.get("notice_id")) in FROZEN_NOTICE_STATUSES:
        return "rows of a published notice are immutable"
    if entity == "objection" and old.get("origin") == "portal":
        changed = {k for k in set(old) | set(data) if old.get(k) != data.get(k)}
        if changed - {"status", "version", "updated_at"}:
            return "a resident's objection is kept as submitted; answer it instead"
    return None


def push(device: Device, body: dict) -> dict:
    """Apply a batch; the same ``batch_id`` again returns the stored result and changes nothing.

    The rows a batch touches are read (and on PostgreSQL locked) in one query first; the sequence
    counter is locked only for the short write phase, so concurrent townships queue briefly.
    """
    batch_id = body.get("batch_id")
    changes = body.get("changes")
    if not isinstance(batch_id, str) or not 8 <= len(batch_id) <= 64:
        raise SyncError(422, "batch_id must be a string of 8 to 64 characters")
    if not isinstance(changes, list) or len(changes) > MAX_BATCH_CHANGES:
        raise SyncError(422, f"changes must be a list of at most {MAX_BATCH_CHANGES}")
    stored = PushBatch.get_or_none(PushBatch.batch_id == batch_id)
    if stored is not None:
        return _replayed(stored, device)
    try:
        return _apply(device, batch_id, changes)
    except _Replay:
        return _replayed(PushBatch.get_by_id(batch_id), device)


def _apply(device: Device, batch_id: str, changes: list) -> dict:
    out = _Outcome([], [], [], [])
    well_formed = []
    for change in changes:
        reason = _malformed(change)
        if reason:
            out.rejected.append({"id": str(change.get("id", ""))[:64] if isinstance(change, dict) else "",
                                 "reason": reason})
        else:
            well_formed.append(change)
    with write_transaction():
        keys = {(c["entity"], c["id"]) for c in well_formed}
        current: dict[tuple[str, str], SyncRow] = {}
        if keys:
            q = SyncRow.select().where(Tuple(SyncRow.entity, SyncRow.id).in_(list(keys)))
            current = {(r.entity, r.id): r for r in (q.for_update() if is_postgres() else q)}
        notices = _NoticeStatus(current)
        staged: dict[tuple[str, str], dict] = {}
        for change in well_formed:
            key = (change["entity"], change["id"])
            row = current.get(key)
            reason = _check_change(device, change, row, notices)
            if reason:
                out.rejected.append({"id": change["id"], "reason": reason})
                continue
            if row is not None and row.version == change["version"] and json.loads(row.data) == change["data"]:
                out.duplicates.append({"id": change["id"], "version": row.version, "seq": row.seq})
                continue
            if (row is None and change["base_version"] is not None) or (
                    row is not None and change["base_version"] != row.version):
                out.conflicts.append({"id": change["id"], "entity": change["entity"],
                                      "server_version": row.version if row else None,
                                      "server_data": json.loads(row.data) if row else None})
                continue
            staged[key] = change
            # a later change of the same row in this batch builds on this one
            current[key] = SyncRow(entity=key[0], id=key[1], version=change["version"],
                                   data=json.dumps(change["data"]), seq=0, township_id=device.township_id)
            if key[0] == "notice":
                notices.known[key[1]] = change["data"].get("status")
            out.accepted.append(change)
        # The write phase, as few statements as possible while the counter row is locked: the
        # increment takes the lock and returns the new value in one statement; the lock is held
        # until commit, so commit order equals sequence order.
        last = take_sequence(len(out.accepted)) if out.accepted else 0
        seq = last - len(out.accepted)
        accepted = []
        for change in out.accepted:
            seq += 1
            accepted.append({"id": change["id"], "version": change["version"], "seq": seq})
            staged[(change["entity"], change["id"])] = {**change, "_seq": seq}
        _store_many(list(staged.values()), device.township_id)
        out.accepted = accepted
        result = out.as_dict() | {"epoch": epoch()}
        stored = (PushBatch.insert(batch_id=batch_id, device_id=device.id, result=json.dumps(result),
                                   created_at=now_iso())
                  .on_conflict_ignore().returning(PushBatch.batch_id).execute())
        if not list(stored):
            raise _Replay()  # a concurrent delivery of the same batch committed first: undo ours
    _touch(device)
    return result


_last_touch: dict[str, float] = {}


def _touch(device: Device) -> None:
    """Record when a workstation was last seen; at most once a minute per workstation and process,
    to keep a write off the path of every push."""
    import time

    now = time.monotonic()
    if now - _last_touch.get(device.id, -120.0) >= 60:
        _last_touch[device.id] = now
        Device.update(last_seen_at=now_iso()).where(Device.id == device.id).execute()


def take_sequence(count: int) -> int:
    """Advance the change sequence by ``count`` and return its new value. The counter row stays
    locked until the surrounding transaction ends."""
    sql = f'UPDATE "seq_counter" SET "value" = "value" + {database.param} WHERE "id" = 1 RETURNING "value"'
    (value,) = database.execute_sql(sql, (count,)).fetchone()
    return value


class _Replay(Exception):
    pass


class _NoticeStatus:
    """Status of notices referenced by a batch, read once per notice."""

    def __init__(self, current: dict) -> None:
        self.known = {k[1]: json.loads(r.data).get("status") for k, r in current.items() if k[0] == "notice"}

    def status(self, notice_id: str | None) -> str | None:
        if notice_id not in self.known:
            row = SyncRow.get_or_none((SyncRow.entity == "notice") & (SyncRow.id == notice_id))
            self.known[notice_id] = json.loads(row.data).get("status") if row else None
        return self.known[notice_id]


def _replayed(stored: PushBatch, device: Device) -> dict:
    if stored.device_id != device.id:
        raise SyncError(409, "batch id already used by another workstation")
    return json.loads(stored.result)


def _malformed(change: Any) -> str | None:
    if not isinstance(change, dict):
        return "change must be an object"
    if not isinstance(change.get("entity"), str) or not isinstance(change.get("id"), str):
        return "entity and id must be strings"
    if not 1 <= len(change["id"]) <= 64:
        return "id must be 1 to 64 characters"
    version, base = change.get("version"), change.get("base_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return "version must be a positive integer"
    if base is not None and (not isinstance(base, int) or isinstance(base, bool) or base >= version):
        return "base_version must be null or an integer below version"
    if not isinstance(change.get("data"), dict):
        return "data must be an object"
    if change["data"].get("id") != change["id"]:
        return "data.id must equal id"
    return None


def _store_many(changes: list[dict], township_id: str | None) -> None:
    """Upsert the final state of each changed row in one statement (and its ID lookup)."""
    if not changes:
        return
    now = now_iso()
    rows = [{"entity": c["entity"], "id": c["id"], "township_id": township_id, "version": c["version"],
             "deleted": bool(c["data"].get("deleted")), "seq": c["_seq"],
             "data": json.dumps(c["data"], ensure_ascii=False, sort_keys=True), "updated_at": now} for c in changes]
    SyncRow.insert_many(rows).on_conflict(
        conflict_target=[SyncRow.entity, SyncRow.id],
        preserve=[SyncRow.township_id, SyncRow.version, SyncRow.deleted, SyncRow.seq, SyncRow.data, SyncRow.updated_at],
    ).execute()
    lookups = []
    key = None
    for c in changes:
        if c["entity"] != "roster_row":
            continue
        data = c["data"]
        key = key or bytes.fromhex(meta("id_hmac_key"))
        lookups.append({"row_id": c["id"], "notice_id": str(data.get("notice_id", "")),
                        "row_seq": int(data.get("seq") or 0),
                        "id_hmac": id_hmac(data["id_number"], key) if data.get("id_number") else None,
                        "deleted": bool(data.get("deleted"))})
    if lookups:
        IdLookup.insert_many(lookups).on_conflict(
            conflict_target=[IdLookup.row_id],
            preserve=[IdLookup.notice_id, IdLookup.row_seq, IdLookup.id_hmac, IdLookup.deleted],
        ).execute()


# ------------------------------------------------------------------------- pull
def pull(device: Device, since: int, limit: int) -> dict:
    """County rows plus the device's own township's rows changed after ``since``, in seq order."""
    return json.loads(pull_json(device, since, limit))


def pull_json(device: Device, since: int, limit: int) -> str:
    """:func:`pull` as JSON text: stored row data is spliced in as it is, never decoded."""
    limit = max(1, min(limit, MAX_PULL_LIMIT))
    rows = list(
        SyncRow.select(SyncRow.seq, SyncRow.entity, SyncRow.id, SyncRow.version, SyncRow.deleted, SyncRow.data)
        .where((SyncRow.seq > since) & (SyncRow.township_id.is_null() | (SyncRow.township_id == device.township_id)))
        .order_by(SyncRow.seq)
        .limit(limit + 1)
        .tuples()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    dumps = json.dumps
    changes = ",".join(
        f'{{"seq":{seq},"entity":{dumps(entity)},"id":{dumps(row_id)},"version":{version},'
        f'"deleted":{"true" if deleted else "false"},"data":{data}}}'
        for seq, entity, row_id, version, deleted, data in rows
    )
    next_seq = rows[-1][0] if rows else since
    return (f'{{"changes":[{changes}],"next":{next_seq},"more":{"true" if more else "false"},'
            f'"epoch":{dumps(epoch())}}}')


# ------------------------------------------------------------------------- blobs
def put_blob(sha256: str, data: bytes) -> None:
    Blob.insert(sha256=sha256, size=len(data), data=data, created_at=now_iso()).on_conflict_ignore().execute()


def get_blob(device: Device, sha256: str) -> bytes:
    """A blob the device's township refers to (an evidence photo of its own postings)."""
    referenced = SyncRow.select().where(
        (SyncRow.entity == "evidence_file") & (SyncRow.township_id == device.township_id)
        & SyncRow.data.contains(f'"sha256": "{sha256}"')).exists()
    blob = Blob.get_or_none(Blob.sha256 == sha256)
    if blob is None or not referenced:
        raise SyncError(404, "no such blob for this township")
    return bytes(blob.data)


# ------------------------------------------------------------------------- county-owned rows
def put_county_row(entity: str, row_id: str, data: dict) -> int:
    """Create or replace a county-owned row (reference data); returns its sequence number."""
    if entity not in COUNTY_ENTITIES:
        raise SyncError(422, f"{entity} is not county data")
    with write_transaction():
        current = SyncRow.get_or_none((SyncRow.entity == entity) & (SyncRow.id == row_id))
        version = (current.version + 1) if current else 1
        data = {**data, "id": row_id, "version": version, "township_id": None, "updated_at": now_iso(),
                "deleted": bool(data.get("deleted"))}
        seq = take_sequence(1)
        _store_many([{"entity": entity, "id": row_id, "version": version, "data": data, "_seq": seq}], None)
    return seq
