"""USB bundle signatures (sync.bundle, server.keys): a workstation signs its bundles with its own
key, the county its replies with a key kept outside the database, so a copy of the county's
database forges neither; revoking drops the workstation's key; a workstation enrolled before these
keys keeps its HMAC until it registers one. On SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server import sync_service as svc
from server.db import bundle_key_file, database
from server.models import Device, SyncRow
from sync.bundle import (
    BundleError,
    LegacyKey,
    new_signing_key,
    public_key_from_text,
    public_key_text,
    read_bundle,
    write_bundle,
)

from .test_sync_api import PROTO, auth, board, enroll

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def enroll_with_key(client, township_code: str, name: str = "工作站") -> dict:
    """As a workstation enrols: with the public half of the key it made for its bundles."""
    key = new_signing_key()
    code = svc.create_enroll_code(township_code, client.app.state.clock.now())
    r = client.post("/api/v1/enroll", json={"code": code, "device_name": name,
                                            "bundle_public_key": public_key_text(key)}, headers=PROTO)
    assert r.status_code == 200, r.text
    return {**r.json(), "key": key}


def _body(device_id: str, changes: list[dict]) -> dict:
    batch = {"protocol": 1, "device_id": device_id, "batch_id": uuid.uuid4().hex, "first_seq": 1,
             "last_seq": len(changes), "changes": changes}
    return {"manifest": {"device_id": device_id, "last_pulled_seq": 0, "epoch": None, "changes": len(changes),
                         "created_at": "2026-11-25T02:00:00Z"}, "batches": [batch], "blobs": {}}


def request_bundle(path: Path, device: dict, changes: list[dict], key=None) -> Path:
    """A request bundle signed as the workstation signs it (its own key; without one, the HMAC of
    a workstation enrolled before these keys)."""
    key = key or device.get("key") or LegacyKey.of_token(device["token"])
    return write_bundle(path, "request", device["device_id"], key, _body(device["device_id"], changes))


def forged(path: Path, kind: str, device_id: str, secret: bytes, body: dict, version: int) -> Path:
    """A bundle as someone holding a copy of the county's database makes one: the header and an
    HMAC over the body keyed by what the database holds."""
    payload = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    header = {"format": "gongkai-bundle", "version": version, "kind": kind, "device_id": device_id,
              "hmac": hmac.new(secret, payload, hashlib.sha256).hexdigest(), "alg": "ed25519",
              "sig": hmac.new(secret, payload, hashlib.sha512).hexdigest()}
    path.write_bytes(gzip.compress(json.dumps(header).encode() + b"\n" + payload))
    return path


def what_the_database_holds() -> list[bytes]:
    """Every value of every device row and of the server's own settings, as key material: hex
    decoded, text encoded."""
    found: list[bytes] = []
    for table in ("device", "server_meta"):
        cursor = database.execute_sql(f'SELECT * FROM "{table}"')
        for row in cursor.fetchall():
            for value in row:
                if value is None:
                    continue
                text = str(value)
                found.append(text.encode())
                try:
                    found.append(bytes.fromhex(text))
                except ValueError:
                    pass
    return found


def import_(stick: Path, tmp_path: Path) -> dict:
    from server.bundle import import_bundle

    return import_bundle(stick, tmp_path / f"{stick.stem}.reply.gkb", NOW)


def _boards() -> int:
    return SyncRow.select().where(SyncRow.entity == "board").count()


def _refused(stick: Path, tmp_path: Path, words: str) -> None:
    before = _boards()
    with pytest.raises(BundleError) as refusal:
        import_(stick, tmp_path)
    assert words in str(refusal.value) and stick.name in str(refusal.value), str(refusal.value)
    assert _boards() == before


def test_a_copy_of_the_county_database_makes_no_bundle_the_county_accepts(client, county, tmp_path):
    device = enroll_with_key(client, "539901101000")
    genuine = import_(request_bundle(tmp_path / "genuine.gkb", device, [board(county["shimen"])]), tmp_path)
    assert genuine["accepted"] == 1
    stored = Device.get_by_id(device["device_id"])
    # the obvious forgery (the format's old HMAC, keyed by the stored token hash), then every value
    # the database holds about the workstation and the server, in either format version
    secrets = [bytes.fromhex(stored.token_hash), *what_the_database_holds()]
    body = _body(device["device_id"], [board(county["shimen"], "伪造的公开栏")])
    for i, secret in enumerate(secrets):
        for version in (1, 2):
            _refused(forged(tmp_path / f"forged-{i}-{version}.gkb", "request", device["device_id"], secret, body,
                            version), tmp_path, "校验失败")


def test_a_copy_of_the_county_database_makes_no_reply_the_workstation_accepts(client, county, tmp_path):
    device = enroll_with_key(client, "539901101000")
    county_key = public_key_from_text(device["county_bundle_key"])  # what the workstation keeps

    def workstation_reads(reply: Path) -> dict:
        return read_bundle(reply, "reply", lambda d: county_key if d == device["device_id"] else None)[1]

    import_(request_bundle(tmp_path / "stick.gkb", device, [board(county["shimen"])]), tmp_path)
    real = workstation_reads(tmp_path / "stick.reply.gkb")
    assert real["manifest"]["device_id"] == device["device_id"]
    evil = {**real, "pages": [{"changes": [{"seq": 10**6, "entity": "county_setting", "id": "x", "version": 9,
                                            "deleted": False, "data": {"key": "public_url",
                                                                       "value": "http://evil.example"}}],
                               "next": 10**6, "more": False}]}
    for i, secret in enumerate([bytes.fromhex(Device.get_by_id(device["device_id"]).token_hash),
                                *what_the_database_holds()]):
        for version in (1, 2):
            reply = forged(tmp_path / f"reply-{i}-{version}.gkb", "reply", device["device_id"], secret, evil, version)
            with pytest.raises(BundleError, match="校验失败"):
                workstation_reads(reply)
    # a reply the county made for another workstation, relabelled, does not verify either
    other = enroll_with_key(client, "539901101000", "二号机")
    import_(request_bundle(tmp_path / "other.gkb", other, [board(county["shimen"])]), tmp_path)
    lines = gzip.decompress((tmp_path / "other.reply.gkb").read_bytes()).split(b"\n", 1)
    header = json.loads(lines[0]) | {"device_id": device["device_id"]}
    relabelled = tmp_path / "relabelled.gkb"
    relabelled.write_bytes(gzip.compress(json.dumps(header).encode() + b"\n" + lines[1]))
    with pytest.raises(BundleError, match="校验失败"):
        workstation_reads(relabelled)


def test_the_county_key_is_not_in_the_database(sqlite_server_db, tmp_path):
    from fastapi.testclient import TestClient

    from app.context import Clock
    from server.app import create_app
    from server.keys import county_signing_key
    from tests.server.conftest import make_county

    make_county()
    with TestClient(create_app(clock=Clock.fixed(NOW))) as client:
        device = enroll_with_key(client, "539901101000")
    private = county_signing_key(bundle_key_file())
    assert public_key_text(private) == device["county_bundle_key"]
    raw = private.private_bytes_raw()
    database.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("county.sqlite3"))
    assert raw not in stored and raw.hex().encode() not in stored


def test_a_revoked_workstation_is_refused_and_enrols_again_with_a_new_key(client, county, tmp_path):
    device = enroll_with_key(client, "539901101000")
    assert import_(request_bundle(tmp_path / "before.gkb", device, [board(county["shimen"])]), tmp_path)["accepted"] == 1
    svc.revoke(device["device_id"])
    assert Device.get_by_id(device["device_id"]).bundle_public_key is None  # the key is dropped
    _refused(request_bundle(tmp_path / "after.gkb", device, [board(county["shimen"])]), tmp_path, "未注册或已停用")
    _refused(request_bundle(tmp_path / "legacy.gkb", device, [board(county["shimen"])],
                            key=LegacyKey.of_token(device["token"])), tmp_path, "未注册或已停用")
    # registering a key again needs access, which is gone
    r = client.post("/api/v1/sync/bundle-key", json={"bundle_public_key": public_key_text(new_signing_key())},
                    headers=auth(device))
    assert r.status_code == 401
    assert Device.get_by_id(device["device_id"]).bundle_public_key is None
    again = enroll_with_key(client, "539901101000")
    assert again["device_id"] != device["device_id"]
    assert public_key_text(again["key"]) != public_key_text(device["key"])
    assert Device.get_by_id(again["device_id"]).bundle_public_key == public_key_text(again["key"])
    assert import_(request_bundle(tmp_path / "new.gkb", again, [board(county["shimen"])]), tmp_path)["accepted"] == 1
    # the old key signs nothing for the new enrolment
    _refused(request_bundle(tmp_path / "old-key.gkb", again, [board(county["shimen"])], key=device["key"]),
             tmp_path, "校验失败")


def _version(bundle: Path) -> int:
    return json.loads(gzip.decompress(bundle.read_bytes()).split(b"\n", 1)[0])["version"]


def test_a_workstation_enrolled_before_keys_keeps_its_hmac_until_it_registers_a_key(client, county, tmp_path):
    device = enroll(client, "539901101000")  # as a workstation from before: no key
    assert Device.get_by_id(device["device_id"]).bundle_public_key is None
    legacy = LegacyKey.of_token(device["token"])
    first = request_bundle(tmp_path / "first.gkb", device, [board(county["shimen"])])
    assert _version(first) == 1 and import_(first, tmp_path)["accepted"] == 1
    reply = tmp_path / "first.reply.gkb"
    assert _version(reply) == 1  # answered the way it can check
    read_bundle(reply, "reply", lambda d: legacy)
    # its next online sync registers a key; a bad key or no token registers nothing
    key = new_signing_key()
    assert client.post("/api/v1/sync/bundle-key", json={"bundle_public_key": public_key_text(key)},
                       headers=PROTO).status_code == 401
    assert client.post("/api/v1/sync/bundle-key", json={"bundle_public_key": "ab" * 31},
                       headers=auth(device)).status_code == 422
    r = client.post("/api/v1/sync/bundle-key", json={"bundle_public_key": public_key_text(key)}, headers=auth(device))
    assert r.status_code == 200, r.text
    county_key = public_key_from_text(r.json()["county_bundle_key"])
    assert Device.get_by_id(device["device_id"]).bundle_public_key == public_key_text(key)
    # the same key again (an answer lost on the way) changes nothing
    assert client.post("/api/v1/sync/bundle-key", json={"bundle_public_key": public_key_text(key)},
                       headers=auth(device)).json() == r.json()
    # from now on its HMAC is refused, the first stick included
    _refused(request_bundle(tmp_path / "legacy.gkb", device, [board(county["shimen"])]), tmp_path, "校验失败")
    _refused(first, tmp_path, "校验失败")
    signed = request_bundle(tmp_path / "signed.gkb", device, [board(county["shimen"])], key=key)
    assert _version(signed) == 2 and import_(signed, tmp_path)["accepted"] == 1
    reply = tmp_path / "signed.reply.gkb"
    assert _version(reply) == 2
    read_bundle(reply, "reply", lambda d: county_key)
    with pytest.raises(BundleError, match="校验失败"):
        read_bundle(reply, "reply", lambda d: legacy)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_county_key_file_is_0600_in_a_0700_folder_beside_the_database(client, county, tmp_path):
    from server.db import is_postgres

    enroll_with_key(client, "539901101000")  # the first use makes it
    path = bundle_key_file()
    if not is_postgres():
        assert path == tmp_path / "county-keys" / "bundle-signing.key"
    assert path.is_file() and _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["bundle-signing.key"]  # no temporary file left
    # the key stays the county's: enrolling again hands out the same public key
    assert enroll_with_key(client, "539901101000")["county_bundle_key"] == \
        enroll_with_key(client, "539901101000")["county_bundle_key"]


def test_several_processes_making_the_key_at_once_agree_on_one(tmp_path):
    path = tmp_path / "keys" / "nested" / "bundle-signing.key"
    code = ("import sys; from pathlib import Path; from server.keys import county_signing_key; "
            "from sync.bundle import public_key_text; print(public_key_text(county_signing_key(Path(sys.argv[1]))))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
             for _ in range(6)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and len(next(iter(keys))) == 64
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["bundle-signing.key"]


def test_the_key_file_for_postgresql_is_an_option_or_in_the_data_folder(tmp_path, monkeypatch):
    from app.cli import _bundle_key_file, build_parser
    from server.keys import default_key_file

    pg = "postgresql://county@db.example/gongkai"
    monkeypatch.setenv("GONGKAI_DATA_DIR", str(tmp_path / "data"))
    assert default_key_file(pg) == tmp_path / "data" / "county-keys" / "bundle-signing.key"
    assert default_key_file("sqlite:////srv/gongkai/county.sqlite3") == \
        Path("/srv/gongkai/county-keys/bundle-signing.key")
    args = build_parser().parse_args(["serve", "--db", pg, "--data-dir", str(tmp_path / "elsewhere")])
    assert _bundle_key_file(args, pg) == tmp_path / "elsewhere" / "county-keys" / "bundle-signing.key"
    args = build_parser().parse_args(["serve", "--db", pg, "--bundle-key", str(tmp_path / "k" / "county.key")])
    assert _bundle_key_file(args, pg) == tmp_path / "k" / "county.key"
    args = build_parser().parse_args(["bundle", "import", "x.gkb", "--db", pg, "--bundle-key", str(tmp_path / "b")])
    assert _bundle_key_file(args, pg) == tmp_path / "b"
