"""The change writers: every synced write has its outbox entry with the row's payload."""

from __future__ import annotations

import uuid
from decimal import Decimal

from db.changes import insert_many, new_id, payload_of, save_change
from db.models import Outbox, Region, RosterRow


def test_new_ids_are_time_ordered_uuid7():
    ids = [new_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(uuid.UUID(i).version == 7 for i in ids)
    # the millisecond prefix never goes back
    prefixes = [i[:13] for i in ids]
    assert prefixes == sorted(prefixes)


def test_bulk_insert_writes_the_same_outbox_payload_as_a_single_save(ctx):
    from tests.app.world import make_world

    w = make_world(ctx)
    nid = w.draft(0)
    with ctx.write():
        [bulk_id] = insert_many(RosterRow, [{
            "notice": nid, "township_id": w.township_id, "seq": 1, "name": "王五", "quantity": Decimal("1.5"),
            "extra": {"x_item": "贴息"}, "issues": [{"code": "x"}],
        }])
        single = RosterRow(notice=nid, township_id=w.township_id, seq=2, name="赵六", quantity=Decimal("2.25"))
        save_change(single, created=True)
    bulk_entry = Outbox.get(Outbox.entity_id == bulk_id)
    single_entry = Outbox.get(Outbox.entity_id == single.id)
    assert bulk_entry.payload == payload_of(RosterRow.get_by_id(bulk_id))
    assert single_entry.payload == payload_of(RosterRow.get_by_id(single.id))
    assert bulk_entry.payload["quantity"] == "1.5" and bulk_entry.payload["extra"] == {"x_item": "贴息"}
    assert bulk_entry.payload["deleted"] is False and bulk_entry.base_version is None


def test_an_update_records_its_base_version(ctx):
    with ctx.write():
        r = save_change(Region(name="甲村", level="village", sort_key=""), created=True)
        r.name = "乙村"
        save_change(r)
    entries = list(Outbox.select().where(Outbox.entity_id == r.id).order_by(Outbox.seq))
    assert [(e.version, e.base_version) for e in entries] == [(1, None), (2, 1)]
    assert entries[1].payload["name"] == "乙村"
