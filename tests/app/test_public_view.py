"""The public view: the only form in which a notice leaves the workstation publicly."""

from __future__ import annotations

import re

from app.masking import MaskPolicy, mask_free_text
from app.notices import NoticeService
from app.rows import RowInput
from db.models import CountySetting, RosterRow

from .world import make_world


def _personal_values(notice_id: str) -> set[str]:
    values = set()
    for r in RosterRow.select().where(RosterRow.notice == notice_id):
        values |= {v for v in (r.id_number, r.bank_account, r.phone) if v}
    return values


def test_no_demo_public_view_contains_an_id_number_account_or_phone(demo_ctx):
    service = NoticeService(demo_ctx)
    checked = 0
    for s in service.summaries():
        text = service.public_view(s.id).canonical_json().decode("utf-8")
        secrets = _personal_values(s.id)
        checked += len(secrets)
        for secret in secrets:
            assert secret not in text
        assert not re.search(r"(?<!\d)\d{17}[\dX](?!\d)", text)
        assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)
    assert checked > 2000


def test_withheld_fields_are_named(demo_ctx):
    service = NoticeService(demo_ctx)
    subsidy = next(s for s in service.summaries() if s.type_code == "subsidy_payout" and s.status == "published")
    view = service.public_view(subsidy.id)
    assert set(view.withheld) == {"身份证号码", "一卡通账号", "联系电话"}
    assert [c.label for c in view.columns][:3] == ["序号", "村民小组", "户主姓名"]
    assert view.total_amount_fen == subsidy.total_fen
    assert view.amount_in_words.endswith(("分", "整", "角"))


def test_county_can_show_a_masked_id_column(ctx):
    w = make_world(ctx)
    with ctx.write():
        CountySetting.create(id="s1", key="show_id_column", value=True, updated_at="x", version=1)
    nid = w.draft(3)
    view = w.notices.public_view(nid)
    col = [c.key for c in view.columns].index("id_number")
    for row, r in zip(view.rows, w.notices.rows(nid), strict=True):
        assert row[col] == r.id_number[:2] + "*" * 13 + r.id_number[-3:]


def test_free_text_is_scrubbed_of_personal_numbers(ctx):
    w = make_world(ctx)
    nid = w.draft(1)
    row = w.notices.rows(nid)[0]
    w.notices.update_row(row.id, w.clerk, RowInput(
        name=row.name, id_number=row.id_number, group_name=row.group_name, quantity=row.quantity,
        rate=row.rate, amount_fen=row.amount_fen,
        remark=f"代领人身份证{row.id_number}，电话13912345678，卡号6228480000000000001"))
    text = w.notices.public_view(nid).canonical_json().decode()
    assert row.id_number not in text and "13912345678" not in text and "6228480000000000001" not in text
    assert "139****5678" in text and "（账号已隐去）" in text


def test_scrub_leaves_ordinary_figures_alone():
    policy = MaskPolicy()
    text = "2026年补贴标准103.55元/亩，合计1,216.48元，文号石政〔2026〕12号，电话0872-6123456"
    assert mask_free_text(text, policy) == text


def test_fingerprint_changes_with_any_published_figure(ctx):
    w = make_world(ctx)
    nid = w.draft(3)
    before = w.notices.public_view(nid).fingerprint()
    assert w.notices.public_view(nid).fingerprint() == before  # deterministic
    row = w.notices.rows(nid)[0]
    w.notices.update_row(row.id, w.clerk, RowInput(
        name=row.name, id_number=row.id_number, group_name=row.group_name, quantity=row.quantity,
        rate=row.rate, amount_fen=row.amount_fen, remark="更正"))
    assert w.notices.public_view(nid).fingerprint() != before
