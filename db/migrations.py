"""Numbered, append-only schema migrations keyed by ``PRAGMA user_version``.

Each step runs in its own transaction. Before the first pending step of a database that already
has a schema, an automatic backup is written, so a failed upgrade can always be undone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from peewee import SqliteDatabase

from app.errors import DatabaseError
from app.i18n import _

log = logging.getLogger(__name__)

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    path: Path

    def statements(self) -> list[str]:
        text = "\n".join(
            line for line in self.path.read_text(encoding="utf-8").splitlines()
            if not line.startswith("--")
        )
        return [s.strip() for s in text.split(";") if s.strip()]


def available() -> list[Migration]:
    found = []
    for path in sorted(SCHEMA_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        number = int(path.name[:4])
        found.append(Migration(number, path.stem[5:], path))
    numbers = [m.number for m in found]
    assert numbers == list(range(1, len(found) + 1)), f"migration numbers have a gap: {numbers}"
    return found


LATEST = len(available())


def schema_version(db: SqliteDatabase) -> int:
    return db.execute_sql("PRAGMA user_version").fetchone()[0]


def migrate(db: SqliteDatabase, db_path: Path, backup_dir: Path) -> Path | None:
    """Apply every pending migration; return the backup written first, if any."""
    from db.backup import backup_database

    current = schema_version(db)
    if current > LATEST:
        raise DatabaseError(
            _("数据库来自更新版本的软件，请升级本软件后再打开。"),
            details=f"schema {current} > supported {LATEST}",
        )
    pending = [m for m in available() if m.number > current]
    if not pending:
        return None
    backup = None
    if current > 0:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = backup_dir / f"before-schema-{pending[0].number}-{stamp}.sqlite3"
        backup_database(db, backup, private_folder=True)
        log.info("backed up schema %s database before migrating", current)
    for step in pending:
        with db.atomic():
            for statement in step.statements():
                db.execute_sql(statement)
            db.execute_sql(f"PRAGMA user_version = {step.number}")
        log.info("migrated database to schema %s (%s)", step.number, step.name)
    return backup
