"""Duplicate ID numbers within a notice and across notices of one program and year (一人多领)."""

from __future__ import annotations

from app.reference import ReferenceService
from app.rows import RowInput

from .world import make_world


def _codes(row) -> list[tuple[str, str]]:
    return [(i["code"], i["severity"]) for i in row.issues]


def test_the_same_id_twice_in_one_notice_is_an_error_on_both_rows(ctx):
    w = make_world(ctx)
    nid = w.draft(4)
    first = w.notices.rows(nid)[0]
    w.notices.add_rows(nid, w.clerk, [RowInput(**{**w.rows(1, seed=50)[0].__dict__, "id_number": first.id_number})])
    rows = w.notices.rows(nid)
    flagged = [r for r in rows if ("duplicate_id", "error") in _codes(r)]
    assert [r.seq for r in flagged] == [first.seq, rows[-1].seq]
    # removing the extra row clears the mark on the first one
    w.notices.delete_row(rows[-1].id, w.clerk)
    assert ("duplicate_id", "error") not in _codes(w.notices.rows(nid)[0])


def test_the_same_id_in_another_notice_of_the_same_program_is_flagged(ctx):
    w = make_world(ctx)
    first = w.published(3)
    person = w.notices.rows(first)[1]
    other_village = ReferenceService(ctx).add_region("邻村", "village", "539902101202", w.township_id)
    nid = w.notices.create(w.clerk, notice_type_id=w._type(w.program_id), program_id=w.program_id,
                           village_id=other_village.id)
    row = RowInput(**{**w.rows(1, seed=60)[0].__dict__, "id_number": person.id_number})
    w.notices.add_rows(nid, w.clerk, [row])
    issues = w.notices.rows(nid)[0].issues
    assert [(i["code"], i["severity"]) for i in issues] == [("duplicate_id", "warning")]
    assert "一人多领" in issues[0]["message"]
    assert person.id_number not in issues[0]["message"]


def test_another_program_is_not_a_duplicate(ctx):
    w = make_world(ctx)
    first = w.published(3)
    person = w.notices.rows(first)[0]
    ref = ReferenceService(ctx)
    other = ref.add_program(name="2026年一次性种粮补贴", year=2026, notice_type_code="subsidy_payout", unit="亩")
    nid = w.notices.create(w.clerk, notice_type_id=other.notice_type_id, program_id=other.id, village_id=w.village_id)
    w.notices.add_rows(nid, w.clerk, [RowInput(**{**w.rows(1, seed=61)[0].__dict__, "id_number": person.id_number})])
    assert w.notices.rows(nid)[0].issues == ()


def test_a_roster_added_again_to_its_program_is_marked_row_by_row_on_any_sqlite(ctx):
    """Every row of a roster imported a second time is 一人多领: all are marked at once, each with
    its version and outbox entry, even where SQLite allows only 999 parameters per statement (as
    older builds do) — the numbers and ids never travel as one parameter each."""
    import sqlite3

    from db.changes import payload_of
    from db.models import Outbox, RosterRow

    w = make_world(ctx)
    w.draft(1500, title="第一次导入")
    ctx.db.connection().setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    other_village = ReferenceService(ctx).add_region("邻村", "village", "539902101202", w.township_id)
    nid = w.notices.create(w.clerk, notice_type_id=w._type(w.program_id), program_id=w.program_id,
                           village_id=other_village.id)
    w.notices.add_rows(nid, w.clerk, w.rows(1500))
    rows = list(RosterRow.select().where(RosterRow.notice == nid))
    assert len(rows) == 1500
    assert all([(i["code"], i["severity"]) for i in r.issues] == [("duplicate_id", "warning")] for r in rows)
    assert all("第一次导入" in r.issues[0]["message"] for r in rows)
    assert {r.version for r in rows} == {2}
    marked = {o.entity_id: o for o in Outbox.select().where((Outbox.entity == "roster_row") & (Outbox.version == 2))}
    assert set(marked) == {r.id for r in rows}
    assert all(marked[r.id].base_version == 1 and marked[r.id].payload == payload_of(r) for r in rows)
