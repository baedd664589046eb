"""The time a workstation may put on a posting period: its own clock, checked against the county's.

A posting period starts and a posting ends on a legal day, and residents hold the township to it.
A workstation's clock can be months off (a flat BIOS battery, a hand-set date); what it prints
then is wrong, and an offline township finds out only later. So an enrolled workstation keeps
what it learned at each contact with the county — the county's time and its own at that moment —
and publishes or closes only when that tells a consistent story:

* never in contact with the county since enrolment: the clock is unknown, nothing is published;
* its clock now reads earlier than at the last contact: the clock went back, refused;
* its clock was more than a day off the county's at the last contact: refused until it is set
  right and the county is reached once more (by network, or by importing a USB reply).

A workstation that is not enrolled (the demo, a township not yet connected) has only its own
clock. The county checks every publish and close it receives again (server.sync_service), so a
clock that went wrong after the last contact is caught there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.context import CHINA, Context
from app.errors import ValidationError
from app.i18n import _

COUNTY_CLOCK_KEY = "county_clock"  # local setting: what the last contact with the county taught
TOLERANCE = timedelta(days=1)
#: a clock read this much before the last contact is taken as having gone back
BACKWARDS_SLACK = timedelta(minutes=10)


class ClockDoubtful(ValidationError):
    """The workstation's clock cannot be trusted for a legal date now."""


def learn(county_now: datetime, local_now: datetime, source: str) -> dict:
    """What a contact with the county teaches, to store under :data:`COUNTY_CLOCK_KEY`.
    ``source``: 'sync' (the county's time as it answered) or 'usb' (the time a reply was made:
    the county's time was at least that when the stick is read, so only a clock behind it is
    corrected)."""
    offset = county_now - local_now
    if source == "usb" and offset < timedelta(0):
        offset = timedelta(0)  # the stick travelled; a clock ahead of the reply is not wrong for that
    return {"county_at": county_now.astimezone(UTC).isoformat(), "local_at": local_now.astimezone(UTC).isoformat(),
            "offset_ms": int(offset / timedelta(milliseconds=1)), "source": source}


def legal_now(ctx: Context) -> datetime:
    """The time to stamp a publish or a close with (the workstation's clock, corrected by what the
    last contact with the county taught), or :class:`ClockDoubtful` saying why not and what to do."""
    from app.settings import get_local
    from db.models import SyncState

    state = SyncState.get_or_none(SyncState.id == 1)
    return checked_time(ctx.clock.now(), bool(state and state.token), get_local(COUNTY_CLOCK_KEY))


def checked_time(now: datetime, enrolled: bool, learned: dict | None) -> datetime:
    """:func:`legal_now` for a clock reading ``now``; ``learned``: the stored record of the last
    contact (see :func:`learn`)."""
    if not enrolled:
        return now
    if not learned:
        raise ClockDoubtful(_("本机还没有从县里取得过标准时间，无法确认电脑日期是否准确，暂不能审批、发布或结束公示。"
                              "请先同步一次（联网同步，或导入县里的U盘回复文件）。"))
    offset = timedelta(milliseconds=int(learned["offset_ms"]))
    local_at = datetime.fromisoformat(learned["local_at"])
    if abs(offset) > TOLERANCE:
        raise ClockDoubtful(_("上次同步时，本机时钟与县里相差约 {days} 天，公示日期会出错，暂不能审批、发布或结束公示。"
                              "请先把电脑的日期和时间改正确，再同步一次（联网同步，或导入县里的U盘回复文件）。").format(
            days=max(1, round(abs(offset) / timedelta(days=1)))))
    if now < local_at - BACKWARDS_SLACK:
        raise ClockDoubtful(_("本机时钟显示的时间（{now}）早于上次与县里同步的时间（{then}），电脑日期可能被改动过，"
                              "暂不能审批、发布或结束公示。请把电脑的日期和时间改正确，再同步一次。").format(
            now=_china(now), then=_china(local_at)))
    return now + offset


def aware_moment(text) -> datetime | None:
    """An ISO 8601 time with its offset ('Z' too), as the county and workstations write them; None
    for anything else (no offset, not a time)."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _china(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
