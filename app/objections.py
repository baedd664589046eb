"""Objections (异议) during the posting period: recorded, investigated, answered.

Answers are appended, never edited in place. A notice cannot close while any objection on it is
unanswered. Contacts are minimised: a phone number is stored masked, never in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.audit import record
from app.context import Context
from app.errors import NotFound, TransitionError, ValidationError
from app.i18n import _
from app.masking import MaskPolicy, mask_free_text
from app.settings import CountySettings
from app.users import UserService
from db.changes import new_id, save_change
from db.models import Notice, Objection, ObjectionAnswer, RosterRow

CHANNELS = ("portal", "phone", "visit", "letter")
CHANNEL_LABELS = {"portal": "扫码反映", "phone": "来电", "visit": "来访", "letter": "书面"}
STATUS_LABELS = {"open": "待处理", "investigating": "核查中", "answered": "已答复"}
#: notices an objection can be recorded against: posted, or ended / replaced but still answerable
RECORDABLE_STATUSES = ("published", "closed", "superseded")


@dataclass(frozen=True)
class ObjectionInfo:
    id: str
    notice_id: str
    notice_title: str
    roster_row_id: str | None
    number: str
    channel: str
    received_at: str
    contact: str
    content: str
    due_date: date
    status: str
    overdue: bool
    answers: tuple[str, ...]
    notice_status: str = ""
    #: an answer recorded that the objection led to a correction (更正公示)
    led_to_correction: bool = False


@dataclass(frozen=True)
class AnswerInfo:
    text: str
    answered_by: str
    answered_at: str
    led_to_correction: bool


class ObjectionService:
    """Record and answer objections. Safe to call from any thread."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._users = UserService(ctx)

    def record(self, notice_id: str, by: str, *, channel: str, content: str, contact: str = "",
               roster_row_id: str | None = None, received_on: date | None = None) -> str:
        """Record a phone, visit or letter objection; the answer is due after the county's days."""
        user = self._users.require(by, "preparer", "reviewer")
        if channel not in CHANNELS or channel == "portal":
            raise ValidationError(_("请选择反映方式：来电、来访或书面。"), details=channel)
        if not content.strip():
            raise ValidationError(_("请填写异议内容。"))
        if len(content) > 5000 or len(contact) > 200:
            raise ValidationError(_("内容过长。"))
        received = received_on or self._ctx.clock.today()
        county = CountySettings.load()
        policy = MaskPolicy.from_pattern(county.id_mask_pattern)
        with self._ctx.write():
            n = Notice.get_or_none((Notice.id == notice_id) & (~Notice.deleted))
            if n is None:
                raise NotFound(_("找不到该公示。"), details=notice_id)
            if n.status not in RECORDABLE_STATUSES:
                raise TransitionError(_("只能对已发布的公示登记异议。"))
            if roster_row_id and not RosterRow.select().where(
                    (RosterRow.id == roster_row_id) & (RosterRow.notice == n.id)).exists():
                raise NotFound(_("该明细行不属于此公示。"), details=roster_row_id)
            count = Objection.select().where(Objection.notice == n.id).count()
            o = Objection(
                id=new_id(), township_id=n.township_id, notice=n.id, roster_row=roster_row_id,
                number=f"YY-{received:%Y%m%d}-{count + 1:03d}", origin="township", channel=channel,
                received_at=received.isoformat(), contact=mask_free_text(contact.strip(), policy),
                content=content.strip(), due_date=received + timedelta(days=county.objection_answer_days),
                status="open", recorded_by=user.id,
            )
            save_change(o, created=True)
            record(self._ctx, user, "objection.record", "objection", o.id, {"notice": n.id, "channel": channel})
        return o.id

    def start_investigation(self, objection_id: str, by: str) -> None:
        user = self._users.require(by, "preparer", "reviewer")
        with self._ctx.write():
            o = self._get(objection_id)
            if o.status != "open":
                raise TransitionError(_("该异议已在核查或已答复。"))
            o.status = "investigating"
            save_change(o)
            record(self._ctx, user, "objection.investigate", "objection", o.id, {})

    def answer(self, objection_id: str, by: str, text: str, *, led_to_correction: bool = False) -> None:
        user = self._users.require(by, "preparer", "reviewer")
        if not text.strip():
            raise ValidationError(_("请填写答复内容。"))
        with self._ctx.write():
            o = self._get(objection_id)
            a = ObjectionAnswer(id=new_id(), township_id=o.township_id, objection=o.id, text=text.strip(),
                                answered_by=user.display_name, answered_at=self._ctx.clock.now().isoformat(),
                                led_to_correction=led_to_correction)
            save_change(a, created=True)
            o.status = "answered"
            save_change(o)
            record(self._ctx, user, "objection.answer", "objection", o.id, {"correction": led_to_correction})

    def inbox(self, include_answered: bool = False) -> list[ObjectionInfo]:
        """Objections sorted by due date, earliest first."""
        today = self._ctx.clock.today()
        q = (Objection.select(Objection, Notice.id, Notice.title, Notice.status).join(Notice)
             .where(~Objection.deleted).order_by(Objection.due_date, Objection.received_at))
        if not include_answered:
            q = q.where(Objection.status != "answered")
        out = []
        for o in q:
            answers = list(o.answers.where(~ObjectionAnswer.deleted).order_by(ObjectionAnswer.answered_at))
            out.append(ObjectionInfo(
                o.id, o.notice_id, o.notice.title, o.roster_row_id, o.number, o.channel, o.received_at,
                o.contact, o.content, o.due_date, o.status, o.status != "answered" and o.due_date < today,
                tuple(a.text for a in answers), o.notice.status, any(a.led_to_correction for a in answers)))
        return out

    def answers(self, objection_id: str) -> list[AnswerInfo]:
        """The answers to an objection, oldest first (answers are appended, never edited)."""
        o = self._get(objection_id)
        q = o.answers.where(~ObjectionAnswer.deleted).order_by(ObjectionAnswer.answered_at)
        return [AnswerInfo(a.text, a.answered_by, a.answered_at, a.led_to_correction) for a in q]

    def _get(self, objection_id: str) -> Objection:
        o = Objection.get_or_none((Objection.id == objection_id) & (~Objection.deleted))
        if o is None:
            raise NotFound(_("找不到该异议。"), details=objection_id)
        return o
