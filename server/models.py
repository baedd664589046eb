"""Peewee models of the county server, for PostgreSQL and SQLite alike.

Every synced row of every township lives in ``SyncRow`` keyed by (entity, id) with its current
version, owner and data; ``seq`` orders the change feed. ``SeqCounter`` hands out sequence numbers
under a row lock held until commit, so commit order equals sequence order (SYNC.md, "Sequence
visibility"): a pull never skips a change that commits later with a lower number.
"""

from __future__ import annotations

from peewee import (
    BigIntegerField,
    BlobField,
    BooleanField,
    CompositeKey,
    IntegerField,
    Model,
    TextField,
)

from server.db import database


class ServerModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class ServerMeta(ServerModel):
    """Server-wide values: the epoch (changed by a restore), the keyed-hash secret."""

    key = TextField(primary_key=True)
    value = TextField()


class Township(ServerModel):
    id = TextField(primary_key=True)  # the township's region row id
    code = TextField(unique=True)
    name = TextField()


class EnrollCode(ServerModel):
    code_hash = TextField(primary_key=True)
    township_id = TextField()
    created_at = TextField()
    expires_at = TextField()
    used_at = TextField(null=True)


class Device(ServerModel):
    id = TextField(primary_key=True)
    township_id = TextField(index=True)
    name = TextField()
    token_hash = TextField(unique=True)
    created_at = TextField()
    revoked_at = TextField(null=True)
    last_seen_at = TextField(null=True)
    last_change_seq = BigIntegerField(default=0)  # the device's outbox sequence, for bundle gap checks
    # the county's time (its clock, not the wall clock) of the device's last pull: whatever it had
    # published by then it had pushed just before, so a posting date from before it is implausible
    # (server.sync_service._check_dates). Noted at most once a minute.
    last_pull_at = TextField(null=True)
    # the public half (hex) of the workstation's own Ed25519 key, which signs its USB bundles; the
    # private half never leaves the workstation. None: enrolled before these keys (its bundles
    # carry an HMAC keyed by token_hash, accepted until it registers one), or revoked (dropped).
    bundle_public_key = TextField(null=True)


class SyncRow(ServerModel):
    entity = TextField()
    id = TextField()
    township_id = TextField(null=True, index=True)  # None: county-owned, sent to everyone
    version = IntegerField()
    deleted = BooleanField(default=False)
    seq = BigIntegerField(index=True)
    data = TextField()  # JSON payload as pushed
    updated_at = TextField()
    # who wrote this version: "<device id>:<the workstation's chain>" (a workstation restored from
    # a backup starts a new chain); its own pulls skip it. None: the county.
    origin = TextField(null=True)

    class Meta:
        primary_key = CompositeKey("entity", "id")


class SeqCounter(ServerModel):
    id = IntegerField(primary_key=True)
    value = BigIntegerField()


class PushBatch(ServerModel):
    """Stored result of every push batch: the same batch id again returns it unchanged."""

    batch_id = TextField(primary_key=True)
    device_id = TextField()
    result = TextField()
    created_at = TextField()
    # digest of the changes the batch carried: the same id with other content is refused, never
    # answered with this batch's result (None for batches stored before it was kept)
    content = TextField(null=True)


class IdLookup(ServerModel):
    """Keyed hash of each roster row's ID number, for "check my row" on the public page."""

    row_id = TextField(primary_key=True)
    notice_id = TextField(index=True)
    id_hmac = TextField(null=True, index=True)  # None for rows without an ID number (projects)
    row_seq = IntegerField()
    deleted = BooleanField(default=False)


class Blob(ServerModel):
    sha256 = TextField(primary_key=True)
    size = BigIntegerField()
    data = BlobField()
    created_at = TextField()


class Admin(ServerModel):
    username = TextField(primary_key=True)
    password_hash = TextField()
    created_at = TextField()
    failed_logins = IntegerField(null=True)  # wrong passwords in a row (None: none since the last success)
    locked_until = TextField(null=True)  # ISO time (UTC) before which no password is accepted


class AdminSession(ServerModel):
    """A signed-in administrator's session, known on the server: signing out ends it here, so a
    copied cookie stops working at once. ``csrf``: the token its forms carry."""

    id = TextField(primary_key=True)
    username = TextField(index=True)
    csrf = TextField()
    created_at = TextField()
    ended_at = TextField(null=True)


class HandoverRequest(ServerModel):
    """A workstation asks the county for a notice another workstation handles (one writer per
    notice); the county officer decides on the 公示移交 page. ``done_at``: handed over (to whomever)."""

    notice_id = TextField(index=True)
    device_id = TextField()
    created_at = TextField()
    done_at = TextField(null=True)


class AdminAudit(ServerModel):
    """What a county officer did that townships or residents notice: a public page taken down or
    put back, notices handed over, a workstation's access revoked. Kept for good."""

    at = TextField(index=True)  # the county's clock, UTC ISO
    username = TextField()
    action = TextField()  # take_down, put_back, hand_over, hand_over_all, revoke
    target = TextField()  # the notice or device concerned
    detail = TextField(default="")  # the reason given, or what was moved where


SERVER_MODELS = (ServerMeta, Township, EnrollCode, Device, SyncRow, SeqCounter, PushBatch, IdLookup, Blob, Admin,
                 HandoverRequest, AdminSession, AdminAudit)
