"""USB bundles: the same changes a push would carry, in one authenticated file (SYNC.md).

A bundle is gzip-compressed: a header line (format, version, kind, device id, signature) and a
JSON body. A workstation's bundle is signed with the workstation's own Ed25519 key, made at
enrolment and kept only in its local database (the county stores the public half); the county's
reply is signed with the county's key, kept in a file outside its database (the workstation
received the public half at enrolment). The signature covers the header (so a reply for one
workstation cannot be relabelled for another) and the SHA-256 of the body. Nothing the county's
database holds is enough to make a bundle either side accepts.

Workstations enrolled before these keys sign with an HMAC keyed by the SHA-256 of their token
(format version 1, :class:`LegacyKey`). The county accepts that only from a workstation that has
not registered a key yet; its next online sync registers one, and from then on the HMAC is refused.

Files are written to a temporary name, flushed to disk, renamed, and read back before the clerk is
told the stick can be removed.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from app.errors import AppError
from app.i18n import _

FORMAT = "gongkai-bundle"
FORMAT_VERSION = 2  # Ed25519 signatures
LEGACY_VERSION = 1  # HMAC keyed by the token's hash: workstations that have not registered a key
MAX_BUNDLE_BYTES = 512 * 1024 * 1024
_HEX_KEY = re.compile(r"[0-9a-f]{64}")


class BundleError(AppError):
    """The bundle is unusable: nothing was changed."""


@dataclass(frozen=True)
class LegacyKey:
    """The HMAC key of format version 1: the SHA-256 of the device token. The county's database
    holds exactly that hash, so it proves nothing against someone holding a copy of the database;
    accepted only until the workstation registers a signing key."""

    secret: bytes

    @classmethod
    def of_token_hash(cls, token_hash: str) -> LegacyKey:
        return cls(bytes.fromhex(token_hash))

    @classmethod
    def of_token(cls, token: str) -> LegacyKey:
        return cls.of_token_hash(token_hash(token))


SigningKey = Ed25519PrivateKey | LegacyKey
VerifyingKey = Ed25519PublicKey | LegacyKey


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ------------------------------------------------------------------------- keys as text
def new_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_text(key: Ed25519PrivateKey) -> str:
    """The raw private key in hex (for the workstation's local database only)."""
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    if not isinstance(text, str) or not _HEX_KEY.fullmatch(text):
        raise ValueError("not an Ed25519 private key")
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw public key in hex (64 digits): what the other side stores and the API carries."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def public_key_from_text(text: Any) -> Ed25519PublicKey:
    """Raises ValueError unless ``text`` is 64 lowercase hex digits of an Ed25519 public key."""
    if not isinstance(text, str) or not _HEX_KEY.fullmatch(text):
        raise ValueError("not an Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))


# ------------------------------------------------------------------------- signatures
def _signed_text(header: dict[str, Any], payload_sha256: str) -> bytes:
    """What a version-2 signature covers: every header field but the signature, and the body's
    digest."""
    signed = {k: header.get(k) for k in ("format", "version", "kind", "device_id", "alg")}
    return json.dumps({**signed, "sha256": payload_sha256}, sort_keys=True, separators=(",", ":")).encode()


def _sign(key: SigningKey, kind: str, device_id: str, payload: bytes) -> dict[str, Any]:
    if isinstance(key, LegacyKey):
        return {"format": FORMAT, "version": LEGACY_VERSION, "kind": kind, "device_id": device_id,
                "hmac": hmac.new(key.secret, payload, hashlib.sha256).hexdigest()}
    header = {"format": FORMAT, "version": FORMAT_VERSION, "kind": kind, "device_id": device_id, "alg": "ed25519"}
    header["sig"] = key.sign(_signed_text(header, hashlib.sha256(payload).hexdigest())).hex()
    return header


def _verifies(key: VerifyingKey, header: dict[str, Any], payload: bytes) -> bool:
    """The signature is the one ``key`` makes; a bundle signed the other way (an HMAC where a
    signature is due, or the reverse) does not verify."""
    version = header.get("version")
    if isinstance(key, LegacyKey):
        if version != LEGACY_VERSION:
            return False
        good = hmac.new(key.secret, payload, hashlib.sha256).hexdigest()
        return hmac.compare_digest(good, str(header.get("hmac", "")))
    if version != FORMAT_VERSION or header.get("alg") != "ed25519":
        return False
    try:
        signature = bytes.fromhex(str(header.get("sig", "")))
        key.verify(signature, _signed_text(header, hashlib.sha256(payload).hexdigest()))
    except (ValueError, InvalidSignature):
        return False
    return True


def _verifying(key: SigningKey) -> VerifyingKey:
    return key if isinstance(key, LegacyKey) else key.public_key()


# ------------------------------------------------------------------------- files
def write_bundle(path: Path, kind: str, device_id: str, key: SigningKey, body: dict[str, Any]) -> Path:
    """Write, flush, rename, then read back and verify. ``key``: the writer's signing key (a
    :class:`LegacyKey` writes format version 1)."""
    payload = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    header = _sign(key, kind, device_id, payload)
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
    verifying = _verifying(key)
    read_bundle(path, kind, lambda device: verifying)  # the stick holds what we meant to write
    return path


def read_bundle(path: Path, kind: str,
                key_for: Callable[[str], VerifyingKey | None]) -> tuple[str, dict[str, Any]]:
    """Return (device_id, body) of a verified bundle; ``key_for(device_id)`` gives the key its
    signature must verify with, or None for a device that is unknown or revoked."""
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
    if header.get("version") not in (FORMAT_VERSION, LEGACY_VERSION):
        raise BundleError(_("同步文件“{name}”来自不兼容的版本，请升级软件。").format(name=name))
    if header.get("kind") != kind:
        raise BundleError(_("“{name}”不是这一步需要的同步文件。").format(name=name), details=str(header.get("kind")))
    key = key_for(str(header.get("device_id", "")))
    if key is None:
        raise BundleError(_("同步文件“{name}”来自未注册或已停用的工作站，未做任何更改。").format(name=name))
    if not _verifies(key, header, payload):
        raise BundleError(_("同步文件“{name}”校验失败（可能被改动或来自其他工作站），未做任何更改。").format(name=name),
                          details=f"format version {header.get('version')}")
    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise BundleError(_("同步文件“{name}”已损坏，未做任何更改。").format(name=name)) from exc
    return header["device_id"], body
