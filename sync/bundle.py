"""USB bundles: the same changes a push would carry, in one authenticated file (SYNC.md).

A bundle is gzip-compressed: a header line (format, kind, device id, HMAC) and a JSON body. The
HMAC is keyed by the SHA-256 of the device token, which the county also holds (it stores only that
hash), so a bundle from another workstation, or one altered on the way, is refused. Files are
written to a temporary name, flushed to disk, renamed, and read back before the clerk is told the
stick can be removed.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
import zlib
from pathlib import Path
from typing import Any

from app.errors import AppError
from app.i18n import _

FORMAT = "gongkai-bundle"
FORMAT_VERSION = 1
MAX_BUNDLE_BYTES = 512 * 1024 * 1024


class BundleError(AppError):
    """The bundle is unusable: nothing was changed."""


def bundle_key(token_hash: str) -> bytes:
    """The HMAC key: the SHA-256 (hex) of the device token, known to both ends."""
    return bytes.fromhex(token_hash)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def write_bundle(path: Path, kind: str, device_id: str, key: bytes, body: dict[str, Any]) -> Path:
    """Write, flush, rename, then read back and verify."""
    payload = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    header = {"format": FORMAT, "version": FORMAT_VERSION, "kind": kind, "device_id": device_id,
              "hmac": hmac.new(key, payload, hashlib.sha256).hexdigest()}
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(json.dumps(header).encode() + b"\n" + payload)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BundleError(_("无法写入同步文件，请检查U盘。"), details=str(exc)) from exc
    read_bundle(path, kind, lambda device: key)  # the stick holds what we meant to write
    return path


def read_bundle(path: Path, kind: str, key_for) -> tuple[str, dict[str, Any]]:
    """Return (device_id, body) of a verified bundle; ``key_for(device_id)`` gives its key or None."""
    name = path.name
    try:
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise BundleError(_("同步文件“{name}”过大。").format(name=name))
        with gzip.open(path, "rb") as gz:
            data = gz.read(MAX_BUNDLE_BYTES + 1)
    except BundleError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise BundleError(_("同步文件“{name}”已损坏或不完整，未做任何更改。").format(name=name),
                          details=type(exc).__name__) from exc
    head, _sep, payload = data.partition(b"\n")
    try:
        header = json.loads(head)
        assert header.get("format") == FORMAT
    except (ValueError, AssertionError, AttributeError) as exc:
        raise BundleError(_("“{name}”不是本软件的同步文件。").format(name=name)) from exc
    if header.get("version") != FORMAT_VERSION:
        raise BundleError(_("同步文件“{name}”来自不兼容的版本，请升级软件。").format(name=name))
    if header.get("kind") != kind:
        raise BundleError(_("“{name}”不是这一步需要的同步文件。").format(name=name), details=str(header.get("kind")))
    key = key_for(str(header.get("device_id", "")))
    if key is None:
        raise BundleError(_("同步文件“{name}”来自未注册或已停用的工作站，未做任何更改。").format(name=name))
    good = hmac.new(key, payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(good, str(header.get("hmac", ""))):
        raise BundleError(_("同步文件“{name}”校验失败（可能被改动或来自其他工作站），未做任何更改。").format(name=name))
    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise BundleError(_("同步文件“{name}”已损坏，未做任何更改。").format(name=name)) from exc
    return header["device_id"], body
