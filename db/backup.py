"""Backup and restore through SQLite's online backup API (consistent while the app runs)."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from peewee import SqliteDatabase

from app.errors import DatabaseError
from app.i18n import _


def backup_database(db: SqliteDatabase, dest: Path, private_folder: bool = False) -> Path:
    """Write a consistent copy of ``db`` to ``dest`` (readable by the user only), atomically.

    ``private_folder`` is for the app's own backups folder, which is made user-only too; a
    folder the user chose keeps its permissions. A failed backup leaves nothing behind.
    """
    if dest.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file name", str(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    if private_folder:
        os.chmod(dest.parent, 0o700)
    tmp = dest.with_name(dest.name + ".part")
    tmp.unlink(missing_ok=True)
    try:
        target = sqlite3.connect(tmp)
        try:
            os.chmod(tmp, 0o600)
            db.connection().backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def check_backup_file(path: Path, latest_schema: int) -> int:
    """Return the schema version of a backup file, or raise DatabaseError if it is unusable."""
    if not path.is_file():
        raise DatabaseError(_("找不到备份文件：{name}").format(name=path.name))
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(_("备份文件“{name}”已损坏或不是本软件的备份，未做任何更改。").format(name=path.name),
                            details=str(exc)) from exc
    if ok != "ok" or "notice" not in tables or version < 1:
        raise DatabaseError(_("备份文件“{name}”已损坏或不是本软件的备份，未做任何更改。").format(name=path.name),
                            details=f"integrity={ok}")
    if version > latest_schema:
        raise DatabaseError(_("备份文件“{name}”来自更新版本的软件，请先升级本软件。").format(name=path.name),
                            details=f"schema {version}")
    return version


def restore_database(db: SqliteDatabase, source: Path) -> None:
    """Replace the contents of ``db`` with the backup at ``source`` in one step.

    The backup is checked first; an unusable file changes nothing.
    """
    from db.migrations import LATEST

    check_backup_file(source, LATEST)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        src.backup(db.connection())
    finally:
        src.close()
