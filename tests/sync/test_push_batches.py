"""The push batch as the client sends it: made as text from the stored payloads (fast), it must
carry exactly the outbox entries, and its id must name its content: the same entries give the
same id (a retry gets the county's stored answer), other content under the same outbox numbers
(a workstation restored from a backup) never does."""

from __future__ import annotations

import json
from types import SimpleNamespace


def test_the_batch_carries_the_outbox_entries_and_its_id_names_its_content(demo_ctx):
    from app.notices import NoticeService
    from db.models import Notice, Outbox, User
    from sync.client import _batch, _batch_text, _Entry

    clerk = User.get(User.username == "zhangli").id
    draft = Notice.get(Notice.status == "draft")
    rows = NoticeService(demo_ctx).rows(draft.id, 0, 2)
    NoticeService(demo_ctx).delete_row(rows[0].id, clerk)  # a deletion among them
    state = SimpleNamespace(device_id="d3v1ce", server_epoch="e-1")
    for query in (Outbox.select().order_by(Outbox.seq).limit(500),
                  Outbox.select().order_by(Outbox.seq.desc()).limit(500),
                  Outbox.select().where(Outbox.entity_id == rows[0].id).order_by(Outbox.seq),
                  Outbox.select().order_by(Outbox.seq).limit(1)):
        light = _Entry.read(query)
        heavy = list(query)  # as the ORM reads them
        batch = json.loads(_batch_text(state, light))
        assert batch == _batch(state, light)
        assert [(c["entity"], c["id"], c["version"], c["base_version"], c["deleted"], c["data"])
                for c in batch["changes"]] == [
            (e.entity, e.entity_id, e.version, e.base_version, bool(e.payload.get("deleted")), e.payload)
            for e in heavy]
        assert (batch["first_seq"], batch["last_seq"]) == (heavy[0].seq, heavy[-1].seq)
        assert json.loads(_batch_text(state, _Entry.read(query)))["batch_id"] == batch["batch_id"]
    deleted = _Entry.read(Outbox.select().where(Outbox.entity_id == rows[0].id).order_by(Outbox.seq))
    assert deleted[-1].deleted and deleted[-1].payload["deleted"] is True

    # the same outbox numbers with other content (a restored backup, then another edit)
    entries = _Entry.read(Outbox.select().order_by(Outbox.seq).limit(3))
    before = _batch(state, entries)["batch_id"]
    edited = json.loads(entries[1].payload_text) | {"remark": "恢复备份后的修改"}
    entries[1].payload_text = json.dumps(edited, ensure_ascii=False)
    assert _batch(state, entries)["batch_id"] != before
    assert _batch(SimpleNamespace(device_id="d3v1ce", server_epoch="e-2"), entries)["batch_id"] != before


def test_an_old_step_of_a_row_the_county_holds_newer_is_not_a_problem(demo_ctx):
    """The county answers "conflict" for version 1 of a row and "duplicate" for version 2 in the
    same batch (it has moved past version 1: our own version 2): nothing for the clerk."""
    from app.notices import NoticeService
    from db.models import Notice, Outbox, SyncProblem, User
    from sync.client import SyncClient, _Entry

    clerk = User.get(User.username == "zhangli").id
    draft = Notice.get(Notice.status == "draft")
    NoticeService(demo_ctx).update_header(draft.id, clerk, title="改过的标题")
    mine = _Entry.read(Outbox.select().where(Outbox.entity_id == draft.id).order_by(Outbox.seq))
    assert [e.version for e in mine] == [1, 2]
    result = {"accepted": [], "duplicates": [{"id": draft.id, "version": 2, "seq": 7}],
              "conflicts": [{"id": draft.id, "entity": "notice", "server_version": 2,
                             "server_data": mine[-1].payload}], "rejected": []}
    assert SyncClient(demo_ctx)._settle(mine, result) == (0, 0)
    assert SyncProblem.select().count() == 0
    assert not Outbox.select().where(Outbox.entity_id == draft.id).exists()
    # a real conflict of the row's newest change is kept for the clerk, once per row
    NoticeService(demo_ctx).update_header(draft.id, clerk, title="又改")
    NoticeService(demo_ctx).update_header(draft.id, clerk, title="再改")
    mine = _Entry.read(Outbox.select().where(Outbox.entity_id == draft.id).order_by(Outbox.seq))
    result = {"accepted": [], "duplicates": [], "rejected": [],
              "conflicts": [{"id": draft.id, "entity": "notice", "server_version": 3, "server_data": {}}] * 2}
    assert SyncClient(demo_ctx)._settle(mine, result) == (1, 0)
    [problem] = SyncProblem.select()
    assert problem.local_data["title"] == "再改"


def test_an_old_step_answered_as_a_conflict_waits_for_the_newer_change_queued_behind_it(demo_ctx):
    """Version 1 of a row went in one batch and version 2 stays queued for a later one (the
    county already has version 2 by USB, so it calls version 1 a conflict): the later change
    decides, nothing goes to the clerk yet, and version 2 is still sent."""
    from app.notices import NoticeService
    from db.models import Notice, Outbox, SyncProblem, User
    from sync.client import SyncClient, _Entry

    clerk = User.get(User.username == "zhangli").id
    draft = Notice.get(Notice.status == "draft")
    NoticeService(demo_ctx).update_header(draft.id, clerk, title="改过的标题")
    first, second = _Entry.read(Outbox.select().where(Outbox.entity_id == draft.id).order_by(Outbox.seq))
    batch = _Entry.read(Outbox.select().where(Outbox.seq <= first.seq).order_by(Outbox.seq))
    assert batch[-1].seq == first.seq < second.seq
    result = {"accepted": [], "duplicates": [], "rejected": [],
              "conflicts": [{"id": draft.id, "entity": "notice", "server_version": 2,
                             "server_data": second.payload}]}
    assert SyncClient(demo_ctx)._settle(batch, result) == (0, 0)
    assert SyncProblem.select().count() == 0
    assert [e.seq for e in Outbox.select().where(Outbox.entity_id == draft.id)] == [second.seq]
    # without a newer change behind it, the same answer is a conflict for the clerk
    result["conflicts"][0]["server_version"] = 3
    assert SyncClient(demo_ctx)._settle([_Entry.read(Outbox.select().where(Outbox.seq == second.seq))[0]],
                                        result) == (1, 0)
    assert SyncProblem.get().local_data["title"] == "改过的标题"


def test_every_refusal_of_the_county_has_a_text_for_the_clerk(demo_ctx):
    from db.models import Notice
    from sync.client import _REFUSALS, refusal_text
    from sync.protocol import REFUSAL_CODES

    assert set(_REFUSALS) == REFUSAL_CODES
    published = Notice.get(Notice.status == "published")
    text = refusal_text({"code": "published_notice_part", "notice_id": published.id, "reason": "rows ..."})
    assert published.title in text and "更正公示" in text
    # a code this version does not know yet keeps the county's words, in a Chinese sentence
    assert refusal_text({"code": "new_rule", "reason": "some new rule"}) == "县里没有接受这项修改：some new rule"
