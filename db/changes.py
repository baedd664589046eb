"""The only way synced rows are written: version bump, timestamp and outbox entry together.

Callers hold the transaction (services wrap each action in ``database.atomic()``), so the change
and its outbox entry commit together or not at all.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from peewee import SQL

from db.fields import DecimalText, JSONText
from db.models import Outbox, SyncedModel


def new_id() -> str:
    """A UUID version 7 (RFC 9562): time-ordered, so bulk inserts append to the primary-key
    index instead of scattering over it, and ids still never collide across workstations."""
    return new_ids(1)[0]


def new_ids(count: int) -> list[str]:
    """``count`` UUIDv7 ids from one timestamp and one read of the random source, in ascending
    order: they share their millisecond, and rows inserted with them in this order append to the
    primary-key index instead of scattering over its end (a quarter of a 100,000-row insert)."""
    ms = (time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF
    stamp = f"{ms:012x}"
    head = f"{stamp[:8]}-{stamp[8:]}-7"
    pool = os.urandom(10 * count).hex()
    out = []
    for i in range(0, 20 * count, 20):
        r = pool[i : i + 20]
        # 12 random bits after the version; the variant bits 10 on the next group's first digit
        variant = "89ab"[int(r[3], 16) & 3]
        out.append(f"{head}{r[:3]}-{variant}{r[4:7]}-{r[7:19]}")
    out.sort()
    return out


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
    changed = None
    if created:
        row.id = row.id or new_id()
        row.version = 1
        base = None
    else:
        base = row.version
        before = type(row).get_or_none(type(row).id == row.id)
        if before is not None:
            old, new = payload_of(before), payload_of(row)
            changed = sorted(k for k in new if k not in _STAMPS and old.get(k) != new[k])
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
        fields=changed,
    )
    return row


#: columns every change sets: not what the clerk changed
_STAMPS = frozenset({"version", "updated_at"})


def insert_many(model: type[SyncedModel], rows: Sequence[dict[str, Any]]) -> list[str]:
    """Insert many new rows of one model with their outbox entries; returns their ids.

    ``rows`` are dicts of field name → value; missing fields take their defaults. Call inside a
    transaction.
    """
    fields = [f for f in model._meta.sorted_fields if f.name not in ("id", "version", "updated_at")]
    # defaults are shared between rows: they are only read, never mutated
    spec = [(f.name, f.default() if callable(f.default) else f.default, _fast_db_value(f)) for f in fields]
    values = []
    for data in rows:
        record = [data.get("id") or new_id()]
        for name, default, convert in spec:
            value = data.get(name, default)
            record.append(value if convert is None else convert(value))
        values.append(record)
    return insert_values(model, [f.column_name for f in fields], values)


def insert_values(model: type[SyncedModel], columns: Sequence[str], values: list[list[Any]]) -> list[str]:
    """Insert rows given as ``[id, *values in columns order]``, already converted for SQLite, with
    their outbox entries; returns the ids. Call inside a transaction.
    """
    if not values:
        return []
    ids, *by_column = zip(*values, strict=True)
    _insert_columns(model, list(ids), {}, dict(zip(columns, by_column, strict=True)))
    return list(ids)


def insert_columns(model: type[SyncedModel], shared: dict[str, Any],
                   columns: dict[str, Sequence[Any]], *, ids: list[str] | None = None) -> list[str]:
    """Insert new rows of one model given column by column, with their outbox entries; returns
    their ids (new ones unless ``ids`` are given). ``shared`` holds the values every row has (such
    as the notice), ``columns`` one sequence per column, all of the same length. Values are
    already converted for SQLite. Call inside a transaction.
    """
    n = len(next(iter(columns.values()))) if columns else 0
    if not n:
        return []
    ids = new_ids(n) if ids is None else ids
    _insert_columns(model, ids, shared, columns)
    return ids


def _insert_columns(model: type[SyncedModel], ids: list[str], shared: dict[str, Any],
                    columns: dict[str, Sequence[Any]]) -> None:
    """Insert the rows ``ids`` (their other values in ``columns``, and ``shared`` for all).

    One statement inserts many rows (``INSERT … VALUES (…), (…), …``): a peewee query per row
    costs more than the insert itself, and ``executemany`` runs the statement once per row and
    lets go of the GIL around each one, which starves a thread that stores rows while another
    one checks them. Here a statement's values are bound in C and SQLite then inserts all its
    rows with the GIL released. The parameters are plain ``?`` (numbered ones make SQLite's
    compiling quadratic). The outbox payloads are built by SQLite's ``json_object`` from the
    rows just written, ten times faster than encoding them in Python.
    """
    now = utc_now()
    table = model._meta.table_name
    names = ["id", "updated_at", *shared, *columns]
    width = len(names)
    fixed = [now, *shared.values()]
    quoted = ", ".join(f'"{c}"' for c in names)
    head = f'INSERT INTO "{table}" ("version", {quoted}) VALUES '
    row_sql = "(1, " + ", ".join(["?"] * width) + ")"
    conn = model._meta.database.connection()
    per = max(1, min(_ROWS_PER_STATEMENT, _variable_limit(conn) // width))
    last_rowid = conn.execute(f'SELECT coalesce(max(rowid), 0) FROM "{table}"').fetchone()[0]
    n = len(ids)
    for start in range(0, n, per):
        stop = min(n, start + per)
        m = stop - start
        params: list[Any] = [None] * (m * width)
        params[0::width] = ids[start:stop]  # slice assignments: no Python work per row
        for k, value in enumerate(fixed, start=1):
            params[k::width] = [value] * m
        for k, values in enumerate(columns.values(), start=1 + len(fixed)):
            params[k::width] = values[start:stop]
        conn.execute(head + ", ".join([row_sql] * m), params)
    conn.execute(
        'INSERT INTO "outbox" ("entity", "entity_id", "version", "base_version", "payload", "created_at") '
        f'SELECT ?, "id", 1, NULL, {_json_object_sql(model)}, ? FROM "{table}" WHERE rowid > ? ORDER BY rowid',
        (model.entity, now, last_rowid),
    )


def json_values(values: Iterable[str]) -> SQL:
    """``values`` as a subquery for ``IN``: one JSON parameter however many there are (SQLite
    allows 999 or 32,766 parameters per statement in many builds)."""
    return SQL("(SELECT value FROM json_each(?))", [json.dumps(list(values), ensure_ascii=False)])


def update_column(model: type[SyncedModel], column: str, changes: Sequence[tuple[str, Any]]) -> None:
    """Set one column of many existing rows, given as ``(id, value already converted for
    SQLite)``: each row's version goes up by one and its outbox entry is written, as
    :func:`save_change` does for one row. Call inside a transaction.

    One prepared UPDATE runs for all rows, and SQLite builds the outbox payloads from the rows
    as updated; the ids travel as one JSON parameter, so no limit on parameters applies.
    """
    if not changes:
        return
    now = utc_now()
    table = model._meta.table_name
    conn = model._meta.database.connection()
    conn.executemany(f'UPDATE "{table}" SET "{column}" = ?, "version" = "version" + 1, "updated_at" = ? '
                     'WHERE "id" = ?', [(value, now, rid) for rid, value in changes])
    ids = json.dumps([rid for rid, _value in changes])
    conn.execute(
        'INSERT INTO "outbox" ("entity", "entity_id", "version", "base_version", "payload", "created_at", "fields") '
        f'SELECT ?, "id", "version", "version" - 1, {_json_object_sql(model)}, ?, ? FROM "{table}" '
        'WHERE "id" IN (SELECT value FROM json_each(?)) ORDER BY rowid',
        (model.entity, now, json.dumps([column]), ids),
    )


# Rows per INSERT statement, fewer where SQLite allows fewer parameters (32,766 in its own
# builds, 250,000 in Debian's). A thread that stores rows while another computes waits for the
# GIL after each statement: fewer, bigger statements wait less.
_ROWS_PER_STATEMENT = 10_000


def _variable_limit(conn: sqlite3.Connection) -> int:
    """How many ``?`` one statement may hold (999 before SQLite 3.32, 32766 since)."""
    try:
        return conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # pragma: no cover - Python < 3.11
        return 999


def _json_value_sql(field) -> str:
    """SQL for one column's value as :func:`payload_of` has it, inside a JSON function."""
    col = f'"{field.column_name}"'
    if isinstance(field, JSONText):
        return f"json({col})"
    if field.field_type == "BOOL":
        return f"json(CASE WHEN {col} THEN 'true' ELSE 'false' END)"
    return col


def _json_object_sql(model: type[SyncedModel]) -> str:
    """SQL building the same payload as :func:`payload_of` from a stored row."""
    parts = [f"'{field.column_name}', {_json_value_sql(field)}" for field in model._meta.sorted_fields]
    return f"json_object({', '.join(parts)})"


def json_array_sql(model: type[SyncedModel]) -> tuple[list[str], str]:
    """(column names, SQL building a JSON array of a stored row's payload values in that order)."""
    fields = model._meta.sorted_fields
    return [f.column_name for f in fields], f"json_array({', '.join(_json_value_sql(f) for f in fields)})"


def _fast_db_value(field):
    """The field's conversion to an SQLite value, or None where the value binds as it is."""
    if isinstance(field, JSONText):
        convert = field.db_value
        return lambda v: ("[]" if v == [] else "{}" if v == {} else convert(v))
    if field.field_type in ("TEXT", "INT") and not isinstance(field, DecimalText):
        return None
    return field.db_value


def delete_change(row: SyncedModel) -> None:
    """Tombstone ``row``: synced rows are never removed, only marked deleted."""
    row.deleted = True
    save_change(row)


def ids(rows: Iterable[SyncedModel]) -> list[str]:
    return [r.id for r in rows]
