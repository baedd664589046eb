"""The county server's sync API against SQLite and a real PostgreSQL."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import uuid

import pytest

from server import sync_service as svc
from server.models import SyncRow

PROTO = {"X-Gongkai-Protocol": "1"}


def enroll(client, township_code: str, name: str = "工作站") -> dict:
    code = svc.create_enroll_code(township_code, client.app.state.clock.now())  # the county's clock
    r = client.post("/api/v1/enroll", json={"code": code, "device_name": name}, headers=PROTO)
    assert r.status_code == 200, r.text
    return r.json()


def auth(device: dict) -> dict:
    return {**PROTO, "Authorization": f"Bearer {device['token']}"}


def board(township_id: str, name: str = "公开栏", version: int = 1, row_id: str | None = None) -> dict:
    row_id = row_id or str(uuid.uuid4())
    return {"entity": "board", "id": row_id, "version": version, "base_version": version - 1 or None,
            "deleted": False, "data": {"id": row_id, "township_id": township_id, "name": name, "version": version,
                                       "deleted": False, "village_id": None, "location": ""}}


def push(client, device: dict, changes: list[dict], batch_id: str | None = None, *, gz: bool = True):
    body = json.dumps({"protocol": 1, "device_id": device["device_id"], "batch_id": batch_id or uuid.uuid4().hex,
                       "changes": changes}).encode()
    headers = auth(device) | {"Content-Type": "application/json"}
    if gz:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return client.post("/api/v1/sync/push", content=body, headers=headers)


def publishable(data: dict, rows: tuple[dict, ...] = ()) -> dict:
    """A notice's data, completed as a workstation publishes it: the header fields, and the public
    content and fingerprint the county itself derives from what it holds (and ``rows``, changes
    of the same batch) — for tests of what happens to a published notice next."""
    from app.reference import catalogue_id
    from server.derive import derived_view

    full = {"notice_type_id": catalogue_id("subsidy_payout"), "program_id": None, "village_id": None,
            "edition": 1, "title": "公示", "doc_number": "", "salutation": "", "body": "", "legal_basis": "",
            "issuer": "石门镇人民政府", "contact_person": "", "contact_phone": "", "supervision_phone": "",
            "posting_days": 7, "posting_unit": "natural", **data}
    view = derived_view(full, {(r["entity"], r["id"]): r["data"] for r in rows})
    return {**full, "public_snapshot": view.canonical_json().decode(), "fingerprint": view.fingerprint()}


def pull_all(client, device: dict, since: int = 0) -> list[dict]:
    out = []
    while True:
        r = client.get(f"/api/v1/sync/pull?since={since}&limit=50", headers=auth(device))
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["changes"]
        since = page["next"]
        if not page["more"]:
            return out


def test_enrolment_codes_are_one_time(client, county):
    code = svc.create_enroll_code("539901101000", client.app.state.clock.now())
    first = client.post("/api/v1/enroll", json={"code": code.lower(), "device_name": "一号机"}, headers=PROTO)
    assert first.status_code == 200 and first.json()["township_id"] == county["shimen"]
    again = client.post("/api/v1/enroll", json={"code": code, "device_name": "二号机"}, headers=PROTO)
    assert again.status_code == 403


def test_push_then_pull_round_trip_and_county_data_flows_down(client, county):
    device = enroll(client, "539901101000")
    change = board(county["shimen"], "石门村公开栏")
    r = push(client, device, [change])
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["accepted"]] == [change["id"]]
    pulled = pull_all(client, device)
    entities = [c["entity"] for c in pulled]
    assert entities.count("board") == 1 and "county_setting" in entities and "region" in entities
    seqs = [c["seq"] for c in pulled]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    public_url = next(c["data"]["value"] for c in pulled if c["entity"] == "county_setting"
                      and c["data"]["key"] == "public_url")
    assert public_url == "http://127.0.0.1:8765"


def test_the_same_batch_twice_applies_once(client, county):
    device = enroll(client, "539901101000")
    change = board(county["shimen"])
    first = push(client, device, [change], batch_id="batch-0001")
    second = push(client, device, [change], batch_id="batch-0001")
    assert first.json() == second.json()
    assert SyncRow.select().where(SyncRow.entity == "board").count() == 1
    # the same change in a new batch (its answer was lost) is reported as a duplicate
    third = push(client, device, [change], batch_id="batch-0002").json()
    assert third["accepted"] == [] and [d["id"] for d in third["duplicates"]] == [change["id"]]


def test_a_batch_id_sent_again_with_other_changes_is_refused_and_applies_nothing(client, county):
    # a workstation copied back from a backup outside the app counts its outbox again and may
    # send new edits under an old batch id: being told "accepted" it would drop them
    device = enroll(client, "539901101000")
    row_id = str(uuid.uuid4())
    first = push(client, device, [board(county["shimen"], "原名", 1, row_id)], batch_id="batch-0001")
    assert first.status_code == 200
    other = push(client, device, [board(county["shimen"], "新名", 1, row_id)], batch_id="batch-0001")
    assert other.status_code == 409, other.text
    assert "other changes" in other.json()["error"]
    assert json.loads(SyncRow.get(SyncRow.id == row_id).data)["name"] == "原名"
    # the same content again is still answered with the stored result
    assert push(client, device, [board(county["shimen"], "原名", 1, row_id)], batch_id="batch-0001").json() \
        == first.json()



def test_a_batch_stored_before_the_county_was_upgraded_is_still_answered_when_sent_again(client, county):
    # its answer was lost, the county was upgraded meanwhile: the digest kept with it was made
    # by the older county; the same batch again must get its stored answer, not a refusal that
    # would stall the workstation's sync for good
    from server.models import PushBatch

    device = enroll(client, "539901101000")
    row_id = str(uuid.uuid4())
    change = board(county["shimen"], "原名 “引号” \\ 斜杠", 1, row_id)
    first = push(client, device, [change], batch_id="batch-0001")
    assert first.status_code == 200
    older = hashlib.sha256(
        f'board\x1f{row_id}\x1f1\x1fNone\x1fFalse\x1f{json.dumps(change["data"], ensure_ascii=False, sort_keys=True)}'
        '\x1e'.encode()).hexdigest()
    PushBatch.update(content=older).where(PushBatch.batch_id == "batch-0001").execute()
    assert push(client, device, [change], batch_id="batch-0001").json() == first.json()
    other = push(client, device, [board(county["shimen"], "新名", 1, row_id)], batch_id="batch-0001")
    assert other.status_code == 409, other.text

def test_a_county_database_made_before_batch_digests_gains_the_column(county):
    from server.db import database
    from server.models import PushBatch

    database.execute_sql('ALTER TABLE "push_batch" DROP COLUMN "content"')
    assert "content" not in {c.name for c in database.get_columns("push_batch")}
    svc.create_schema()
    svc.create_schema()  # again: nothing to add
    assert "content" in {c.name for c in database.get_columns("push_batch")}
    PushBatch.create(batch_id="b" * 10, device_id="d", result="{}", created_at="now")


def test_a_stale_base_version_is_a_conflict_with_the_server_copy(client, county):
    a = enroll(client, "539901101000", "一号机")
    b = enroll(client, "539901101000", "二号机")
    row_id = str(uuid.uuid4())
    assert push(client, a, [board(county["shimen"], "原名", 1, row_id)]).json()["accepted"]
    assert push(client, a, [board(county["shimen"], "甲改", 2, row_id)]).json()["accepted"]
    result = push(client, b, [board(county["shimen"], "乙改", 2, row_id)]).json()
    assert result["accepted"] == []
    assert result["conflicts"][0]["server_data"]["name"] == "甲改"
    assert json.loads(SyncRow.get(SyncRow.id == row_id).data)["name"] == "甲改"


def test_one_invalid_change_does_not_block_the_others(client, county):
    device = enroll(client, "539901101000")
    good = [board(county["shimen"], f"公开栏{i}") for i in range(3)]
    bad = {"entity": "board", "id": "x", "version": "one", "data": {}}
    result = push(client, device, [good[0], bad, good[1], good[2]]).json()
    assert len(result["accepted"]) == 3 and len(result["rejected"]) == 1
    assert "version" in result["rejected"][0]["reason"] and result["rejected"][0]["code"] == "malformed"


def test_a_township_can_neither_read_nor_write_another_townships_rows(client, county):
    shimen = enroll(client, "539901101000")
    liu = enroll(client, "539901102000")
    mine = board(county["liu"], "柳镇公开栏")
    assert push(client, liu, [mine]).json()["accepted"]
    # writing a row claimed for another township
    forged = board(county["liu"], "冒名")
    assert push(client, shimen, [forged]).json()["rejected"][0]["reason"] == "row belongs to another township"
    # overwriting another township's row by claiming it for one's own
    steal = board(county["shimen"], "抢占", 2, mine["id"])
    assert push(client, shimen, [steal]).json()["rejected"]
    # reading
    assert all(c["id"] != mine["id"] for c in pull_all(client, shimen))
    assert json.loads(SyncRow.get(SyncRow.id == mine["id"]).data)["name"] == "柳镇公开栏"


def test_county_rows_cannot_be_pushed_by_a_township(client, county):
    device = enroll(client, "539901101000")
    row = {"entity": "county_setting", "id": "county-setting:public_url", "version": 9, "base_version": None,
           "data": {"id": "county-setting:public_url", "township_id": county["shimen"], "key": "public_url",
                    "value": "http://evil.example"}}
    assert push(client, device, [row]).json()["rejected"][0]["reason"] == "county_setting rows belong to the county"
    # nor the township's directory of workstations (it names who handles each notice)
    rename = {"entity": "workstation", "id": device["device_id"], "version": 9, "base_version": None,
              "data": {"id": device["device_id"], "township_id": county["shimen"], "name": "县里的电脑", "revoked": False}}
    [refused] = push(client, device, [rename]).json()["rejected"]
    assert refused["code"] == "county_row"
    [listed] = [c for c in pull_all(client, device) if c["entity"] == "workstation"]
    assert listed["data"]["name"] == "工作站" and listed["version"] == 1


def test_a_published_notice_is_immutable(client, county):
    device = enroll(client, "539901101000")
    nid = str(uuid.uuid4())
    data = publishable({"id": nid, "township_id": county["shimen"], "status": "published", "title": "公示",
                        "posting_start": "2026-11-16", "posting_end": "2026-11-22", "version": 1,
                        "owner_device": device["device_id"]})
    first = {"entity": "notice", "id": nid, "version": 1, "base_version": None, "data": data}
    assert push(client, device, [first]).json()["accepted"]
    changed = {"entity": "notice", "id": nid, "version": 2, "base_version": 1,
               "data": {**data, "title": "改过的公示", "version": 2}}
    [refused] = push(client, device, [changed]).json()["rejected"]
    assert "immutable" in refused["reason"] and (refused["code"], refused["notice_id"]) == ("published_notice", nid)
    closed = {"entity": "notice", "id": nid, "version": 2, "base_version": 1,
              "data": {**data, "status": "closed", "closed_at": "2026-11-25T01:00:00+00:00", "version": 2}}
    assert push(client, device, [closed]).json()["accepted"]


def test_revoked_and_missing_tokens_are_refused(client, county):
    device = enroll(client, "539901101000")
    assert client.get("/api/v1/sync/pull", headers=PROTO).status_code == 401
    svc.revoke(device["device_id"])
    r = client.get("/api/v1/sync/pull", headers=auth(device))
    assert r.status_code == 401 and "revoked" in r.json()["error"]
    assert push(client, device, [board(county["shimen"])]).status_code == 401


def test_protocol_mismatch_is_426_and_applies_nothing(client, county):
    device = enroll(client, "539901101000")
    headers = auth(device) | {"X-Gongkai-Protocol": "2"}
    assert client.get("/api/v1/sync/pull", headers=headers).status_code == 426
    body = gzip.compress(json.dumps({"protocol": 2, "batch_id": "b" * 10, "changes": [board(county["shimen"])]}).encode())
    r = client.post("/api/v1/sync/push", content=body, headers=auth(device) | {"Content-Encoding": "gzip"})
    assert r.status_code == 426
    assert SyncRow.select().where(SyncRow.entity == "board").count() == 0


@pytest.mark.parametrize("body, encoding, status", [
    (b"\x1f\x8b\x08\x00broken", "gzip", 400),
    (gzip.compress(b"{not json"), "gzip", 400),
    (gzip.compress(b"[1, 2, 3]"), "gzip", 422),
    (gzip.compress(json.dumps({"protocol": 1, "batch_id": 5, "changes": []}).encode()), "gzip", 422),
    (gzip.compress(json.dumps({"protocol": 1, "batch_id": "x" * 20, "changes": "all"}).encode()), "gzip", 422),
    (gzip.compress(b"0" * (40 * 1024 * 1024)), "gzip", 413),
    (b"{" * (3 * 1024 * 1024), "", 413),
])
def test_hostile_bodies_get_4xx_and_change_nothing(client, county, body, encoding, status):
    device = enroll(client, "539901101000")
    before = SyncRow.select().count()
    headers = auth(device) | ({"Content-Encoding": encoding} if encoding else {})
    r = client.post("/api/v1/sync/push", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert SyncRow.select().count() == before


def test_injection_strings_are_stored_as_plain_data(client, county):
    device = enroll(client, "539901101000")
    evil = board(county["shimen"], "'); DROP TABLE sync_row; -- <script>alert(1)</script>")
    assert push(client, device, [evil]).json()["accepted"]
    assert json.loads(SyncRow.get(SyncRow.id == evil["id"]).data)["name"].startswith("');")


def test_concurrent_pushes_are_all_seen_exactly_once_by_pulls(client, county, server_db):
    devices = [enroll(client, "539901101000", f"机{i}") for i in range(4)] + \
              [enroll(client, "539901102000", f"柳{i}") for i in range(4)]
    townships = [county["shimen"]] * 4 + [county["liu"]] * 4
    accepted: dict[str, set] = {county["shimen"]: set(), county["liu"]: set()}
    lock = threading.Lock()
    errors = []

    def worker(device, township):
        try:
            for _ in range(6):
                changes = [board(township) for _ in range(5)]
                r = push(client, device, changes)
                assert r.status_code == 200, r.text
                with lock:
                    accepted[township] |= {a["id"] for a in r.json()["accepted"]}
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(d, t)) for d, t in zip(devices, townships, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for device, township in ((devices[0], county["shimen"]), (devices[4], county["liu"])):
        seen = [c["id"] for c in pull_all(client, device) if c["entity"] == "board"]
        assert len(seen) == len(set(seen)) == 120
        assert set(seen) == accepted[township]
    seqs = [r.seq for r in SyncRow.select(SyncRow.seq).order_by(SyncRow.seq)]
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free


def test_blobs_are_content_addressed_checked_and_scoped_to_their_township(client, county):
    import hashlib

    device = enroll(client, "539901101000")
    other = enroll(client, "539901102000")
    photo = b"\x89PNG fake photo bytes" * 100
    digest = hashlib.sha256(photo).hexdigest()
    wrong = client.put(f"/api/v1/blobs/{digest}", content=photo + b"x", headers=auth(device))
    assert wrong.status_code == 422
    for _ in range(2):  # idempotent
        assert client.put(f"/api/v1/blobs/{digest}", content=photo, headers=auth(device)).status_code == 201
    row_id = str(uuid.uuid4())
    evidence = {"entity": "evidence_file", "id": row_id, "version": 1, "base_version": None,
                "data": {"id": row_id, "township_id": county["shimen"], "sha256": digest, "filename": "p.png"}}
    assert push(client, device, [evidence]).json()["accepted"]
    assert client.get(f"/api/v1/blobs/{digest}", headers=auth(device)).content == photo
    assert client.get(f"/api/v1/blobs/{digest}", headers=auth(other)).status_code == 404
    assert client.put("/api/v1/blobs/not-a-hash", content=photo, headers=auth(device)).status_code == 422


def test_two_edits_of_one_row_in_one_batch_are_both_applied_in_order(client, county):
    device = enroll(client, "539901101000")
    row_id = str(uuid.uuid4())
    result = push(client, device, [board(county["shimen"], "初稿", 1, row_id),
                                   board(county["shimen"], "定稿", 2, row_id)]).json()
    assert [(a["version"], a["seq"]) for a in result["accepted"]][1][0] == 2
    seqs = [a["seq"] for a in result["accepted"]]
    assert seqs[1] == seqs[0] + 1
    stored = SyncRow.get(SyncRow.id == row_id)
    assert stored.version == 2 and json.loads(stored.data)["name"] == "定稿" and stored.seq == seqs[1]


def _pushed_with_chain(client, device: dict, changes: list[dict], chain: str):
    body = gzip.compress(json.dumps({"protocol": 1, "device_id": device["device_id"], "batch_id": uuid.uuid4().hex,
                                     "chain": chain, "changes": changes}).encode())
    r = client.post("/api/v1/sync/push", content=body,
                    headers=auth(device) | {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_pull_leaves_out_what_the_workstation_wrote_itself_and_only_that(client, county):
    a, b = enroll(client, "539901101000", "一号机"), enroll(client, "539901101000", "二号机")
    mine = [board(county["shimen"], f"甲栏{i}") for i in range(5)]
    _pushed_with_chain(client, a, mine, "chainA1")
    since = max(c["seq"] for c in pull_all(client, a))  # everything up to here
    more = [board(county["shimen"], f"甲栏{i}") for i in range(5, 8)]
    _pushed_with_chain(client, a, more, "chainA1")
    # another workstation of the township claims the same chain: its rows still reach A
    theirs = board(county["shimen"], "乙栏")
    _pushed_with_chain(client, b, [theirs], "chainA1")
    page = client.get(f"/api/v1/sync/pull?since={since}&skip=chainA1", headers=auth(a)).json()
    assert [c["id"] for c in page["changes"]] == [theirs["id"]]
    top = SyncRow.select(SyncRow.seq).order_by(SyncRow.seq.desc()).first().seq
    assert page["next"] == top and not page["more"]
    # nothing new: the checkpoint stays at the end of the feed, not behind A's own rows
    again = client.get(f"/api/v1/sync/pull?since={page['next']}&skip=chainA1", headers=auth(a)).json()
    assert again["changes"] == [] and again["next"] == top
    # a restored copy of A starts a new chain: it gets its own earlier rows back
    restored = client.get(f"/api/v1/sync/pull?since={since}&skip=chainA2", headers=auth(a)).json()
    assert {c["id"] for c in restored["changes"]} == {c["id"] for c in more} | {theirs["id"]}
    # small pages walk past A's own rows in order, and end at the feed's end
    seen, cursor = [], since
    while True:
        p = client.get(f"/api/v1/sync/pull?since={cursor}&limit=1&skip=chainA1", headers=auth(a)).json()
        seen += [c["id"] for c in p["changes"]]
        cursor = p["next"]
        if not p["more"]:
            break
    assert seen == [theirs["id"]] and cursor == top
    for bad in ("a:b", "x" * 65, "链"):
        assert client.get("/api/v1/sync/pull", params={"skip": bad}, headers=auth(a)).status_code == 422
    body = gzip.compress(json.dumps({"protocol": 1, "batch_id": uuid.uuid4().hex, "chain": ["x"],
                                     "changes": [board(county["shimen"])]}).encode())
    r = client.post("/api/v1/sync/push", content=body,
                    headers=auth(a) | {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 422


def _notice(county, status: str, version: int = 1, *, owner: dict, **fields) -> dict:
    nid = fields.pop("id", None) or str(uuid.uuid4())
    data = {"id": nid, "township_id": county["shimen"], "status": status, "title": "离线发布的公示",
            "version": version, "owner_device": owner["device_id"], **fields}
    if status == "published":
        data = publishable(data)
    return {"entity": "notice", "id": nid, "version": version, "base_version": version - 1 or None, "data": data}


def test_posting_dates_that_cannot_be_right_by_the_countys_clock_are_refused(client, county):
    """The county's clock says 2026-11-25 (China). A clock 100 days fast publishes in March; a
    clock 92 days slow publishes in August, after the workstation last synced on the 25th; a
    close is stamped in 2027, or within the period. Each is refused with the county's copy; what
    a truly offline township published before its last contact is accepted."""
    device = enroll(client, "539901101000")
    early = _notice(county, "published", owner=device, posting_start="2026-10-20", posting_end="2026-10-26")
    assert push(client, device, [early]).json()["accepted"]  # no contact before: an offline township
    pull_all(client, device)  # the county notes this contact (its clock: 2026-11-25)
    ahead = _notice(county, "published", owner=device, posting_start="2027-03-05", posting_end="2027-03-11")
    behind = _notice(county, "published", owner=device, posting_start="2026-08-25", posting_end="2026-08-31")
    today = _notice(county, "published", owner=device, posting_start="2026-11-25", posting_end="2026-12-01")
    tomorrow = _notice(county, "published", owner=device, posting_start="2026-11-26", posting_end="2026-12-02")
    result = push(client, device, [ahead, behind, today, tomorrow]).json()
    assert {a["id"] for a in result["accepted"]} == {today["id"], tomorrow["id"]}
    refused = {r["id"]: r for r in result["rejected"]}
    assert set(refused) == {ahead["id"], behind["id"]}
    assert all(r["code"] == "implausible_date" and r["county_date"] == "2026-11-25" for r in refused.values())
    assert refused[ahead["id"]]["date"] == "2027-03-05" and refused[ahead["id"]]["server_data"] is None
    base = early["data"]
    closes = {
        "future": {**base, "status": "closed", "closed_at": "2027-03-01T02:00:00+00:00", "version": 2},
        "within the period": {**base, "status": "closed", "closed_at": "2026-10-26T02:00:00+00:00", "version": 2},
        "no time": {**base, "status": "closed", "closed_at": None, "version": 2},
    }
    for what, data in closes.items():
        [r] = push(client, device, [{"entity": "notice", "id": base["id"], "version": 2, "base_version": 1,
                                     "data": data}]).json()["rejected"]
        assert r["code"] == "implausible_date", what
        assert r["server_data"]["status"] == "published" and r["server_version"] == 1
    closed = {**base, "status": "closed", "closed_at": "2026-11-25T01:30:00+00:00", "version": 2}
    assert push(client, device, [{"entity": "notice", "id": base["id"], "version": 2, "base_version": 1,
                                  "data": closed}]).json()["accepted"]
    assert json.loads(SyncRow.get(SyncRow.id == base["id"]).data)["status"] == "closed"
    # every sync answer carries the county's time
    r = client.get("/api/v1/sync/pull?since=0&limit=1", headers=auth(device))
    assert r.headers["X-Gongkai-County-Time"].startswith("2026-11-25T02:00:00")


def test_the_check_my_row_lookup_follows_every_change_of_an_id_number_position_or_notice(client, county):
    from server.models import IdLookup

    device = enroll(client, "539901101000")
    rid, notice = str(uuid.uuid4()), str(uuid.uuid4())
    data = {"id": rid, "township_id": county["shimen"], "notice_id": notice, "seq": 1, "name": "张三",
            "id_number": "53290119880808123X", "amount_fen": 100, "deleted": False, "version": 1}

    def change(version: int, **fields) -> dict:
        data.update(fields, version=version)
        return {"entity": "roster_row", "id": rid, "version": version, "base_version": version - 1 or None,
                "data": dict(data)}

    def lookup():
        entry = IdLookup.get(IdLookup.row_id == rid)
        return entry.id_hmac, entry.notice_id, entry.row_seq, entry.deleted

    assert push(client, device, [change(1)]).json()["accepted"]
    first = lookup()
    assert first[0] == svc.id_hmac("53290119880808123X") and first[1:] == (notice, 1, False)
    assert push(client, device, [change(2, amount_fen=200)]).json()["accepted"]
    assert lookup() == first  # an amount changed: the lookup stays
    assert push(client, device, [change(3, id_number="532901199001011234", seq=4)]).json()["accepted"]
    assert lookup() == (svc.id_hmac("532901199001011234"), notice, 4, False)
    assert push(client, device, [change(4, amount_fen=5), change(5, deleted=True)]).json()["accepted"]
    assert lookup()[3] is True
