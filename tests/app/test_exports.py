"""Roster exports read back with a real spreadsheet reader; the 一卡通 payment file only once the
notice's money may be released (closed, no objection outstanding, no row in error)."""

from __future__ import annotations

import pytest
import python_calamine

from app.exports import ExportService, PaymentRefused
from app.money import format_yuan
from app.objections import ObjectionService
from db.models import AuditEvent, Notice, RosterRow

from .world import World, make_world


def _sheet(path):
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_index(0).to_python()


def test_public_export_is_masked_like_the_printed_notice(ctx, tmp_path):
    w = make_world(ctx)
    nid = w.published(12)
    out = tmp_path / "public.xlsx"
    result = ExportService(ctx).export(nid, "public", out, w.clerk)
    rows = _sheet(out)
    text = repr(rows)
    for r in w.notices.rows(nid):
        assert r.id_number not in text and r.bank_account not in text and r.phone not in text
    assert rows[2][:3] == ["序号", "村民小组", "户主姓名"]
    assert result.rows == 12 and len([r for r in rows if r and str(r[0]).isdigit()]) == 12
    total = sum(r.amount_fen for r in w.notices.rows(nid))
    assert any(format_yuan(total) in str(r[0]) for r in rows if r)
    assert any("身份证号码" in str(r[0]) for r in rows if r)  # the withheld-fields footnote


def test_internal_export_has_full_data_as_text_and_is_audited(ctx, tmp_path):
    w = make_world(ctx)
    nid = w.published(5)
    out = tmp_path / "internal.xlsx"
    ExportService(ctx).export(nid, "internal", out, w.clerk)
    rows = _sheet(out)
    ids = {r[3] for r in rows[3:8]}
    assert ids == {r.id_number for r in w.notices.rows(nid)}
    event = AuditEvent.get(AuditEvent.action == "export.internal")
    assert event.summary == {"rows": 5, "file": "internal.xlsx"} and event.username == "clerk"


def test_payment_layout_lists_accounts_and_exact_amounts(ctx, tmp_path):
    w = make_world(ctx)
    nid = _closed(w, 4)
    out = tmp_path / "pay.xlsx"
    ExportService(ctx).export(nid, "payment", out, w.reviewer)
    rows = _sheet(out)
    assert rows[2] == ["序号", "姓名", "身份证号码", "一卡通账号", "发放金额（元）", "补贴项目", "备注"]
    source = w.notices.rows(nid)
    assert [r[4] for r in rows[3:7]] == [format_yuan(r.amount_fen, thousands=False) for r in source]
    assert all(r[3] == "6228480000000000001" for r in rows[3:7])


def test_an_unwritable_target_fails_cleanly(ctx, tmp_path):
    import pytest

    from app.exports import ExportError

    w = make_world(ctx)
    nid = w.published(2)
    with pytest.raises(ExportError):
        ExportService(ctx).export(nid, "public", tmp_path / "missing-folder" / "x.xlsx", w.clerk)
    assert not list(tmp_path.glob("**/*.part"))


def test_files_with_personal_data_are_readable_by_the_clerks_account_only(ctx, tmp_path):
    import os
    import stat

    w = make_world(ctx)
    nid = _closed(w, 3)
    modes = {}
    for view in ("public", "internal", "payment"):
        out = tmp_path / f"{view}.xlsx"
        ExportService(ctx).export(nid, view, out, w.reviewer)
        modes[view] = stat.S_IMODE(os.stat(out).st_mode)
    assert modes["internal"] == modes["payment"] == 0o600
    assert modes["public"] & 0o044  # the masked list is meant to be shared


# ------------------------------------------------------------------- when money may be released
def _closed(w: World, n: int = 5) -> str:
    nid = w.ended(n)
    w.notices.close(nid, w.reviewer)
    return nid


def _withdrawn(w: World) -> str:
    nid = w.approved(3)
    w.notices.withdraw(nid, w.reviewer, "面积统计口径有误")
    return nid


def _superseded(w: World) -> str:
    return w.superseded(3)


def _with_open_objections(w: World) -> str:
    """Closed, then two objections arrived (one being looked into) and one was answered."""
    nid = _closed(w, 3)
    objections = ObjectionService(w.ctx)
    first = objections.record(nid, w.clerk, channel="phone", content="面积少算了")
    objections.start_investigation(first, w.clerk)
    objections.record(nid, w.clerk, channel="visit", content="账号不是我的")
    answered = objections.record(nid, w.clerk, channel="letter", content="标准是多少")
    objections.answer(answered, w.reviewer, "每亩 103.55 元。")
    return nid


def _with_error_rows(w: World) -> str:
    nid = _closed(w, 5)
    bad = [{"code": "id_checksum", "column": "id_number", "message": "身份证号码校验位不对", "severity": "error"}]
    ids = [r.id for r in w.notices.rows(nid)[:3]]
    RosterRow.update(issues=bad).where(RosterRow.id.in_(ids)).execute()
    return nid


def _not_releasing_money(w: World) -> str:
    """Closed without the close-out recording that money may be released (a notice that pays nothing)."""
    nid = _closed(w, 3)
    Notice.update(funds_released=False).where(Notice.id == nid).execute()
    return nid


REFUSED = {
    "draft": (lambda w: w.draft(3), "还没有发布（当前状态：草稿）"),
    "in_review": (lambda w: w.reviewed(3), "还没有发布（当前状态：待审核）"),
    "approved": (lambda w: w.approved(3), "还没有发布（当前状态：已审批）"),
    "published_in_period": (lambda w: w.published(3), "公示尚未结束（公示期至 "),
    "published_period_over": (lambda w: w.ended(3), "还没有结束公示"),
    "withdrawn": (_withdrawn, "已撤回"),
    "superseded": (_superseded, "已被更正公示“（更正）"),
    "closed_with_open_objections": (_with_open_objections, "还有 2 条异议未办结"),
    "closed_with_error_rows": (_with_error_rows, "名单中有 3 行有错误"),
    "closed_without_money": (_not_releasing_money, "没有记录资金可以发放"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_the_payment_file_is_refused_until_money_may_be_released(ctx, tmp_path, case):
    make, says = REFUSED[case]
    w = make_world(ctx)
    nid = make(w)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "pay.xlsx"
    exports = ExportService(ctx)
    with pytest.raises(PaymentRefused) as refused:
        exports.export(nid, "payment", out, w.reviewer)
    reason = str(refused.value)
    assert says in reason and "\n" not in reason
    assert exports.payment_blocker(nid) == reason  # the editor's menu shows the same words
    assert list(folder.iterdir()) == []  # nothing written, not even a part file
    assert not AuditEvent.select().where(AuditEvent.action == "export.payment").exists()


def test_a_running_notice_is_refused_with_its_end_date(ctx, tmp_path):
    w = make_world(ctx)
    nid = w.published(3)
    end = w.notices.detail(nid).posting_end
    assert f"公示尚未结束（公示期至 {end.isoformat()}）" in ExportService(ctx).payment_blocker(nid)


def test_a_superseded_notice_points_to_its_correction(ctx):
    w = make_world(ctx)
    old = _superseded(w)
    new = Notice.get(Notice.supersedes == old)
    assert f"“{new.title}”" in ExportService(ctx).payment_blocker(old)


def test_the_payment_file_of_a_closed_clean_notice_is_written_and_audited(ctx, tmp_path):
    w = make_world(ctx)
    nid = _closed(w, 4)
    before = Notice.get_by_id(nid)
    exports = ExportService(ctx)
    assert exports.payment_blocker(nid) == ""
    out = tmp_path / "pay.xlsx"
    result = exports.export(nid, "payment", out, w.reviewer)
    total = sum(r.amount_fen for r in w.notices.rows(nid))
    assert result.rows == 4 and out.exists()
    assert f"合计金额：{format_yuan(total, thousands=False)} 元，共 4 笔" in repr(_sheet(out))
    event = AuditEvent.get(AuditEvent.action == "export.payment")
    assert event.username == "rev" and event.object_entity == "notice" and event.object_id == nid
    assert event.summary == {"payments": 4, "total_fen": total, "file": "pay.xlsx"}
    # exporting is not paying: the notice (and what the close-out recorded) is as it was
    after = Notice.get_by_id(nid)
    assert after.funds_released and after.version == before.version and after.status == "closed"


def test_answering_the_last_objection_allows_the_payment_file(ctx, tmp_path):
    w = make_world(ctx)
    nid = _closed(w, 3)
    objections = ObjectionService(ctx)
    oid = objections.record(nid, w.clerk, channel="phone", content="面积少算了")
    assert "还有 1 条异议未办结" in ExportService(ctx).payment_blocker(nid)
    objections.answer(oid, w.reviewer, "已核实，面积无误。")
    assert ExportService(ctx).export(nid, "payment", tmp_path / "pay.xlsx", w.clerk).rows == 3


def test_no_payment_file_is_left_when_its_audit_event_cannot_be_written(ctx, tmp_path, monkeypatch):
    import app.exports

    w = make_world(ctx)
    nid = _closed(w, 3)

    def failing(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(app.exports, "record", failing)
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(OSError):
        ExportService(ctx).export(nid, "payment", folder / "pay.xlsx", w.reviewer)
    assert list(folder.iterdir()) == []
