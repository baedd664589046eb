"""The disclosure calendar (公开日历) on the demo township, whose clock stands at 2026-11-25.

The demo has no regular village disclosures yet, so every village owes its 村级财务收支公开 for
October (overdue) and November (due 30 November) and its quarterly 村务公开 for Q4 (due 31 December).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from app.context import Clock, Context
from app.disclosure_calendar import DisclosureCalendar, disclosed_period, period_bounds
from app.notices import NoticeService
from app.reference import ReferenceService
from app.rows import RowInput
from app.users import UserService

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def _users(ctx) -> tuple[str, str]:
    by_name = {u.username: u.id for u in UserService(ctx).list()}
    return by_name["zhangli"], by_name["wangqiang"]


def _village(ctx, name: str):
    return next(v for v in ReferenceService(ctx).regions("village") if v.name == name)


def publish_regular(ctx, village_name: str, day: date, code: str = "village_finance",
                    title: str | None = None) -> str:
    """Prepare, review and publish a regular village disclosure on ``day``."""
    clerk, reviewer = _users(ctx)
    moment = datetime.combine(day, time(2, 0), tzinfo=UTC)
    notices = NoticeService(Context(db=ctx.db, data_dir=ctx.data_dir, clock=Clock.fixed(moment)))
    village = _village(ctx, village_name)
    header = {"title": title} if title else {}
    nid = notices.create(clerk, notice_type_id=ReferenceService(ctx).notice_type(code).id,
                         village_id=village.id, **header)
    notices.add_rows(nid, clerk, [RowInput(name="办公经费", extra={"x_kind": "支出"}, amount_fen=125_000)])
    notices.submit(nid, clerk)
    notices.record_village_review(nid, clerk, body=f"{village_name}村务监督委员会", names=["李德明"], signed_on=day)
    notices.approve(nid, reviewer)
    notices.publish(nid, clerk, start=day)
    return nid


def _finance(items, village: str):
    return [i for i in items if i.type_code == "village_finance" and i.village == village]


def test_period_bounds_and_the_period_a_title_names():
    assert period_bounds("monthly", date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_bounds("quarterly", date(2026, 11, 25)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert disclosed_period("monthly", "石门村2026年10月财务收支公开", date(2026, 11, 3)) == (
        date(2026, 10, 1), date(2026, 10, 31))
    assert disclosed_period("quarterly", "石门村2026年第三季度村务公开", date(2026, 10, 8))[0] == date(2026, 7, 1)
    # a title naming a period that had not begun when it was posted is not believed
    assert disclosed_period("monthly", "石门村2026年12月财务收支公开", date(2026, 11, 3))[0] == date(2026, 11, 1)
    assert disclosed_period("monthly", "财务收支公开", date(2026, 11, 3))[0] == date(2026, 11, 1)


def test_demo_owes_every_village_its_monthly_finances(demo_ctx):
    view = DisclosureCalendar(demo_ctx).view(*NOVEMBER)
    assert view.since == date(2026, 10, 1)  # the earliest posting in the demo was in October
    october = [i for i in view.backlog if i.type_code == "village_finance"]
    assert len(october) == 9 and {i.status for i in october} == {"overdue"}
    assert {i.due_date for i in october} == {date(2026, 10, 31)}
    november = [i for i in view.items if i.type_code == "village_finance"]
    assert len(november) == 9
    assert {(i.status, i.due_date, i.days_left) for i in november} == {("pending", date(2026, 11, 30), 5)}
    assert november[0].village == "石门村" and november[0].rule == "每月公布"


def test_a_published_finance_notice_satisfies_its_month(demo_ctx):
    nid = publish_regular(demo_ctx, "石门村", date(2026, 11, 20))
    assert "2026年11月" in NoticeService(demo_ctx).get(nid).title
    view = DisclosureCalendar(demo_ctx).view(*NOVEMBER)
    (item,) = _finance(view.items, "石门村")
    assert (item.status, item.notice_id, item.done_on, item.late) == ("done", nid, date(2026, 11, 20), False)
    assert [i.status for i in _finance(view.items, "柳溪村")] == ["pending"]
    # October is still owed: a November disclosure does not cover it
    assert [i.village for i in view.backlog if i.type_code == "village_finance"][0] == "石门村"


def test_a_late_disclosure_covers_the_month_its_title_names(demo_ctx):
    nid = publish_regular(demo_ctx, "柳溪村", date(2026, 11, 5), title="柳溪村2026年10月财务收支公开")
    view = DisclosureCalendar(demo_ctx).view(date(2026, 10, 1), date(2026, 10, 31))
    (item,) = _finance(view.items, "柳溪村")
    assert (item.status, item.notice_id, item.late) == ("done", nid, True)
    (november,) = _finance(DisclosureCalendar(demo_ctx).view(*NOVEMBER).items, "柳溪村")
    assert november.status == "pending"


def test_quarterly_village_affairs_are_due_at_the_end_of_the_quarter(demo_ctx):
    nid = publish_regular(demo_ctx, "青石村", date(2026, 11, 10), code="village_affairs")
    view = DisclosureCalendar(demo_ctx).view(date(2026, 10, 1), date(2026, 12, 31))
    affairs = [i for i in view.items if i.type_code == "village_affairs"]
    assert len(affairs) == 9 and {i.due_date for i in affairs} == {date(2026, 12, 31)}
    assert {i.village: i.status for i in affairs}["青石村"] == "done"
    assert next(i for i in affairs if i.village == "青石村").notice_id == nid
    assert sum(i.status == "pending" for i in affairs) == 8
    # three months of finances in the quarter view, nine villages each
    assert len([i for i in view.items if i.type_code == "village_finance"]) == 27
    # the November month view does not show the quarter's affairs (they fall due in December)
    assert not [i for i in DisclosureCalendar(demo_ctx).view(*NOVEMBER).items if i.type_code == "village_affairs"]


def test_a_county_may_make_finances_quarterly(demo_ctx):
    ReferenceService(demo_ctx).override_notice_type("village_finance", cadence="quarterly")
    view = DisclosureCalendar(demo_ctx).view(*NOVEMBER)
    assert not [i for i in view.items + view.backlog if i.type_code == "village_finance"]
    quarter = DisclosureCalendar(demo_ctx).view(date(2026, 12, 1), date(2026, 12, 31))
    assert len([i for i in quarter.items if i.type_code == "village_finance"]) == 9


def test_published_program_notices_are_due_to_be_ended_after_their_period(demo_ctx):
    view = DisclosureCalendar(demo_ctx).view(date(2026, 11, 1), date(2026, 12, 31))
    closes = {i.notice_title: i for i in view.items if i.action == "close"}
    qingshi = closes["关于青石村2026年耕地地力保护补贴发放情况的公示"]
    assert (qingshi.status, qingshi.period_end, qingshi.due_date) == ("pending", date(2026, 11, 30), date(2026, 12, 1))
    shimen = closes["关于石门村2026年耕地地力保护补贴发放情况的公示"]
    assert shimen.status == "done" and shimen.done_on == date(2026, 11, 25)
    # the superseded first edition is not listed: its correction carries the period
    assert "关于白沙村2026年耕地地力保护补贴发放情况的公示" not in closes
    assert "（更正）关于白沙村2026年耕地地力保护补贴发放情况的公示" in closes
    # two weeks later nobody has ended the posting: overdue
    later = replace(demo_ctx, clock=Clock.fixed(datetime(2026, 12, 9, 2, 0, tzinfo=UTC)))
    late_view = DisclosureCalendar(later).view(date(2026, 12, 1), date(2026, 12, 31))
    qingshi_later = next(i for i in late_view.items if i.notice_id == qingshi.notice_id)
    assert qingshi_later.status == "overdue" and qingshi_later.days_left == -8


def test_open_work_without_a_date_includes_villages_still_owed_a_subsidy_notice(demo_ctx):
    undated = DisclosureCalendar(demo_ctx).view(*NOVEMBER).undated
    by_village = {(i.what, i.village): i for i in undated}
    gaoping = by_village[("2026年耕地地力保护补贴", "高坪村")]
    assert gaoping.action == "republish" and gaoping.notice_status == "withdrawn"
    longtan = by_village[("2026年耕地地力保护补贴", "龙潭村")]
    assert (longtan.action, longtan.notice_status) == ("publish", "draft")
    assert ("2026年耕地地力保护补贴", "青石村") not in by_village  # published there
    assert {i.status for i in undated} == {"pending"} and all(i.due_date is None for i in undated)


def test_village_filter(demo_ctx):
    village = _village(demo_ctx, "高坪村")
    view = DisclosureCalendar(demo_ctx).view(*NOVEMBER, village_id=village.id)
    assert {i.village for i in view.items + view.backlog + view.undated} == {"高坪村"}
    assert len(view.items) == 1 and len(view.backlog) == 1


def test_the_view_rejects_a_reversed_range(demo_ctx):
    with pytest.raises(ValueError):
        DisclosureCalendar(demo_ctx).view(date(2026, 11, 30), date(2026, 11, 1))
