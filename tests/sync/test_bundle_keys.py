"""USB bundle signatures between a real workstation and the county (SYNC.md "USB bundles"): a copy
of the county's database forges neither a bundle the county accepts nor a reply the workstation
accepts; revoking refuses the workstation's bundles and enrolling again makes a new key; a
workstation enrolled before these keys brings bundles with its old HMAC until its next online sync
registers a key."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import sqlite3
import uuid
from pathlib import Path

from .test_bundles import _county_rows, _public_url, enrolled  # noqa: F401 - fixture
from .test_client import cli, county, enroll_code, notices  # noqa: F401 - fixture

WORKSTATION_DB = "gongkai.sqlite3"


def _county_db(db_url: str) -> sqlite3.Connection:
    return sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=30)


def _copy_of_the_county_database(db_url: str) -> dict:
    """What someone holding a copy of the county's database knows: every column of the device
    table, the server's own settings, and the rows it serves."""
    conn = _county_db(db_url)
    try:
        cursor = conn.execute("SELECT * FROM device")
        names = [c[0] for c in cursor.description]
        devices = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        meta = dict(conn.execute("SELECT key, value FROM server_meta").fetchall())
        setting = conn.execute("SELECT id, version, data FROM sync_row WHERE entity = 'county_setting' "
                               "AND json_extract(data, '$.key') = 'public_url'").fetchone()
        top = conn.execute("SELECT max(seq) FROM sync_row").fetchone()[0]
    finally:
        conn.close()
    return {"devices": devices, "meta": meta, "public_url": setting, "top_seq": top}


def _forge(path: Path, kind: str, device_id: str, secret: bytes, body: dict, version: int = 1) -> Path:
    """A bundle in the workstation's own format, authenticated with an HMAC keyed by ``secret``."""
    payload = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    header = {"format": "gongkai-bundle", "version": version, "kind": kind, "device_id": device_id,
              "hmac": hmac.new(secret, payload, hashlib.sha256).hexdigest()}
    path.write_bytes(gzip.compress(json.dumps(header).encode() + b"\n" + payload))
    return path


def _header(bundle: Path) -> dict:
    return json.loads(gzip.decompress(bundle.read_bytes()).split(b"\n", 1)[0])


def _local(data: Path, key: str):
    conn = sqlite3.connect(data / WORKSTATION_DB)
    try:
        row = conn.execute("SELECT json_extract(value, '$') FROM local_setting WHERE key = ?", (key,)).fetchone()
    finally:
        conn.close()
    return row[0] if row else None


def _device_id(data: Path) -> str:
    return sqlite3.connect(data / WORKSTATION_DB).execute("SELECT device_id FROM sync_state").fetchone()[0]


def _registered_key(db_url: str, device_id: str) -> str | None:
    conn = _county_db(db_url)
    try:
        return conn.execute("SELECT bundle_public_key FROM device WHERE id = ?", (device_id,)).fetchone()[0]
    finally:
        conn.close()


def _public_of(private_hex: str) -> str:
    from sync.bundle import private_key_from_text, public_key_text

    return public_key_text(private_key_from_text(private_hex))


def _county_key(db_url: str):
    from server.keys import county_signing_key, default_key_file

    return county_signing_key(default_key_file(db_url))


def _board(township_id: str) -> dict:
    row_id = str(uuid.uuid4())
    return {"entity": "board", "id": row_id, "version": 1, "base_version": None, "deleted": False,
            "data": {"id": row_id, "township_id": township_id, "name": "伪造的公开栏", "version": 1, "deleted": False,
                     "village_id": None, "location": ""}}


def test_a_copy_of_the_county_database_forges_no_bundle_and_no_reply(county, enrolled, demo_dir, tmp_path):  # noqa: F811
    from sync.bundle import write_bundle

    _base, db_url, township_id = county
    leaked = _copy_of_the_county_database(db_url)
    [device] = leaked["devices"]
    assert _local(demo_dir, "bundle_signing_key") not in {str(v) for v in device.values()}
    secret = bytes.fromhex(device["token_hash"])  # what the bundles' HMAC used to be keyed by
    # a bundle for the county: a board of the township, as if the workstation had sent it
    change = _board(township_id)
    request = {"manifest": {"device_id": device["id"], "last_pulled_seq": 0, "epoch": leaked["meta"]["epoch"],
                            "changes": 1, "created_at": "2026-11-25T02:00:00Z"},
               "batches": [{"protocol": 1, "device_id": device["id"], "batch_id": uuid.uuid4().hex,
                            "epoch": leaked["meta"]["epoch"], "first_seq": 1, "last_seq": 1, "changes": [change]}],
               "blobs": {}}
    before = _county_rows(db_url)
    for version in (1, 2):
        stick = _forge(tmp_path / f"forged-{version}.gkb", "request", device["id"], secret, request, version)
        out = cli("bundle", "import", str(stick), "--db", db_url, "-o", str(tmp_path / "r.gkb"))
        assert out.returncode == 1 and "校验失败" in out.stderr, out.stderr
    assert _county_rows(db_url) == before
    # a reply for the workstation: the county's public URL moved somewhere else
    setting_id, version, data = leaked["public_url"]
    top = leaked["top_seq"] + 1
    evil = {**json.loads(data), "value": "http://county.example.evil"}
    reply = {"manifest": {"device_id": device["id"], "epoch": leaked["meta"]["epoch"],
                          "created_at": "2026-11-25T02:00:00Z", "county_now": None},
             "results": [],
             "pages": [{"changes": [{"seq": top, "entity": "county_setting", "id": setting_id, "version": version + 1,
                                     "deleted": False, "data": evil}], "next": top, "more": False}]}
    url = _public_url(demo_dir)
    for version in (1, 2):
        forged = _forge(tmp_path / f"reply-{version}.gkb", "reply", device["id"], secret, reply, version)
        out = cli("bundle", "import", str(forged), "--data-dir", str(demo_dir))
        assert out.returncode == 1 and "校验失败" in out.stderr, out.stderr
        assert _public_url(demo_dir) == url
    # the same reply signed with the county's key, which is not in its database, is taken
    signed = write_bundle(tmp_path / "signed-reply.gkb", "reply", device["id"], _county_key(db_url), reply)
    out = cli("bundle", "import", str(signed), "--data-dir", str(demo_dir))
    assert out.returncode == 0, out.stderr
    assert _public_url(demo_dir) == "http://county.example.evil"


def test_a_revoked_workstation_is_refused_and_enrolling_again_makes_a_new_key(
        county, enrolled, demo_dir, tmp_path):  # noqa: F811
    from server import sync_service as svc
    from server.db import database, open_server_database

    db_url = enrolled
    old_device, old_key = _device_id(demo_dir), _local(demo_dir, "bundle_signing_key")
    assert _registered_key(db_url, old_device) == _public_of(old_key)
    stick = tmp_path / "stick.gkb"
    assert cli("bundle", "export", "--data-dir", str(demo_dir), "-o", str(stick)).returncode == 0
    assert _header(stick)["version"] == 2
    db = open_server_database(db_url)
    try:
        with db.connection_context():
            svc.revoke(old_device)
    finally:
        db.close()
        database.initialize(None)
    assert _registered_key(db_url, old_device) is None
    before = _county_rows(db_url)
    out = cli("bundle", "import", str(stick), "--db", db_url, "-o", str(tmp_path / "r.gkb"))
    assert out.returncode == 1 and "未注册或已停用" in out.stderr, out.stderr
    assert _county_rows(db_url) == before
    # enrolled again: a new device with a new key pair
    again = cli("enroll", "--server", county[0], "--code", enroll_code(db_url), "--data-dir", str(demo_dir))
    assert again.returncode == 0, again.stderr
    new_device, new_key = _device_id(demo_dir), _local(demo_dir, "bundle_signing_key")
    assert new_device != old_device and new_key != old_key
    assert _registered_key(db_url, new_device) == _public_of(new_key)
    stick = tmp_path / "again.gkb"
    assert cli("bundle", "export", "--data-dir", str(demo_dir), "-o", str(stick)).returncode == 0
    out = cli("bundle", "import", str(stick), "--db", db_url, "-o", str(tmp_path / "again.reply.gkb"))
    assert out.returncode == 0, out.stderr
    done = cli("bundle", "import", str(tmp_path / "again.reply.gkb"), "--data-dir", str(demo_dir))
    assert done.returncode == 0, done.stderr


def test_a_workstation_enrolled_before_keys_brings_bundles_until_its_next_online_sync(
        county, enrolled, demo_dir, tmp_path):  # noqa: F811
    from sync.bundle import public_key_text

    db_url = enrolled
    device = _device_id(demo_dir)
    # as enrolled before bundles were signed: no key on either side
    conn = sqlite3.connect(demo_dir / WORKSTATION_DB)
    with conn:
        conn.execute("DELETE FROM local_setting WHERE key IN ('bundle_signing_key', 'county_bundle_key')")
    conn.close()
    conn = _county_db(db_url)
    with conn:
        conn.execute("UPDATE device SET bundle_public_key = NULL")
    conn.close()
    old = tmp_path / "old.gkb"
    assert cli("bundle", "export", "--data-dir", str(demo_dir), "-o", str(old)).returncode == 0
    assert _header(old)["version"] == 1
    out = cli("bundle", "import", str(old), "--db", db_url, "-o", str(tmp_path / "old.reply.gkb"))
    assert out.returncode == 0, out.stderr
    assert _header(tmp_path / "old.reply.gkb")["version"] == 1  # answered the way it can check
    done = cli("bundle", "import", str(tmp_path / "old.reply.gkb"), "--data-dir", str(demo_dir))
    assert done.returncode == 0, done.stderr
    # the next online sync registers a key; the workstation learns the county's
    synced = cli("sync", "--data-dir", str(demo_dir))
    assert synced.returncode == 0, synced.stderr
    key = _local(demo_dir, "bundle_signing_key")
    assert key and _registered_key(db_url, device) == _public_of(key)
    assert _local(demo_dir, "county_bundle_key") == public_key_text(_county_key(db_url))
    # from now on the old HMAC is refused (the old stick, and one made from the county's database)
    before = _county_rows(db_url)
    out = cli("bundle", "import", str(old), "--db", db_url, "-o", str(tmp_path / "r.gkb"))
    assert out.returncode == 1 and "校验失败" in out.stderr, out.stderr
    token_hash = _copy_of_the_county_database(db_url)["devices"][0]["token_hash"]
    body = json.loads(gzip.decompress(old.read_bytes()).split(b"\n", 1)[1])
    forged = _forge(tmp_path / "forged.gkb", "request", device, bytes.fromhex(token_hash), body)
    out = cli("bundle", "import", str(forged), "--db", db_url, "-o", str(tmp_path / "r.gkb"))
    assert out.returncode == 1 and "校验失败" in out.stderr, out.stderr
    assert _county_rows(db_url) == before
    # and signed bundles go both ways
    new = tmp_path / "new.gkb"
    assert cli("bundle", "export", "--data-dir", str(demo_dir), "-o", str(new)).returncode == 0
    assert _header(new)["version"] == 2
    out = cli("bundle", "import", str(new), "--db", db_url, "-o", str(tmp_path / "new.reply.gkb"))
    assert out.returncode == 0, out.stderr
    assert _header(tmp_path / "new.reply.gkb")["version"] == 2
    snapshot = notices(demo_dir)
    done = cli("bundle", "import", str(tmp_path / "new.reply.gkb"), "--data-dir", str(demo_dir))
    assert done.returncode == 0, done.stderr
    assert notices(demo_dir) == snapshot
