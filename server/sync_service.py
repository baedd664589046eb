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
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple

import orjson
from peewee import __exception_wrapper__

from app.context import CHINA
from app.legal_time import aware_moment
from server.db import database, is_postgres, write_transaction
from server.derive import publish_refusal
from server.fields import MAX_INT, data_problem, unicode_text
from server.models import (
    SERVER_MODELS,
    AdminAudit,
    Blob,
    Device,
    EnrollCode,
    HandoverRequest,
    IdLookup,
    SeqCounter,
    ServerMeta,
    SyncRow,
    Township,
)
from sync.protocol import (
    COUNTY_ENTITIES,
    COUNTY_TOWNSHIP_ENTITIES,
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


class EpochChanged(SyncError):
    """A push based on the database as it was before a restore; ``extra`` names the new epoch."""

    def __init__(self, new_epoch: str) -> None:
        super().__init__(409, "the county database was restored from a backup; re-send and re-pull")
        self.extra = {"epoch": new_epoch}


def now_iso() -> str:
    """A record stamp: when a row was written, for people reading it. No decision reads it; what
    decides (expiry, posting state, due dates) takes the county's clock from the caller."""
    return iso_utc(datetime.now(UTC))


def iso_utc(moment: datetime) -> str:
    """``moment`` as the county stores times: UTC, to the millisecond, with a Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_converted: dict[tuple[str, str], str] = {}


def _sql(text: str) -> str:
    """``text``, written with ``%s`` placeholders, in the open database's parameter style."""
    param = database.param
    if param == "%s":
        return text
    converted = _converted.get((text, param))
    if converted is None:
        converted = _converted[(text, param)] = text.replace("%s", param)
    return converted


def _run(text: str, params: tuple | list = ()):
    """Execute hand-written SQL (the hot sync paths skip peewee's query builder); errors are
    peewee's, as for any query."""
    return database.execute_sql(_sql(text), params)


def create_schema() -> None:
    with database.atomic():
        database.create_tables(SERVER_MODELS, safe=True)
        _add_missing_columns()
        if SeqCounter.get_or_none(SeqCounter.id == 1) is None:
            SeqCounter.create(id=1, value=0)
        for key, make in (("epoch", lambda: str(uuid.uuid4())), ("id_hmac_key", lambda: secrets.token_hex(32))):
            if ServerMeta.get_or_none(ServerMeta.key == key) is None:
                ServerMeta.create(key=key, value=make())
        listed = SyncRow.select(SyncRow.id).where(SyncRow.entity == "workstation")
        for device in Device.select().where(Device.id.not_in(listed)):
            _list_device(device)  # enrolled before townships had a directory of workstations


def _add_missing_columns() -> None:
    """Columns added to the county's tables since a database was created (``create_tables``
    makes missing tables only): added empty (nullable), so rows written before keep working."""
    from playhouse.migrate import SchemaMigrator, migrate

    migrator = SchemaMigrator.from_database(database)
    for model in SERVER_MODELS:
        table = model._meta.table_name
        have = {c.name for c in database.get_columns(table)}
        missing = [f for f in model._meta.sorted_fields if f.column_name not in have]
        migrate(*(migrator.add_column(table, f.column_name, f) for f in missing))


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


def new_epoch() -> str:
    """Mark the database as restored from a backup: workstations that see the new epoch re-send
    what the county lost and re-pull from zero (SYNC.md). Returns the new epoch."""
    value = str(uuid.uuid4())
    with write_transaction():
        ServerMeta.insert(key="epoch", value=value).on_conflict(
            conflict_target=[ServerMeta.key], update={ServerMeta.value: value}).execute()
    _epoch_cache.clear()
    return value


# ------------------------------------------------------------------------- enrolment and tokens
def create_enroll_code(township_code: str, now: datetime, hours: int = ENROLL_CODE_HOURS) -> str:
    """A one-time code (e.g. 'K7QF-9ZRM-2WXA') for enrolling one workstation of a township, valid
    for ``hours`` from ``now`` (the county's clock)."""
    township = Township.get_or_none(Township.code == township_code)
    if township is None:
        raise SyncError(404, f"unknown township code {township_code}")
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    code = "-".join(raw[i : i + 4] for i in (0, 4, 8))
    now = now.astimezone(UTC)
    EnrollCode.create(code_hash=_digest(raw), township_id=township.id, created_at=now.isoformat(),
                      expires_at=(now + timedelta(hours=hours)).isoformat())
    return code


def enroll(code: str, device_name: str, now: datetime, bundle_public_key: str | None = None) -> tuple[Device, str]:
    """Exchange a one-time code, unexpired at ``now``, for a device id and a bearer token (stored
    hashed only). ``bundle_public_key``: the public half of the key the workstation made to sign
    its USB bundles (None: a workstation from before these keys, see :func:`register_bundle_key`)."""
    if bundle_public_key is not None:
        _check_public_key(bundle_public_key)
    raw = "".join(c for c in code.upper() if c.isalnum())
    with write_transaction():
        entry = EnrollCode.get_or_none(EnrollCode.code_hash == _digest(raw))
        if entry is None or entry.used_at is not None or entry.expires_at < now.astimezone(UTC).isoformat():
            raise SyncError(403, "enrolment code unknown, used or expired")
        token = secrets.token_urlsafe(32)
        device = Device.create(id=str(uuid.uuid4()), township_id=entry.township_id, name=device_name[:100],
                               token_hash=_digest(token), created_at=now_iso(), bundle_public_key=bundle_public_key)
        entry.used_at = now_iso()
        entry.save()
        _list_device(device)
    return device, token


def _list_device(device: Device) -> int:
    """Write the device's entry of its township's directory of workstations (see
    sync.protocol.COUNTY_TOWNSHIP_ENTITIES); returns its sequence number."""
    return _put_row("workstation", device.id, {"name": device.name, "revoked": device.revoked_at is not None},
                    device.township_id)


_DEVICE_COLUMNS = ("id", "township_id", "name", "token_hash", "created_at", "revoked_at", "last_seen_at",
                   "last_change_seq", "last_pull_at", "bundle_public_key")
_AUTH_SQL = "SELECT " + ", ".join(f'"{c}"' for c in _DEVICE_COLUMNS) + ' FROM "device" WHERE "token_hash" = %s'


def authenticate(token: str | None) -> Device:
    """The device of a bearer token, read from the database on every request: a token the county
    has revoked is refused at once, in every worker process."""
    if not token:
        raise SyncError(401, "missing bearer token")
    row = _run(_AUTH_SQL, (_digest(token),)).fetchone()
    if row is None:
        raise SyncError(401, "unknown token")
    device = Device(__no_default__=1, **dict(zip(_DEVICE_COLUMNS, row, strict=True)))
    device._dirty.clear()
    if device.revoked_at is not None:
        raise SyncError(401, "this workstation's access was revoked by the county")
    _recent_tokens[_digest(token)] = (time.monotonic(), device)
    return device


# Tokens this process has found valid lately: token digest -> (when, device). Only for refusing a
# bad token cheaply before a push body is read; the push checks the token again in its own
# transaction (``push(..., token=...)``), so a revoked token never applies anything.
_recent_tokens: dict[str, tuple[float, Device]] = {}
RECENT_TOKEN_SECONDS = 30


def recently_authenticated(token: str | None) -> Device | None:
    """The device of ``token`` if this process found it valid in the last few seconds, else None
    (then call :func:`authenticate`). Not a check that applies anything by itself."""
    if not token:
        return None
    entry = _recent_tokens.get(_digest(token))
    if entry is None or time.monotonic() - entry[0] > RECENT_TOKEN_SECONDS:
        return None
    return entry[1]


def revoke(device_id: str) -> None:
    """End a workstation's access: its token and its bundle signing key are refused from now on
    (the key is dropped; enrolling again makes a new device with a new key)."""
    with write_transaction():
        Device.update(revoked_at=now_iso(), bundle_public_key=None).where(Device.id == device_id).execute()
        device = Device.get_or_none(Device.id == device_id)
        if device is not None:
            _list_device(device)
    for digest, (_, device) in list(_recent_tokens.items()):
        if device.id == device_id:
            _recent_tokens.pop(digest, None)


def _check_public_key(text: str) -> None:
    from sync.bundle import public_key_from_text

    try:
        public_key_from_text(text)
    except ValueError as exc:
        raise SyncError(422, "bundle_public_key must be an Ed25519 public key, 64 lowercase hex digits") from exc


def register_bundle_key(device: Device, bundle_public_key: str) -> None:
    """Store the public half of the key ``device`` signs its USB bundles with, as sent over its
    authenticated connection: how a workstation enrolled before these keys gets one (its HMAC
    bundles are refused from then on), or one restored from a backup that lacked its key gets a
    new one. Sending the same key again changes nothing."""
    _check_public_key(bundle_public_key)
    with write_transaction():
        updated = (Device.update(bundle_public_key=bundle_public_key)
                   .where((Device.id == device.id) & Device.revoked_at.is_null()).execute())
    if not updated:
        raise SyncError(401, "this workstation's access was revoked by the county")


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


class _Row(NamedTuple):
    """A synced row as the push checks need it; ``data`` is its JSON text."""

    entity: str
    id: str
    township_id: str | None
    version: int
    seq: int
    data: str


#: rows that are part of a notice, frozen with it when it is published
_NOTICE_PARTS = {"roster_row": "rows", "sign_off": "sign-offs"}


def _check_change(device: Device, change: dict, current: _Row | None, notices,
                  now: datetime | None = None, old: dict | None = None) -> dict | None:
    """Why the device may not make this change — ``{"code", "reason"}`` and what the workstation
    needs to act on it (sync.protocol.REFUSAL_CODES) — or None when it may. ``old``: the data of
    ``current``, if the caller has decoded it already."""
    entity, data = change["entity"], change["data"]
    if (entity in COUNTY_ENTITIES and entity != "program") or entity in COUNTY_TOWNSHIP_ENTITIES:
        return {"code": "county_row", "reason": f"{entity} rows belong to the county"}
    if entity not in TOWNSHIP_ENTITIES:
        return {"code": "unknown_entity", "reason": f"unknown entity {entity}"}
    if data.get("township_id") != device.township_id or (
            current is not None and current.township_id != device.township_id):
        return {"code": "other_township", "reason": "row belongs to another township"}
    if entity == "program" and data.get("township_id") is None:
        return {"code": "county_program", "reason": "county programs belong to the county"}
    foreign = _foreign_reference(device, entity, data, notices)
    if foreign:
        return {"code": "other_township", "reason": f"{foreign} names a row of another township"}
    if old is None:
        old = json.loads(current.data) if current is not None else {}
    if entity in _NOTICE_PARTS:
        # added, changed, deleted or moved in or out: the notice as published is what was posted
        for notice_id in dict.fromkeys((old.get("notice_id"), data.get("notice_id"))):
            if notice_id is not None and notices.status(notice_id) in FROZEN_NOTICE_STATUSES:
                # the county's copy goes back with the refusal: the workstation takes it (None: the
                # county has no such row, the workstation drops its own) and keeps its own aside
                return {"code": "published_notice_part", "notice_id": notice_id,
                        "reason": f"{_NOTICE_PARTS[entity]} of published notice {notice_id} are immutable; "
                                  "publish a correction instead",
                        "server_version": current.version if current else None, "server_data": old or None}
    refusal = _owner_refusal(device, change, current, old, notices)
    if refusal:  # the county's copy goes back with it: the workstation takes it
        return refusal | {"server_version": current.version if current else None, "server_data": old or None}
    if entity == "notice" and now is not None:
        refusal = _check_dates(device, change["id"], old, data, now)
        if refusal:  # the county's copy goes back with it, as for a published notice
            return refusal | {"server_version": current.version if current else None, "server_data": old or None}
    if current is None:
        return None
    if entity == "notice" and old.get("status") in FROZEN_NOTICE_STATUSES:
        changed = {k for k in set(old) | set(data) if old.get(k) != data.get(k)}
        if changed - NOTICE_FIELDS_AFTER_PUBLISH:
            return {"code": "published_notice", "notice_id": change["id"],
                    "reason": "a published notice is immutable; publish a correction instead",
                    "server_version": current.version, "server_data": old}
    if entity == "objection" and old.get("origin") == "portal":
        changed = {k for k in set(old) | set(data) if old.get(k) != data.get(k)}
        if changed - {"status", "version", "updated_at"}:
            return {"code": "resident_objection",
                    "reason": "a resident's objection is kept as submitted; answer it instead",
                    "server_version": current.version, "server_data": old}
    return None


#: the columns of each township entity that name another row, and that row's entity: a row may
#: name only rows of its own township (or rows the county does not have)
_REFERENCES = {
    "roster_row": (("notice_id", "notice"),),
    "sign_off": (("notice_id", "notice"),),
    "posting": (("notice_id", "notice"), ("board_id", "board")),
    "evidence_file": (("posting_id", "posting"),),
    "objection": (("notice_id", "notice"), ("roster_row_id", "roster_row")),
    "objection_answer": (("objection_id", "objection"),),
    "notice": (("supersedes_id", "notice"),),
}


def _foreign_reference(device: Device, entity: str, data: dict, notices) -> str | None:
    """The column of ``data`` that names a row of another township, or None."""
    for column, target in _REFERENCES.get(entity, ()):
        ref = data.get(column)
        if ref is None:
            continue
        if not isinstance(ref, str):
            return column
        if target == "notice":
            township = notices.township(ref)
        else:
            township = SyncRow.select(SyncRow.township_id).where(
                (SyncRow.entity == target) & (SyncRow.id == ref)).scalar()
        if township is not None and township != device.township_id:
            return column
    return None


def _owner_refusal(device: Device, change: dict, current: _Row | None, old: dict, notices) -> dict | None:
    """Why the device may not make this change to a notice, or to its rows or sign-offs, because
    another workstation owns the notice (one writer per notice); None when it may. A new notice
    names the device that sends it, or none (made before that workstation was enrolled, which
    then claims it); an unclaimed notice may be claimed by the first workstation that changes it;
    only the county (:func:`hand_over`) moves it on."""
    entity, data = change["entity"], change["data"]
    if entity == "notice":
        wanted = data.get("owner_device")
        if current is None:  # unclaimed: made before its workstation was enrolled (its claim follows)
            return None if wanted in (None, device.id) else _not_owner(
                change["id"], wanted, "a new notice may name only the workstation that sends it")
        stored = old.get("owner_device")
        if stored not in (None, device.id):
            return _not_owner(change["id"], stored, "the notice is kept by another workstation; "
                                                    "ask the county to hand it over")
        if wanted != stored and not (stored is None and wanted == device.id):
            return _not_owner(change["id"], stored, "only the county hands a notice over")
        return None
    if entity in _NOTICE_PARTS:
        for notice_id in dict.fromkeys((old.get("notice_id"), data.get("notice_id"))):
            owner = notices.owner(notice_id) if notice_id is not None else None
            if owner is not None and owner != device.id:
                return _not_owner(notice_id, owner, "the notice is kept by another workstation; "
                                                    "ask the county to hand it over")
    return None


def _not_owner(notice_id: str, owner: str | None, why: str) -> dict:
    return {"code": "not_owner", "notice_id": notice_id, "owner_device": owner, "reason": f"notice {notice_id}: {why}"}


#: how far a posting date may be from what the county can vouch for: a township's day may begin
#: before the county's ends, and a clerk may have published just before midnight
DATE_TOLERANCE = timedelta(days=1)


def _check_dates(device: Device, notice_id: str, old: dict, data: dict, now: datetime) -> dict | None:
    """Why the dates of a publish or a close cannot be right by the county's clock ``now``, or None.

    A posting period cannot start after the county's today (the workstation's clock is ahead), nor
    before the device's last pull (a sync pushes everything before it pulls, so what it publishes
    after that pull was published after it); a close cannot be stamped in the future, before that
    pull, or on or before the last day of the period."""
    before = old.get("status")
    status = data.get("status")
    last = aware_moment(device.last_pull_at)
    today = now.astimezone(CHINA).date()
    def refused(what: str, day) -> dict:
        return {"code": "implausible_date", "notice_id": notice_id, "county_date": today.isoformat(),
                "date": str(day), "reason": f"{what} {day} does not fit the county's date {today}"}

    if status == "published" and before != "published":
        start = _parsed_day(data.get("posting_start"))
        if start is None:
            return refused("a published notice needs a posting start; got", data.get("posting_start"))
        if start > today + DATE_TOLERANCE:
            return refused("posting start", start)
        if last is not None and start < last.astimezone(CHINA).date() - DATE_TOLERANCE:
            return refused("posting start before this workstation's last sync:", start)
    if status == "closed" and before != "closed":
        closed = aware_moment(data.get("closed_at"))
        end = _parsed_day(data.get("posting_end"))
        if closed is None:
            return refused("a closed notice needs its closing time; got", data.get("closed_at"))
        if closed > now + DATE_TOLERANCE or (last is not None and closed < last - DATE_TOLERANCE):
            return refused("closing time", closed.isoformat())
        if end is not None and closed.astimezone(CHINA).date() <= end:
            return refused("closed within its posting period, on", closed.astimezone(CHINA).date())
    return None


def _parsed_day(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        return None


def push(device: Device, body: dict, token: str | None = None, now: datetime | None = None) -> dict:
    """Apply a batch; the same ``batch_id`` again returns the stored result and changes nothing.

    ``token``, the bearer token of a push over the API, is checked again in the push's own
    transaction: a token revoked since the request was first let in applies nothing.

    ``now``, the county's clock: the posting dates of a publish or a close are checked against it
    and against the device's last pull (None: not checked, for the county's own tools).

    The rows a batch touches are read (and on PostgreSQL locked) in one query first; the sequence
    counter is locked only for the short write phase, so concurrent townships queue briefly.
    """
    batch_id = body.get("batch_id")
    changes = body.get("changes")
    if not isinstance(batch_id, str) or not 8 <= len(batch_id) <= 64:
        raise SyncError(422, "batch_id must be a string of 8 to 64 characters")
    if not isinstance(changes, list) or len(changes) > MAX_BATCH_CHANGES:
        raise SyncError(422, f"changes must be a list of at most {MAX_BATCH_CHANGES}")
    expected = body.get("epoch")
    if expected is not None and expected != epoch():
        # the workstation's changes were based on the database before a restore: apply nothing,
        # tell it the new epoch so it re-sends what the county lost and re-pulls from zero
        raise EpochChanged(epoch())
    origin = _origin(device, body.get("chain"))
    batch = _sort_out(changes)
    try:
        if is_postgres() and not database.in_transaction():
            return _push_pipelined(device, batch_id, batch, token, origin, now)
        stored = _stored_batch(batch_id)
        if stored is not None:
            if token is not None:
                _same_device(authenticate(token), device)
            return _replayed(stored, device, batch)
        return _apply(device, batch_id, batch, token, origin, now)
    except _Replay:
        return _replayed(_stored_batch(batch_id), device, batch)


def _origin(device: Device, chain: Any) -> str | None:
    """SyncRow.origin of what a push writes: the chain is the workstation's word, always under
    its own device id, so no workstation can have its rows skipped by another's pulls."""
    if chain is None:
        return None
    if not isinstance(chain, str) or not 1 <= len(chain) <= 64 or not chain.isascii() or not chain.isalnum():
        raise SyncError(422, "chain must be 1 to 64 letters and digits")
    return f"{device.id}:{chain}"


class _Sorted(NamedTuple):
    """A batch sorted out: the outcome so far (malformed changes rejected), the well-formed
    changes, the data of each as the county stores it (by ``id()`` of the change), the digest of
    the whole batch's content and the changes as sent."""

    out: _Outcome
    well_formed: list[dict]
    texts: dict[int, str]
    content: str
    changes: list


#: marks a content digest made from :func:`stored_text`; digests stored without it were made
#: from the standard library's JSON, and a batch replayed across that upgrade is compared so
_DIGEST_FORM = "2:"


def _sort_out(changes: list) -> _Sorted:
    """Sort out a batch. Its content digest is made from the stored form of each change's data
    (computed here once, and used again for storing it), so a batch sent again by network or by
    USB stick, whose keys may come in another order, has the same digest."""
    out = _Outcome([], [], [], [])
    well_formed, texts = [], {}
    for change in changes:
        reason = _malformed(change)
        if reason:
            echoed = str(change.get("id", ""))[:64] if isinstance(change, dict) else ""
            out.rejected.append({"id": echoed.encode("utf-8", "replace").decode("utf-8"),
                                 "code": "malformed", "reason": reason})
        else:
            well_formed.append(change)
            texts[id(change)] = stored_text(change["data"])
    return _Sorted(out, well_formed, texts, _DIGEST_FORM + _content_digest(changes, texts), changes)


def _content_digest(changes: list, texts: dict[int, str]) -> str:
    """Digest of a batch: each well-formed change (those in ``texts``) by its data as stored,
    each malformed one as sent."""
    parts = []
    for change in changes:
        text = texts.get(id(change))
        if text is None:
            parts.append(f"!{json.dumps(change, sort_keys=True)}\x1e")
        else:
            parts.append(f'{change["entity"]}\x1f{change["id"]}\x1f{change["version"]}\x1f{change.get("base_version")}'
                         f'\x1f{bool(change.get("deleted"))}\x1f{text}\x1e')
    # one encoding of the whole: the same bytes as encoding each part (UTF-8 has no state)
    return hashlib.sha256("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _same_content(stored: str, batch: _Sorted) -> bool:
    if stored.startswith(_DIGEST_FORM):
        return stored == batch.content
    legacy = {id(c): json.dumps(c["data"], ensure_ascii=False, sort_keys=True) for c in batch.well_formed}
    return stored == _content_digest(batch.changes, legacy)


def _decide(device: Device, batch: _Sorted, current: dict[tuple[str, str], _Row],
            now: datetime | None = None) -> tuple[dict[tuple[str, str], tuple[dict, str, int]], list[dict]]:
    """Sort each change into accepted, duplicate, conflict or rejected against the rows'
    ``current`` state; returns the final state of each changed row: (change, its data as stored,
    the position of that change among the accepted ones), and those of the final changes whose
    "check my row" lookup may have changed."""
    notices = _Notices(current)
    staged: dict[tuple[str, str], tuple[dict, str, int]] = {}
    # Rows whose change in this batch was refused or in conflict: a later change of the same
    # row builds on the refused one, so it is a conflict too, even when its base version
    # happens to equal the server's (another workstation's edit with the same number).
    refused: set[tuple[str, str]] = set()
    out, texts = batch.out, batch.texts
    before: dict[tuple[str, str], dict] = {}  # the county's data of each roster row, before this batch
    for change in batch.well_formed:
        key = (change["entity"], change["id"])
        row = current.get(key)
        text = texts[id(change)]
        # A change the server already holds (a retry under another batch id, a USB bundle after
        # an online sync) is a duplicate, even where the same change now would be refused (the
        # rows of a notice published since) or an earlier change of the row in this batch was
        # (the server has moved past that one): the row is exactly this version, so later
        # changes of the row in this batch build on the server's copy again.
        if (row is not None and row.township_id == device.township_id and row.version == change["version"]
                and (row.data == text or json.loads(row.data) == change["data"])):
            out.duplicates.append({"id": change["id"], "version": row.version, "seq": row.seq})
            refused.discard(key)
            continue
        # A step the county has moved past (its version is below the county's) is history, reported
        # as a conflict whatever it would change: the workstation sees it is moot. (The same
        # version with other content is a rival: the checks below say what the county keeps.)
        stale = (row is not None and row.township_id == device.township_id and change["version"] < row.version
                 and change["entity"] in TOWNSHIP_ENTITIES)
        old = json.loads(row.data) if row is not None and not stale else {}
        if key[0] == "roster_row" and not stale:
            before.setdefault(key, old)
        refusal = None if stale else _check_change(device, change, row, notices, now, old)
        if refusal:
            out.rejected.append({"id": change["id"], **refusal})
            refused.add(key)
            continue
        if key in refused or (row is None and change["base_version"] is not None) or (
                row is not None and change["base_version"] != row.version):
            refused.add(key)
            out.conflicts.append({"id": change["id"], "entity": change["entity"],
                                  "server_version": row.version if row else None,
                                  "server_data": json.loads(row.data) if row else None})
            continue
        if key[0] == "notice" and change["data"].get("status") == "published" and old.get("status") != "published":
            # the county serves only what it derives itself from the rows it holds
            refusal = publish_refusal(change["id"], change["data"], {k: c["data"] for k, (c, _t, _n) in staged.items()})
            if refusal:  # the county's copy goes back with it (None: the workstation goes back to approved)
                out.rejected.append({"id": change["id"], **refusal, "server_version": row.version if row else None,
                                     "server_data": old or None})
                refused.add(key)
                continue
        # a later change of the same row in this batch builds on this one
        current[key] = _Row(key[0], key[1], device.township_id, change["version"], 0, text)
        if key[0] == "notice":
            notices.note(key[1], change["data"])
        out.accepted.append(change)
        staged[key] = (change, text, len(out.accepted))
    # roster rows whose "check my row" entry stays as it is (most edits leave the ID number,
    # position and notice alone): their lookup is not computed or written again
    lookups = [change for key, (change, _text, _n) in staged.items()
               if not (before.get(key) and all(before[key].get(f) == change["data"].get(f) for f in _LOOKUP_FIELDS))]
    return staged, lookups


def _same_device(found: Device, device: Device) -> Device:
    if found.id != device.id:
        raise SyncError(401, "unknown token")
    return found


def _apply(device: Device, batch_id: str, batch: _Sorted, token: str | None, origin: str | None = None,
           now: datetime | None = None) -> dict:
    out, well_formed, content = batch.out, batch.well_formed, batch.content
    with write_transaction():
        if token is not None:
            device = _same_device(authenticate(token), device)  # as it is now: its last pull too
        current = _lock_rows({(c["entity"], c["id"]) for c in well_formed})
        staged, lookups = _decide(device, batch, current, now)
        # Everything is prepared before the write phase, which takes the sequence numbers last:
        # the increment locks the counter row until commit, so commit order equals sequence order,
        # and as little as possible happens while it is held.
        count = len(out.accepted)
        first = (take_sequence(count) - count) if count else 0
        out.accepted = [{"id": c["id"], "version": c["version"], "seq": first + n}
                        for n, c in enumerate(out.accepted, 1)]
        _store_many([(change, text, first + n) for change, text, n in staged.values()], device.township_id,
                    origin, lookups)
        result = out.as_dict() | {"epoch": epoch()}
        if _run(_CLAIM_SQL, (batch_id, device.id, json.dumps(result), now_iso(), content)).fetchone() is None:
            raise _Replay()  # a concurrent delivery of the same batch committed first: undo ours
    _touch(device)
    return result


def _push_pipelined(device: Device, batch_id: str, batch: _Sorted, token: str | None, origin: str | None,
                    now: datetime | None = None) -> dict:
    """:func:`_apply` on PostgreSQL in two round trips to the database, one transaction:

    1. BEGIN, the device of ``token`` (if given), the stored result of ``batch_id`` if any, and
       the rows the batch touches, locked (``FOR UPDATE``) -- sent together;
    2. after the checks, one statement that takes the sequence numbers (locking the counter row),
       upserts the rows and stores the batch result, and COMMIT -- sent together, so the counter
       row is locked only while PostgreSQL executes them, never across a round trip to Python.

    Storing the batch id is a plain INSERT: a concurrent delivery of the same batch that
    committed first makes it fail, which rolls everything back, and the stored result is
    returned instead (:class:`_Replay`).
    """
    import psycopg
    from psycopg.errors import UniqueViolation

    out, well_formed, content = batch.out, batch.well_formed, batch.content
    keys = {(c["entity"], c["id"]) for c in well_formed}
    current_epoch = epoch()
    conn = database.connection()
    try:
        with conn.pipeline():  # sent on leaving the block, with one Sync
            conn.execute("BEGIN")
            holder = conn.execute(_TOKEN_SQL, (_digest(token),)) if token is not None else None
            stored_cursor = conn.execute(_BATCH_SQL, (batch_id,))
            locked = conn.execute(_LOCK_SQL_PG, ([e for e, _ in keys], [i for _, i in keys])) if keys else None
        if holder is not None:
            found = holder.fetchone()
            if found is None or found[0] != device.id:
                raise SyncError(401, "unknown token")
            if found[1] is not None:
                raise SyncError(401, "this workstation's access was revoked by the county")
            device = Device(__no_default__=1, **{**device.__data__, "last_pull_at": found[2]})
        stored = stored_cursor.fetchone()
        rows = locked.fetchall() if locked is not None else []
        if stored is not None:
            _rollback(conn)
            return _replayed(stored, device, batch)
        staged, lookups = _decide(device, batch, {(r[0], r[1]): _Row(*r) for r in rows}, now)
        _store_id_lookups(lookups)  # in this transaction; no sequence numbers
        now = now_iso()
        accepted = out.accepted
        rest = {"duplicates": out.duplicates, "conflicts": out.conflicts, "rejected": out.rejected,
                "epoch": current_epoch}
        with conn.pipeline():
            if accepted:
                written = conn.execute(_WRITE_SQL_PG, {
                    "count": len(accepted), "township": device.township_id, "now": now, "batch": batch_id,
                    "device": device.id, "content": content, "origin": origin, "head": '{"accepted": [', "tail": "], " + json.dumps(rest)[1:],
                    "rows": json_text([{"e": c["entity"], "i": c["id"], "v": c["version"], "n": n, "x": text,
                                    "d": bool(c["data"].get("deleted"))} for c, text, n in staged.values()]),
                    "accepted": json_text([{"i": c["id"], "v": c["version"], "n": n} for n, c in enumerate(accepted, 1)])})
            else:
                written = None
                conn.execute(_BATCH_INSERT_SQL, (batch_id, device.id, json.dumps(out.as_dict() | rest), now, content))
            conn.execute("COMMIT")
        first = written.fetchone()[0] if written is not None else 0
    except UniqueViolation as exc:
        _rollback(conn)
        if exc.diag.table_name == "push_batch":
            raise _Replay() from exc  # a concurrent delivery of the same batch committed first
        with __exception_wrapper__:  # as peewee's own queries report it
            raise
    except psycopg.Error:
        _rollback(conn)
        with __exception_wrapper__:  # e.g. the database restarting: OperationalError, a 503
            raise
    except BaseException:
        _rollback(conn)
        raise
    out.accepted = [{"id": c["id"], "version": c["version"], "seq": first + n} for n, c in enumerate(accepted, 1)]
    _touch(device)
    return out.as_dict() | {"epoch": current_epoch}


def _rollback(conn) -> None:
    """End the pipelined push's transaction after a failure (or a replay); a broken connection is
    left to the pool, which discards it."""
    from psycopg.pq import TransactionStatus

    try:
        if conn.pgconn.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            conn.rollback()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass


_CURRENT_COLUMNS = 'r."entity", r."id", r."township_id", r."version", r."seq", r."data"'
# locked in key order, so two pushes touching the same rows cannot deadlock
_LOCK_SQL_PG = (f'SELECT {_CURRENT_COLUMNS} FROM "sync_row" AS r WHERE (r."entity", r."id") IN '
                '(SELECT * FROM unnest(%s::text[], %s::text[])) ORDER BY r."entity", r."id" FOR UPDATE OF r')
_CLAIM_SQL = ('INSERT INTO "push_batch" ("batch_id", "device_id", "result", "created_at", "content") '
              'VALUES (%s, %s, %s, %s, %s) '
              'ON CONFLICT ("batch_id") DO NOTHING RETURNING "batch_id"')
_BATCH_SQL = 'SELECT "device_id", "result", "content" FROM "push_batch" WHERE "batch_id" = %s'
_TOKEN_SQL = 'SELECT "id", "revoked_at", "last_pull_at" FROM "device" WHERE "token_hash" = %s'


def _lock_rows(keys: set[tuple[str, str]]) -> dict[tuple[str, str], _Row]:
    """The current state of the rows a batch touches, locked on PostgreSQL until commit (SQLite's
    write transaction holds the whole database)."""
    if not keys:
        return {}
    if is_postgres():
        cursor = _run(_LOCK_SQL_PG, ([e for e, _ in keys], [i for _, i in keys]))
    else:
        pairs = ", ".join(["(%s, %s)"] * len(keys))
        cursor = _run(f'SELECT {_CURRENT_COLUMNS} FROM "sync_row" AS r WHERE (r."entity", r."id") IN ({pairs})',
                      [v for key in keys for v in key])
    return {(r[0], r[1]): _Row(*r) for r in cursor.fetchall()}


def _stored_batch(batch_id: str) -> tuple[str, str, str | None] | None:
    return _run(_BATCH_SQL, (batch_id,)).fetchone()


def stored_batch(batch_id: str) -> tuple[str, str, str | None] | None:
    """(device id, result, content digest) of a batch applied before, or None."""
    return _stored_batch(batch_id)


_noted: dict[tuple[str, str], float] = {}


def _due(device_id: str, what: str) -> bool:
    """Whether ``what`` about a device is to be written now: at most once a minute per device and
    process, to keep a write off the path of every push and pull."""
    mark = time.monotonic()
    if mark - _noted.get((device_id, what), -120.0) < 60:
        return False
    _noted[(device_id, what)] = mark
    return True


def _touch(device: Device) -> None:
    """Record when a workstation was last seen."""
    if _due(device.id, "seen"):
        Device.update(last_seen_at=now_iso()).where(Device.id == device.id).execute()


def _note_pull(device_id: str, now: datetime | None) -> None:
    """Record the county's time of a device's pull (Device.last_pull_at): a bound a minute old is
    as good for dates checked to the day."""
    if now is not None and _due(device_id, "pull"):
        Device.update(last_pull_at=now.astimezone(UTC).isoformat()).where(Device.id == device_id).execute()


def take_sequence(count: int) -> int:
    """Advance the change sequence by ``count`` and return its new value. The counter row stays
    locked until the surrounding transaction ends."""
    sql = f'UPDATE "seq_counter" SET "value" = "value" + {database.param} WHERE "id" = 1 RETURNING "value"'
    (value,) = database.execute_sql(sql, (count,)).fetchone()
    return value


class _Replay(Exception):
    pass


class _Notices:
    """Status and owner of the notices referenced by a batch, read once per notice."""

    def __init__(self, current: dict) -> None:
        self.known: dict[str | None, tuple[str | None, str | None, str | None]] = {
            k[1]: self._of(json.loads(r.data)) for k, r in current.items() if k[0] == "notice"}

    @staticmethod
    def _of(data: dict) -> tuple[str | None, str | None, str | None]:
        return data.get("status"), data.get("owner_device"), data.get("township_id")

    def note(self, notice_id: str, data: dict) -> None:
        self.known[notice_id] = self._of(data)

    def _get(self, notice_id: str | None) -> tuple[str | None, str | None, str | None]:
        if notice_id not in self.known:
            row = SyncRow.get_or_none((SyncRow.entity == "notice") & (SyncRow.id == notice_id))
            self.known[notice_id] = self._of(json.loads(row.data)) if row else (None, None, None)
        return self.known[notice_id]

    def township(self, notice_id: str | None) -> str | None:
        return self._get(notice_id)[2]

    def status(self, notice_id: str | None) -> str | None:
        return self._get(notice_id)[0]

    def owner(self, notice_id: str | None) -> str | None:
        return self._get(notice_id)[1]


def _replayed(stored: tuple[str, str, str | None], device: Device, batch: _Sorted) -> dict:
    """The stored result of a batch sent again. Only for the same content: a workstation that
    reuses a batch id for other changes (a bug, or a copy restored outside the app) would
    otherwise be told its new changes were accepted, and drop them."""
    device_id, result, stored_content = stored
    if device_id != device.id:
        raise SyncError(409, "batch id already used by another workstation")
    if stored_content is not None and not _same_content(stored_content, batch):
        raise SyncError(409, "batch id already used for other changes; nothing was applied")
    return json.loads(result)


def stored_text(data: dict) -> str:
    """A row's data as the county stores it: keys in order, so the same content sent again (by
    network or by USB stick, its keys perhaps in another order) is the same text, and so is the
    digest of its batch."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits, which the field checks refuse in township rows
        return json.dumps(data, ensure_ascii=False, sort_keys=True)


def json_text(value: Any) -> str:
    """JSON text for the database or an answer: orjson, which writes a big batch's rows several
    times faster than the standard library."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits in a row the county keeps as sent
        return json.dumps(value, ensure_ascii=False)


def _malformed(change: Any) -> str | None:
    if not isinstance(change, dict):
        return "change must be an object"
    if not isinstance(change.get("entity"), str) or not isinstance(change.get("id"), str):
        return "entity and id must be strings"
    if not (unicode_text(change["entity"]) and unicode_text(change["id"])):
        return "entity and id must be valid text"
    if not 1 <= len(change["id"]) <= 64:
        return "id must be 1 to 64 characters"
    version, base = change.get("version"), change.get("base_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MAX_INT:
        return "version must be a positive integer"
    if base is not None and (not isinstance(base, int) or isinstance(base, bool) or not 0 <= base < version):
        return "base_version must be null or an integer below version"
    if not isinstance(change.get("data"), dict):
        return "data must be an object"
    if change["data"].get("id") != change["id"]:
        return "data.id must equal id"
    if change["entity"] in TOWNSHIP_ENTITIES:
        # every field by type and range before anything touches the database
        return data_problem(change["entity"], change["data"])
    return None


_UPSERT_COLUMNS = '("entity", "id", "township_id", "version", "deleted", "seq", "data", "updated_at", "origin")'
_UPSERT_UPDATE = ('ON CONFLICT ("entity", "id") DO UPDATE SET "township_id" = EXCLUDED."township_id", '
                  '"version" = EXCLUDED."version", "deleted" = EXCLUDED."deleted", "seq" = EXCLUDED."seq", '
                  '"data" = EXCLUDED."data", "updated_at" = EXCLUDED."updated_at", "origin" = EXCLUDED."origin"')
# one statement text for any number of rows, so PostgreSQL keeps it prepared
_UPSERT_SQL_PG = (f'INSERT INTO "sync_row" {_UPSERT_COLUMNS} SELECT t.e, t.i, %s::text, t.v, t.d, t.s, t.x, %s::text, '
                  '%s::text '
                  'FROM unnest(%s::text[], %s::text[], %s::int[], %s::bool[], %s::bigint[], %s::text[]) '
                  f'AS t(e, i, v, d, s, x) {_UPSERT_UPDATE}')


# The write phase of a pipelined push as one statement. ``rows``: the final state of each changed
# row, ``n`` the position of its last accepted change; ``accepted``: every accepted change, ``n``
# its position. The batch result is stored as the JSON the response carries, the sequence numbers
# filled in here: '{"accepted": [' + {"id", "version", "seq"} objects + ``tail``.
_WRITE_SQL_PG = f"""
WITH s AS (
    UPDATE "seq_counter" SET "value" = "value" + %(count)s WHERE "id" = 1 RETURNING "value" - %(count)s AS first
), u AS (
    INSERT INTO "sync_row" {_UPSERT_COLUMNS}
    SELECT t.e, t.i, %(township)s::text, t.v, t.d, s.first + t.n, t.x, %(now)s::text, %(origin)s::text
    FROM s, json_to_recordset(%(rows)s::json) AS t(e text, i text, v integer, d boolean, n integer, x text)
    {_UPSERT_UPDATE}
), b AS (
    INSERT INTO "push_batch" ("batch_id", "device_id", "result", "created_at", "content")
    SELECT %(batch)s::text, %(device)s::text, %(head)s::text || (
        SELECT string_agg(json_build_object('id', a.i, 'version', a.v, 'seq', s.first + a.n)::text, ', '
                          ORDER BY a.n)
        FROM json_to_recordset(%(accepted)s::json) AS a(i text, v integer, n integer)
    ) || %(tail)s::text, %(now)s::text, %(content)s::text FROM s
)
SELECT first FROM s"""
_BATCH_INSERT_SQL = ('INSERT INTO "push_batch" ("batch_id", "device_id", "result", "created_at", "content") '
                     'VALUES (%s, %s, %s, %s, %s)')


def _store_many(rows: list[tuple[dict, str, int]], township_id: str | None, origin: str | None = None,
                lookups: list[dict] | None = None) -> None:
    """Upsert the final state of each changed row in one statement (and its ID lookup); ``rows``
    holds (change, its data as JSON text, its sequence number); ``origin``: see SyncRow.origin;
    ``lookups``: the changes whose ID lookup may have changed (default: all)."""
    if not rows:
        return
    now = now_iso()
    if is_postgres():
        _run(_UPSERT_SQL_PG, (township_id, now, origin, [c["entity"] for c, _, _ in rows], [c["id"] for c, _, _ in rows],
                              [c["version"] for c, _, _ in rows], [bool(c["data"].get("deleted")) for c, _, _ in rows],
                              [seq for _, _, seq in rows], [text for _, text, _ in rows]))
    else:
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        _run(f'INSERT INTO "sync_row" {_UPSERT_COLUMNS} VALUES {values} {_UPSERT_UPDATE}',
             [v for c, text, seq in rows for v in (c["entity"], c["id"], township_id, c["version"],
                                                   bool(c["data"].get("deleted")), seq, text, now, origin)])
    _store_id_lookups([c for c, _, _ in rows] if lookups is None else lookups)


_LOOKUP_TABLE = IdLookup._meta.table_name
_LOOKUP_FIELDS = ("id_number", "notice_id", "seq", "deleted")  # what a row's lookup is made of
_LOOKUP_COLUMNS = '("row_id", "notice_id", "row_seq", "id_hmac", "deleted")'


def _lookup_update(differs: str) -> str:
    """The upsert's update; a row whose lookup did not change (most edits leave the ID number,
    position and notice alone) is not written again. ``differs``: "IS DISTINCT FROM" on
    PostgreSQL, "IS NOT" on SQLite."""
    columns = ("notice_id", "row_seq", "id_hmac", "deleted")
    return ('ON CONFLICT ("row_id") DO UPDATE SET ' + ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns)
            + " WHERE " + " OR ".join(f'"{_LOOKUP_TABLE}"."{c}" {differs} EXCLUDED."{c}"' for c in columns))


# one statement text for any number of rows (prepared once on PostgreSQL); the rows travel as one
# JSON text, which costs less to make than psycopg's text arrays
_LOOKUP_SQL_PG = (f'INSERT INTO "{_LOOKUP_TABLE}" {_LOOKUP_COLUMNS} SELECT t.r, t.n, t.s, t.h, t.d '
                  'FROM json_to_recordset(%s::json) AS t(r text, n text, s integer, h text, d boolean) '
                  f'{_lookup_update("IS DISTINCT FROM")}')
_LOOKUP_UPDATE_SQLITE = _lookup_update("IS NOT")


def _store_id_lookups(changes: list[dict]) -> None:
    """Upsert the keyed ID-number hash of each changed roster row (public "check my row"), in one
    hand-written statement: peewee's ``insert_many`` spent more time building the SQL of a
    500-row batch than the database spent running it (bench/sync_bench.py)."""
    rows = []
    key = None
    for c in changes:
        if c["entity"] != "roster_row":
            continue
        data = c["data"]
        key = key or bytes.fromhex(meta("id_hmac_key"))
        rows.append((c["id"], str(data.get("notice_id", "")), int(data.get("seq") or 0),
                     id_hmac(data["id_number"], key) if data.get("id_number") else None, bool(data.get("deleted"))))
    if not rows:
        return
    if is_postgres():
        _run(_LOOKUP_SQL_PG, (json_text([{"r": r, "n": n, "s": q, "h": h, "d": d} for r, n, q, h, d in rows]),))
    else:
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
        _run(f'INSERT INTO "{_LOOKUP_TABLE}" {_LOOKUP_COLUMNS} VALUES {values} {_LOOKUP_UPDATE_SQLITE}',
             [v for row in rows for v in row])


# ------------------------------------------------------------------------- pull
def pull(device: Device, since: int, limit: int, skip: str | None = None, now: datetime | None = None) -> dict:
    """County rows plus the device's own township's rows changed after ``since``, in seq order.
    ``skip``: the workstation's chain; rows it wrote itself, as they are now, are left out (it has
    them), and the page's ``next`` still moves past them."""
    return json.loads(pull_json(device, since, limit, skip, now))


_PULL_COLUMNS = '"seq", "entity", "id", "version", "deleted", "data"'
# the feed's end (one row even when no change is found) in the same statement, hence the same snapshot: a batch committed after it is
# not skipped over (batches commit in sequence order)
_PULL_SQL = ('SELECT r."seq", r."entity", r."id", r."version", r."deleted", r."data", m."top" '
             'FROM (SELECT max("seq") AS "top" FROM "sync_row") AS m LEFT JOIN '
             f'(SELECT {_PULL_COLUMNS} FROM "sync_row" WHERE "seq" > %s '
             'AND ("township_id" IS NULL OR "township_id" = %s) AND ("origin" IS NULL OR "origin" <> %s) '
             'ORDER BY "seq" LIMIT %s) AS r ON 1 = 1 ORDER BY r."seq"')


def _skipped(device: Device, skip: str | None) -> str:
    """The origin a pull leaves out ('' for none: no origin is empty)."""
    if skip is None:
        return ""
    if not isinstance(skip, str) or not 1 <= len(skip) <= 64 or not skip.isascii() or not skip.isalnum():
        raise SyncError(422, "skip must be 1 to 64 letters and digits")
    return f"{device.id}:{skip}"


def pull_json(device: Device, since: int, limit: int, skip: str | None = None, now: datetime | None = None) -> str:
    """:func:`pull` as JSON text: stored row data is spliced in as it is, never decoded. ``now``:
    the county's clock, noted as the device's last pull."""
    limit = max(1, min(limit, MAX_PULL_LIMIT))
    found = _run(_PULL_SQL, (since, device.township_id, _skipped(device, skip), limit + 1)).fetchall()
    _note_pull(device.id, now)
    return _page_json([r[:6] for r in found if r[0] is not None], since, limit, found[0][6])


# A pull over the API on PostgreSQL: the token's device and the page in one statement. No row: an
# unknown token; ``revoked_at`` set: no changes joined, refused.
_PULL_FOR_TOKEN_SQL_PG = (
    'SELECT d."revoked_at", d."id", r."seq", r."entity", r."id", r."version", r."deleted", r."data", '
    '(SELECT max("seq") FROM "sync_row") FROM "device" AS d '
    'LEFT JOIN LATERAL (SELECT "seq", "entity", "id", "version", "deleted", "data" FROM "sync_row" '
    'WHERE "seq" > %s AND ("township_id" IS NULL OR "township_id" = d."township_id") '
    'AND ("origin" IS NULL OR "origin" <> d."id" || %s) ORDER BY "seq" LIMIT %s'
    ') AS r ON d."revoked_at" IS NULL WHERE d."token_hash" = %s ORDER BY r."seq"')


def pull_json_for_token(token: str | None, since: int, limit: int, skip: str | None = None,
                        now: datetime | None = None) -> str:
    """:func:`authenticate` then :func:`pull_json`, in one round trip to PostgreSQL."""
    if not token or not is_postgres():
        return pull_json(authenticate(token), since, limit, skip, now)
    limit = max(1, min(limit, MAX_PULL_LIMIT))
    probe = Device(id="")
    suffix = _skipped(probe, skip)  # ":<chain>", or '' (then no origin matches: d.id || '' is no origin)
    found = _run(_PULL_FOR_TOKEN_SQL_PG, (since, suffix or ":", limit + 1, _digest(token))).fetchall()
    if not found:
        raise SyncError(401, "unknown token")
    if found[0][0] is not None:
        raise SyncError(401, "this workstation's access was revoked by the county")
    _note_pull(found[0][1], now)
    return _page_json([row[2:8] for row in found if row[2] is not None], since, limit, found[0][8])


def _page_json(rows: list, since: int, limit: int, end: int | None = None) -> str:
    """A pull page from up to ``limit + 1`` rows (seq, entity, id, version, deleted, data); ``end``,
    the feed's last sequence number when the rows were read: a last page moves the checkpoint
    there, past rows the pull left out."""
    more = len(rows) > limit
    rows = rows[:limit]
    dumps = encode_basestring_ascii  # json.dumps of a str, without its per-call overhead
    changes = ",".join(
        f'{{"seq":{seq},"entity":{dumps(entity)},"id":{dumps(row_id)},"version":{version},'
        f'"deleted":{"true" if deleted else "false"},"data":{data}}}'
        for seq, entity, row_id, version, deleted, data in rows
    )
    next_seq = rows[-1][0] if rows else since
    if not more and end is not None:
        next_seq = max(next_seq, since, end)
    return (f'{{"changes":[{changes}],"next":{next_seq},"more":{"true" if more else "false"},'
            f'"epoch":{dumps(epoch())}}}')


# ------------------------------------------------------------------------- blobs
def put_blob(sha256: str, data: bytes) -> None:
    Blob.insert(sha256=sha256, size=len(data), data=data, created_at=now_iso()).on_conflict_ignore().execute()


def get_blob(device: Device, sha256: str) -> bytes:
    """A blob the device's township refers to (an evidence photo of its own postings)."""
    referenced = any(json.loads(data).get("sha256") == sha256 for (data,) in SyncRow.select(SyncRow.data).where(
        (SyncRow.entity == "evidence_file") & (SyncRow.township_id == device.township_id)
        & SyncRow.data.contains(sha256)).tuples())
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
        return _put_row(entity, row_id, data, None)


def _put_row(entity: str, row_id: str, data: dict, township_id: str | None) -> int:
    """Write the next version of a row as the county (inside the caller's transaction; pulled by
    every workstation it concerns, the one that last wrote it included); returns its sequence."""
    current = _lock_rows({(entity, row_id)}).get((entity, row_id))
    version = (current.version + 1) if current else 1
    data = {**data, "id": row_id, "version": version, "township_id": township_id, "updated_at": now_iso(),
            "deleted": bool(data.get("deleted"))}
    seq = take_sequence(1)
    _store_many([({"entity": entity, "id": row_id, "version": version, "data": data},
                  stored_text(data), seq)], township_id)
    return seq


def hand_over_all(from_device: str, to_device: str) -> int:
    """Hand every notice ``from_device`` owns over to ``to_device`` (a workstation replaced, or
    enrolled again after its access was revoked); returns how many."""
    candidates = SyncRow.select(SyncRow.id, SyncRow.data).where(
        (SyncRow.entity == "notice") & SyncRow.data.contains(from_device))
    owned = [r.id for r in candidates if json.loads(r.data).get("owner_device") == from_device]
    for notice_id in owned:
        hand_over(notice_id, to_device)
    return len(owned)


def hand_over(notice_id: str, device_id: str) -> int:
    """Make ``device_id`` the workstation that takes the notice through its lifecycle (one writer
    per notice): a new version of the notice, which both workstations pull. The former owner's
    changes not yet sent are then refused and kept aside on it (``not_owner``). Returns the
    sequence number of the new version."""
    with write_transaction():
        current = _lock_rows({("notice", notice_id)}).get(("notice", notice_id))
        if current is None:
            raise SyncError(404, "no such notice")
        target = Device.get_or_none(Device.id == device_id)
        if target is None or target.township_id != current.township_id:
            raise SyncError(422, "the workstation does not belong to the notice's township")
        if target.revoked_at is not None:
            raise SyncError(422, "the workstation's access was revoked")
        data = json.loads(current.data)
        HandoverRequest.update(done_at=now_iso()).where(
            (HandoverRequest.notice_id == notice_id) & HandoverRequest.done_at.is_null()).execute()
        if data.get("owner_device") == device_id:
            return current.seq
        return _put_row("notice", notice_id, {**data, "owner_device": device_id}, current.township_id)


#: a notice's public page can be taken down once it has one
PUBLIC_STATUSES = ("published", "closed", "superseded", "withdrawn")
MAX_TAKEDOWN_REASON = 300


def take_down(notice_id: str, reason: str, username: str, now: datetime) -> int:
    """Take the public page of a notice down (the county's word, e.g. it shows what it should
    not): the page then says so and shows nothing of the notice; the township pulls the record
    and sees it on the notice. Audited. Returns the record's sequence number."""
    from app.masking import mask_free_text

    # shown to residents, sent to the township and kept in the record: no personal number in it
    reason = mask_free_text(" ".join(reason.split()))
    if not reason:
        raise SyncError(422, "a reason is required")
    if len(reason) > MAX_TAKEDOWN_REASON:
        raise SyncError(422, f"the reason may have at most {MAX_TAKEDOWN_REASON} characters")
    with write_transaction():
        notice = _public_notice(notice_id)
        seq = _put_row("page_takedown", notice_id, {"notice_id": notice_id, "active": True, "reason": reason,
                                                    "taken_down_at": iso_utc(now), "put_back_at": None},
                       notice.township_id)
        audit(username, "take_down", notice_id, reason, now)
        return seq


def put_back(notice_id: str, username: str, now: datetime) -> int:
    """Serve a taken-down page again; audited. Returns the record's sequence number."""
    with write_transaction():
        _public_notice(notice_id)
        current = _lock_rows({("page_takedown", notice_id)}).get(("page_takedown", notice_id))
        if current is None or not json.loads(current.data).get("active"):
            raise SyncError(409, "the page is not taken down")
        seq = _put_row("page_takedown", notice_id, {**json.loads(current.data), "active": False,
                                                    "put_back_at": iso_utc(now)}, current.township_id)
        audit(username, "put_back", notice_id, "", now)
        return seq


def taken_down(notice_id: str) -> dict | None:
    """The county's take-down record of a notice's page while it is in force, or None."""
    row = SyncRow.get_or_none((SyncRow.entity == "page_takedown") & (SyncRow.id == notice_id))
    data = json.loads(row.data) if row is not None else None
    return data if data and data.get("active") else None


def _public_notice(notice_id: str) -> SyncRow:
    row = SyncRow.get_or_none((SyncRow.entity == "notice") & (SyncRow.id == notice_id))
    if row is None or row.deleted or json.loads(row.data).get("status") not in PUBLIC_STATUSES:
        raise SyncError(404, "no such public notice")
    return row


def audit(username: str, action: str, target: str, detail: str, now: datetime) -> None:
    """Record what a county officer did (models.AdminAudit)."""
    AdminAudit.create(at=iso_utc(now), username=username, action=action, target=target, detail=detail)


def request_handover(device: Device, notice_id: str) -> None:
    """Note that ``device`` asks for a notice of its township that another workstation handles;
    asking again changes nothing."""
    with write_transaction():
        row = SyncRow.get_or_none((SyncRow.entity == "notice") & (SyncRow.id == notice_id) & (~SyncRow.deleted))
        if row is None or row.township_id != device.township_id:
            raise SyncError(404, "no such notice in this workstation's township")
        if json.loads(row.data).get("owner_device") == device.id:
            raise SyncError(409, "this workstation handles the notice already")
        open_request = HandoverRequest.select().where(
            (HandoverRequest.notice_id == notice_id) & (HandoverRequest.device_id == device.id)
            & HandoverRequest.done_at.is_null())
        if not open_request.exists():
            HandoverRequest.create(notice_id=notice_id, device_id=device.id, created_at=now_iso())


# ------------------------------------------------------------------------- check after sync
def check(device: Device, exclude: list, detail: list, fields: dict | None = None) -> dict:
    """Per-entity row counts and digests of the device's township rows (SYNC.md "Check after
    sync"), leaving out ``exclude`` ([entity, id] pairs the workstation has not settled yet).

    ``fields`` names, per entity, the columns whose values enter each row's digest (the columns
    the workstation has), so two copies of a row at the same version with different content are
    told apart; an entity not named is compared by (id, version) only.

    ``as_of`` is the highest sequence number among those rows, read in the same statement: a
    workstation whose checkpoint is below it pulls first. ``detail`` names entities whose
    [id, version, content digest] list is wanted too, for repairs and after a restore.
    """
    from sync.protocol import (
        CHECK_ENTITIES,
        MAX_CHECK_EXCLUDED,
        MAX_CHECK_FIELDS,
        digest_hex,
        row_content,
        row_hash,
    )

    if not isinstance(exclude, list) or len(exclude) > MAX_CHECK_EXCLUDED:
        raise SyncError(422, f"exclude must be a list of at most {MAX_CHECK_EXCLUDED} [entity, id] pairs")
    if not isinstance(detail, list) or any(e not in CHECK_ENTITIES for e in detail):
        raise SyncError(422, "detail must list township entities")
    fields = fields or {}
    if not isinstance(fields, dict) or any(
            e not in CHECK_ENTITIES or not isinstance(cols, list) or len(cols) > MAX_CHECK_FIELDS
            or any(not isinstance(c, str) or not 1 <= len(c) <= 64 for c in cols) for e, cols in fields.items()):
        raise SyncError(422, f"fields must map township entities to at most {MAX_CHECK_FIELDS} column names")
    skip = {(str(e[0]), str(e[1])) for e in exclude if isinstance(e, list) and len(e) == 2}
    counts = dict.fromkeys(CHECK_ENTITIES, 0)
    digests = dict.fromkeys(CHECK_ENTITIES, 0)
    rows: dict[str, list] = {e: [] for e in detail}
    as_of = 0
    loads = json.loads
    query = (SyncRow.select(SyncRow.entity, SyncRow.id, SyncRow.version, SyncRow.seq, SyncRow.data)
             .where(SyncRow.township_id == device.township_id).tuples())
    for entity, row_id, version, seq, data in query.iterator():
        as_of = max(as_of, seq)
        if entity not in counts or (entity, row_id) in skip:
            continue
        cols = fields.get(entity)
        if cols:
            values = loads(data)
            share = row_hash(row_id, version, row_content([values.get(c) for c in cols]))
        else:
            share = row_hash(row_id, version)
        counts[entity] += 1
        digests[entity] ^= share
        if entity in rows:
            rows[entity].append([row_id, version, digest_hex(share)])
    return {"epoch": epoch(), "as_of": as_of, "rows": rows,
            "entities": {e: {"count": counts[e], "digest": digest_hex(digests[e])} for e in CHECK_ENTITIES}}
