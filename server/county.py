"""County administration that the CLI and the admin pages share: the county itself, its
townships, enrolment codes, admins, and the county settings every workstation receives."""

from __future__ import annotations

import uuid

from app.reference import check_division_code
from app.settings import county_setting_id
from app.users import hash_password
from server import sync_service as svc
from server.db import write_transaction
from server.models import Admin, Township

COUNTY_ROW_ID = "county"


def init_county(code: str, name: str, public_url: str) -> None:
    """Create the schema, the county region row and its public settings. Safe to run again."""
    check_division_code(code, "county")
    if not public_url.startswith(("http://", "https://")):
        raise svc.SyncError(422, "public URL must start with http:// or https://")
    svc.create_schema()
    svc.put_county_row("region", COUNTY_ROW_ID, {"name": name, "level": "county", "code": code,
                                                "parent_id": None, "sort_key": code})
    set_county_setting("county_name", name)
    set_county_setting("public_url", public_url.rstrip("/"))
    from server.admin import seed_catalogue

    seed_catalogue()


def set_county_setting(key: str, value) -> None:
    svc.put_county_row("county_setting", county_setting_id(key), {"key": key, "value": value})


def add_township(code: str, name: str, township_id: str | None = None) -> str:
    """Register a township (idempotent by code). ``township_id`` adopts a workstation's existing
    township id, for a township that kept its records before the county server existed."""
    check_division_code(code, "township")
    with write_transaction():
        existing = Township.get_or_none(Township.code == code)
        if existing is not None:
            return existing.id
        township_id = township_id or str(uuid.uuid4())
        Township.create(id=township_id, code=code, name=name)
        svc.put_county_row("region", township_id, {"name": name, "level": "township", "code": code,
                                                  "parent_id": COUNTY_ROW_ID, "sort_key": code})
    return township_id


def create_admin(username: str, password: str) -> None:
    if len(password) < 10:
        raise svc.SyncError(422, "admin passwords need at least 10 characters")
    Admin.insert(username=username, password_hash=hash_password(password), created_at=svc.now_iso()).on_conflict(
        conflict_target=[Admin.username], update={Admin.password_hash: hash_password(password)}).execute()


def backup(url: str, target) -> str:
    """Copy the county's SQLite database to ``target`` (consistent while the server runs).
    PostgreSQL is backed up with ``pg_dump``."""
    import sqlite3
    from pathlib import Path

    if not url.startswith("sqlite:///"):
        raise svc.SyncError(422, "back up PostgreSQL with pg_dump; this command copies SQLite databases")
    import os

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # it holds every roster's full numbers, as the database does: the county's account alone reads it
    os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(target, 0o600)  # a file that was there before, too
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
    return str(target)


def restore(url: str, source=None) -> str:
    """Replace the county's SQLite database with the backup ``source`` (the server must be
    stopped), or, without ``source``, record that the database was restored by other means
    (``pg_restore``). Either way the server gets a new epoch, so every workstation re-sends what
    the backup lacks and re-pulls from zero (SYNC.md). Returns the new epoch."""
    import sqlite3
    from pathlib import Path

    if source is not None:
        if not url.startswith("sqlite:///"):
            raise svc.SyncError(422, "restore PostgreSQL with pg_restore, then run this command without --from")
        source = Path(source)
        try:
            conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            conn.execute("SELECT value FROM server_meta WHERE key = 'epoch'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise svc.SyncError(422, f"{source} is not a county server backup: {exc}") from exc
        dest = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            conn.backup(dest)
        finally:
            dest.close()
            conn.close()
    from server.db import database

    with database.connection_context():
        return svc.new_epoch()
