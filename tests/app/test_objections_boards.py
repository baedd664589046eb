"""Objections (异议) and postings with photo evidence."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.boards import BoardService, evidence_path
from app.errors import TransitionError, ValidationError
from app.integrity import verify_database
from app.objections import ObjectionService
from app.reference import ReferenceService

from .world import make_world


def test_objection_inbox_is_sorted_by_due_date_and_marks_overdue(ctx):
    w = make_world(ctx)
    nid = w.published()
    obj = ObjectionService(ctx)
    today = ctx.clock.today()
    late = obj.record(nid, w.clerk, channel="visit", content="面积少算", received_on=today - timedelta(days=10))
    fresh = obj.record(nid, w.clerk, channel="letter", content="名字写错")
    inbox = obj.inbox()
    assert [o.id for o in inbox] == [late, fresh]
    assert [o.overdue for o in inbox] == [True, False]
    assert inbox[0].due_date == today - timedelta(days=3)


def test_objection_contact_never_keeps_a_full_phone_number(ctx):
    w = make_world(ctx)
    nid = w.published()
    obj = ObjectionService(ctx)
    obj.record(nid, w.clerk, channel="phone", content="请核实", contact="王某 13812345678")
    assert obj.inbox()[0].contact == "王某 138****5678"


def test_answers_are_appended_not_replaced(ctx):
    w = make_world(ctx)
    nid = w.published()
    obj = ObjectionService(ctx)
    oid = obj.record(nid, w.clerk, channel="phone", content="请核实")
    obj.start_investigation(oid, w.clerk)
    obj.answer(oid, w.reviewer, "已核实，无误。")
    obj.answer(oid, w.reviewer, "补充：已电话告知本人。")
    info = obj.inbox(include_answered=True)[0]
    assert info.status == "answered"
    assert info.answers == ("已核实，无误。", "补充：已电话告知本人。")


def test_objections_only_on_published_notices_and_with_content(ctx):
    w = make_world(ctx)
    obj = ObjectionService(ctx)
    with pytest.raises(TransitionError):
        obj.record(w.draft(), w.clerk, channel="phone", content="x")
    with pytest.raises(ValidationError):
        obj.record(w.published(), w.clerk, channel="phone", content="  ")


def test_posting_with_photo_evidence_is_content_addressed_and_verified(ctx, tmp_path):
    w = make_world(ctx)
    nid = w.published()
    board = ReferenceService(ctx).add_board("测试村公开栏", w.village_id)
    boards = BoardService(ctx)
    pid = boards.post(nid, board.id, w.clerk)
    photo = tmp_path / "张贴照片.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"photo" * 1000)
    digest = boards.add_evidence(pid, w.clerk, photo)
    assert boards.add_evidence(pid, w.clerk, photo) == digest  # same bytes, same blob
    stored = evidence_path(ctx.evidence_dir, digest)
    assert stored.read_bytes() == photo.read_bytes()
    info = boards.postings()[0]
    assert info.evidence == (digest, digest) and info.days_left == 7
    assert verify_database(ctx).ok
    stored.write_bytes(b"altered")
    report = verify_database(ctx)
    assert not report.ok and "photo" in report.first_problem


def test_only_published_notices_can_be_posted(ctx):
    w = make_world(ctx)
    board = ReferenceService(ctx).add_board("公开栏", w.village_id)
    with pytest.raises(TransitionError):
        BoardService(ctx).post(w.approved(), board.id, w.clerk)
