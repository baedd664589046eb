"""Notices (公示/公告) and their lifecycle.

draft → in_review → approved → published → closed, with return (to draft, with comments),
withdraw (reason required) and correct (a new edition that supersedes the published one).

Every action checks the acting user's role and the notice's state, and writes its change, an
audit event and the outbox entries in one transaction. Services return plain frozen dataclasses.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from peewee import JOIN, fn

from app.audit import record
from app.context import Context
from app.errors import NotFound, TransitionError, ValidationError
from app.i18n import _
from app.masking import MaskPolicy
from app.periods import HolidayCalendar, compute_period
from app.public_view import PublicNotice, build_public_view
from app.rows import (
    DUPLICATE_CODE,
    RowChecker,
    RowInput,
    duplicate_issues,
    issue_dicts,
    normalize_row,
    validate_row,
)
from app.settings import CountySettings, local_township_id
from app.users import UserInfo, UserService
from db.changes import insert_many, insert_values, new_id, new_ids, save_change
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
)

#: how a stored issue list marks an error; JSONText writes compact, key-sorted JSON, so SQL can
#: count rows with errors without decoding every row
ERROR_MARK = '"severity":"error"'

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


def _row_view(r: RosterRow) -> RowView:
    return RowView(r.id, r.seq, r.name, r.id_number, r.group_name, r.quantity, r.rate, r.amount_fen,
                   r.bank_account, r.phone, r.remark, dict(r.extra), tuple(r.issues))


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
        county = CountySettings.load()
        if nt.level == "县" and county.county_name:
            default_issuer = f"{county.county_name}人民政府"
        elif village:
            default_issuer = f"{village.name}村民委员会\n{township.name}人民政府"
        else:
            default_issuer = f"{township.name}人民政府"
        issuer = header.get("issuer") or default_issuer
        names = {"village": village.name if village else "", "township": township.name,
                 "program": program.name if program else "", "year": str(program.year) if program else "",
                 "issuer": issuer.split("\n")[-1], "month": str(self._ctx.clock.today().month),
                 "quarter": str((self._ctx.clock.today().month - 1) // 3 + 1)}
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
                status="draft", edition=1, created_by=user.id, **values,
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
            checker = RowChecker(n.notice_type.roster_schema)
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
                        refused = {p.column for p in prechecked[i]}
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
            r.issues = issue_dicts(validate_row(clean, schema))
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

    def _editable(self, notice_id: str) -> Notice:
        n = self._get(notice_id)
        if n.status != "draft":
            raise TransitionError(
                _("只有草稿可以修改；当前状态为“{status}”。").format(status=STATUS_LABELS[n.status]))
        return n

    def _refresh_duplicates(self, n: Notice) -> None:
        """Recompute duplicate-ID marks of a notice; only rows whose marks change are written.

        The searching is done in SQL so that a 100,000-row roster is never loaded for it.
        """
        live = (RosterRow.notice == n.id) & (~RosterRow.deleted) & (RosterRow.id_number != "")
        Mine = RosterRow.alias()
        mine = Mine.select(Mine.id_number).where(
            (Mine.notice == n.id) & (~Mine.deleted) & (Mine.id_number != ""))
        repeated = (Mine.select(Mine.id_number).where((Mine.notice == n.id) & (~Mine.deleted) & (Mine.id_number != ""))
                    .group_by(Mine.id_number).having(fn.COUNT(Mine.id) > 1))
        elsewhere: dict[str, list[str]] = {}
        if n.program_id:
            Other = Notice.alias()
            q = (RosterRow.select(RosterRow.id_number, Other.title)
                 .join(Other, on=(RosterRow.notice == Other.id))
                 .where((Other.program == n.program_id) & (Other.id != n.id) & (~Other.deleted)
                        & (~RosterRow.deleted) & RosterRow.id_number.in_(mine)
                        & (Other.status.not_in(("withdrawn", "superseded")))
                        & (Other.id != (n.supersedes_id or ""))))
            for number, title in q.tuples():
                elsewhere.setdefault(number, []).append(title)
        candidates = RosterRow.id_number.in_(repeated)
        if elsewhere:
            candidates |= RosterRow.id_number.in_(list(elsewhere))
        pairs = list(RosterRow.select(RosterRow.id, RosterRow.id_number).where(live & candidates).tuples())
        dups = duplicate_issues(pairs, elsewhere)
        flagged = {rid for (rid,) in RosterRow.select(RosterRow.id).where(
            (RosterRow.notice == n.id) & (~RosterRow.deleted)
            & (fn.instr(RosterRow.issues, f'"{DUPLICATE_CODE}"') > 0)).tuples()}
        for r in RosterRow.select().where(RosterRow.id.in_(list(flagged | set(dups)))):
            rid = r.id
            kept = [i for i in r.issues if i["code"] != DUPLICATE_CODE]
            new = kept + issue_dicts(dups.get(rid, []))
            if new != r.issues:
                r.issues = new
                save_change(r)

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
            n = self._get(notice_id)
            if n.status not in ("draft", "in_review"):
                raise TransitionError(_("只能在草稿或待审核状态下记录村级审核。"))
            s = SignOff(id=new_id(), township_id=n.township_id, notice=n.id, kind="village_review",
                        body=body.strip(), names=names, signed_on=signed_on, recorded_by=user.id)
            save_change(s, created=True)
            record(self._ctx, user, "notice.village_review", "notice", n.id, {"body": body, "signers": len(names)})

    def approve(self, notice_id: str, by: str) -> None:
        user = self._users.require(by, "reviewer")
        with self._ctx.write():
            n = self._in_state(notice_id, "in_review", _("审批"))
            if n.submitted_by == user.id:
                raise TransitionError(_("提交人不能审批自己提交的公示，请由另一位审核人审批。"))
            if n.village_id and not _sign_offs(n.id, "village_review"):
                raise TransitionError(_("村级公示须先记录村两委或村务监督委员会的审核签字。"))
            township = Region.get_by_id(n.township_id)
            s = SignOff(id=new_id(), township_id=n.township_id, notice=n.id, kind="township_approval",
                        body=f"{township.name}人民政府", names=[user.display_name],
                        signed_on=self._ctx.clock.today(), recorded_by=user.id)
            save_change(s, created=True)
            self._move(n, "approved", user, "notice.approve", approved_by=user.id)

    def publish(self, notice_id: str, by: str, start: date | None = None) -> PublicNotice:
        """Freeze the content: posting period, fingerprint of the public view and content digest."""
        user = self._users.require(by, "preparer", "reviewer")
        start = start or self._ctx.clock.today()
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
            n.published_at = self._ctx.clock.now().isoformat()
            if n.supersedes_id:
                old = Notice.get_by_id(n.supersedes_id)
                if old.status == "published":
                    old.status = "superseded"
                    save_change(old)
                    record(self._ctx, user, "notice.superseded", "notice", old.id, {"by": n.id})
            self._move(n, "published", user, "notice.publish", published_by=user.id,
                       summary={"fingerprint": n.fingerprint, "start": str(period.start), "end": str(period.end)})
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
                         edition=old.edition + 1, supersedes=old.id, created_by=user.id, **fields)
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
            n = self._get(notice_id)
            if n.status not in ("approved", "published"):
                raise TransitionError(
                    _("只有已审批或公示中的公示可以撤回；当前状态为“{status}”。").format(status=STATUS_LABELS[n.status]))
            self._move(n, "withdrawn", user, "notice.withdraw", withdraw_reason=reason.strip())

    def close(self, notice_id: str, by: str) -> None:
        """End the posting: only after the period, and only with every objection answered."""
        user = self._users.require(by, "reviewer")
        today = self._ctx.clock.today()
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
            self._move(n, "closed", user, "notice.close", closed_at=self._ctx.clock.now().isoformat(),
                       funds_released=release, summary={"funds_released": release})

    # ----------------------------------------------------------------- helpers
    def _in_state(self, notice_id: str, state: str, action: str) -> Notice:
        n = self._get(notice_id)
        if n.status != state:
            raise TransitionError(
                _("当前状态为“{status}”，不能{action}。").format(status=STATUS_LABELS[n.status], action=action),
                details=f"{n.status} -> {action}")
        return n

    def _move(self, n: Notice, status: str, user: UserInfo, action: str,
              summary: dict | None = None, **fields: Any) -> None:
        before = n.status
        n.status = status
        for k, v in fields.items():
            setattr(n, k, v)
        save_change(n)
        record(self._ctx, user, action, "notice", n.id, {"from": before, "to": status, **(summary or {})})


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
         .order_by(RosterRow.seq))
    return [r.__data__ for r in q]


def public_view_of(n: Notice) -> PublicNotice:
    """The public view of notice ``n`` built from the database, with the county's mask policy."""
    county = CountySettings.load()
    policy = MaskPolicy.from_pattern(county.id_mask_pattern)
    if county.show_id_column:
        policy = MaskPolicy(**{**policy.__dict__, "show_id_column": True})
    nt = n.notice_type
    township = Region.get_by_id(n.township_id)
    program = n.program
    names = {
        "township": township.name,
        "village": n.village.name if n.village_id else "",
        "program": program.name if program else "",
        "year": str(program.year) if program else "",
        "rate": str(program.rate) if program and program.rate is not None else "",
    }
    return build_public_view(
        notice=n.__data__, notice_type=nt.__data__, rows=_row_dicts(n.id),
        sign_offs=[s.__data__ for s in _sign_offs(n.id)], policy=policy, names=names,
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
