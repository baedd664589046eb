"""Roster exports read back with a real spreadsheet reader."""

from __future__ import annotations

import python_calamine

from app.exports import ExportService
from app.money import format_yuan
from db.models import AuditEvent

from .world import make_world


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
    nid = w.published(4)
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
    nid = w.draft(3)
    modes = {}
    for view in ("public", "internal", "payment"):
        out = tmp_path / f"{view}.xlsx"
        ExportService(ctx).export(nid, view, out, w.reviewer)
        modes[view] = stat.S_IMODE(os.stat(out).st_mode)
    assert modes["internal"] == modes["payment"] == 0o600
    assert modes["public"] & 0o044  # the masked list is meant to be shared
