"""Workstation maintenance reached from the desktop app: opening the database, first-run state,
backup and restore, and the crash log. ui/ never imports db; it calls these.

Backups contain personal data (the internal rosters): they are written with user-only permissions
and every backup and restore is recorded in the audit log.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sqlite3
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from app.context import CHINA, Context
from app.errors import Cancelled
from app.i18n import _
from app.masking import mask_free_text
from app.paths import AppPaths

Progress = Callable[[int, int, str], None]
LOG_FILE = "gongkai.log"

log = logging.getLogger("gongkai")


def open_workstation(paths: AppPaths) -> Context:
    """Open (create, migrate) the workstation database in ``paths``; raises DatabaseError."""
    from db.connection import open_database

    db = open_database(paths.database, backup_dir=paths.backups)
    return Context(db=db, data_dir=paths.data_dir)


# ------------------------------------------------------------------------------ first run
@dataclass(frozen=True)
class WorkstationState:
    has_township: bool
    has_users: bool
    township_name: str  # '' until the township's reference data is here

    @property
    def needs_setup(self) -> bool:
        """No township yet (demo or enrolment), or nobody who could sign in."""
        return not (self.has_township and self.has_users)


def workstation_state() -> WorkstationState:
    from app.settings import local_township_id
    from db.models import Region, User

    township_id = local_township_id()
    region = Region.get_or_none(Region.id == township_id) if township_id else None
    has_users = User.select().where(User.active == True).exists()  # noqa: E712
    return WorkstationState(township_id is not None, has_users, region.name if region else "")


# ------------------------------------------------------------------------------ backups
@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    schema: int
    modified: datetime  # UTC
    township: str
    notices: int
    users: int


@dataclass(frozen=True)
class RestoreResult:
    source: Path
    safety_backup: Path  # the database as it was before the restore


def default_backup_name(ctx: Context) -> str:
    """e.g. 公开栏备份-20261125-1000.sqlite3 (China time)."""
    return ctx.clock.now().astimezone(CHINA).strftime("公开栏备份-%Y%m%d-%H%M.sqlite3")


def backup_folder(ctx: Context) -> Path:
    return AppPaths(ctx.data_dir).backups


def inspect_backup(path: Path) -> BackupInfo:
    """Check a backup file and describe it; raises DatabaseError for an unusable file."""
    from db.backup import check_backup_file
    from db.migrations import LATEST

    path = Path(path)
    schema = check_backup_file(path, LATEST)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        notices = conn.execute("SELECT count(*) FROM notice WHERE NOT deleted").fetchone()[0]
        users = conn.execute("SELECT count(*) FROM user").fetchone()[0]
        row = conn.execute(
            "SELECT r.name FROM local_setting s JOIN region r ON r.id = json_extract(s.value, '$') "
            "WHERE s.key = 'township_id'").fetchone()
    except sqlite3.DatabaseError:
        notices, users, row = 0, 0, None
    finally:
        conn.close()
    stat = path.stat()
    return BackupInfo(path, stat.st_size, schema, datetime.fromtimestamp(stat.st_mtime, UTC),
                      row[0] if row else "", notices, users)


def backup_to(ctx: Context, dest: Path, by=None, progress: Progress | None = None,
              cancel: threading.Event | None = None) -> BackupInfo:
    """Write a consistent copy of the database to ``dest`` (atomically, user-only permissions)
    and check that it opens. Runs on a worker thread in the desktop app."""
    from app.audit import record
    from db.backup import backup_database

    report = progress or (lambda done, total, message: None)
    if cancel is not None and cancel.is_set():
        raise Cancelled(_("已取消备份。"))
    report(0, 2, _("正在备份数据库……"))
    dest = Path(dest)
    backups = AppPaths(ctx.data_dir).backups
    backup_database(ctx.db, dest, private_folder=dest.parent.resolve() == backups.resolve())
    report(1, 2, _("正在检查备份文件……"))
    info = inspect_backup(Path(dest))
    with ctx.write():
        record(ctx, by, "database.backup", "database", "", {"file": Path(dest).name, "size": info.size})
    report(2, 2, "")
    return info


def restore_from(ctx: Context, source: Path, by) -> RestoreResult:
    """Replace the database with the backup at ``source``. Only an administrator may do this in
    the app; ``by=None`` is the command line, run by whoever may write the data folder anyway.

    The backup is checked first (an unusable file changes nothing); the current database is saved
    in the backups folder first; an older backup is migrated to the current schema. The app must
    be restarted afterwards: everything it has in memory describes the old database.
    """
    import uuid

    from app.audit import record
    from app.settings import set_local, workstation_id
    from app.users import UserService
    from db.backup import backup_database, restore_database
    from db.migrations import migrate

    user = None if by is None else UserService(ctx).require(by.id if hasattr(by, "id") else by, "admin")
    source = Path(source)
    inspect_backup(source)  # before anything is touched
    paths = AppPaths(ctx.data_dir)
    stamp = ctx.clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    safety = paths.backups / f"before-restore-{stamp}.sqlite3"
    backup_database(ctx.db, safety, private_folder=True)
    restore_database(ctx.db, source)
    migrate(ctx.db, paths.database, paths.backups)
    summary = {"file": source.name, "previous": safety.name} | ({} if user else {"via": "command line"})
    with ctx.write():
        # A new workstation chain from here: the backup's own chain and outbox numbers were used
        # again after the backup was taken (the county holds those events and batches), so what
        # this workstation does from now on must not reuse them. The old chain comes back whole
        # from the county with the next sync.
        previous_chain = workstation_id()
        set_local("workstation_id", uuid.uuid4().hex)
        record(ctx, user, "database.restore", "database", "", summary | {"previous_chain": previous_chain})
    return RestoreResult(source, safety)


# ------------------------------------------------------------------------------ crash log
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_LONG_NUMBER = re.compile(r"\d{6,}[Xx]?")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u00b7]+")


def scrub(text: str) -> str:
    """Remove what could be personal data from an error text: quoted values, Chinese text (names,
    addresses) and long numbers (ID numbers, bank accounts, phones). File names and line numbers
    of code stay."""
    lines = []
    for line in text.splitlines():
        if line.startswith('  File "'):
            lines.append(line)
        else:
            # personal numbers however typed (full-width, grouped, +86), then anything long
            line = mask_free_text(line)
            lines.append(_CJK.sub("…", _LONG_NUMBER.sub("###", _QUOTED.sub("'…'", line))))
    return "\n".join(lines)


def crash_report(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> str:
    """The traceback of an unexpected error, without personal data."""
    return scrub("".join(traceback.format_exception(exc_type, exc, tb)))


def setup_file_log(data_dir: Path) -> Path:
    """Log warnings and errors to ``logs/gongkai.log`` in the data folder (user-only, rotated)."""
    folder = Path(data_dir) / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / LOG_FILE
    if not any(getattr(h, "baseFilename", None) == str(path) for h in log.handlers):
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.WARNING)
        log.addHandler(handler)
    return path


def log_crash(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> str:
    """Write the scrubbed traceback to the log; returns it (for the error dialog's details)."""
    report = crash_report(exc_type, exc, tb)
    log.error("unexpected error\n%s", report)
    return report
