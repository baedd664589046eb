"""Open sync problems described for the side-by-side view: the workstation's version and the
county's, field by field, with the fields that differ marked.

The local side of a conflict found while pulling is the row as it is now on this workstation
(the problem record holds only the county's copy). Values are formatted for reading: money in
yuan, yes/no, status labels; technical columns (hashes, snapshots) are left out. The decision
itself is :class:`sync.client.ConflictService`'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.context import Context
from app.i18n import N_, _
from db.changes import payload_of
from db.models import ENTITY_MODELS
from sync.client import ConflictService, ProblemInfo

ENTITY_LABELS = {
    "notice": N_("公示"), "roster_row": N_("明细行"), "sign_off": N_("签字记录"), "board": N_("公开栏"),
    "posting": N_("张贴记录"), "evidence_file": N_("张贴照片"), "objection": N_("异议"),
    "objection_answer": N_("异议答复"), "program": N_("项目"), "audit_event": N_("操作记录"),
    "region": N_("区划"), "notice_type": N_("公开事项"), "holiday_override": N_("节假日安排"),
    "county_setting": N_("县级设置"),
}

FIELD_LABELS = {
    "title": N_("标题"), "doc_number": N_("文号"), "salutation": N_("称呼"), "body": N_("正文"),
    "legal_basis": N_("公开依据"), "issuer": N_("发布单位"), "contact_person": N_("联系人"),
    "contact_phone": N_("联系电话"), "supervision_phone": N_("监督电话"), "status": N_("状态"),
    "edition": N_("版次"), "posting_start": N_("公示开始"), "posting_end": N_("公示结束"),
    "posting_days": N_("公示天数"), "posting_unit": N_("天数计算"), "return_comment": N_("退回意见"),
    "withdraw_reason": N_("撤回理由"), "closed_at": N_("结束时间"), "funds_released": N_("资金可以发放"),
    "notice_type_id": N_("公开事项"), "program_id": N_("项目"), "village_id": N_("村"),
    "seq": N_("序号"), "name": N_("名称/姓名"), "id_number": N_("身份证号码"), "group_name": N_("村民小组"),
    "quantity": N_("数量"), "rate": N_("标准"), "amount_fen": N_("金额（元）"), "bank_account": N_("一卡通账号"),
    "phone": N_("联系电话"), "remark": N_("备注"), "extra": N_("其他列"), "location": N_("位置"),
    "posted_on": N_("张贴日期"), "taken_down_on": N_("撤下日期"), "note": N_("说明"), "kind": N_("类别"),
    "names": N_("签字人"), "signed_on": N_("签字日期"), "channel": N_("渠道"), "content": N_("内容"),
    "contact": N_("联系人"), "due_date": N_("答复期限"), "text": N_("答复内容"), "deleted": N_("已删除"),
    "version": N_("版本号"), "updated_at": N_("修改时间"),
}

#: shown last and never marked as a difference: they always differ between two versions
META_FIELDS = ("version", "updated_at")
#: not for reading: ids of the row itself, hashes, frozen snapshots, validation caches
HIDDEN_FIELDS = frozenset({
    "id", "township_id", "public_snapshot", "fingerprint", "content_digest", "issues", "supersedes_id",
    "created_by", "submitted_by", "approved_by", "published_by", "recorded_by", "posting_explanation",
})

_UNITS = {"natural": N_("自然日"), "working": N_("工作日")}


@dataclass(frozen=True)
class FieldDiff:
    key: str
    label: str
    local: str
    server: str
    differs: bool
    meta: bool = False
    result: str = ""  # the value "keep mine" gives this field: this workstation's or the county's
    kept_mine: bool = False  # ... taken from this workstation


@dataclass(frozen=True)
class ProblemView:
    id: int
    kind: str  # conflict | rejected | integrity
    entity: str
    entity_label: str
    title: str
    reason: str
    choosable: bool  # "keep mine" / "take theirs" apply
    has_local: bool
    has_server: bool
    fields: tuple[FieldDiff, ...]

    @property
    def differing(self) -> tuple[FieldDiff, ...]:
        return tuple(f for f in self.fields if f.differs)


def format_value(key: str, value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, bool) or key in ("deleted", "funds_released"):
        return _("是") if value else _("否")
    if key == "amount_fen" and isinstance(value, int):
        from app.money import format_yuan

        return format_yuan(value)
    if key == "status":
        from app.notices import STATUS_LABELS

        return _(STATUS_LABELS.get(value, value))
    if key == "posting_unit":
        return _(_UNITS.get(value, value))
    if key in _REFERENCES and isinstance(value, str):
        return _reference_name(key, value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


#: reference columns shown by the name of the row they point to
_REFERENCES = {"notice_type_id": "notice_type", "program_id": "program", "village_id": "region",
               "board_id": "board", "notice_id": "notice"}


def _reference_name(key: str, row_id: str) -> str:
    model = ENTITY_MODELS.get(_REFERENCES[key])
    row = model.get_or_none(model.id == row_id) if model is not None else None
    name = getattr(row, "name", None) or getattr(row, "title", None)
    return str(name) if name else row_id


def _title(entity: str, data: dict) -> str:
    if entity == "roster_row":
        return _("第 {seq} 行 {name}").format(seq=data.get("seq", "?"), name=data.get("name", ""))
    for key in ("title", "name", "number", "key", "text"):
        if data.get(key):
            return str(data[key])[:60]
    return ""


def _local_row(entity: str, entity_id: str) -> dict | None:
    model = ENTITY_MODELS.get(entity)
    row = model.get_or_none(model.id == entity_id) if model is not None else None
    return payload_of(row) if row is not None else None


def describe(problem: ProblemInfo) -> ProblemView:
    local = problem.local_data
    if local is None and problem.kind == "conflict":
        local = _local_row(problem.entity, problem.entity_id)
    server = problem.server_data
    if server is None and problem.kind == "replaced" and problem.local_data is not None:
        server = _local_row(problem.entity, problem.entity_id)  # the county's copy, taken since
    keys = [k for k in dict.fromkeys([*(local or {}), *(server or {})]) if k not in HIDDEN_FIELDS]
    order = {k: i for i, k in enumerate(FIELD_LABELS)}
    diffs = []
    merged = local or {}
    if problem.kind == "conflict" and local is not None and server is not None:
        from sync.client import merged_keeping_mine

        merged = merged_keeping_mine(local, server, list(problem.kept_fields) if problem.kept_fields is not None
                                     else None)
    for key in keys:
        mine = format_value(key, (local or {}).get(key))
        theirs = format_value(key, (server or {}).get(key))
        meta = key in META_FIELDS
        both = local is not None and server is not None
        result = format_value(key, merged.get(key))
        diffs.append(FieldDiff(key, _(FIELD_LABELS[key]) if key in FIELD_LABELS else key, mine, theirs,
                               differs=both and not meta and mine != theirs, meta=meta, result=result,
                               kept_mine=both and not meta and mine != theirs and result == mine))
    # what differs first, then the fields in their natural order, the version stamps last
    diffs.sort(key=lambda f: (f.meta, not f.differs, order.get(f.key, len(order)), f.key))
    title = _title(problem.entity, local or server or {})
    return ProblemView(
        id=problem.id, kind=problem.kind, entity=problem.entity,
        entity_label=_(ENTITY_LABELS.get(problem.entity, problem.entity)) if problem.entity else "",
        title=title, reason=problem.reason,
        choosable=problem.kind == "conflict" and server is not None and problem.entity in ENTITY_MODELS,
        has_local=local is not None, has_server=server is not None, fields=tuple(diffs))


def open_problem_views(ctx: Context) -> list[ProblemView]:
    """Every unresolved conflict or refusal, oldest first, ready for the side-by-side view."""
    latest: dict[str, ProblemInfo] = {}
    for p in ConflictService(ctx).open_problems():
        latest.pop(p.entity_id, None)  # one decision settles every record of a row: show the newest
        latest[p.entity_id] = p
    return [describe(p) for p in latest.values()]


def replaced_reason(entity: str, local: dict, server: dict | None = None) -> str:
    """Why this workstation's copy of a row gave way to the county's, as the clerk reads it: for a
    notice this workstation had posted, which printout to take down."""
    from sync.protocol import FROZEN_NOTICE_STATUSES

    if entity == "notice" and local.get("status") in FROZEN_NOTICE_STATUSES:
        text = _("同一份公示“{title}”已经发布过（在另一台电脑上，或在本机恢复备份之前），县里以那一份为准。"
                 "本机打印的公示（公示期 {start} 至 {end}）与县里的正式记录不一致，扫码会显示不一致："
                 "请从公开栏撤下本机打印的那一份，按本机现在的版本（即县里的版本）重新打印张贴。").format(
            title=local.get("title", ""), start=local.get("posting_start") or "?", end=local.get("posting_end") or "?")
        if server and server.get("posting_start"):
            text += _("县里的公示期：{start} 至 {end}。").format(start=server["posting_start"],
                                                         end=server.get("posting_end") or "?")
        return text
    return _("本机这一项与县里的版本号相同、内容却不同（例如本机从备份恢复过，或两台电脑各自做了修改）。"
             "本机已改用县里的版本，本机原来的版本保存在这条记录中。")
