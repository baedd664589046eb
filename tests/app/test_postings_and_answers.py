"""What the boards and objection pages need from the services: which postings must come down,
which notices can still be posted on a board, photo details, new boards, and answer details."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.audit import count as audit_count
from app.boards import BoardService
from app.context import Clock
from app.errors import NotFound, TransitionError, ValidationError
from app.objections import ObjectionService
from app.reference import ReferenceService

from .world import make_world


def _board(ctx, w, name="测试村公开栏"):
    return ReferenceService(ctx).add_board(name, w.village_id, "村委会门前").id


def test_a_notice_is_posted_once_per_board_until_it_is_taken_down(ctx):
    w = make_world(ctx)
    nid = w.published()
    board = _board(ctx, w)
    boards = BoardService(ctx)
    first = boards.post(nid, board, w.clerk)
    with pytest.raises(TransitionError):
        boards.post(nid, board, w.clerk)
    boards.take_down(first, w.clerk)
    with pytest.raises(TransitionError):
        boards.take_down(first, w.clerk)  # the first take-down date stays
    again = boards.post(nid, board, w.clerk)
    assert {p.id for p in boards.postings(board)} == {first, again}


def test_postings_say_when_they_must_come_down(ctx):
    w = make_world(ctx)
    running, withdrawn = w.published(), w.published()
    board = _board(ctx, w)
    boards = BoardService(ctx)
    boards.post(running, board, w.clerk)
    boards.post(withdrawn, board, w.clerk)
    w.notices.withdraw(withdrawn, w.reviewer, "名单有误")
    due = {p.notice_id: p.take_down_due for p in boards.postings(board)}
    assert due == {running: False, withdrawn: True}
    assert {p.notice_id: p.notice_status for p in boards.postings(board)}[withdrawn] == "withdrawn"
    # after the posting period the running one must come down too; a taken-down one never again
    later = replace(ctx, clock=Clock.fixed(datetime(2026, 12, 20, 2, 0, tzinfo=UTC)))
    late = BoardService(later)
    assert all(p.take_down_due for p in late.postings(board))
    late.take_down(next(p.id for p in late.postings(board) if p.notice_id == running), w.clerk)
    assert {p.notice_id: p.take_down_due for p in late.postings(board)} == {running: False, withdrawn: True}


def test_postable_notices_leave_out_what_is_up_and_put_the_boards_own_first(ctx):
    w = make_world(ctx)
    mine, up = w.published(), w.published()
    other_village = ReferenceService(ctx).add_region("别村", "village", "539902101202", w.township_id)
    elsewhere = w.notices.create(w.clerk, notice_type_id=ReferenceService(ctx).program(w.program_id).notice_type_id,
                                 program_id=w.program_id, village_id=other_village.id)
    w.notices.add_rows(elsewhere, w.clerk, w.rows(3))
    w.notices.submit(elsewhere, w.clerk)
    w.notices.record_village_review(elsewhere, w.clerk, body="村务监督委员会", names=["甲"],
                                    signed_on=ctx.clock.today())
    w.notices.approve(elsewhere, w.reviewer)
    w.notices.publish(elsewhere, w.clerk)
    w.draft()
    board = _board(ctx, w)
    BoardService(ctx).post(up, board, w.clerk)
    postable = BoardService(ctx).postable_notices(board)
    assert [(p.id, p.relevant) for p in postable] == [(mine, True), (elsewhere, False)]
    assert postable[1].village == "别村"
    with pytest.raises(NotFound):
        BoardService(ctx).postable_notices("no-such-board")


def test_evidence_details_name_the_file_and_who_added_it(ctx, tmp_path):
    w = make_world(ctx)
    board = _board(ctx, w)
    boards = BoardService(ctx)
    pid = boards.post(w.published(), board, w.clerk)
    photo = tmp_path / "公开栏.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    digest = boards.add_evidence(pid, w.clerk, photo)
    (info,) = boards.evidence(pid)
    assert (info.sha256, info.filename, info.media_type, info.size, info.added_by) == (
        digest, "公开栏.png", "image/png", 108, "经办甲")


def test_boards_are_added_with_a_name_and_audited(ctx):
    w = make_world(ctx)
    boards = BoardService(ctx)
    before = audit_count()
    board_id = boards.add_board(" 测试村二组公开栏 ", w.village_id, w.clerk, "二组文化广场")
    assert audit_count() == before + 1
    info = next(b for b in ReferenceService(ctx).boards() if b.id == board_id)
    assert (info.name, info.village_id, info.location) == ("测试村二组公开栏", w.village_id, "二组文化广场")
    with pytest.raises(ValidationError):
        boards.add_board("测试村二组公开栏", None, w.clerk)
    with pytest.raises(ValidationError):
        boards.add_board("  ", None, w.clerk)
    with pytest.raises(NotFound):
        boards.add_board("别处公开栏", w.township_id, w.clerk)  # a township is not a village
    assert boards.add_board("测试镇政务公开栏", None, w.reviewer)


def test_answers_keep_who_answered_and_whether_it_led_to_a_correction(ctx):
    w = make_world(ctx)
    nid = w.published()
    obj = ObjectionService(ctx)
    oid = obj.record(nid, w.clerk, channel="letter", content="面积少算", received_on=ctx.clock.today() - timedelta(days=1))
    info = obj.inbox()[0]
    assert (info.notice_id, info.notice_status, info.led_to_correction) == (nid, "published", False)
    obj.answer(oid, w.reviewer, "经核实面积有误，将更正公示。", led_to_correction=True)
    (answer,) = obj.answers(oid)
    assert (answer.text, answer.answered_by, answer.led_to_correction) == ("经核实面积有误，将更正公示。", "审核乙", True)
    assert answer.answered_at.startswith("2026-11-25")
    assert obj.inbox(include_answered=True)[0].led_to_correction
