"""The demo township is written whole or not at all."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from app.context import CHINA, Clock, Context
from app.demo import create_demo
from app.errors import Cancelled
from app.settings import local_township_id
from db.models import ALL_MODELS, Notice, Outbox, Region


def _row_counts() -> dict[str, int]:
    return {m._meta.table_name: m.select().count() for m in ALL_MODELS}


def test_a_cancelled_demo_leaves_the_database_as_empty_as_it_was(ctx):
    before = _row_counts()
    cancel = threading.Event()
    seen = []

    def progress(done, total, message):
        seen.append(done)
        if done == 3:
            cancel.set()  # the clerk presses Cancel while the fourth village is being made

    with pytest.raises(Cancelled):
        create_demo(ctx, progress=progress, cancel=cancel)
    assert seen == [0, 1, 2, 3]
    assert _row_counts() == before
    assert local_township_id() is None and Outbox.select().count() == 0


def test_a_demo_that_fails_half_way_leaves_nothing_behind(ctx, monkeypatch):
    import app.demo

    def broken(*args, **kwargs):
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(app.demo.ObjectionService, "record", broken)  # late in the demo
    with pytest.raises(RuntimeError):
        create_demo(ctx)
    assert Region.select().count() == 0 and Notice.select().count() == 0


def test_the_whole_demo_is_there_after_it_finishes(ctx):
    summary = create_demo(ctx)
    assert Notice.select().count() == summary.notices and summary.villages >= 8
    assert local_township_id() == summary.township_id


# the last days of December, New Year's Eve late in the evening (China time), 1 January, mid-year,
# a year far past any the calendar package knows, and an ordinary day of a known year
DEMO_DAYS = [datetime(2026, 12, 24, 2, 0, tzinfo=UTC), datetime(2026, 12, 31, 15, 30, tzinfo=UTC),
             datetime(2027, 1, 1, 2, 0, tzinfo=UTC), datetime(2027, 7, 1, 2, 0, tzinfo=UTC),
             datetime(2030, 2, 15, 2, 0, tzinfo=UTC), datetime(2026, 6, 15, 2, 0, tzinfo=UTC)]


@pytest.mark.parametrize("moment", DEMO_DAYS, ids=lambda m: m.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"))
def test_the_demo_works_whatever_today_is(ctx, moment):
    """Every published demo notice is running on the day the demo is made, its period counted in
    the days the calendar gives; a year the calendar package does not know gets the demo's
    stand-in arrangement, and the summary says which years."""
    from app.notices import NoticeService, holiday_calendar
    from app.periods import HolidayCalendar, compute_period, is_running

    day = Context(db=ctx.db, data_dir=ctx.data_dir, clock=Clock.fixed(moment))
    today = day.clock.today()
    summary = create_demo(day)

    package_only = HolidayCalendar()
    assumed = [y for y in range(today.year - 1, today.year + 2) if not package_only.covers(y)
               and holiday_calendar().covers(y)]
    if assumed:
        [note] = summary.notes
        assert all(str(y) in note for y in assumed) and "不是正式安排" in note
    else:
        assert summary.notes == ()
    published = [s for s in NoticeService(day).summaries() if s.status == "published"]
    assert len(published) >= 5
    for s in published:
        assert is_running(s.posting_start, s.posting_end, today), (s.title, s.posting_start, s.posting_end)
        n = Notice.get_by_id(s.id)
        period = compute_period(s.posting_start, n.notice_type.min_days, n.notice_type.day_unit, holiday_calendar())
        assert period.end == s.posting_end and period.warnings == ()
    assert any(Notice.get_by_id(s.id).notice_type.day_unit == "working" for s in published)
