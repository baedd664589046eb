"""Posting periods against real 2026 dates (checked against chinese_calendar 1.11)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import CalendarError
from app.periods import (
    HolidayCalendar,
    PostingPeriod,
    compute_period,
    days_left,
    format_date,
    is_running,
)

CAL = HolidayCalendar()

# "A year the calendar does not know" is one no release of chinese_calendar will know: 2083. The
# county declares 2082 complete (no holidays in December, so it counts like a plain December); 2082
# and 2083 fall on the same weekdays as 2026 and 2027.
COUNTY_2082 = HolidayCalendar.from_county([], complete_years=[2082])


def county_2083(*extra: tuple[date, bool, str]) -> HolidayCalendar:
    return HolidayCalendar.from_county(
        [(date(2083, 1, 1), False, "元旦"), *extra], complete_years=[2082, 2083]
    )


def test_calendar_knows_2026_national_day_and_makeup_days() -> None:
    assert not CAL.is_workday(date(2026, 10, 1))
    assert CAL.day_name(date(2026, 10, 4)) == "国庆节"
    assert CAL.is_workday(date(2026, 9, 20))  # Sunday, 调休上班
    assert CAL.day_name(date(2026, 9, 20)) == "调休上班"
    assert CAL.is_workday(date(2026, 10, 10))  # Saturday, 调休上班
    assert CAL.day_name(date(2026, 9, 25)) == "中秋节"
    assert CAL.day_name(date(2026, 10, 11)) == "周末"
    assert CAL.day_name(date(2026, 10, 12)) is None
    assert CAL.covers(2004) and CAL.covers(2026)
    assert not CAL.covers(2083) and not CAL.covers(2003)


def test_uncovered_year_raises_with_chinese_message() -> None:
    with pytest.raises(CalendarError) as info:
        CAL.is_workday(date(2083, 3, 3))
    assert "2083年" in str(info.value) and "节假日安排" in str(info.value)
    assert "2083" in info.value.details and "county" in info.value.details


def test_ten_working_days_across_national_day() -> None:
    period = compute_period(date(2026, 9, 28), 10, "working", CAL)
    # Sep 29, 30, Oct 8, 9, 10 (Sat, make-up), 12, 13, 14, 15, 16.
    assert period.end == date(2026, 10, 16)
    assert period.explanation == (
        "公示开始：2026年9月28日（当日不计入，依《民法典》第二百零一条自次日起算）",
        "期限：10个工作日",
        "跳过：2026年10月1日至10月7日 国庆节",
        "跳过周末 1 天",
        "计入调休上班日：2026年10月10日（星期六）",
        "公示截止：2026年10月16日（星期五）",
    )
    assert period.warnings == ()


def test_ten_working_days_across_mid_autumn_and_national_day() -> None:
    period = compute_period(date(2026, 9, 18), 10, "working", CAL)
    # Sep 20 (Sun, make-up), 21-24, 28-30, Oct 8, 9.
    assert period.end == date(2026, 10, 9)
    assert "计入调休上班日：2026年9月20日（星期日）" in period.explanation
    assert "跳过：2026年9月25日至9月27日 中秋节" in period.explanation
    assert "跳过：2026年10月1日至10月7日 国庆节" in period.explanation
    assert "跳过周末 1 天" in period.explanation  # Sat Sep 19


def test_seven_natural_days_ending_in_national_day_extend_to_first_working_day() -> None:
    period = compute_period(date(2026, 9, 26), 7, "natural", CAL)
    assert period.end == date(2026, 10, 8)  # nominal Sat Oct 3, inside the holiday
    text = "\n".join(period.explanation)
    assert "2026年10月3日（星期六）为法定休息日（国庆节）" in text
    assert "第二百零三条" in text
    assert period.explanation[-1] == "公示截止：2026年10月8日（星期四）"


def test_natural_days_ending_on_ordinary_weekend_move_to_monday() -> None:
    period = compute_period(date(2026, 3, 21), 7, "natural", CAL)
    assert period.end == date(2026, 3, 30)  # nominal Sat Mar 28


def test_natural_days_ending_on_makeup_workday_do_not_move() -> None:
    assert compute_period(date(2026, 10, 3), 7, "natural", CAL).end == date(2026, 10, 10)


def test_thirty_natural_days() -> None:
    plain = compute_period(date(2026, 3, 2), 30, "natural", CAL)
    assert plain.end == date(2026, 4, 1)
    assert "顺延" not in "".join(plain.explanation)
    qingming = compute_period(date(2026, 3, 5), 30, "natural", CAL)
    assert qingming.end == date(2026, 4, 7)  # nominal Sat Apr 4, 清明节 Apr 4-6
    assert any("清明节" in line for line in qingming.explanation)


def test_natural_days_into_an_unknown_year_warn_instead_of_failing() -> None:
    weekday = compute_period(date(2082, 12, 20), 30, "natural", COUNTY_2082)
    assert weekday.end == date(2083, 1, 19)
    assert len(weekday.warnings) == 1 and "2083年" in weekday.warnings[0]
    weekend = compute_period(date(2082, 12, 3), 30, "natural", COUNTY_2082)
    assert weekend.end == date(2083, 1, 4)  # nominal Sat Jan 2, weekend rule only
    assert "重新核对" in weekend.warnings[0]
    inside = compute_period(date(2082, 11, 1), 30, "natural", COUNTY_2082)
    assert inside.warnings == ()


def test_working_days_into_an_unknown_year_raise() -> None:
    with pytest.raises(CalendarError):
        compute_period(date(2082, 12, 28), 10, "working", COUNTY_2082)
    overrides_only = HolidayCalendar.from_county([(date(2083, 1, 1), False, "元旦")], complete_years=[2082])
    with pytest.raises(CalendarError):
        compute_period(date(2082, 12, 28), 10, "working", overrides_only)


def test_county_holiday_in_a_year_the_package_does_not_know() -> None:
    # Dec 29-31, then Jan 1 is the county's 元旦, Jan 2-3 weekend, Jan 4-8, 11, 12.
    period = compute_period(date(2082, 12, 28), 10, "working", county_2083())
    assert period.end == date(2083, 1, 12)
    assert "跳过：2083年1月1日 元旦" in period.explanation
    assert "跳过周末 4 天" in period.explanation


def test_county_makeup_weekend_in_a_year_the_package_does_not_know_counts() -> None:
    cal = county_2083((date(2083, 1, 9), True, "调休上班"))
    period = compute_period(date(2082, 12, 28), 10, "working", cal)
    assert period.end == date(2083, 1, 11)
    assert "计入调休上班日：2083年1月9日（星期六）" in period.explanation


def test_county_override_wins_over_package() -> None:
    cal = HolidayCalendar.from_county([(date(2026, 9, 29), False, "县庆")])
    period = compute_period(date(2026, 9, 28), 10, "working", cal)
    assert period.end == date(2026, 10, 19)
    assert "跳过：2026年9月29日 县庆" in period.explanation


@pytest.mark.parametrize(("days", "unit"), [(0, "working"), (-3, "natural"), (5, "calendar")])
def test_rejects_bad_arguments(days: int, unit: str) -> None:
    with pytest.raises(ValueError):
        compute_period(date(2026, 5, 1), days, unit, CAL)


def test_days_left_and_running() -> None:
    end = date(2026, 10, 16)
    assert days_left(end, date(2026, 10, 14)) == 2
    assert days_left(end, end) == 0
    assert days_left(end, date(2026, 10, 17)) == -1
    assert is_running(date(2026, 9, 28), end, date(2026, 9, 28))
    assert is_running(date(2026, 9, 28), end, end)
    assert not is_running(date(2026, 9, 28), end, date(2026, 10, 17))


def test_format_date() -> None:
    assert format_date(date(2026, 10, 15), weekday=True) == "2026年10月15日（星期四）"


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
    days=st.integers(min_value=1, max_value=40),
)
def test_working_day_count_matches_package(start: date, days: int) -> None:
    try:
        period: PostingPeriod = compute_period(start, days, "working", CAL)
    except CalendarError:
        remaining = (date(2026, 12, 31) - start).days
        later = [start + timedelta(i) for i in range(1, remaining + 1)]
        assert sum(chinese_calendar.is_workday(d) for d in later) < days
        return
    between = [start + timedelta(i) for i in range(1, (period.end - start).days + 1)]
    assert sum(chinese_calendar.is_workday(d) for d in between) == days
    assert chinese_calendar.is_workday(period.end)
