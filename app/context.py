"""What every service needs: the open database, the data folder and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from peewee import SqliteDatabase

# China Standard Time: the legal day of a posting period, and how clerks read times.
CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Clock:
    """Today's date and the current UTC time; tests pass a fixed one."""

    now_fn: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.now_fn()

    def today(self) -> date:
        # Notices are posted in China: the legal day is the China Standard Time day.
        return self.now().astimezone(CHINA).date()

    @classmethod
    def fixed(cls, moment: datetime) -> Clock:
        return cls(now_fn=lambda: moment)


@dataclass(frozen=True)
class Context:
    db: SqliteDatabase
    data_dir: Path
    clock: Clock = field(default_factory=Clock)

    def write(self):
        """One write transaction; IMMEDIATE so that concurrent writers queue instead of failing."""
        return self.db.atomic(lock_type="IMMEDIATE")

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"
