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


def test_rows_inserted_by_columns_in_several_statements_keep_their_order_and_payloads(ctx, monkeypatch):
    import db.changes
    from db.changes import insert_columns
    from tests.app.world import make_world

    w = make_world(ctx)
    nid = w.draft(0)
    monkeypatch.setattr(db.changes, "_ROWS_PER_STATEMENT", 3)  # 10 rows: four statements
    names = [f"王{i}" for i in range(10)]
    with ctx.write():
        ids = insert_columns(RosterRow, {"deleted": False, "township_id": w.township_id, "notice_id": nid}, {
            "seq": range(1, 11), "name": names, "id_number": [""] * 10, "group_name": ["1组"] * 10,
            "quantity": ["1.5"] * 10, "rate": [None] * 10, "amount_fen": list(range(10)),
            "bank_account": [""] * 10, "phone": [""] * 10, "remark": [""] * 10, "extra": ["{}"] * 10,
            "issues": ['[{"code":"x"}]'] + ["[]"] * 9,
        })
    rows = list(RosterRow.select().where(RosterRow.notice == nid).order_by(RosterRow.seq))
    assert [r.id for r in rows] == ids and ids == sorted(ids)
    assert [(r.name, r.amount_fen, r.quantity, r.version) for r in rows] == [
        (names[i], i, Decimal("1.5"), 1) for i in range(10)]
    assert rows[0].issues == [{"code": "x"}] and rows[1].issues == [] and rows[0].extra == {}
    entries = list(Outbox.select().where(Outbox.entity_id.in_(ids)).order_by(Outbox.seq))
    assert [e.entity_id for e in entries] == ids
    assert all(e.payload == payload_of(r) for e, r in zip(entries, rows, strict=True))
