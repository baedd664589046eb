"""Notices (公示/公告) and their lifecycle.

draft → in_review → approved → published → closed, with return (to draft, with comments),
withdraw (reason required) and correct (a new edition that supersedes the published one).

Every action checks the acting user's role and the notice's state, and writes its change, an
audit event and the outbox entries in one transaction. Services return plain frozen dataclasses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from peewee import JOIN, Value, fn

from app.audit import record
from app.context import CHINA, Context
from app.errors import NotFound, PermissionDenied, TransitionError, ValidationError
from app.i18n import _
from app.legal_time import legal_now
from app.masking import county_policy
from app.money import compute_amount_fen, parse_money_fen, parse_quantity, to_decimal
from app.periods import HolidayCalendar, PostingPeriod, compute_period
from app.public_view import PublicNotice, build_public_view
from app.roster_index import ROSTER_INDEX
from app.rows import (
    DUPLICATE_CODE,
    VALUE_KEPT_CODES,
    RowChecker,
    RowColumns,
    RowInput,
    duplicate_issues,
    issue_dicts,
    normalize_row,
    validate_row,
)
from app.settings import CountySettings, local_township_id
from app.users import ROLE_LABELS, UserInfo, UserService
from app.validation import Issue
from db.changes import (
    insert_columns,
    insert_many,
    insert_values,
    json_values,
    new_id,
    new_ids,
    save_change,
    update_column,
)
from db.fields import dumps_json
from db.models import (
    HolidayOverride,
    Notice,
    NoticeType,
    Objection,
    Program,
    Region,
    RosterRow,
    SignOff,
    SyncState,
    Workstation,
)

#: how a stored issue list marks an error; JSONText writes compact, key-sorted JSON, so SQL can
#: count rows with errors without decoding every row
ERROR_MARK = '"severity":"error"'
#: a stored empty issue list, compared as stored (not passed through the JSON field's converter)
_NO_ISSUES = Value("[]", converter=False)

STATUSES = ("draft", "in_review", "approved", "published", "closed", "withdrawn", "superseded")
STATUS_LABELS = {
    "draft": "草稿", "in_review": "待审核", "approved": "已审批", "published": "公示中",
    "closed": "已结束", "withdrawn": "已撤回", "superseded": "已更正",
}
HEADER_FIELDS = (
    "title", "doc_number", "salutation", "body", "legal_basis", "issuer",
    "contact_person", "contact_phone", "supervision_phone",
)
MONEY_CATEGORIES = ("subsidy", "poverty_fund", "land")


@dataclass(frozen=True)
class NoticeSummary:
    id: str
    title: str
    type_code: str
    type_name: str
    status: str
    village_id: str | None
    village: str
    edition: int
    posting_start: date | None
    posting_end: date | None
    rows: int
    total_fen: int
    error_rows: int


@dataclass(frozen=True)
class RowView:
    id: str
    seq: int
    name: str
    id_number: str
    group_name: str
    quantity: Any
    rate: Any
    amount_fen: int | None
    bank_account: str
    phone: str
    remark: str
    extra: dict
    issues: tuple[dict, ...]


@dataclass(frozen=True)
class PreparedRows:
    """Checked rows as the roster stores them, with their new ids (NoticeService.prepare_rows)."""

    ids: list[str]
    #: roster_row column → one value per row, already converted for SQLite
    columns: dict[str, list]


def _row_view(r: RosterRow) -> RowView:
    return RowView(r.id, r.seq, r.name, r.id_number, r.group_name, r.quantity, r.rate, r.amount_fen,
                   r.bank_account, r.phone, r.remark, dict(r.extra), tuple(r.issues))


@dataclass(frozen=True)
class RosterTotals:
    """Running totals of a roster: live rows, their amount, rows with errors, rows with any issue."""

    rows: int
    total_fen: int
    error_rows: int
    issue_rows: int


@dataclass(frozen=True)
class SignOffView:
    kind: str  # village_review | township_approval
    body: str
    names: tuple[str, ...]
    signed_on: date


@dataclass(frozen=True)
class NoticeTypeInfo:
    id: str
    code: str
    name: str
    category: str
    level: str  # 县 | 乡 | 村
    min_days: int
    day_unit: str  # natural | working


def this_device() -> str | None:
    """This workstation's id at the county (None until it is enrolled): the owner it writes."""
    return SyncState.select(SyncState.device_id).where(SyncState.id == 1).scalar()


def workstation_name(device_id: str | None) -> str:
    """A workstation's name as the county lists it (its directory is pulled like any other row)."""
    if device_id is not None and device_id == this_device():
        return _("本机")
    name = Workstation.select(Workstation.name).where(Workstation.id == device_id).scalar() if device_id else None
    return name or _("另一台工作站")


def claim_unowned(device_id: str) -> int:
    """Make ``device_id`` the owner of every notice that names none (at a workstation's first
    enrolment, every notice it holds was made here). Call inside a write transaction."""
    claimed = 0
    for notice in Notice.select().where(Notice.owner_device.is_null()):
        notice.owner_device = device_id
        save_change(notice)
        claimed += 1
    return claimed


def owner_blocker(n: Notice) -> str:
    """Why this workstation may only look at the notice (one writer per notice), or ""."""
    if n.owner_device is None or n.owner_device == this_device():
        return ""
    return _("这份公示由工作站“{name}”办理，本机只能查看。如需由本机接手，请两台电脑都同步后，"
             "请县里在管理页面把它移交给本机。").format(name=workstation_name(n.owner_device))


def page_down_text(notice_id: str) -> str:
    """What the clerk is told when the county has taken the notice's public page down, or ""."""
    from app.legal_time import aware_moment
    from db.models import PageTakedown

    record = PageTakedown.get_or_none((PageTakedown.id == notice_id) & PageTakedown.active & ~PageTakedown.deleted)
    if record is None:
        return ""
    moment = aware_moment(record.taken_down_at)
    when = moment.astimezone(CHINA).strftime("%Y-%m-%d") if moment else str(record.taken_down_at)[:10]
    return _("县里已于 {date} 暂停在网上公开这份公示，群众扫码只能看到暂停原因。原因：{reason}。"
             "如有疑问请与县里联系；内容需要改正的，请发布更正公示。").format(
        date=when, reason=record.reason.rstrip("。.") or _("（未说明）"))


@dataclass(frozen=True)
class NoticeDetail:
    """Everything the notice editor shows about one notice, roster rows excepted."""

    id: str
    status: str
    edition: int
    notice_type: NoticeTypeInfo
    content_elements: tuple[str, ...]
    roster_schema: tuple[dict, ...]
    program_id: str | None
    program: str
    village_id: str | None
    village: str
    header: dict[str, str]  # HEADER_FIELDS
    posting_start: date | None
    posting_end: date | None
    posting_days: int | None
    posting_unit: str | None
    posting_explanation: tuple[str, ...]
    fingerprint: str | None
    published_at: str | None
    closed_at: str | None
    funds_released: bool
    return_comment: str
    withdraw_reason: str
    supersedes_id: str | None
    sign_offs: tuple[SignOffView, ...]
    owner: str = ""  # the workstation that takes it through its lifecycle ("" when not claimed)
    read_only: str = ""  # why this workstation may only look at it ("" when it may act)
    page_down: str = ""  # the county took its public page down: what the clerk is told ("" when not)

    @property
    def title(self) -> str:
        return self.header["title"]


#: Who may take which lifecycle action in which state (admin always qualifies). The lifecycle
#: methods enforce the same rules; tests/app/test_notice_queries.py holds the two together.
ACTION_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "edit": (("preparer",), ("draft",)),
    "submit": (("preparer",), ("draft",)),
    "return": (("reviewer",), ("in_review",)),
    "village_review": (("preparer", "reviewer"), ("draft", "in_review")),
    "approve": (("reviewer",), ("in_review",)),
    "publish": (("preparer", "reviewer"), ("approved",)),
    "correct": (("preparer",), ("published",)),
    "withdraw": (("reviewer",), ("approved", "published")),
    "close": (("reviewer",), ("published",)),
}
ACTION_LABELS = {
    "edit": "修改", "submit": "提交审核", "return": "退回", "village_review": "记录村级审核",
    "approve": "审批", "publish": "发布", "correct": "更正", "withdraw": "撤回", "close": "结束公示",
}


def _type_info(nt: NoticeType) -> NoticeTypeInfo:
    return NoticeTypeInfo(nt.id, nt.code, nt.name, nt.category, nt.level, nt.min_days, nt.day_unit)


def holiday_calendar() -> HolidayCalendar:
    """The statutory calendar plus the county's distributed arrangements (节假日安排)."""
    from app.settings import get_county

    entries = [(h.day, h.is_workday, h.name) for h in HolidayOverride.select().where(~HolidayOverride.deleted)]
    return HolidayCalendar.from_county(entries, complete_years=get_county("holiday_complete_years") or ())


class NoticeService:
    """Create, edit, review, publish, correct, withdraw and close notices.

    Safe to call from any thread; each call is one transaction.
    """

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._users = UserService(ctx)

    # ----------------------------------------------------------------- reading
    def _get(self, notice_id: str) -> Notice:
        n = Notice.get_or_none((Notice.id == notice_id) & (~Notice.deleted))
        if n is None:
            raise NotFound(_("找不到该公示。"), details=notice_id)
        return n

    def get(self, notice_id: str) -> Notice:
        """The notice row (read-only use; write only through this service)."""
        return self._get(notice_id)

    def summaries(self, village_id: str | None = None) -> list[NoticeSummary]:
        counts = (
            RosterRow.select(
                RosterRow.notice,
                fn.COUNT(RosterRow.id).alias("n"),
                fn.COALESCE(fn.SUM(RosterRow.amount_fen), 0).alias("fen"),
                fn.SUM(fn.instr(RosterRow.issues, ERROR_MARK) > 0).alias("bad"),
            )
            .where(~RosterRow.deleted)
            .group_by(RosterRow.notice)
            .alias("c")
        )
        Village = Region.alias()
        q = (
            Notice.select(Notice, NoticeType.code, NoticeType.name.alias("type_name"),
                          Village.name.alias("village_name"), counts.c.n, counts.c.fen, counts.c.bad)
            .join(NoticeType)
            .switch(Notice).join(Village, JOIN.LEFT_OUTER, on=(Notice.village == Village.id))
            .switch(Notice).join(counts, JOIN.LEFT_OUTER, on=(counts.c.notice_id == Notice.id))
            .where(~Notice.deleted)
            .order_by(Notice.updated_at.desc())
        )
        if village_id:
            q = q.where(Notice.village == village_id)
        out = []
        for n in q.objects():
            out.append(NoticeSummary(
                n.id, n.title, n.code, n.type_name, n.status, n.village_id, n.village_name or "",
                n.edition, n.posting_start, n.posting_end, n.n or 0, n.fen or 0, n.bad or 0,
            ))
        return out

    def rows(self, notice_id: str, offset: int = 0, limit: int | None = None) -> list[RowView]:
        q = (RosterRow.select().where((RosterRow.notice == notice_id) & (~RosterRow.deleted))
             .order_by(RosterRow.seq))
        if limit is not None:
            q = q.limit(limit).offset(offset)
        return [_row_view(r) for r in q]

    def row_count(self, notice_id: str) -> int:
        return RosterRow.select().where((RosterRow.notice == notice_id) & (~RosterRow.deleted)).count()

    def row_ids(self, notice_id: str, query: str = "", only_issues: bool = False) -> list[str]:
        """Ids of the live roster rows in ``seq`` order, filtered by what the clerk typed.

        Every space-separated word of ``query`` must match: Latin letters match the name's pinyin
        initials (``zl`` finds 张丽) or a Latin name; other ASCII (digits, ``X``) matches the ID
        number, the village group or the name; Chinese matches the name or the village group.
        ``only_issues`` keeps rows with any error or warning. Text is matched in an in-memory index
        of the roster (app.roster_index), about 20 ms for 100,000 rows once built. Safe on a worker
        thread.
        """
        words = query.split()
        if words:
            return ROSTER_INDEX.row_ids(self._ctx.db, notice_id, words, only_issues)
        q = RosterRow.select(RosterRow.id).where((RosterRow.notice == notice_id) & (~RosterRow.deleted))
        if only_issues:
            q = q.where(RosterRow.issues != _NO_ISSUES)
        # One string instead of 100,000 result rows (a third of the time). SQLite feeds an
        # aggregate from an ordered subquery in that order: a subquery with ORDER BY under an
        # aggregate is never flattened (query flattener rule 16), it runs as a co-routine.
        sql, params = q.order_by(RosterRow.seq).sql()
        joined = self._ctx.db.execute_sql(f'SELECT group_concat("id", \',\') FROM ({sql})', params).fetchone()[0]
        return joined.split(",") if joined else []

    def prepare_filter(self, notice_id: str) -> None:
        """Read the roster's searchable text ahead of the first filter (worker thread; ~0.2 s for
        100,000 rows), so the clerk's first keystrokes filter at once."""
        ROSTER_INDEX.prepare(self._ctx.db, notice_id)

    def rows_by_ids(self, ids: list[str]) -> list[RowView]:
        """The live rows among ``ids``, in the order given (a page of the roster table)."""
        if not ids:
            return []
        found = {r.id: r for r in RosterRow.select().where(RosterRow.id.in_(ids) & (~RosterRow.deleted))}
        return [_row_view(found[i]) for i in ids if i in found]

    def totals(self, notice_id: str) -> RosterTotals:
        """Row count, total amount and problem rows, aggregated in SQL."""
        q = RosterRow.select(
            fn.COUNT(RosterRow.id),
            fn.COALESCE(fn.SUM(RosterRow.amount_fen), 0),
            fn.COALESCE(fn.SUM(fn.instr(RosterRow.issues, ERROR_MARK) > 0), 0),
            fn.COALESCE(fn.SUM(RosterRow.issues != _NO_ISSUES), 0),
        ).where((RosterRow.notice == notice_id) & (~RosterRow.deleted))
        rows, fen, errors, issues = next(iter(self._ctx.db.execute(q)))
        return RosterTotals(rows, fen, errors, issues)

    def detail(self, notice_id: str) -> NoticeDetail:
        n = self._get(notice_id)
        nt = n.notice_type
        return NoticeDetail(
            id=n.id, status=n.status, edition=n.edition, notice_type=_type_info(nt),
            content_elements=tuple(nt.content_elements), roster_schema=tuple(dict(c) for c in nt.roster_schema),
            program_id=n.program_id, program=n.program.name if n.program_id else "",
            village_id=n.village_id, village=n.village.name if n.village_id else "",
            header={f: getattr(n, f) or "" for f in HEADER_FIELDS},
            posting_start=n.posting_start, posting_end=n.posting_end, posting_days=n.posting_days,
            posting_unit=n.posting_unit, posting_explanation=tuple(n.posting_explanation or ()),
            fingerprint=n.fingerprint, published_at=n.published_at, closed_at=n.closed_at,
            funds_released=bool(n.funds_released), return_comment=n.return_comment or "",
            withdraw_reason=n.withdraw_reason or "", supersedes_id=n.supersedes_id,
            sign_offs=tuple(SignOffView(s.kind, s.body, tuple(s.names), s.signed_on) for s in _sign_offs(n.id)),
            owner=workstation_name(n.owner_device) if n.owner_device else "", read_only=owner_blocker(n),
            page_down=page_down_text(n.id),
        )

    def actions(self, notice_id: str, by: str, totals: RosterTotals | None = None) -> dict[str, str]:
        """For each lifecycle action (see ``ACTION_RULES``): ``""`` when user ``by`` may take it
        now, otherwise the reason in words a clerk understands. The action methods still decide.
        ``totals``, when the caller has just read them, spares a second pass over the roster."""
        user = self._users.get(by)
        n = self._get(notice_id)
        not_ours = owner_blocker(n)
        out: dict[str, str] = {}
        for action, (roles, states) in ACTION_RULES.items():
            if not user.active:
                reason = _("账户已停用。")
            elif not_ours:
                reason = not_ours
            elif user.role != "admin" and user.role not in roles:
                reason = _("此操作需要以下角色：{roles}。").format(
                    roles="、".join(_(ROLE_LABELS[r]) for r in roles))
            elif n.status not in states:
                reason = _("当前状态为“{status}”，不能{action}。").format(
                    status=_(STATUS_LABELS[n.status]), action=_(ACTION_LABELS[action]))
            else:
                reason = self._blocker(n, action, user, totals)
            out[action] = reason
        return out

    def available_actions(self, notice_id: str, by: str) -> frozenset[str]:
        return frozenset(a for a, reason in self.actions(notice_id, by).items() if not reason)

    def _blocker(self, n: Notice, action: str, user: UserInfo, totals: RosterTotals | None) -> str:
        """What besides role and state keeps ``action`` from succeeding now ("" if nothing)."""
        if action == "submit":
            totals = totals or self.totals(n.id)
            if not totals.rows:
                return _("公示明细为空，不能提交审核。")
            if totals.error_rows:
                return _("还有 {count} 行明细存在错误，请改正后再提交审核。").format(count=totals.error_rows)
            if not n.title.strip() or not n.issuer.strip():
                return _("标题和发布单位不能为空。")
        elif action == "approve":
            if n.submitted_by == user.id:
                return _("提交人不能审批自己提交的公示，请由另一位审核人审批。")
            if n.village_id and not _sign_offs(n.id, "village_review"):
                return _("村级公示须先记录村两委或村务监督委员会的审核签字。")
        elif action == "correct":
            if Notice.select().where((Notice.supersedes == n.id) & (~Notice.deleted)
                                     & (Notice.status.not_in(("withdrawn",)))).exists():
                return _("该公示已有一份更正正在办理。")
        elif action == "close":
            if n.posting_end is not None and self._ctx.clock.today() <= n.posting_end:
                return _("公示期至 {end} 才结束，期满后方可结束公示。").format(end=n.posting_end)
            open_count = Objection.select().where(
                (Objection.notice == n.id) & (~Objection.deleted) & (Objection.status != "answered")).count()
            if open_count:
                return _("还有 {count} 件异议尚未答复，答复后方可结束公示。").format(count=open_count)
        return ""

    def preview_period(self, notice_id: str, start: date | None = None) -> PostingPeriod:
        """The posting period publishing on ``start`` (default today) would give, with how it
        was computed. Raises CalendarError when working days cannot be counted."""
        nt = self._get(notice_id).notice_type
        return compute_period(start or self._ctx.clock.today(), nt.min_days, nt.day_unit, holiday_calendar())

    def notice_types(self) -> list[NoticeTypeInfo]:
        return [_type_info(t) for t in NoticeType.select().where(~NoticeType.deleted).order_by(NoticeType.code)]

    def suggest_title(self, notice_type_id: str, program_id: str | None = None,
                      village_id: str | None = None) -> str:
        """The title :meth:`create` gives when none is supplied."""
        from app.public_view import render_template

        nt = NoticeType.get_or_none(NoticeType.id == notice_type_id)
        township_id = local_township_id()
        if nt is None or township_id is None:
            return ""
        program = Program.get_or_none(Program.id == program_id) if program_id else None
        village = Region.get_or_none(Region.id == village_id) if village_id else None
        _issuer, names = self._template_names(nt, program, village, Region.get_by_id(township_id), None)
        return render_template(nt.title_template, names)

    def _template_names(self, nt: NoticeType, program: Program | None, village: Region | None,
                        township: Region, issuer: str | None) -> tuple[str, dict[str, str]]:
        """The issuer (default by the type's level) and the values for the title template."""
        county = CountySettings.load()
        if nt.level == "县" and county.county_name:
            default_issuer = f"{county.county_name}人民政府"
        elif village:
            default_issuer = f"{village.name}村民委员会\n{township.name}人民政府"
        else:
            default_issuer = f"{township.name}人民政府"
        issuer = issuer or default_issuer
        today = self._ctx.clock.today()
        names = {"village": village.name if village else "", "township": township.name,
                 "program": program.name if program else "",
                 # regular disclosures (村级财务, 村务) have no program: the year is this year's
                 "year": str(program.year) if program else str(today.year),
                 "issuer": issuer.split("\n")[-1], "month": str(today.month),
                 "quarter": str((today.month - 1) // 3 + 1)}
        return issuer, names

    def public_view(self, notice_id: str) -> PublicNotice:
        """The public view: for a published notice exactly as frozen, otherwise as it stands now."""
        n = self._get(notice_id)
        if n.public_snapshot:
            return PublicNotice.from_canonical_json(n.public_snapshot)
        return public_view_of(n)

    # ----------------------------------------------------------------- drafts
    def create(self, by: str, *, notice_type_id: str, program_id: str | None = None,
               village_id: str | None = None, **header: str) -> str:
        """Create a draft from the notice type's templates; returns its id."""
        user = self._users.require(by, "preparer")
        nt = NoticeType.get_or_none(NoticeType.id == notice_type_id)
        if nt is None:
            raise NotFound(_("找不到该公开事项类型。"), details=notice_type_id)
        program = Program.get_or_none(Program.id == program_id) if program_id else None
        if program_id and program is None:
            raise NotFound(_("找不到该项目。"), details=program_id)
        township_id = local_township_id()
        if township_id is None:
            raise ValidationError(_("本机尚未设置所属乡镇，请先完成首次设置。"))
        township = Region.get_by_id(township_id)
        village = Region.get_or_none(Region.id == village_id) if village_id else None
        if village_id and (village is None or village.level != "village"):
            raise NotFound(_("找不到该行政村。"), details=village_id)
        _check_header(header)
        issuer, names = self._template_names(nt, program, village, township, header.get("issuer"))
        from app.public_view import render_template

        values = {
            "title": render_template(nt.title_template, names),
            "body": nt.body_template,
            "legal_basis": (program.legal_basis if program and program.legal_basis else nt.legal_basis),
            "issuer": issuer,
            "salutation": "广大村民群众：" if village else "社会各界广大人民群众：",
            "supervision_phone": nt.supervision_phone,
        }
        values.update({k: v for k, v in header.items() if v is not None})
        with self._ctx.write():
            n = Notice(
                id=new_id(), township_id=township_id, notice_type=nt.id,
                program=program.id if program else None, village=village.id if village else None,
                status="draft", edition=1, created_by=user.id, owner_device=this_device(), **values,
            )
            save_change(n, created=True)
            record(self._ctx, user, "notice.create", "notice", n.id, {"title": n.title})
        return n.id

    def update_header(self, notice_id: str, by: str, **fields: str) -> None:
        user = self._users.require(by, "preparer")
        _check_header(fields)
        with self._ctx.write():
            n = self._editable(notice_id)
            for k, v in fields.items():
                setattr(n, k, v)
            save_change(n)
            record(self._ctx, user, "notice.edit", "notice", n.id, {"fields": sorted(fields)})

    def add_rows(self, notice_id: str, by: str, rows: list[RowInput],
                 prechecked: list[tuple[Any, ...]] | None = None, *, validated: bool = False) -> int:
        """Append validated rows to a draft in one transaction; returns how many were added.

        ``prechecked`` may carry issues already found for each row (for example by an importer),
        which are stored with the row's own validation results; a field with a reading problem is
        not reported a second time as missing. With ``validated`` the rows were already normalised
        and checked by a ``RowChecker`` of this notice type and ``prechecked`` holds every issue.
        """
        user = self._users.require(by, "preparer")
        with self._ctx.write():
            n = self._editable(notice_id)
            checker = RowChecker(n.notice_type.roster_schema, self._ctx.clock.today())
            start = (RosterRow.select(fn.MAX(RosterRow.seq)).where(RosterRow.notice == n.id).scalar() or 0) + 1
            values = []
            ids = new_ids(len(rows))
            for i, raw in enumerate(rows):
                if validated:
                    row, issues = raw, prechecked[i]
                else:
                    row = checker.normalize(raw)
                    issues = checker.validate(row)
                    if prechecked is not None and prechecked[i]:
                        refused = {p.column for p in prechecked[i] if p.code not in VALUE_KEPT_CODES}
                        issues = [x for x in issues if x.column not in refused] + list(prechecked[i])
                values.append([
                    ids[i], False, n.township_id, n.id, start + i, row.name, row.id_number, row.group_name,
                    None if row.quantity is None else str(row.quantity),
                    None if row.rate is None else str(row.rate),
                    row.amount_fen, row.bank_account, row.phone, row.remark,
                    dumps_json(row.extra) if row.extra else "{}",
                    dumps_json(issue_dicts(issues)) if issues else "[]",
                ])
            insert_values(RosterRow, _ROSTER_COLUMNS, values)
            self._refresh_duplicates(n)
            record(self._ctx, user, "notice.rows_add", "notice", n.id, {"rows": len(values)})
        return len(rows)

    @staticmethod
    def prepare_rows(rows: RowColumns, issues: dict[int, Sequence[Issue]]) -> PreparedRows:
        """Rows already normalised and checked by a ``RowChecker`` of the notice's type, with every
        issue found for them (by position), converted to what the roster stores and given their
        ids, for :meth:`add_checked_rows`. Needs no database: any thread may prepare the next
        batch while one is being stored."""
        m = len(rows)
        texts = ["[]"] * m
        for i, found in issues.items():
            if found:
                texts[i] = dumps_json(issue_dicts(found))
        return PreparedRows(new_ids(m), {
            "name": rows.name, "id_number": rows.id_number, "group_name": rows.group_name,
            "quantity": [None if q is None else str(q) for q in rows.quantity],
            "rate": [None if r is None else str(r) for r in rows.rate],
            "amount_fen": rows.amount_fen, "bank_account": rows.bank_account, "phone": rows.phone,
            "remark": rows.remark,
            "extra": ["{}"] * m if rows.extra is None else [dumps_json(e) if e else "{}" for e in rows.extra],
            "issues": texts,
        })

    def add_checked_rows(self, notice_id: str, by: str, batches: Iterable[PreparedRows], *,
                         id_numbers: Collection[str] | None = None) -> int:
        """Append rows to a draft batch by batch (see :meth:`prepare_rows`), in one transaction;
        returns how many were added. Nothing is checked again. Batches may be produced while
        earlier ones are stored (an importer checks the next rows meanwhile).

        ``id_numbers`` are the ID numbers of all the rows the batches bring, when their issues
        already hold the duplicate-ID marks among themselves (an importer finds them over the
        whole file). For a draft without rows, the other notices of the program are then searched
        for these numbers before the rows arrive rather than for the stored rows after: the same
        answer (nothing else writes meanwhile), found while the importer checks the first batch.
        """
        user = self._users.require(by, "preparer")
        with self._ctx.write():
            n = self._editable(notice_id)
            start = (RosterRow.select(fn.MAX(RosterRow.seq)).where(RosterRow.notice == n.id).scalar() or 0) + 1
            elsewhere = None
            if id_numbers is not None and start == 1:
                elsewhere = self._elsewhere(n, json_values(x for x in set(id_numbers) if x))
            shared = {"deleted": False, "township_id": n.township_id, "notice_id": n.id}
            added = 0
            for batch in batches:
                m = len(batch.ids)
                seq = range(start + added, start + added + m)
                insert_columns(RosterRow, shared, {"seq": seq, **batch.columns}, ids=batch.ids)
                added += m
            self._refresh_duplicates(n, elsewhere=elsewhere)
            record(self._ctx, user, "notice.rows_add", "notice", n.id, {"rows": added})
        return added

    def update_row(self, row_id: str, by: str, row: RowInput) -> RowView:
        user = self._users.require(by, "preparer")
        with self._ctx.write():
            r = RosterRow.get_or_none((RosterRow.id == row_id) & (~RosterRow.deleted))
            if r is None:
                raise NotFound(_("找不到该明细行。"), details=row_id)
            n = self._editable(r.notice_id)
            schema = n.notice_type.roster_schema
            clean = normalize_row(row, schema)
            for f in ("name", "id_number", "group_name", "quantity", "rate", "amount_fen",
                      "bank_account", "phone", "remark", "extra"):
                setattr(r, f, getattr(clean, f))
            r.issues = issue_dicts(validate_row(clean, schema, self._ctx.clock.today()))
            save_change(r)
            self._refresh_duplicates(n)
            record(self._ctx, user, "notice.row_edit", "roster_row", r.id, {"notice": n.id, "seq": r.seq})
        return _row_view(RosterRow.get_by_id(row_id))

    def delete_row(self, row_id: str, by: str) -> None:
        user = self._users.require(by, "preparer")
        with self._ctx.write():
            r = RosterRow.get_or_none((RosterRow.id == row_id) & (~RosterRow.deleted))
            if r is None:
                raise NotFound(_("找不到该明细行。"), details=row_id)
            n = self._editable(r.notice_id)
            r.deleted = True
            save_change(r)
            self._refresh_duplicates(n)
            record(self._ctx, user, "notice.row_delete", "roster_row", r.id, {"notice": n.id, "seq": r.seq})

    def delete_rows(self, row_ids: list[str], by: str) -> int:
        """Delete several rows of one draft in one transaction; returns how many."""
        user = self._users.require(by, "preparer")
        wanted = set(row_ids)
        with self._ctx.write():
            rows = list(RosterRow.select().where(RosterRow.id.in_(json_values(wanted)) & (~RosterRow.deleted)))
            if len(rows) != len(wanted):
                raise NotFound(_("找不到该明细行。"), details=f"{len(wanted) - len(rows)} missing")
            notices = {r.notice_id for r in rows}
            if len(notices) > 1:
                raise ValidationError(_("只能删除同一份公示中的明细行。"))
            if not rows:
                return 0
            n = self._editable(notices.pop())
            for r in rows:
                r.deleted = True
                save_change(r)
                record(self._ctx, user, "notice.row_delete", "roster_row", r.id, {"notice": n.id, "seq": r.seq})
            self._refresh_duplicates(n)
        return len(rows)

    def append_blank_row(self, notice_id: str, by: str) -> str:
        """Add an empty row at the end of a draft (marked with what is missing); returns its id."""
        self.add_rows(notice_id, by, [RowInput()])
        return (RosterRow.select(RosterRow.id).where((RosterRow.notice == notice_id) & (~RosterRow.deleted))
                .order_by(RosterRow.seq.desc()).limit(1).scalar())

    def update_cell(self, row_id: str, by: str, key: str, text: str) -> RowView:
        """Change one cell of a draft's roster row to the text a clerk typed; ``key`` is the roster
        schema's column key.

        Numbers are read exactly (full-width digits, thousands separators and a unit such as 亩,
        公顷 or 万元 are understood); text that is no number raises ValidationError naming the
        column, and nothing changes. When the quantity or the rate changes and the amount agreed
        with the old figures (or was empty), the amount follows the new ones. The row is then
        validated as in :meth:`update_row`.
        """
        self._users.require(by, "preparer")
        r = RosterRow.get_or_none((RosterRow.id == row_id) & (~RosterRow.deleted))
        if r is None:
            raise NotFound(_("找不到该明细行。"), details=row_id)
        column = next((c for c in r.notice.notice_type.roster_schema if c["key"] == key), None)
        if column is None:
            raise ValidationError(_("此列不能修改。"), details=key)
        value = text.strip()
        fields: dict[str, Any] = {f: getattr(r, f) for f in (
            "name", "id_number", "group_name", "quantity", "rate", "amount_fen", "bank_account",
            "phone", "remark")}
        fields["extra"] = dict(r.extra)
        try:
            if key == "quantity":
                fields["quantity"] = parse_quantity(value, column.get("unit") or "亩") if value else None
            elif key == "rate":
                fields["rate"] = to_decimal(value) if value else None
            elif key == "amount":
                fields["amount_fen"] = parse_money_fen(value) if value else None
            elif key == "group":
                fields["group_name"] = value
            elif key in fields:
                fields[key] = value
            elif value:
                fields["extra"][key] = value
            else:
                fields["extra"].pop(key, None)
        except ValueError as exc:
            raise ValidationError(_("“{label}”填写有误：{problem}").format(label=column["label"], problem=_(str(exc))),
                                  details=key) from None
        if key in ("quantity", "rate") and fields["quantity"] is not None and fields["rate"] is not None:
            followed = r.amount_fen is None or (
                r.quantity is not None and r.rate is not None
                and r.amount_fen == compute_amount_fen(r.quantity, r.rate))
            if followed:
                fields["amount_fen"] = compute_amount_fen(fields["quantity"], fields["rate"])
        return self.update_row(row_id, by, RowInput(**fields))

    def _editable(self, notice_id: str) -> Notice:
        n = self._owned(notice_id)
        if n.status != "draft":
            raise TransitionError(
                _("只有草稿可以修改；当前状态为“{status}”。").format(status=STATUS_LABELS[n.status]))
        return n

    def _refresh_duplicates(self, n: Notice, *, elsewhere: dict[str, list[str]] | None = None) -> None:
        """Recompute duplicate-ID marks of a notice; only rows whose marks change are written.

        The searching is done in SQL so that a 100,000-row roster is never loaded for it. A given
        ``elsewhere`` (see :meth:`_elsewhere`) says the rows already carry their marks for
        duplicates within the notice: only rows whose number is also in another notice are
        recomputed (in full, within and elsewhere, as below).
        """
        live = (RosterRow.notice == n.id) & (~RosterRow.deleted) & (RosterRow.id_number != "")
        if elsewhere is not None:
            if elsewhere:
                pairs = list(RosterRow.select(RosterRow.id, RosterRow.id_number)
                             .where(live & RosterRow.id_number.in_(json_values(elsewhere))).tuples())
                self._write_duplicate_marks(duplicate_issues(pairs, elsewhere), set())
            return
        Mine = RosterRow.alias()
        mine = Mine.select(Mine.id_number).where(
            (Mine.notice == n.id) & (~Mine.deleted) & (Mine.id_number != ""))
        repeated = (Mine.select(Mine.id_number).where((Mine.notice == n.id) & (~Mine.deleted) & (Mine.id_number != ""))
                    .group_by(Mine.id_number).having(fn.COUNT(Mine.id) > 1))
        elsewhere = self._elsewhere(n, mine)
        candidates = RosterRow.id_number.in_(repeated)
        if elsewhere:
            candidates |= RosterRow.id_number.in_(json_values(elsewhere))
        pairs = list(RosterRow.select(RosterRow.id, RosterRow.id_number).where(live & candidates).tuples())
        dups = duplicate_issues(pairs, elsewhere)
        flagged = {rid for (rid,) in RosterRow.select(RosterRow.id).where(
            (RosterRow.notice == n.id) & (~RosterRow.deleted)
            & (fn.instr(RosterRow.issues, f'"{DUPLICATE_CODE}"') > 0)).tuples()}
        self._write_duplicate_marks(dups, flagged)

    @staticmethod
    def _elsewhere(n: Notice, numbers: Any) -> dict[str, list[str]]:
        """ID number → titles of the other notices of n's program that list it, for ``numbers``
        (a query of ID numbers)."""
        elsewhere: dict[str, list[str]] = {}
        if n.program_id:
            Other = Notice.alias()
            q = (RosterRow.select(RosterRow.id_number, Other.title)
                 .join(Other, on=(RosterRow.notice == Other.id))
                 .where((Other.program == n.program_id) & (Other.id != n.id) & (~Other.deleted)
                        & (~RosterRow.deleted) & RosterRow.id_number.in_(numbers)
                        & (Other.status.not_in(("withdrawn", "superseded")))
                        & (Other.id != (n.supersedes_id or ""))))
            for number, title in q.tuples():
                elsewhere.setdefault(number, []).append(title)
        return elsewhere

    @staticmethod
    def _write_duplicate_marks(dups: dict[str, list[Issue]], flagged: set[str]) -> None:
        """Give the rows of ``dups`` these duplicate-ID marks and the ``flagged`` ones (rows that
        have marks now) only theirs; only rows whose marks change are written (all in one go: a
        roster imported again into its program has every row marked)."""
        wanted = flagged | set(dups)
        if not wanted:
            return
        changes = []
        query = RosterRow.select(RosterRow.id, RosterRow.issues).where(RosterRow.id.in_(json_values(wanted)))
        for rid, issues in query.tuples().iterator():
            kept = [i for i in issues if i["code"] != DUPLICATE_CODE]
            new = kept + issue_dicts(dups.get(rid, []))
            if new != issues:
                changes.append((rid, RosterRow.issues.db_value(new)))
        update_column(RosterRow, "issues", changes)

    # ----------------------------------------------------------------- lifecycle
    def submit(self, notice_id: str, by: str) -> None:
        user = self._users.require(by, "preparer")
        with self._ctx.write():
            n = self._in_state(notice_id, "draft", _("提交审核"))
            live = RosterRow.select().where((RosterRow.notice == n.id) & (~RosterRow.deleted))
            if not live.exists():
                raise ValidationError(_("公示明细为空，不能提交审核。"))
            bad = live.where(fn.instr(RosterRow.issues, ERROR_MARK) > 0).count()
            if bad:
                raise ValidationError(
                    _("还有 {count} 行明细存在错误，请改正后再提交审核。").format(count=bad))
            if not n.title.strip() or not n.issuer.strip():
                raise ValidationError(_("标题和发布单位不能为空。"))
            self._move(n, "in_review", user, "notice.submit", submitted_by=user.id, return_comment="")

    def return_for_changes(self, notice_id: str, by: str, comment: str) -> None:
        user = self._users.require(by, "reviewer")
        if not comment.strip():
            raise ValidationError(_("退回时请填写修改意见。"))
        with self._ctx.write():
            n = self._in_state(notice_id, "in_review", _("退回"))
            self._move(n, "draft", user, "notice.return", return_comment=comment.strip())

    def record_village_review(self, notice_id: str, by: str, *, body: str, names: list[str],
                              signed_on: date) -> None:
        """Record the paper sign-off of the 村两委 / 村务监督委员会 (content, time and procedure)."""
        user = self._users.require(by, "preparer", "reviewer")
        names = [x.strip() for x in names if x.strip()]
        if not names or not body.strip():
            raise ValidationError(_("请填写审核机构和签字人姓名。"))
        if signed_on > self._ctx.clock.today():
            raise ValidationError(_("签字日期不能晚于今天。"))
        with self._ctx.write():
            n = self._owned(notice_id)
            if n.status not in ("draft", "in_review"):
                raise TransitionError(_("只能在草稿或待审核状态下记录村级审核。"))
            s = SignOff(id=new_id(), township_id=n.township_id, notice=n.id, kind="village_review",
                        body=body.strip(), names=names, signed_on=signed_on, recorded_by=user.id)
            save_change(s, created=True)
            record(self._ctx, user, "notice.village_review", "notice", n.id, {"body": body, "signers": len(names)})

    def approve(self, notice_id: str, by: str) -> None:
        user = self._users.require(by, "reviewer")
        # the approval date is printed with the notice and bounds its posting start: a legal date,
        # from the workstation's clock as checked against the county's (see publish)
        approved_on = legal_now(self._ctx).astimezone(CHINA).date()
        with self._ctx.write():
            n = self._in_state(notice_id, "in_review", _("审批"))
            if n.submitted_by == user.id:
                raise TransitionError(_("提交人不能审批自己提交的公示，请由另一位审核人审批。"))
            if n.village_id and not _sign_offs(n.id, "village_review"):
                raise TransitionError(_("村级公示须先记录村两委或村务监督委员会的审核签字。"))
            township = Region.get_by_id(n.township_id)
            s = SignOff(id=new_id(), township_id=n.township_id, notice=n.id, kind="township_approval",
                        body=f"{township.name}人民政府", names=[user.display_name],
                        signed_on=approved_on, recorded_by=user.id)
            save_change(s, created=True)
            self._move(n, "approved", user, "notice.approve", approved_by=user.id)

    def publish(self, notice_id: str, by: str, start: date | None = None) -> PublicNotice:
        """Freeze the content: posting period, fingerprint of the public view and content digest."""
        user = self._users.require(by, "preparer", "reviewer")
        moment = legal_now(self._ctx)  # the workstation's clock, checked against the county's
        start = start or moment.astimezone(CHINA).date()
        with self._ctx.write():
            n = self._in_state(notice_id, "approved", _("发布"))
            approved_on = max((s.signed_on for s in _sign_offs(n.id, "township_approval")), default=None)
            if approved_on is not None and start < approved_on:
                raise ValidationError(
                    _("公示开始日期不能早于乡镇审批日期（{day}）。").format(day=approved_on.isoformat()))
            nt = n.notice_type
            period = compute_period(start, nt.min_days, nt.day_unit, holiday_calendar())
            n.posting_start, n.posting_end = period.start, period.end
            n.posting_days, n.posting_unit = period.days, period.unit
            n.posting_explanation = list(period.explanation) + list(period.warnings)
            view = public_view_of(n)
            n.public_snapshot = view.canonical_json().decode("utf-8")
            n.fingerprint = view.fingerprint()
            n.content_digest = content_digest(n)
            n.published_at = moment.isoformat()
            if n.supersedes_id:
                old = Notice.get_by_id(n.supersedes_id)
                if old.status == "published":
                    if owner_blocker(old):  # handed over since the correction began
                        raise PermissionDenied(owner_blocker(old), details=old.owner_device)
                    old.status = "superseded"
                    save_change(old)
                    record(self._ctx, user, "notice.superseded", "notice", old.id, {"by": n.id})
            self._move(n, "published", user, "notice.publish", published_by=user.id,
                       summary={"fingerprint": n.fingerprint, "digest": n.content_digest,
                                "start": str(period.start), "end": str(period.end)})
        return view

    def correct(self, notice_id: str, by: str) -> str:
        """Start a correction (更正公示): a new draft edition that will supersede this one."""
        user = self._users.require(by, "preparer")
        with self._ctx.write():
            old = self._in_state(notice_id, "published", _("更正"))
            if Notice.select().where((Notice.supersedes == old.id) & (~Notice.deleted)
                                     & (Notice.status.not_in(("withdrawn",)))).exists():
                raise TransitionError(_("该公示已有一份更正正在办理。"))
            fields = {f: getattr(old, f) for f in HEADER_FIELDS}
            new = Notice(id=new_id(), township_id=old.township_id, notice_type=old.notice_type_id,
                         program=old.program_id, village=old.village_id, status="draft",
                         edition=old.edition + 1, supersedes=old.id, created_by=user.id,
                         owner_device=this_device(), **fields)
            if not new.title.startswith("（更正）"):
                new.title = "（更正）" + new.title
            save_change(new, created=True)
            copied = ("seq", "name", "id_number", "group_name", "quantity", "rate", "amount_fen",
                      "bank_account", "phone", "remark", "extra", "issues")
            rows = [
                {**{f: getattr(r, f) for f in copied}, "notice": new.id, "township_id": new.township_id}
                for r in RosterRow.select().where((RosterRow.notice == old.id) & (~RosterRow.deleted)).order_by(RosterRow.seq)
            ]
            insert_many(RosterRow, rows)
            record(self._ctx, user, "notice.correct", "notice", new.id, {"supersedes": old.id, "edition": new.edition})
        return new.id

    def withdraw(self, notice_id: str, by: str, reason: str) -> None:
        user = self._users.require(by, "reviewer")
        if not reason.strip():
            raise ValidationError(_("撤回公示必须填写原因。"))
        with self._ctx.write():
            n = self._owned(notice_id)
            if n.status not in ("approved", "published"):
                raise TransitionError(
                    _("只有已审批或公示中的公示可以撤回；当前状态为“{status}”。").format(status=STATUS_LABELS[n.status]))
            self._move(n, "withdrawn", user, "notice.withdraw", withdraw_reason=reason.strip())

    def close(self, notice_id: str, by: str) -> None:
        """End the posting: only after the period, and only with every objection answered."""
        user = self._users.require(by, "reviewer")
        moment = legal_now(self._ctx)
        today = moment.astimezone(CHINA).date()
        with self._ctx.write():
            n = self._in_state(notice_id, "published", _("结束公示"))
            if today <= n.posting_end:
                raise TransitionError(_("公示期至 {end} 才结束，期满后方可结束公示。").format(end=n.posting_end))
            open_count = Objection.select().where(
                (Objection.notice == n.id) & (~Objection.deleted) & (Objection.status != "answered")).count()
            if open_count:
                raise TransitionError(
                    _("还有 {count} 件异议尚未答复，答复后方可结束公示。").format(count=open_count))
            release = n.notice_type.category in MONEY_CATEGORIES
            self._move(n, "closed", user, "notice.close", closed_at=moment.isoformat(),
                       funds_released=release, summary={"funds_released": release})

    # ----------------------------------------------------------------- helpers
    def _owned(self, notice_id: str) -> Notice:
        """The notice, when this workstation may change it (one writer per notice): raises
        PermissionDenied, naming the owner, when another workstation takes it through its lifecycle."""
        n = self._get(notice_id)
        reason = owner_blocker(n)
        if reason:
            raise PermissionDenied(reason, details=n.owner_device)
        return n

    def _in_state(self, notice_id: str, state: str, action: str) -> Notice:
        n = self._owned(notice_id)
        if n.status != state:
            raise TransitionError(
                _("当前状态为“{status}”，不能{action}。").format(status=STATUS_LABELS[n.status], action=action),
                details=f"{n.status} -> {action}")
        return n

    def _move(self, n: Notice, status: str, user: UserInfo, action: str,
              summary: dict | None = None, **fields: Any) -> None:
        before = n.status
        n.status = status
        if n.owner_device is None:
            n.owner_device = this_device()  # from before owners: the first workstation to act claims it
        for k, v in fields.items():
            setattr(n, k, v)
        save_change(n)
        record(self._ctx, user, action, "notice", n.id, {"from": before, "to": status, **(summary or {})})


def unpublish_unreceived(notice_id: str) -> None:
    """Put a notice published on this workstation back to approved, its period and fingerprint
    cleared, because the county refused the publish (its dates cannot be right by the county's
    clock) and has never had it published. The clerk publishes it again with the right date; the
    sync problem record keeps what was refused. Call inside a write transaction."""
    n = Notice.get_or_none(Notice.id == notice_id)
    if n is None or n.status != "published":
        return
    n.status = "approved"
    for field in ("posting_start", "posting_end", "posting_days", "posting_unit", "public_snapshot", "fingerprint",
                  "content_digest", "published_at", "published_by"):
        setattr(n, field, None)
    n.posting_explanation = []
    save_change(n)


_ROSTER_COLUMNS = ("deleted", "township_id", "notice_id", "seq", "name", "id_number", "group_name", "quantity",
                   "rate", "amount_fen", "bank_account", "phone", "remark", "extra", "issues")


def _check_header(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(HEADER_FIELDS)
    if unknown:
        raise ValidationError(_("不能修改这些字段。"), details=", ".join(sorted(unknown)))
    for k, v in fields.items():
        if not isinstance(v, str):
            raise ValidationError(_("字段内容必须是文本。"), details=k)
        if len(v) > 20_000:
            raise ValidationError(_("内容过长。"), details=k)


def _sign_offs(notice_id: str, kind: str | None = None) -> list[SignOff]:
    q = SignOff.select().where((SignOff.notice == notice_id) & (~SignOff.deleted))
    if kind:
        q = q.where(SignOff.kind == kind)
    return list(q.order_by(SignOff.signed_on, SignOff.updated_at))


def _row_dicts(notice_id: str) -> list[dict[str, Any]]:
    q = (RosterRow.select().where((RosterRow.notice == notice_id) & (~RosterRow.deleted))
         .order_by(RosterRow.seq, RosterRow.id))  # app.public_view.row_order
    return [r.__data__ for r in q]


def public_view_of(n: Notice) -> PublicNotice:
    """The public view of notice ``n`` built from the database, with the county's mask policy
    (the same builder, on the same values, as the county's check of what is published)."""
    from app.public_view import sign_off_order, view_names

    county = CountySettings.load()
    program = n.program
    names = view_names(Region.get_by_id(n.township_id).name, n.village.name if n.village_id else "",
                       {"name": program.name, "year": program.year, "rate": program.rate} if program else None)
    return build_public_view(
        notice=n.__data__, notice_type=n.notice_type.__data__, rows=_row_dicts(n.id),
        sign_offs=sorted((s.__data__ for s in _sign_offs(n.id)), key=sign_off_order),
        policy=county_policy(county.id_mask_pattern, county.show_id_column), names=names,
    )


def content_digest(n: Notice) -> str:
    """SHA-256 over the full internal content (header and every roster field), for tamper checks."""
    h = hashlib.sha256()
    header = {f: getattr(n, f) for f in HEADER_FIELDS}
    header.update(id=n.id, edition=n.edition, type=n.notice_type_id, village=n.village_id)
    h.update(json.dumps(header, ensure_ascii=False, sort_keys=True).encode())
    for r in _row_dicts(n.id):
        data = {k: r[k] for k in ("seq", "name", "id_number", "group_name", "quantity", "rate",
                                  "amount_fen", "bank_account", "phone", "remark", "extra")}
        h.update(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str).encode())
    return h.hexdigest()

