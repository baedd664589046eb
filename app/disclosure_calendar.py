"""The disclosure calendar (公开日历): what must be published when, and whether it was.

Rules (DOMAIN.md §2 and §4):

- **Regular village disclosures.** 《村民委员会组织法》第三十条: "一般事项每季度至少公布一次；集体财务往来
  较多的，应当每月公布一次财务收支情况". Every notice type with a ``cadence`` (shipped: 村级财务收支公开
  monthly, 村务公开 quarterly; a county may override the cadence) is due once per calendar month or
  quarter — for each village when the type is published at village level (村), otherwise once for
  the township. The due date is the last day of the period. A period is satisfied by a notice of
  that type for that village that was published (posted, ended, or replaced by a correction): the
  period it discloses is read from its title as the catalogue template writes it ("2026年10月",
  "2026年第4季度"), otherwise it is the period in which its posting started. A disclosure posted
  after the due date still counts, marked late.
- **Programs and other event-driven notices** (补贴、衔接资金、征地 …). The catalogue gives them no
  calendar date (Program carries only a year; NoticeType.time_limit is free text such as
  "信息形成或者变更之日起20个工作日内"), so their dates are the posting periods: a published notice is
  due to be ended (结束公示, which releases the money) from the day after its period; a notice on its
  way (draft → approved) is open work without a date. A subsidy program of the current year is paid in
  every village (村镇县三级公示), so a village with no live notice of it — none yet, or only a withdrawn
  one — is open work too.
- **Tracking starts** with the month of the earliest posting recorded on this workstation: the
  calendar cannot know about disclosures made on paper before the program was used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from peewee import JOIN

from app.context import CHINA, Context
from app.periods import days_left
from app.settings import local_township_id
from db.models import Notice, NoticeType, Program, Region

CADENCES = ("monthly", "quarterly")
#: a notice in one of these states has been disclosed
DISCLOSED = ("published", "closed", "superseded")
#: a notice in one of these states is on its way to the board
IN_PROGRESS = ("draft", "in_review", "approved")
#: how far back overdue items of earlier periods are listed
BACKLOG_DAYS = 366

STATUSES = ("overdue", "pending", "done")
STATUS_LABELS = {"overdue": "已逾期", "pending": "待办", "done": "已完成"}
ACTION_LABELS = {"publish": "公开", "correct": "发布更正公示", "republish": "重新公示", "close": "结束公示"}

_MONTH_IN_TITLE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月")
_QUARTER_IN_TITLE = re.compile(r"(\d{4})\s*年\s*第\s*([1-4一二三四])\s*季度")
_QUARTER_DIGITS = {"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4}


@dataclass(frozen=True)
class DueItem:
    """One thing that must be (or was) disclosed, with its due date and state."""

    key: str
    kind: str  # periodic | program
    action: str  # publish | correct | republish | close (see ACTION_LABELS)
    what: str  # the notice type's catalogue name, or the program's name
    type_code: str
    program_id: str | None
    village_id: str | None  # None: the township
    village: str
    cadence: str  # monthly | quarterly | '' (event-driven)
    period_start: date | None  # the month/quarter disclosed, or the posting period
    period_end: date | None
    due_date: date | None  # None: open work without a fixed date
    status: str  # overdue | pending | done
    days_left: int | None
    notice_id: str | None  # the notice that satisfied it, or the one on its way
    notice_title: str
    notice_status: str
    done_on: date | None
    late: bool  # done after the due date
    rule: str  # the catalogue's time limit (公开时限), e.g. "每月公布"
    basis: str  # the legal basis (公开依据)


@dataclass(frozen=True)
class CalendarView:
    """What is due from ``first`` to ``last`` (inclusive), with earlier overdue items and open
    work that has no date."""

    first: date
    last: date
    since: date
    items: tuple[DueItem, ...]
    backlog: tuple[DueItem, ...]
    undated: tuple[DueItem, ...]

    def count(self, status: str) -> int:
        return sum(i.status == status for i in self.items)


def month_bounds(d: date) -> tuple[date, date]:
    first = d.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def quarter_bounds(d: date) -> tuple[date, date]:
    first = date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    _start, last = month_bounds(date(first.year, first.month + 2, 1))
    return first, last


def period_bounds(cadence: str, d: date) -> tuple[date, date]:
    """The calendar month or quarter (``cadence``) that contains ``d``."""
    if cadence == "monthly":
        return month_bounds(d)
    if cadence == "quarterly":
        return quarter_bounds(d)
    raise ValueError(f"unknown cadence {cadence!r}")


def disclosed_period(cadence: str, title: str, posting_start: date) -> tuple[date, date]:
    """The month or quarter a regular disclosure covers: as its title names it (the catalogue
    templates write "2026年10月" / "2026年第4季度"), unless that period had not begun when it was
    posted; otherwise the period its posting started in."""
    parsed: date | None = None
    if cadence == "monthly" and (m := _MONTH_IN_TITLE.search(title)) and 1 <= int(m.group(2)) <= 12:
        parsed = date(int(m.group(1)), int(m.group(2)), 1)
    elif cadence == "quarterly" and (m := _QUARTER_IN_TITLE.search(title)):
        parsed = date(int(m.group(1)), 3 * _QUARTER_DIGITS[m.group(2)] - 2, 1)
    if parsed is not None and parsed <= posting_start:
        return period_bounds(cadence, parsed)
    return period_bounds(cadence, posting_start)


def _china_day(stamp: str | None) -> date | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(CHINA).date()


class DisclosureCalendar:
    """Computes the disclosure calendar from the notices on this workstation. Read-only; safe to
    call from any thread."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def tracking_start(self) -> date:
        """The first day of the month of the earliest posting recorded here (or of this month)."""
        earliest = (Notice.select(Notice.posting_start)
                    .where((~Notice.deleted) & Notice.posting_start.is_null(False))
                    .order_by(Notice.posting_start).first())
        day = earliest.posting_start if earliest else self._ctx.clock.today()
        return day.replace(day=1)

    def view(self, first: date, last: date, village_id: str | None = None) -> CalendarView:
        """Everything due from ``first`` to ``last``; with ``village_id``, only that village's."""
        if last < first:
            raise ValueError("last must not be before first")
        today = self._ctx.clock.today()
        since = self.tracking_start()
        lower = max(since, first - timedelta(days=BACKLOG_DAYS))
        items = self._periodic(lower, last, today) + self._programs(today)
        if village_id is not None:
            items = [i for i in items if i.village_id == village_id]
        order = {s: n for n, s in enumerate(STATUSES)}
        villages = self._village_order()

        def key(i: DueItem):
            return (i.due_date or date.max, order[i.status], i.kind, i.type_code, i.what,
                    villages.get(i.village_id, -1), i.key)

        items.sort(key=key)
        return CalendarView(
            first, last, since,
            items=tuple(i for i in items if i.due_date is not None and first <= i.due_date <= last),
            backlog=tuple(i for i in items if i.due_date is not None and lower <= i.due_date < first
                          and i.status == "overdue"),
            undated=tuple(i for i in items if i.due_date is None),
        )

    # ------------------------------------------------------------------------ helpers
    def _villages(self) -> list[Region]:
        township_id = local_township_id()
        q = Region.select().where((Region.level == "village") & (~Region.deleted))
        if township_id:
            q = q.where(Region.parent == township_id)
        return list(q.order_by(Region.code, Region.sort_key, Region.name))

    def _village_order(self) -> dict[str | None, int]:
        return {v.id: n for n, v in enumerate(self._villages())}

    def _periodic(self, lower: date, last: date, today: date) -> list[DueItem]:
        out: list[DueItem] = []
        villages = self._villages()
        types = NoticeType.select().where(NoticeType.cadence.in_(CADENCES) & (~NoticeType.deleted))
        for t in types.order_by(NoticeType.code):
            units: list[tuple[str | None, str]] = (
                [(v.id, v.name) for v in villages] if t.level == "村" else [(None, "")])
            covering: dict[tuple[str | None, date], list[Notice]] = {}
            disclosed = Notice.select().where(
                (Notice.notice_type == t.id) & (~Notice.deleted) & Notice.status.in_(DISCLOSED)
                & Notice.posting_start.is_null(False))
            for n in disclosed:
                start, _end = disclosed_period(t.cadence, n.title, n.posting_start)
                unit = n.village_id if t.level == "村" else None
                covering.setdefault((unit, start), []).append(n)
            start, end = period_bounds(t.cadence, lower)
            while end <= last:
                if end >= lower:
                    for village_id, village in units:
                        out.append(self._periodic_item(t, village_id, village, start, end,
                                                       covering.get((village_id, start), []), today))
                start, end = period_bounds(t.cadence, end + timedelta(days=1))
        return out

    @staticmethod
    def _periodic_item(t: NoticeType, village_id: str | None, village: str, start: date, end: date,
                       notices: list[Notice], today: date) -> DueItem:
        notice = None
        done_on = None
        if notices:
            # the current edition names the disclosure; the first posting says when it was made
            notice = max(notices, key=lambda n: (n.status != "superseded", n.edition, n.posting_start))
            done_on = min(n.posting_start for n in notices)
        status = "done" if notice else ("overdue" if today > end else "pending")
        return DueItem(
            key=f"{t.code}:{village_id or '-'}:{start.isoformat()}", kind="periodic", action="publish",
            what=t.name, type_code=t.code, program_id=None, village_id=village_id, village=village,
            cadence=t.cadence, period_start=start, period_end=end, due_date=end, status=status,
            days_left=days_left(end, today), notice_id=notice.id if notice else None,
            notice_title=notice.title if notice else "", notice_status=notice.status if notice else "",
            done_on=done_on, late=done_on is not None and done_on > end, rule=t.time_limit,
            basis=t.legal_basis)

    def _programs(self, today: date) -> list[DueItem]:
        out: list[DueItem] = []
        Village = Region.alias()
        q = (Notice.select(Notice, NoticeType, Program, Village)
             .join(NoticeType).switch(Notice)
             .join(Program, join_type=JOIN.LEFT_OUTER).switch(Notice)
             .join(Village, join_type=JOIN.LEFT_OUTER, on=(Notice.village == Village.id))
             .where((~Notice.deleted) & (NoticeType.cadence.not_in(CADENCES))))
        live: set[tuple[str, str | None]] = set()
        withdrawn: dict[tuple[str, str | None], Notice] = {}
        for n in q:
            t = n.notice_type
            program = n.program if n.program_id else None
            village = n.village.name if n.village_id else ""
            if n.program_id:
                if n.status == "withdrawn":
                    withdrawn.setdefault((n.program_id, n.village_id), n)
                else:
                    live.add((n.program_id, n.village_id))
            common = dict(
                kind="program", what=program.name if program else t.name, type_code=t.code,
                program_id=n.program_id, village_id=n.village_id, village=village, cadence="",
                notice_id=n.id, notice_title=n.title, notice_status=n.status, rule=t.time_limit,
                basis=t.legal_basis)
            if n.status in ("published", "closed") and n.posting_end is not None:
                due = n.posting_end + timedelta(days=1)
                done_on = _china_day(n.closed_at) if n.status == "closed" else None
                if n.status == "closed":
                    status = "done"
                else:
                    status = "overdue" if today > due else "pending"
                out.append(DueItem(
                    key=f"close:{n.id}", action="close", period_start=n.posting_start,
                    period_end=n.posting_end, due_date=due, status=status, days_left=days_left(due, today),
                    done_on=done_on, late=done_on is not None and done_on > due, **common))
            elif n.status in IN_PROGRESS:
                out.append(DueItem(
                    key=f"publish:{n.id}", action="correct" if n.supersedes_id else "publish",
                    period_start=None, period_end=None, due_date=None, status="pending", days_left=None,
                    done_on=None, late=False, **common))
        out.extend(self._subsidy_coverage(today, live, withdrawn))
        return out

    def _subsidy_coverage(self, today: date, live: set[tuple[str, str | None]],
                          withdrawn: dict[tuple[str, str | None], Notice]) -> list[DueItem]:
        out: list[DueItem] = []
        villages = self._villages()
        programs = (Program.select(Program, NoticeType).join(NoticeType)
                    .where((~Program.deleted) & (Program.category == "subsidy") & (Program.year == today.year)
                           & (NoticeType.level == "村") & (NoticeType.cadence.not_in(CADENCES))))
        for p in programs:
            t = p.notice_type
            for v in villages:
                if (p.id, v.id) in live:
                    continue
                gone = withdrawn.get((p.id, v.id))
                out.append(DueItem(
                    key=f"cover:{p.id}:{v.id}", kind="program", action="republish" if gone else "publish",
                    what=p.name, type_code=t.code, program_id=p.id, village_id=v.id, village=v.name,
                    cadence="", period_start=None, period_end=None, due_date=None, status="pending",
                    days_left=None, notice_id=gone.id if gone else None, notice_title=gone.title if gone else "",
                    notice_status=gone.status if gone else "", done_on=None, late=False, rule=t.time_limit,
                    basis=t.legal_basis))
        return out
