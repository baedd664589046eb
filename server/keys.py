"""The county's signing key for USB reply bundles: an Ed25519 key in a file outside the database.

A copy of the county's database (a backup that went astray) must not be enough to make a reply a
workstation accepts, so the key is not stored in it. The file is made on first use, readable by the
county's account alone (0600, in a folder made 0700). Where it lives:

- SQLite: beside the database file, ``<name>-keys/bundle-signing.key`` (``county.sqlite3`` →
  ``county-keys/``);
- PostgreSQL: ``serve --bundle-key PATH`` (also ``county`` and ``bundle import``), by default
  ``county-keys/bundle-signing.key`` in the data folder (``--data-dir``, ``GONGKAI_DATA_DIR``, or
  the user data folder).

Back the key file up apart from the database. Losing it means a new key: replies then verify only
on workstations enrolled after that.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

KEY_FOLDER_SUFFIX = "-keys"
KEY_FILE = "bundle-signing.key"

_lock = threading.Lock()
_loaded: dict[Path, Ed25519PrivateKey] = {}


def default_key_file(db_url: str, data_dir: Path | None = None) -> Path:
    """Where the key lives unless an option says otherwise (see the module docstring)."""
    if db_url.startswith("sqlite:///"):
        database = Path(db_url.removeprefix("sqlite:///"))
        return database.parent / f"{database.stem}{KEY_FOLDER_SUFFIX}" / KEY_FILE
    if data_dir is None:
        from app.paths import AppPaths

        data_dir = AppPaths.resolve(None).data_dir
    return Path(data_dir) / f"county{KEY_FOLDER_SUFFIX}" / KEY_FILE


def county_signing_key(path: Path) -> Ed25519PrivateKey:
    """The key in ``path``, made there first if there is none. Safe from several threads and
    worker processes at once: a new key is written to a private temporary file and linked into
    place, so every process ends up with the same one."""
    path = Path(path)
    with _lock:
        key = _loaded.get(path)
        if key is None:
            key = _loaded[path] = _read(path) if path.exists() else _create(path)
        return key


def _read(path: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path.name} does not hold an Ed25519 key")
    return key


def _create(path: Path) -> Ed25519PrivateKey:
    folder = path.parent
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)  # (another process may be making it too)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    tmp = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read(path)  # another process made it first: theirs is the county's key
    finally:
        tmp.unlink(missing_ok=True)
    return key
