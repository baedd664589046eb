"""Per-change outcomes of a push that the workstation relies on (SYNC.md "Per-change outcome"),
on SQLite and PostgreSQL:

- a change that builds on a refused change of the same row in the batch is refused too, even when
  its base version happens to equal the server's (another workstation's edit with that number);
- a change the server already holds is a duplicate, even where the same change now would be
  refused (a notice published since), and it clears such a refusal for the rest of the batch.
"""

from __future__ import annotations

import uuid

import pytest

from server import sync_service as svc
from server.db import write_transaction

from .test_sync_api import board, enroll, publishable, pull_all, push

#: the other columns of a roster row as a workstation sends them
ROW_FIELDS = {"group_name": "一组", "id_number": "", "quantity": None, "rate": None, "bank_account": "", "phone": "",
              "remark": "", "extra": {}}


def _edit(change: dict, version: int, **data) -> dict:
    return {**change, "version": version, "base_version": version - 1,
            "data": {**change["data"], "version": version, **data}}


def test_a_change_building_on_a_conflicting_one_is_a_conflict_too(client, county):
    first, second = enroll(client, "539901101000", "一号机"), enroll(client, "539901101000", "二号机")
    original = board(county["shimen"], "公开栏")
    assert push(client, first, [original]).json()["accepted"]
    theirs = _edit(original, 2, name="一号机改的")
    assert push(client, first, [theirs]).json()["accepted"]
    # the second workstation edited twice on top of version 1: its version 3 is based on its own
    # version 2, not on the first workstation's, though the numbers line up
    mine2, mine3 = _edit(original, 2, name="二号机改的"), _edit(original, 3, name="二号机再改")
    r = push(client, second, [mine2, mine3]).json()
    assert r["accepted"] == [] and [c["id"] for c in r["conflicts"]] == [original["id"]] * 2
    assert all(c["server_data"]["name"] == "一号机改的" for c in r["conflicts"])
    # alone, a change on top of the server's version is fine
    assert push(client, second, [_edit(original, 3, name="看过一号机的再改")]).json()["accepted"]


def test_a_change_the_server_holds_is_a_duplicate_even_after_the_notice_was_published(client, county):
    device = enroll(client, "539901101000")
    township = county["shimen"]
    notice_id, row_id = str(uuid.uuid4()), str(uuid.uuid4())
    notice = {"entity": "notice", "id": notice_id, "version": 1, "base_version": None, "deleted": False,
              "data": {"id": notice_id, "version": 1, "township_id": township, "status": "draft", "title": "公示",
                       "deleted": False, "owner_device": device["device_id"]}}
    row = {"entity": "roster_row", "id": row_id, "version": 1, "base_version": None, "deleted": False,
           "data": {"id": row_id, "version": 1, "township_id": township, "notice_id": notice_id, "seq": 1,
                    "name": "张三", "amount_fen": 100, "deleted": False, **ROW_FIELDS}}
    assert len(push(client, device, [notice, row]).json()["accepted"]) == 2
    published = {**_edit(notice, 2), "data": publishable({**notice["data"], "status": "published", "version": 2,
                                                          "posting_start": "2026-11-25", "posting_end": "2026-12-01"})}
    assert push(client, device, [published]).json()["accepted"]
    # the first batch again under another id (its answer was lost and the queue has grown since)
    again = push(client, device, [notice, row, published]).json()
    assert [d["id"] for d in again["duplicates"]] == [row_id, notice_id]
    assert [c["id"] for c in again["conflicts"]] == [notice_id]  # version 1 is history, not a problem
    assert again["rejected"] == [] and again["accepted"] == []
    # an actual change of a published notice's row is still refused
    r = push(client, device, [_edit(row, 2, amount_fen=999)]).json()
    assert r["rejected"] and "immutable" in r["rejected"][0]["reason"]


def test_nothing_can_be_added_to_a_published_notice(client, county):
    """A copy of the owning workstation restored from a backup made before the notice was
    published (the only other writer its notices have) adds a row and a sign-off to it, and moves
    a row of a draft into it: the county refuses all three and names the way out; the published
    roster stays as published."""
    first = enroll(client, "539901101000", "一号机")
    second = first  # the restored copy: the same workstation
    township = county["shimen"]
    notice_id, draft_id = str(uuid.uuid4()), str(uuid.uuid4())

    def notice(nid, status="draft"):
        return {"entity": "notice", "id": nid, "version": 1, "base_version": None, "deleted": False,
                "data": {"id": nid, "version": 1, "township_id": township, "status": status, "title": "公示",
                         "deleted": False, "owner_device": first["device_id"]}}

    def row(nid, seq):
        rid = str(uuid.uuid4())
        return {"entity": "roster_row", "id": rid, "version": 1, "base_version": None, "deleted": False,
                "data": {"id": rid, "version": 1, "township_id": township, "notice_id": nid, "seq": seq,
                         "name": f"户主{seq}", "amount_fen": 100, "deleted": False, **ROW_FIELDS}}

    published = notice(notice_id)
    assert len(push(client, first, [published, row(notice_id, 1), notice(draft_id), row(draft_id, 1)]).json()[
        "accepted"]) == 4
    publish = {**_edit(published, 2), "data": publishable({**published["data"], "status": "published", "version": 2,
                                                          "posting_start": "2026-11-25", "posting_end": "2026-12-01"})}
    assert push(client, first, [publish]).json()["accepted"]

    late_row = row(notice_id, 2)
    sign_id = str(uuid.uuid4())
    late_sign_off = {"entity": "sign_off", "id": sign_id, "version": 1, "base_version": None, "deleted": False,
                     "data": {"id": sign_id, "version": 1, "township_id": township, "notice_id": notice_id,
                              "kind": "village_review", "deleted": False}}
    moved = row(draft_id, 2)
    first_try = push(client, second, [late_row, late_sign_off, moved]).json()
    assert [x["id"] for x in first_try["accepted"]] == [moved["id"]]  # into the draft: fine
    assert [x["id"] for x in first_try["rejected"]] == [late_row["id"], sign_id]
    into = push(client, second, [_edit(moved, 2, notice_id=notice_id)]).json()
    assert into["accepted"] == [] and [x["id"] for x in into["rejected"]] == [moved["id"]]
    for x in first_try["rejected"] + into["rejected"]:
        assert (x["code"], x["notice_id"]) == ("published_notice_part", notice_id)
        assert "published" in x["reason"] and "correction" in x["reason"] and notice_id in x["reason"]
    rows = [c for c in pull_all(client, first) if c["entity"] == "roster_row"
            and c["data"]["notice_id"] == notice_id]
    assert len(rows) == 1


def test_only_the_owning_workstation_writes_a_notice_and_only_the_county_hands_it_over(client, county):
    """One writer per notice, checked by the county whatever a workstation sends: a new notice
    names the workstation that sends it; another workstation of the township cannot change it,
    its rows or its sign-offs, nor take it by writing its own id in; each refusal carries the
    county's copy. The county hands it over; then the roles swap."""
    first, second = enroll(client, "539901101000", "一号机"), enroll(client, "539901101000", "二号机")
    township = county["shimen"]
    nid, rid = str(uuid.uuid4()), str(uuid.uuid4())
    notice = {"entity": "notice", "id": nid, "version": 1, "base_version": None, "deleted": False,
              "data": {"id": nid, "version": 1, "township_id": township, "status": "draft", "title": "一号机的公示",
                       "deleted": False, "owner_device": first["device_id"]}}
    row = {"entity": "roster_row", "id": rid, "version": 1, "base_version": None, "deleted": False,
           "data": {"id": rid, "version": 1, "township_id": township, "notice_id": nid, "seq": 1, "name": "张三",
                    "amount_fen": 100, "deleted": False}}
    # a new notice naming another workstation is not taken from the second one
    forged = {**notice, "data": {**notice["data"], "owner_device": first["device_id"]}}
    [r] = push(client, second, [forged]).json()["rejected"]
    assert (r["code"], r["server_data"]) == ("not_owner", None)
    assert len(push(client, first, [notice, row]).json()["accepted"]) == 2
    edits = {
        "submit": _edit(notice, 2, status="in_review"),
        "claim": _edit(notice, 2, owner_device=second["device_id"]),
        "row": _edit(row, 2, amount_fen=99999),
        "new row": {**row, "id": (other := str(uuid.uuid4())), "data": {**row["data"], "id": other, "seq": 2}},
        "sign-off": {"entity": "sign_off", "id": (s := str(uuid.uuid4())), "version": 1, "base_version": None,
                     "deleted": False, "data": {"id": s, "version": 1, "township_id": township, "notice_id": nid,
                                                "kind": "village_review", "deleted": False}},
    }
    for what, change in edits.items():
        [r] = push(client, second, [change]).json()["rejected"]
        assert (r["code"], r["notice_id"], r["owner_device"]) == ("not_owner", nid, first["device_id"]), what
        assert r["server_version"] == (1 if change["id"] in (nid, rid) else None), what
    # nor may the owner give it away by itself: only the county hands notices over
    [r] = push(client, first, [_edit(notice, 2, owner_device=second["device_id"])]).json()["rejected"]
    assert r["code"] == "not_owner" and "county" in r["reason"]
    assert push(client, first, [_edit(row, 2, amount_fen=200)]).json()["accepted"]

    svc.hand_over(nid, second["device_id"])
    [handed] = [c for c in pull_all(client, first) if c["id"] == nid]
    assert (handed["version"], handed["data"]["owner_device"]) == (2, second["device_id"])
    [r] = push(client, first, [_edit(notice, 2, status="in_review")]).json()["rejected"]
    assert r["code"] == "not_owner" and r["server_data"]["owner_device"] == second["device_id"]
    submitted = _edit({**notice, "data": handed["data"]}, 3, status="in_review")
    assert push(client, second, [submitted]).json()["accepted"]
    # the county hands over only to an active workstation of the notice's township
    other_township = enroll(client, "539901102000", "柳镇")
    with pytest.raises(svc.SyncError):
        svc.hand_over(nid, other_township["device_id"])
    svc.revoke(first["device_id"])
    with pytest.raises(svc.SyncError):
        svc.hand_over(nid, first["device_id"])


def test_a_notice_from_before_owners_is_claimed_by_the_first_workstation_that_changes_it(client, county):
    """Notices the county received before notices had owners name none: the first workstation
    whose change names itself takes it; a later claim by another is refused with the county's copy."""
    first, second = enroll(client, "539901101000", "一号机"), enroll(client, "539901101000", "二号机")
    nid = str(uuid.uuid4())
    data = {"id": nid, "version": 1, "township_id": county["shimen"], "status": "draft", "title": "旧公示",
            "deleted": False}
    with write_transaction():  # as a push before owners stored it
        svc._put_row("notice", nid, data, county["shimen"])
    old = {"entity": "notice", "id": nid, "version": 1, "base_version": None, "deleted": False, "data": data}
    assert push(client, second, [_edit(old, 2, title="改个标题")]).json()["accepted"]  # unclaimed stays open
    assert push(client, first, [_edit(old, 3, owner_device=first["device_id"], status="in_review")]).json()["accepted"]
    [r] = push(client, second, [_edit(old, 4, owner_device=second["device_id"])]).json()["rejected"]
    assert r["code"] == "not_owner" and r["server_data"]["owner_device"] == first["device_id"]
