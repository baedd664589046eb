"""The notice lifecycle: every action in every state, role checks, and the rules around them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.errors import PermissionDenied, TransitionError, ValidationError
from app.objections import ObjectionService
from app.rows import RowInput
from db.models import AuditEvent, Notice, Outbox

from .world import World, make_world


@pytest.fixture
def w(ctx) -> World:
    return make_world(ctx)


def _superseded(w: World) -> str:
    return w.superseded()


def _closed(w: World) -> str:
    nid = w.ended()
    w.notices.close(nid, w.reviewer)
    return nid


def _withdrawn(w: World) -> str:
    nid = w.approved()
    w.notices.withdraw(nid, w.reviewer, "数据有误")
    return nid


MAKE_STATE = {
    "draft": lambda w: w.draft(),
    "in_review": lambda w: w.reviewed(),
    "approved": lambda w: w.approved(),
    "published": lambda w: w.ended(),  # period already over, so close is possible
    "closed": _closed,
    "withdrawn": _withdrawn,
    "superseded": _superseded,
}

ACTIONS = {
    "edit": lambda w, n: w.notices.update_header(n, w.clerk, title="新标题"),
    "add_row": lambda w, n: w.notices.add_rows(n, w.clerk, w.rows(1, seed=99)),
    "submit": lambda w, n: w.notices.submit(n, w.clerk),
    "return": lambda w, n: w.notices.return_for_changes(n, w.reviewer, "面积需核实"),
    "village_review": lambda w, n: w.notices.record_village_review(
        n, w.clerk, body="村务监督委员会", names=["甲"], signed_on=w.ctx.clock.today()),
    "approve": lambda w, n: w.notices.approve(n, w.reviewer),
    "publish": lambda w, n: w.notices.publish(n, w.clerk),
    "correct": lambda w, n: w.notices.correct(n, w.clerk),
    "withdraw": lambda w, n: w.notices.withdraw(n, w.reviewer, "数据有误"),
    "close": lambda w, n: w.notices.close(n, w.reviewer),
}

ALLOWED = {
    "draft": {"edit", "add_row", "submit", "village_review"},
    "in_review": {"return", "village_review", "approve"},
    "approved": {"publish", "withdraw"},
    "published": {"correct", "withdraw", "close"},
    "closed": set(),
    "withdrawn": set(),
    "superseded": set(),
}

NEXT_STATUS = {
    ("draft", "submit"): "in_review",
    ("in_review", "return"): "draft",
    ("in_review", "approve"): "approved",
    ("approved", "publish"): "published",
    ("approved", "withdraw"): "withdrawn",
    ("published", "withdraw"): "withdrawn",
    ("published", "close"): "closed",
}


@pytest.mark.parametrize("state", list(MAKE_STATE))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_in_every_state(w, state, action):
    nid = MAKE_STATE[state](w)
    assert Notice.get_by_id(nid).status == state
    audit_before = AuditEvent.select().count()
    outbox_before = Outbox.select().count()
    if action in ALLOWED[state]:
        ACTIONS[action](w, nid)
        expected = NEXT_STATUS.get((state, action), state)
        assert Notice.get_by_id(nid).status == expected
        assert AuditEvent.select().count() > audit_before
        assert Outbox.select().count() > outbox_before
    else:
        with pytest.raises(TransitionError):
            ACTIONS[action](w, nid)
        assert Notice.get_by_id(nid).status == state
        # a refused action leaves no trace
        assert AuditEvent.select().count() == audit_before
        assert Outbox.select().count() == outbox_before


WRONG_ROLE = {
    "edit": ("draft", lambda w, n: w.notices.update_header(n, w.reviewer, title="x")),
    "add_row": ("draft", lambda w, n: w.notices.add_rows(n, w.reviewer, w.rows(1))),
    "submit": ("draft", lambda w, n: w.notices.submit(n, w.reviewer)),
    "return": ("in_review", lambda w, n: w.notices.return_for_changes(n, w.clerk, "x")),
    "approve": ("in_review", lambda w, n: w.notices.approve(n, w.clerk)),
    "correct": ("published", lambda w, n: w.notices.correct(n, w.reviewer)),
    "withdraw": ("published", lambda w, n: w.notices.withdraw(n, w.clerk, "x")),
    "close": ("published", lambda w, n: w.notices.close(n, w.clerk)),
}


@pytest.mark.parametrize("action", list(WRONG_ROLE))
def test_wrong_role_is_refused_and_changes_nothing(w, action):
    state, call = WRONG_ROLE[action]
    nid = MAKE_STATE[state](w)
    before = Notice.get_by_id(nid).version
    with pytest.raises(PermissionDenied):
        call(w, nid)
    assert Notice.get_by_id(nid).version == before


def test_admin_may_act_in_any_role_but_not_approve_own_submission(w):
    nid = w.draft()
    w.notices.update_header(nid, w.admin, doc_number="石政〔2026〕1号")
    w.notices.submit(nid, w.admin)
    w.notices.record_village_review(nid, w.admin, body="村务监督委员会", names=["甲"], signed_on=w.ctx.clock.today())
    with pytest.raises(TransitionError, match="提交人不能审批"):
        w.notices.approve(nid, w.admin)
    w.notices.approve(nid, w.reviewer)
    assert Notice.get_by_id(nid).status == "approved"


def test_inactive_user_is_refused(w):
    from db.models import User

    User.update(active=False).where(User.id == w.clerk).execute()
    with pytest.raises(PermissionDenied):
        w.draft()


def test_village_notice_needs_village_review_before_approval(w):
    nid = w.draft()
    w.notices.submit(nid, w.clerk)
    with pytest.raises(TransitionError, match="村务监督委员会"):
        w.notices.approve(nid, w.reviewer)


def test_submit_is_blocked_while_rows_have_errors_and_allowed_once_fixed(w):
    nid = w.draft(3)
    good = w.rows(1, seed=7)[0]
    bad = RowInput(**{**good.__dict__, "amount_fen": good.amount_fen + 1})
    w.notices.add_rows(nid, w.clerk, [bad])
    with pytest.raises(ValidationError, match="1 行明细存在错误"):
        w.notices.submit(nid, w.clerk)
    row = w.notices.rows(nid)[-1]
    assert [i["code"] for i in row.issues] == ["amount_mismatch"]
    w.notices.update_row(row.id, w.clerk, good)
    w.notices.submit(nid, w.clerk)
    assert Notice.get_by_id(nid).status == "in_review"


def test_withdraw_needs_a_reason_and_return_needs_comments(w):
    nid = w.reviewed()
    with pytest.raises(ValidationError):
        w.notices.return_for_changes(nid, w.reviewer, "  ")
    w.notices.approve(nid, w.reviewer)
    with pytest.raises(ValidationError):
        w.notices.withdraw(nid, w.reviewer, "")
    assert Notice.get_by_id(nid).status == "approved"


def test_posting_cannot_start_before_the_township_approved_it(w):
    nid = w.approved()
    with pytest.raises(ValidationError, match="不能早于乡镇审批日期"):
        w.notices.publish(nid, w.clerk, start=w.ctx.clock.today() - timedelta(days=1))
    assert Notice.get_by_id(nid).status == "approved"


def test_publish_freezes_content_and_period(w):
    nid = w.approved()
    view = w.notices.publish(nid, w.clerk, start=date(2026, 11, 25))
    n = Notice.get_by_id(nid)
    assert (n.posting_start, n.posting_end) == (date(2026, 11, 25), date(2026, 12, 2))
    assert n.fingerprint == view.fingerprint() and len(n.fingerprint) == 64
    assert any("民法典" in line for line in n.posting_explanation)
    # the frozen public view is what the service returns from now on
    assert w.notices.public_view(nid) == view


def test_land_preannouncement_counts_working_days_across_national_day(w):
    from decimal import Decimal

    past = w.at(date(2026, 9, 28))
    nid = past.create(w.clerk, notice_type_id=w._type(w.land_program_id), program_id=w.land_program_id,
                      village_id=w.village_id)
    past.add_rows(nid, w.clerk, [RowInput(group_name="一组", quantity=Decimal("12.5"))])
    past.submit(nid, w.clerk)
    past.record_village_review(nid, w.clerk, body="村民委员会", names=["甲"], signed_on=date(2026, 9, 28))
    past.approve(nid, w.reviewer)
    past.publish(nid, w.clerk, start=date(2026, 9, 28))
    n = Notice.get_by_id(nid)
    # Sep 29, 30, Oct 8, 9, 10 (make-up Saturday), 12, 13, 14, 15, 16
    assert n.posting_end == date(2026, 10, 16)
    assert n.posting_unit == "working" and n.posting_days == 10
    text = "\n".join(n.posting_explanation)
    assert "国庆节" in text and "2026年10月10日" in text


def test_close_waits_for_the_end_of_the_period(w):
    nid = w.published(start=w.ctx.clock.today())
    with pytest.raises(TransitionError, match="期满后"):
        w.notices.close(nid, w.reviewer)


def test_close_waits_for_every_objection_to_be_answered(w):
    nid = w.ended()
    objections = ObjectionService(w.ctx)
    oid = objections.record(nid, w.clerk, channel="phone", content="面积不对", contact="13812345678")
    with pytest.raises(TransitionError, match="1 件异议尚未答复"):
        w.notices.close(nid, w.reviewer)
    objections.answer(oid, w.reviewer, "已核实，面积无误。")
    w.notices.close(nid, w.reviewer)
    n = Notice.get_by_id(nid)
    assert n.status == "closed" and n.funds_released


def test_correction_supersedes_the_old_edition_only_when_published(w):
    old = w.published()
    new = w.notices.correct(old, w.clerk)
    assert Notice.get_by_id(new).edition == 2
    assert Notice.get_by_id(old).status == "published"
    with pytest.raises(TransitionError, match="已有一份更正"):
        w.notices.correct(old, w.clerk)
    assert w.notices.row_count(new) == w.notices.row_count(old)
    w.notices.submit(new, w.clerk)
    w.notices.record_village_review(new, w.clerk, body="村务监督委员会", names=["甲"], signed_on=w.ctx.clock.today())
    w.notices.approve(new, w.reviewer)
    w.notices.publish(new, w.clerk)
    assert Notice.get_by_id(old).status == "superseded"
    assert Notice.get_by_id(new).status == "published"


def test_sign_off_cannot_be_dated_in_the_future(w):
    nid = w.draft()
    with pytest.raises(ValidationError):
        w.notices.record_village_review(nid, w.clerk, body="村务监督委员会", names=["甲"],
                                        signed_on=w.ctx.clock.today() + timedelta(days=1))


def test_county_override_of_the_posting_period_applies_at_publish(w):
    from app.reference import ReferenceService

    ReferenceService(w.ctx).override_notice_type("subsidy_payout", min_days=5)
    nid = w.approved()
    w.notices.publish(nid, w.clerk, start=date(2026, 11, 30))
    assert Notice.get_by_id(nid).posting_end == date(2026, 12, 7)  # 5 days → Sat 5th → Mon 7th


def test_county_holiday_arrangement_extends_working_day_periods_into_a_new_year(w):
    from app.errors import CalendarError
    from app.reference import ReferenceService

    def land_notice():
        from decimal import Decimal

        nid = w.notices.create(w.clerk, notice_type_id=w._type(w.land_program_id),
                               program_id=w.land_program_id, village_id=w.village_id)
        w.notices.add_rows(nid, w.clerk, [RowInput(group_name="一组", quantity=Decimal("3"))])
        w.notices.submit(nid, w.clerk)
        w.notices.record_village_review(nid, w.clerk, body="村民委员会", names=["甲"], signed_on=w.ctx.clock.today())
        w.notices.approve(nid, w.reviewer)
        return nid

    # a year no release of the calendar package will know (2082/2083 fall on 2026/2027's weekdays);
    # the county has issued 2082's arrangement (no December holidays) but not yet 2083's
    county = ReferenceService(w.ctx)
    county.set_holidays([], complete_years=[2082])
    nid = land_notice()
    with pytest.raises(CalendarError, match="2083"):
        w.notices.publish(nid, w.clerk, start=date(2082, 12, 28))
    assert Notice.get_by_id(nid).status == "approved"
    county.set_holidays([(date(2083, 1, 1), False, "元旦")], complete_years=[2083])
    w.notices.publish(nid, w.clerk, start=date(2082, 12, 28))
    assert Notice.get_by_id(nid).posting_end == date(2083, 1, 12)
