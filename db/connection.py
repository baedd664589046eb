"""Opening the workstation database: pragmas, permissions, migrations."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from peewee import SqliteDatabase

from app.errors import DatabaseError
from app.i18n import _
from db.models import database

DB_FILENAME = "gongkai.sqlite3"

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "synchronous": "normal",
    "cache_size": -32_000,
}


def secure_dir(path: Path) -> Path:
    """Create ``path`` readable by the current user only: it holds personal data."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def open_database(path: Path, *, migrate: bool = True, backup_dir: Path | None = None) -> SqliteDatabase:
    """Initialise the process-wide database at ``path`` and bring its schema up to date.

    Safe to call again with another path (tests do): the previous connection is closed first.
    """
    from db.migrations import migrate as run_migrations

    if not database.is_closed():
        database.close()
    secure_dir(path.parent)
    database.init(str(path), pragmas=PRAGMAS, check_same_thread=False)
    try:
        database.connect(reuse_if_open=True)
        # fail here, with a clear message, when the file is not a database at all
        database.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
    except (sqlite3.DatabaseError, Exception) as exc:  # peewee wraps sqlite3 errors
        database.close()
        raise DatabaseError(
            _("无法打开数据库文件，文件可能已损坏或不是本软件的数据库。请从备份恢复。"),
            details=f"{path.name}: {exc}",
        ) from exc
    if path.exists():
        os.chmod(path, 0o600)
    if migrate:
        run_migrations(database, path, backup_dir or path.parent / "backups")
    return database


def close_database() -> None:
    if not database.is_closed():
        database.close()
