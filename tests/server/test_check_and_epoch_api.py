"""The check after sync and the restore epoch, at the API (SQLite and a real PostgreSQL)."""

from __future__ import annotations

import gzip
import json

from server import sync_service as svc
from server.models import SyncRow
from sync.protocol import digest_hex, row_hash

from .test_sync_api import PROTO, auth, board, enroll, push


def check(client, device: dict, exclude=(), detail=()):
    body = gzip.compress(json.dumps({"exclude": [list(p) for p in exclude], "detail": list(detail)}).encode())
    return client.post("/api/v1/sync/check", content=body,
                       headers=auth(device) | {"Content-Type": "application/json", "Content-Encoding": "gzip"})


def test_the_check_counts_and_digests_only_the_devices_own_township(client, county):
    shimen, liu = enroll(client, "539901101000"), enroll(client, "539901102000")
    mine = [board(county["shimen"], f"栏{i}") for i in range(3)]
    assert len(push(client, shimen, mine).json()["accepted"]) == 3
    assert push(client, liu, [board(county["liu"])]).json()["accepted"]
    answer = check(client, shimen).json()
    expected = 0
    for change in mine:
        expected ^= row_hash(change["id"], 1)
    assert answer["entities"]["board"] == {"count": 3, "digest": digest_hex(expected)}
    assert answer["entities"]["notice"] == {"count": 0, "digest": digest_hex(0)}
    assert answer["as_of"] == max(r.seq for r in SyncRow.select().where(SyncRow.township_id == county["shimen"]))
    assert answer["epoch"] == svc.meta("epoch") and answer["rows"] == {}
    # rows the workstation has not settled are left out; the [id, version] list on request
    left_out = check(client, shimen, exclude=[("board", mine[0]["id"])], detail=["board"]).json()
    assert left_out["entities"]["board"]["count"] == 2
    assert sorted(r[:2] for r in left_out["rows"]["board"]) == sorted([[c["id"], 1] for c in mine[1:]])
    assert {r[2] for r in left_out["rows"]["board"]} == {digest_hex(row_hash(c["id"], 1)) for c in mine[1:]}
    assert check(client, shimen, detail=["region"]).status_code == 422  # county data is not compared
    assert client.post("/api/v1/sync/check", json={}, headers=PROTO).status_code == 401


def test_a_push_from_before_a_restore_is_refused_with_the_new_epoch_and_nothing_applied(client, county):
    device = enroll(client, "539901101000")
    old = device["epoch"]
    new = svc.new_epoch()
    assert new != old
    change = board(county["shimen"])
    body = gzip.compress(json.dumps({"protocol": 1, "device_id": device["device_id"], "batch_id": "b" * 32,
                                     "epoch": old, "changes": [change]}).encode())
    r = client.post("/api/v1/sync/push", content=body,
                    headers=auth(device) | {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 409 and r.json()["epoch"] == new
    assert SyncRow.get_or_none(SyncRow.id == change["id"]) is None
    # the same batch under the new epoch is applied (the refusal stored nothing under its id)
    body = gzip.compress(json.dumps({"protocol": 1, "device_id": device["device_id"], "batch_id": "b" * 32,
                                     "epoch": new, "changes": [change]}).encode())
    r = client.post("/api/v1/sync/push", content=body,
                    headers=auth(device) | {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json()["accepted"]
    pulled = client.get("/api/v1/sync/pull?since=0", headers=auth(device) | {"Accept-Encoding": "gzip"})
    assert pulled.json()["epoch"] == new
