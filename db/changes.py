"""The only way synced rows are written: version bump, timestamp and outbox entry together.

Callers hold the transaction (services wrap each action in ``database.atomic()``), so the change
and its outbox entry commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from db.models import Outbox, SyncedModel

#: rows per INSERT statement; SQLite allows 32,766 bound variables per statement
_BULK_CHUNK = 400


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
    """Insert many new rows of one model with their outbox entries, in chunks.

    Used for large rosters: row-by-row ``save`` would be two orders of magnitude slower.
    """
    now = utc_now()
    for row in rows:
        row.id = row.id or new_id()
        row.version = 1
        row.updated_at = now
    fields = list(model._meta.sorted_fields)
    for start in range(0, len(rows), _BULK_CHUNK):
        chunk = rows[start : start + _BULK_CHUNK]
        model.insert_many(
            [tuple(r.__data__.get(f.name, f.default() if callable(f.default) else f.default) for f in fields) for r in chunk],
            fields=fields,
        ).execute()
        Outbox.insert_many(
            [
                {
                    Outbox.entity: model.entity,
                    Outbox.entity_id: r.id,
                    Outbox.version: 1,
                    Outbox.base_version: None,
                    Outbox.payload: payload_of(r),
                    Outbox.created_at: now,
                }
                for r in chunk
            ]
        ).execute()


def delete_change(row: SyncedModel) -> None:
    """Tombstone ``row``: synced rows are never removed, only marked deleted."""
    row.deleted = True
    save_change(row)


def ids(rows: Iterable[SyncedModel]) -> list[str]:
    return [r.id for r in rows]
