"""What the notice editor asks of NoticeService: roster ids filtered in SQL, pages by id, totals,
cell edits from typed text, the notice's details, and which lifecycle actions a user may take."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from app.errors import AppError, NotFound, PermissionDenied, TransitionError, ValidationError
from app.money import compute_amount_fen
from app.notices import ACTION_RULES
from app.objections import ObjectionService
from app.rows import RowInput
from db.models import AuditEvent

from .world import World, make_world


@pytest.fixture
def w(ctx) -> World:
    return make_world(ctx)


def _named(w: World, names: list[str]) -> str:
    nid = w.notices.create(w.clerk, notice_type_id=w._type(w.program_id), program_id=w.program_id,
                           village_id=w.village_id)
    rows = w.rows(len(names))
    w.notices.add_rows(nid, w.clerk, [RowInput(**{**r.__dict__, "name": name}) for r, name in zip(rows, names, strict=True)])
    return nid


# ------------------------------------------------------------------------------ roster queries
def test_row_ids_follow_seq_and_skip_deleted_rows(w):
    nid = w.draft(6)
    rows = w.notices.rows(nid)
    w.notices.delete_row(rows[2].id, w.clerk)
    assert w.notices.row_ids(nid) == [r.id for r in rows if r.id != rows[2].id]


def test_filter_by_name_pinyin_initials_id_number_and_group(w):
    nid = _named(w, ["张丽", "李德明", "张国强", "阿依古丽·买买提"])
    rows = {r.name: r for r in w.notices.rows(nid)}
    ids = w.notices.row_ids
    assert ids(nid, "张") == [rows["张丽"].id, rows["张国强"].id]
    assert ids(nid, "zl") == [rows["张丽"].id]
    assert ids(nid, "ZGQ") == [rows["张国强"].id]
    assert ids(nid, "aygl") == [rows["阿依古丽·买买提"].id]
    number = rows["李德明"].id_number
    assert ids(nid, number[-6:]) == [rows["李德明"].id]
    # every word must match: a group and a name
    group = rows["张国强"].group_name
    assert ids(nid, f"{group} 张") == [r.id for r in w.notices.rows(nid) if r.group_name == group and "张" in r.name]
    assert ids(nid, "没有这个人") == []


def test_the_filter_sees_every_change_to_the_roster(w):
    nid = _named(w, ["张丽", "李德明", "王芳"])
    first, second, third = w.notices.row_ids(nid)
    assert w.notices.row_ids(nid, "zl") == [first]
    w.notices.update_cell(third, w.clerk, "name", "赵磊")
    assert w.notices.row_ids(nid, "zl") == [first, third]
    w.notices.delete_rows([first], w.clerk)
    assert w.notices.row_ids(nid, "zl") == [third]
    added = w.notices.append_blank_row(nid, w.clerk)
    w.notices.update_cell(added, w.clerk, "name", "周亮")
    assert w.notices.row_ids(nid, "zl") == [third, added]
    assert w.notices.row_ids(nid, "zl", only_issues=True) == [added]  # no ID number yet
    w.notices.update_cell(third, w.clerk, "amount", "1")
    assert w.notices.row_ids(nid, "zl", only_issues=True) == [third, added]
    assert w.notices.row_ids(nid, "李") == [second]


def test_filters_of_two_notices_do_not_mix(w):
    one, two = _named(w, ["张丽"]), _named(w, ["张亮"])
    assert w.notices.row_ids(one, "张") == w.notices.row_ids(one)
    assert w.notices.row_ids(two, "张") == w.notices.row_ids(two)
    assert w.notices.row_ids(one, "zl") != w.notices.row_ids(two, "zl")


def test_filter_by_an_id_number_typed_with_a_small_x(w):
    nid = w.draft(3)
    row = w.notices.rows(nid)[1]
    w.notices.update_cell(row.id, w.clerk, "id_number", "11010519491231002X")
    assert w.notices.row_ids(nid, "002x") == [row.id]


def test_only_issues_keeps_rows_with_errors_or_warnings(w):
    nid = w.draft(5)
    rows = w.notices.rows(nid)
    w.notices.update_cell(rows[1].id, w.clerk, "amount", "1")  # amount no longer quantity × rate
    w.notices.update_cell(rows[3].id, w.clerk, "id_number", "110105491231002")  # legacy 15 digits: warning
    assert w.notices.row_ids(nid, only_issues=True) == [rows[1].id, rows[3].id]
    assert w.notices.row_ids(nid, rows[1].name, only_issues=True) == [rows[1].id]


def test_rows_by_ids_returns_the_page_in_the_order_asked(w):
    nid = w.draft(5)
    ids = w.notices.row_ids(nid)
    page = w.notices.rows_by_ids([ids[4], ids[0], "no-such-row", ids[2]])
    assert [r.id for r in page] == [ids[4], ids[0], ids[2]]
    assert page[0].seq == 5 and page[0].name
    assert w.notices.rows_by_ids([]) == []


def test_totals_count_rows_amount_and_problem_rows(w):
    nid = w.draft(4)
    rows = w.notices.rows(nid)
    t = w.notices.totals(nid)
    assert (t.rows, t.total_fen, t.error_rows, t.issue_rows) == (4, sum(r.amount_fen for r in rows), 0, 0)
    w.notices.update_cell(rows[0].id, w.clerk, "amount", "1.00")
    w.notices.delete_row(rows[1].id, w.clerk)
    t = w.notices.totals(nid)
    assert t.rows == 3
    assert t.total_fen == 100 + rows[2].amount_fen + rows[3].amount_fen
    assert (t.error_rows, t.issue_rows) == (1, 1)


def test_totals_of_an_empty_roster(w):
    nid = w.notices.create(w.clerk, notice_type_id=w._type(w.program_id), program_id=w.program_id)
    t = w.notices.totals(nid)
    assert (t.rows, t.total_fen, t.error_rows) == (0, 0, 0)


# ------------------------------------------------------------------------------ cell edits
def test_update_cell_reads_numbers_exactly_and_the_amount_follows(w):
    nid = w.draft(2)
    row = w.notices.rows(nid)[0]
    got = w.notices.update_cell(row.id, w.clerk, "quantity", "１２.５亩")
    assert got.quantity == Decimal("12.5")
    assert got.amount_fen == compute_amount_fen(Decimal("12.5"), Decimal("103.55"))
    assert got.issues == ()
    got = w.notices.update_cell(row.id, w.clerk, "quantity", "1公顷")
    assert got.quantity == Decimal(15)


def test_an_amount_that_disagreed_stays_and_is_marked(w):
    nid = w.draft(2)
    row = w.notices.rows(nid)[0]
    w.notices.update_cell(row.id, w.clerk, "amount", "1,000")
    got = w.notices.update_cell(row.id, w.clerk, "quantity", "3")
    assert got.amount_fen == 100_000
    assert [i["code"] for i in got.issues] == ["amount_mismatch"]
    fixed = w.notices.update_cell(row.id, w.clerk, "amount", "310.65")
    assert fixed.issues == ()


def test_update_cell_refuses_text_that_is_no_number_and_changes_nothing(w):
    nid = w.draft(2)
    row = w.notices.rows(nid)[0]
    with pytest.raises(ValidationError, match="补贴面积") as info:
        w.notices.update_cell(row.id, w.clerk, "quantity", "十二亩半")
    assert "十二" not in str(info.value)  # the message never repeats what was typed
    assert w.notices.rows_by_ids([row.id])[0] == row


def test_update_cell_marks_a_bad_id_number_and_clears_it_when_fixed(w):
    nid = w.draft(3)
    row = w.notices.rows(nid)[0]
    good = row.id_number
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    marked = w.notices.update_cell(row.id, w.clerk, "id_number", bad)
    assert [i["column"] for i in marked.issues] == ["id_number"]
    assert w.notices.totals(nid).error_rows == 1
    cleared = w.notices.update_cell(row.id, w.clerk, "id_number", good)
    assert cleared.issues == () and w.notices.totals(nid).error_rows == 0


def test_update_cell_stores_extra_columns_and_empties_numbers(w):
    nid = w.notices.create(w.clerk, notice_type_id=w.notices.notice_types()[[t.code for t in w.notices.notice_types()].index("poverty_household")].id)
    rid = w.notices.append_blank_row(nid, w.clerk)
    got = w.notices.update_cell(rid, w.clerk, "x_item", " 小额信贷贴息 ")
    assert got.extra == {"x_item": "小额信贷贴息"}
    got = w.notices.update_cell(rid, w.clerk, "amount", "")
    assert got.amount_fen is None
    assert "amount" in {i["column"] for i in got.issues}  # required: marked missing


def test_update_cell_needs_a_known_column_a_preparer_and_a_draft(w):
    nid = w.draft(1)
    row = w.notices.rows(nid)[0]
    with pytest.raises(ValidationError):
        w.notices.update_cell(row.id, w.clerk, "password", "x")
    with pytest.raises(PermissionDenied):
        w.notices.update_cell(row.id, w.reviewer, "name", "王五")
    with pytest.raises(NotFound):
        w.notices.update_cell("nope", w.clerk, "name", "王五")
    published = w.published(2)
    with pytest.raises(TransitionError):
        w.notices.update_cell(w.notices.rows(published)[0].id, w.clerk, "name", "王五")


def test_append_blank_row_is_last_and_marked_incomplete(w):
    nid = w.draft(3)
    rid = w.notices.append_blank_row(nid, w.clerk)
    assert w.notices.row_ids(nid)[-1] == rid
    row = w.notices.rows_by_ids([rid])[0]
    assert row.seq == 4
    assert {"name", "id_number"} <= {i["column"] for i in row.issues}


def test_delete_rows_is_one_change_of_one_draft(w):
    nid = w.draft(5)
    ids = w.notices.row_ids(nid)
    before = AuditEvent.select().count()
    assert w.notices.delete_rows(ids[1:3], w.clerk) == 2
    assert w.notices.row_ids(nid) == [ids[0], *ids[3:]]
    assert AuditEvent.select().count() == before + 2
    other = w.draft(1)
    with pytest.raises(ValidationError):
        w.notices.delete_rows([ids[0], w.notices.row_ids(other)[0]], w.clerk)
    with pytest.raises(NotFound):
        w.notices.delete_rows([ids[1]], w.clerk)  # already deleted
    assert len(w.notices.row_ids(nid)) == 3


def test_deleting_one_of_two_equal_id_numbers_clears_the_duplicate_mark(w):
    nid = w.draft(3)
    a, b, _c = w.notices.rows(nid)
    w.notices.update_cell(b.id, w.clerk, "id_number", a.id_number)
    assert w.notices.totals(nid).error_rows == 2
    w.notices.delete_rows([b.id], w.clerk)
    assert w.notices.totals(nid).error_rows == 0


# ------------------------------------------------------------------------------ details
def test_detail_of_a_published_village_notice(w):
    nid = w.published(3)
    d = w.notices.detail(nid)
    assert d.status == "published" and d.edition == 1
    assert d.notice_type.code == "subsidy_payout" and d.notice_type.min_days == 7
    assert d.village == "测试村" and d.program == "2026年耕地地力保护补贴"
    assert d.title == d.header["title"] and "测试村" in d.title
    assert d.posting_end - d.posting_start >= timedelta(days=7)
    assert d.posting_explanation and d.fingerprint
    assert [s.kind for s in d.sign_offs] == ["village_review", "township_approval"]
    assert d.sign_offs[0].names == ("甲", "乙")
    assert [c["key"] for c in d.roster_schema][:3] == ["group", "name", "id_number"]
    assert "补贴面积" in d.content_elements


def test_suggested_title_is_the_title_create_gives(w):
    type_id = w._type(w.program_id)
    suggested = w.notices.suggest_title(type_id, w.program_id, w.village_id)
    nid = w.notices.create(w.clerk, notice_type_id=type_id, program_id=w.program_id, village_id=w.village_id)
    assert suggested == w.notices.detail(nid).title == "关于测试村2026年耕地地力保护补贴发放情况的公示"


def test_preview_period_counts_like_publish(w):
    nid = w.approved(2)
    preview = w.notices.preview_period(nid)
    w.notices.publish(nid, w.clerk)
    d = w.notices.detail(nid)
    assert (preview.start, preview.end) == (d.posting_start, d.posting_end)
    assert list(preview.explanation) == list(d.posting_explanation)


# ------------------------------------------------------------------------------ actions
def _submitted_without_review(w: World) -> str:
    nid = w.draft()
    w.notices.submit(nid, w.clerk)
    return nid


def _draft_with_errors(w: World) -> str:
    nid = w.draft()
    w.notices.update_cell(w.notices.row_ids(nid)[0], w.clerk, "amount", "1")
    return nid


def _corrected(w: World) -> str:
    nid = w.published()
    w.notices.correct(nid, w.clerk)
    return nid


def _with_open_objection(w: World) -> str:
    nid = w.ended()
    ObjectionService(w.ctx).record(nid, w.clerk, channel="phone", content="面积不对", contact="村民")
    return nid


STATES = {
    "draft": lambda w: w.draft(),
    "draft_with_errors": _draft_with_errors,
    "empty_draft": lambda w: w.notices.create(w.clerk, notice_type_id=w._type(w.program_id)),
    "in_review": lambda w: w.reviewed(),
    "in_review_no_village_review": _submitted_without_review,
    "approved": lambda w: w.approved(),
    "running": lambda w: w.published(),
    "ended": lambda w: w.ended(),
    "ended_open_objection": _with_open_objection,
    "being_corrected": _corrected,
}

DO = {
    "edit": lambda w, n, u: w.notices.update_header(n, u, doc_number="石政〔2026〕1号"),
    "submit": lambda w, n, u: w.notices.submit(n, u),
    "return": lambda w, n, u: w.notices.return_for_changes(n, u, "面积需核实"),
    "village_review": lambda w, n, u: w.notices.record_village_review(
        n, u, body="村务监督委员会", names=["甲"], signed_on=w.ctx.clock.today()),
    "approve": lambda w, n, u: w.notices.approve(n, u),
    "publish": lambda w, n, u: w.notices.publish(n, u),
    "correct": lambda w, n, u: w.notices.correct(n, u),
    "withdraw": lambda w, n, u: w.notices.withdraw(n, u, "数据有误"),
    "close": lambda w, n, u: w.notices.close(n, u),
}


@pytest.mark.parametrize("state", list(STATES))
def test_actions_say_exactly_what_the_service_then_allows(w, state):
    """For every user and action: offered ⇔ the action succeeds; refused ⇔ it raises, with a reason."""
    assert set(DO) == set(ACTION_RULES)
    nid = STATES[state](w)
    for user in (w.clerk, w.reviewer, w.reviewer2, w.admin):
        offered = w.notices.actions(nid, user)
        assert set(offered) == set(ACTION_RULES)
        for action, reason in offered.items():
            with w.ctx.db.atomic() as txn:
                try:
                    DO[action](w, nid, user)
                except AppError as err:
                    assert reason, f"{state}: {action} offered to {user} but refused: {err}"
                else:
                    assert not reason, f"{state}: {action} refused to {user} ({reason}) but it succeeds"
                finally:
                    txn.rollback()
        assert w.notices.available_actions(nid, user) == {a for a, r in offered.items() if not r}


def test_refusals_explain_themselves(w):
    nid = _draft_with_errors(w)
    assert w.notices.actions(nid, w.clerk)["submit"] == "还有 1 行明细存在错误，请改正后再提交审核。"
    assert w.notices.actions(nid, w.reviewer)["submit"] == "此操作需要以下角色：经办人。"
    assert w.notices.actions(nid, w.clerk)["publish"] == "当前状态为“草稿”，不能发布。"
    running = w.published()
    assert "期满后方可结束公示" in w.notices.actions(running, w.reviewer)["close"]


def test_the_pinyin_filter_never_takes_the_slow_phrase_path(w, monkeypatch):
    """Per-row ``lazy_pinyin`` would take seconds on 100,000 rows (the bench measures the real
    figure); the filter must use the per-character table only."""
    import app.search

    def slow(*_args):
        raise AssertionError("phrase-based pinyin called per row")

    monkeypatch.setattr(app.search, "initials", slow)
    monkeypatch.setattr(app.search, "full_pinyin", slow)
    monkeypatch.setattr("pypinyin.lazy_pinyin", slow)
    nid = _named(w, ["张丽", "李德明"])
    assert len(w.notices.row_ids(nid, "zl")) == 1
