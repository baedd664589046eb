"""The county server's database: PostgreSQL in production, SQLite as the embedded default."""

from __future__ import annotations

import os
import select
from pathlib import Path

from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase

database = DatabaseProxy()


def _pooled_postgresql():
    from playhouse.pool import PooledPostgresqlDatabase
    from psycopg.pq import TransactionStatus

    class CheckedPool(PooledPostgresqlDatabase):
        """peewee's pool without its ``SELECT 1`` on every check-out: that round trip ran under
        the pool's lock, so it serialised every request of a worker. A pooled connection is idle;
        if its socket has become readable, the server has sent it something on its own, which for
        an idle session means it was terminated (a restart or an administrator's
        pg_terminate_backend) -- the connection is discarded and a fresh one opened, as the ping
        did. A connection lost between this check and its first statement fails that request with
        503 and is not returned to the pool (``_can_reuse``)."""

        def _is_closed(self, conn) -> bool:
            if conn.closed:
                return True
            if conn.pgconn.transaction_status != TransactionStatus.IDLE:
                return self._adapter.is_connection_closed(conn)  # rolls back, or finds it broken
            try:
                poller = select.poll()
                poller.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
                terminated = bool(poller.poll(0))
            except Exception:  # noqa: BLE001 - no usable socket: as good as closed
                terminated = True
            if terminated:
                self._close_raw(conn)
            return terminated

    return CheckedPool


def open_server_database(url: str, bundle_key: Path | None = None):
    """``postgresql://user@host:port/name`` or ``sqlite:///path/to/file.sqlite3``. ``bundle_key``:
    the county's signing key file for USB replies, kept outside the database (default: see
    :func:`server.keys.default_key_file`)."""
    if url.startswith(("postgresql://", "postgres://")):
        from urllib.parse import unquote, urlparse

        u = urlparse(url)
        db = _pooled_postgresql()(
            u.path.lstrip("/"), user=unquote(u.username or ""), password=unquote(u.password or "") or None,
            host=u.hostname or None, port=u.port or None,
            # one connection per request thread (anyio's pool has 40); wait for one rather than fail
            max_connections=48, stale_timeout=300, timeout=30,
            # psycopg prepares a statement run often; PostgreSQL would then settle on one generic
            # plan, made once -- for a new county while sync_row is nearly empty, a plan that reads
            # the whole table, kept as it grows. Plan each execution for its parameters instead.
            options="-c plan_cache_mode=force_custom_plan",
        )
    elif url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        if not path.exists():
            # every roster's full ID, bank and phone numbers: the county's account alone reads it
            # (SQLite gives its -wal and -shm files the same permissions)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        db = SqliteDatabase(str(path), pragmas={"journal_mode": "wal", "foreign_keys": 1,
                                                "busy_timeout": 10_000, "synchronous": "normal"},
                            check_same_thread=False)
    else:
        raise ValueError("database URL must start with postgresql:// or sqlite:///")
    database.initialize(db)
    from server.keys import default_key_file

    _county_files["bundle_key"] = Path(bundle_key) if bundle_key else default_key_file(url)
    return db


# files of the open county that live beside, not in, its database
_county_files: dict[str, Path] = {}


def bundle_key_file() -> Path:
    """The open county's signing key file for USB replies (see server.keys)."""
    return _county_files["bundle_key"]


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def write_transaction():
    """A write transaction. On SQLite it takes the write lock at once (BEGIN IMMEDIATE): a deferred
    transaction that upgrades later fails with "database is locked" instead of waiting its turn."""
    if is_postgres():
        return database.atomic()
    return database.atomic(lock_type="IMMEDIATE")
