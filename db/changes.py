"""The only way synced rows are written: version bump, timestamp and outbox entry together.

Callers hold the transaction (services wrap each action in ``database.atomic()``), so the change
and its outbox entry commit together or not at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from db.models import Outbox, SyncedModel


def new_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def payload_of(row: SyncedModel) -> dict[str, Any]:
    """The row as it travels on the wire: column names and JSON-plain values."""
    return {
        field.column_name: _plain(row.__data__.get(name))
        for name, field in row._meta.fields.items()
    }


def save_change(row: SyncedModel, *, created: bool = False) -> SyncedModel:
    """Insert (``created``) or update ``row`` and record the change in the outbox."""
    if created:
        row.id = row.id or new_id()
        row.version = 1
        base = None
    else:
        base = row.version
        row.version = base + 1
    row.updated_at = utc_now()
    row.save(force_insert=created)
    Outbox.create(
        entity=row.entity,
        entity_id=row.id,
        version=row.version,
        base_version=base,
        payload=payload_of(row),
        created_at=row.updated_at,
    )
    return row


def insert_many(model: type[SyncedModel], rows: Sequence[SyncedModel]) -> None:
    """Insert many new rows of one model with their outbox entries.

    Used for large rosters: it binds values straight to ``executemany`` because building a
    peewee query per row costs more than the insert itself (100k rows: ~25 s against ~1 s).
    """
    if not rows:
        return
    now = utc_now()
    fields = list(model._meta.sorted_fields)
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    marks = ", ".join("?" for _ in fields)
    table_sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
    outbox_sql = (
        'INSERT INTO "outbox" ("entity", "entity_id", "version", "base_version", "payload", "created_at") '
        "VALUES (?, ?, 1, NULL, ?, ?)"
    )
    values, outbox = [], []
    dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_plain).encode
    for row in rows:
        row.id = row.id or new_id()
        row.version = 1
        row.updated_at = now
        data = row.__data__
        values.append(tuple(f.db_value(data.get(f.name)) for f in fields))
        outbox.append((model.entity, row.id, dumps({f.column_name: data.get(f.name) for f in fields}), now))
    conn = model._meta.database.connection()
    conn.executemany(table_sql, values)
    conn.executemany(outbox_sql, outbox)


def delete_change(row: SyncedModel) -> None:
    """Tombstone ``row``: synced rows are never removed, only marked deleted."""
    row.deleted = True
    save_change(row)


def ids(rows: Iterable[SyncedModel]) -> list[str]:
    return [r.id for r in rows]
