"""Posting periods (公示期) counted in natural days (自然日) or working days (工作日).

Counting follows the Civil Code (《民法典》): the day of posting is not counted, counting begins the
next day (Art. 201); a period whose last day is a statutory rest day ends on the first working day
after it (Art. 203). Working days come from the county's holiday arrangement (节假日安排) where
supplied, otherwise from the ``chinese_calendar`` package. Nothing here guesses a holiday: a year
neither source covers raises :class:`CalendarError` for working-day arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from types import MappingProxyType

import chinese_calendar

from app.errors import CalendarError
from app.i18n import _

NATURAL = "natural"
WORKING = "working"
UNITS = (NATURAL, WORKING)

WEEKEND_NAME = "周末"
MAKEUP_NAME = "调休上班"
_HOLIDAY_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "New Year's Day": "元旦",
        "Spring Festival": "春节",
        "Tomb-sweeping Day": "清明节",
        "Labour Day": "劳动节",
        "Dragon Boat Festival": "端午节",
        "National Day": "国庆节",
        "Mid-autumn Festival": "中秋节",
        "Anti-Fascist 70th Day": "抗战胜利纪念日",
    }
)
_WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
_ONE_DAY = timedelta(days=1)


@cache
def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


class HolidayCalendar:
    """Answers which days are working days, from county overrides and ``chinese_calendar``.

    County overrides win over everything. A year counts as covered when the package knows it or the
    county declared it complete; in a county-complete year the package does not know, every day
    without an override is an ordinary weekday or weekend. Immutable after construction, so one
    instance may be shared between threads.
    """

    def __init__(
        self,
        overrides: Mapping[date, tuple[bool, str]] | None = None,
        complete_years: Iterable[int] = (),
    ) -> None:
        self._overrides: Mapping[date, tuple[bool, str]] = MappingProxyType(dict(overrides or {}))
        self._complete_years = frozenset(complete_years)

    @classmethod
    def from_county(
        cls, entries: Iterable[tuple[date, bool, str]], complete_years: Iterable[int] = ()
    ) -> HolidayCalendar:
        """Build from the county's list of ``(date, is_workday, name)``; later entries win."""
        return cls({day: (workday, name) for day, workday, name in entries}, complete_years)

    def covers(self, year: int) -> bool:
        """True when every day of ``year`` can be classified without guessing."""
        return year in self._complete_years or _package_knows(year)

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day; make-up working days (调休上班) are.

        Raises :class:`CalendarError` for a day in a year that is not covered and not overridden.
        """
        if d in self._overrides:
            return self._overrides[d][0]
        self._require(d.year)
        if _package_knows(d.year):
            return bool(chinese_calendar.is_workday(d))
        return d.weekday() < 5

    def day_name(self, d: date) -> str | None:
        """Chinese name of a special day: a holiday, '调休上班', '周末', or None for a plain weekday.

        Raises :class:`CalendarError` like :meth:`is_workday`.
        """
        if d in self._overrides:
            return self._overrides[d][1]
        self._require(d.year)
        if _package_knows(d.year):
            on_holiday, name = chinese_calendar.get_holiday_detail(d)
            if name is not None:
                return _HOLIDAY_NAMES.get(name, name) if on_holiday else MAKEUP_NAME
            return WEEKEND_NAME if on_holiday else None
        return WEEKEND_NAME if d.weekday() >= 5 else None

    def _require(self, year: int) -> None:
        if not self.covers(year):
            raise CalendarError(
                _("系统尚无{year}年的节假日安排，无法按工作日计算日期。请县里下发{year}年的节假日安排后再试。")
                .format(year=year),
                details=f"Holiday calendar does not cover year {year}: chinese_calendar has no data "
                "and the county has not declared the year complete.",
            )


@dataclass(frozen=True)
class PostingPeriod:
    """A computed posting period; ``end`` is the last day of posting, inclusive."""

    start: date
    end: date
    days: int
    unit: str
    explanation: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def format_date(d: date, *, with_year: bool = True, weekday: bool = False) -> str:
    """'2026年10月15日', optionally without the year and/or with '（星期四）'."""
    text = (
        f"{d.year}年{d.month}月{d.day}日"
        if with_year
        else f"{d.month}月{d.day}日"
    )
    return text + f"（{_WEEKDAYS[d.weekday()]}）" if weekday else text


def compute_period(start: date, days: int, unit: str, calendar: HolidayCalendar) -> PostingPeriod:
    """Compute the last day of a posting period that begins on ``start`` (the day posted).

    Guarantees: ``end > start``; for working days, exactly ``days`` working days lie in
    ``(start, end]`` and ``end`` is one of them; for natural days, ``end`` is ``start + days``
    or, if that is a rest day, the first working day after it. Working days raise
    :class:`CalendarError` for a year the calendar does not cover; natural days instead fall back
    to the weekend rule for the final day(s) and add a warning. Raises ValueError for ``days < 1``
    or an unknown unit.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be an integer >= 1, got {days!r}")
    lines = [
        f"公示开始：{format_date(start)}（当日不计入，依《民法典》第二百零一条自次日起算）"
    ]
    if unit == WORKING:
        lines.append(f"期限：{days}个工作日")
        end, more = _count_working_days(start, days, calendar)
        warnings: list[str] = []
    else:
        lines.append(f"期限：{days}个自然日")
        end, more, warnings = _natural_end(start + timedelta(days=days), calendar)
    lines.extend(more)
    lines.append(f"公示截止：{format_date(end, weekday=True)}")
    return PostingPeriod(start, end, days, unit, tuple(lines), tuple(warnings))


def _count_working_days(
    start: date, days: int, calendar: HolidayCalendar
) -> tuple[date, list[str]]:
    skipped: list[tuple[date, date, str]] = []  # consecutive named rest days, as ranges
    weekend_days = 0
    makeup: list[date] = []
    d, counted = start, 0
    while counted < days:
        d += _ONE_DAY
        if calendar.is_workday(d):
            counted += 1
            if d.weekday() >= 5:
                makeup.append(d)
            continue
        name = calendar.day_name(d) or WEEKEND_NAME
        if name == WEEKEND_NAME:
            weekend_days += 1
        elif skipped and skipped[-1][2] == name and skipped[-1][1] + _ONE_DAY == d:
            skipped[-1] = (skipped[-1][0], d, name)
        else:
            skipped.append((d, d, name))
    lines = [f"跳过：{_range(a, b)} {n}" for a, b, n in skipped]
    if weekend_days:
        lines.append(f"跳过周末 {weekend_days} 天")
    if makeup:
        lines.append(
            "计入调休上班日：{dates}".format(
                dates="、".join(format_date(m, weekday=True) for m in makeup)
            )
        )
    return d, lines


def _natural_end(nominal: date, calendar: HolidayCalendar) -> tuple[date, list[str], list[str]]:
    lines = [f"按自然日计算，期满日为{format_date(nominal, weekday=True)}"]
    warnings: list[str] = []
    end = nominal
    while True:
        try:
            rest, name = not calendar.is_workday(end), calendar.day_name(end)
        except CalendarError:
            # Only the final day needs the calendar; guess nothing but the weekend, and say so.
            rest, name = end.weekday() >= 5, WEEKEND_NAME
            warning = (f"尚无{end.year}年的节假日安排，截止日期仅按周末顺延；"
                       f"县里下发{end.year}年的节假日安排后，须重新核对截止日期。")
            if warning not in warnings:
                warnings.append(warning)
        if not rest:
            break
        if end == nominal:
            lines.append(f"{format_date(end, weekday=True)}为法定休息日（{name or WEEKEND_NAME}），"
                         "依《民法典》第二百零三条顺延至其后第一个工作日")
        end += _ONE_DAY
    if end != nominal:
        lines.append(f"顺延后期满日为{format_date(end, weekday=True)}")
    return end, lines, warnings


def _range(first: date, last: date) -> str:
    if first == last:
        return format_date(first)
    return f"{format_date(first)}至{format_date(last, with_year=last.year != first.year)}"


def days_left(period_end: date, today: date) -> int:
    """Days remaining until ``period_end``: 0 on the last day, negative once it has passed."""
    return (period_end - today).days


def is_running(start: date, end: date, today: date) -> bool:
    """True from the day of posting through the last day of the period, both inclusive."""
    return start <= today <= end
