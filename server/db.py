"""The county server's database: PostgreSQL in production, SQLite as the embedded default."""

from __future__ import annotations

from pathlib import Path

from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase

database = DatabaseProxy()


def open_server_database(url: str):
    """``postgresql://user@host:port/name`` or ``sqlite:///path/to/file.sqlite3``."""
    if url.startswith(("postgresql://", "postgres://")):
        from urllib.parse import unquote, urlparse

        u = urlparse(url)
        from playhouse.pool import PooledPostgresqlDatabase

        db = PooledPostgresqlDatabase(
            u.path.lstrip("/"), user=unquote(u.username or ""), password=unquote(u.password or "") or None,
            host=u.hostname or None, port=u.port or None,
            # one connection per request thread (anyio's pool has 40); wait for one rather than fail
            max_connections=48, stale_timeout=300, timeout=30,
        )
    elif url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        db = SqliteDatabase(str(path), pragmas={"journal_mode": "wal", "foreign_keys": 1,
                                                "busy_timeout": 10_000, "synchronous": "normal"},
                            check_same_thread=False)
    else:
        raise ValueError("database URL must start with postgresql:// or sqlite:///")
    database.initialize(db)
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def write_transaction():
    """A write transaction. On SQLite it takes the write lock at once (BEGIN IMMEDIATE): a deferred
    transaction that upgrades later fails with "database is locked" instead of waiting its turn."""
    if is_postgres():
        return database.atomic()
    return database.atomic(lock_type="IMMEDIATE")
