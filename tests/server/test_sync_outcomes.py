"""Per-change outcomes of a push that the workstation relies on (SYNC.md "Per-change outcome"),
on SQLite and PostgreSQL:

- a change that builds on a refused change of the same row in the batch is refused too, even when
  its base version happens to equal the server's (another workstation's edit with that number);
- a change the server already holds is a duplicate, even where the same change now would be
  refused (a notice published since), and it clears such a refusal for the rest of the batch.
"""

from __future__ import annotations

import uuid

from .test_sync_api import board, enroll, push


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
                       "deleted": False}}
    row = {"entity": "roster_row", "id": row_id, "version": 1, "base_version": None, "deleted": False,
           "data": {"id": row_id, "version": 1, "township_id": township, "notice_id": notice_id, "seq": 1,
                    "name": "张三", "amount_fen": 100, "deleted": False}}
    assert len(push(client, device, [notice, row]).json()["accepted"]) == 2
    published = _edit(notice, 2, status="published")
    assert push(client, device, [published]).json()["accepted"]
    # the first batch again under another id (its answer was lost and the queue has grown since)
    again = push(client, device, [notice, row, published]).json()
    assert [d["id"] for d in again["duplicates"]] == [row_id, notice_id]
    assert [c["id"] for c in again["conflicts"]] == [notice_id]  # version 1 is history, not a problem
    assert again["rejected"] == [] and again["accepted"] == []
    # an actual change of a published notice's row is still refused
    r = push(client, device, [_edit(row, 2, amount_fen=999)]).json()
    assert r["rejected"] and "immutable" in r["rejected"][0]["reason"]
