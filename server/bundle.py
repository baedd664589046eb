"""County side of USB bundles: apply a workstation's bundle exactly like a push (the same batch
ids, so the same bundle twice applies once) and write the reply with the receipt and everything
the workstation has not pulled yet.

A bundle must be signed with the workstation's registered key; a workstation that has registered
none yet (enrolled before these keys) may still sign with the HMAC of its token's hash, and gets
its reply signed the same way, until its next online sync registers a key (sync.bundle)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from server import sync_service as svc
from server.db import bundle_key_file, database
from server.keys import county_signing_key
from server.models import Device
from sync.bundle import (
    BundleError,
    LegacyKey,
    VerifyingKey,
    public_key_from_text,
    read_bundle,
    write_bundle,
)
from sync.protocol import MAX_PULL_LIMIT


def import_bundle(path: Path, reply_path: Path, now: datetime) -> dict:
    """Apply ``path``; write the reply bundle to ``reply_path``; return a summary. ``now``: the
    county's clock (publish and close dates are checked against it, and the reply carries it)."""

    def key_for(device_id: str) -> VerifyingKey | None:
        device = Device.get_or_none(Device.id == device_id)
        if device is None or device.revoked_at is not None:
            return None
        if device.bundle_public_key is None:
            return LegacyKey.of_token_hash(device.token_hash)  # no key registered yet
        return public_key_from_text(device.bundle_public_key)

    with database.connection_context():
        device_id, body = read_bundle(Path(path), "request", key_for)
        device = Device.get_by_id(device_id)
        manifest = body["manifest"]
        if manifest.get("epoch") not in (None, svc.epoch()) and manifest.get("last_pulled_seq"):
            raise BundleError("该工作站的数据基于恢复前的县级数据库，请先联网同步一次。")
        for sha256, encoded in body.get("blobs", {}).items():
            data = base64.b64decode(encoded)
            if hashlib.sha256(data).hexdigest() != sha256:
                raise BundleError("同步文件中的照片与其校验值不符，未做任何更改。")
        for sha256, encoded in body.get("blobs", {}).items():
            svc.put_blob(sha256, base64.b64decode(encoded))
        results, replayed, applied = [], 0, 0
        for batch in body["batches"]:
            # this stick (or one with the same batches) was applied before: the stored answer again
            again = svc.stored_batch(batch["batch_id"]) is not None
            result = svc.push(device, {k: batch[k] for k in ("batch_id", "changes", "chain") if k in batch}, now=now)
            results.append({"batch_id": batch["batch_id"], "first_seq": batch["first_seq"],
                            "last_seq": batch["last_seq"], "result": result})
            if again:
                replayed += len(batch["changes"])
            else:
                applied += len(result["accepted"])
        pages, since = [], int(manifest.get("last_pulled_seq") or 0)
        while True:
            page = svc.pull(device, since, MAX_PULL_LIMIT, now=now)
            pages.append(page)
            since = page["next"]
            if not page["more"]:
                break
        # county_now: the county's clock when the reply was made (the workstation learns from it
        # how far behind its own clock is, offline)
        reply = {"manifest": {"device_id": device_id, "epoch": svc.epoch(), "created_at": svc.now_iso(),
                              "county_now": now.astimezone(UTC).isoformat()},
                 "results": results, "pages": pages}
        signing = LegacyKey.of_token_hash(device.token_hash) if device.bundle_public_key is None \
            else county_signing_key(bundle_key_file())
        write_bundle(Path(reply_path), "reply", device_id, signing, reply)
    return {"device_id": device_id, "accepted": applied, "already_applied": replayed,
            "pulled": sum(len(p["changes"]) for p in pages)}
