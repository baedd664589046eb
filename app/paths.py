"""Where data lives: the ``--data-dir`` flag, then ``GONGKAI_DATA_DIR``, then the user data folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_VAR = "GONGKAI_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path

    @classmethod
    def resolve(cls, flag: str | os.PathLike | None = None) -> AppPaths:
        if flag:
            return cls(Path(flag).expanduser().resolve())
        if os.environ.get(ENV_VAR):
            return cls(Path(os.environ[ENV_VAR]).expanduser().resolve())
        # unversioned, so that data survives upgrades
        return cls(Path(platformdirs.user_data_dir("Gongkai", appauthor=False, roaming=False)))

    @property
    def database(self) -> Path:
        from db.connection import DB_FILENAME

        return self.data_dir / DB_FILENAME

    @property
    def backups(self) -> Path:
        return self.data_dir / "backups"
