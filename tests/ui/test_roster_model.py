"""The lazy roster table: ids in memory, pages fetched by id on first display, validation marks
on the cells, edits through the service, filtering in SQL off the GUI thread — and a 100,000-row
roster that scrolls to its end with only a few pages ever fetched."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.notices import NoticeService
from app.search import initials_fast
from ui.roster_model import ERROR_BACKGROUND, RosterTableModel

DISPLAY, EDIT, TOOLTIP, BACKGROUND = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole,
                                      Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.BackgroundRole)


def _demo_draft(env) -> str:
    """The demo's imported draft with two mistakes (row 4: ID check digit, row 8: amount)."""
    return next(s.id for s in NoticeService(env.ctx).summaries() if s.status == "draft" and s.error_rows)


def _model(env, notice_id, **kw) -> RosterTableModel:
    service = NoticeService(env.ctx)
    model = RosterTableModel(env, notice_id, service.detail(notice_id).roster_schema, **kw)
    model.set_ids(service.row_ids(notice_id))
    return model


def test_pages_are_fetched_on_first_display_and_the_oldest_forgotten(clerk_env):
    nid = _demo_draft(clerk_env)
    model = _model(clerk_env, nid, page_size=50, max_pages=2)
    rows = NoticeService(clerk_env.ctx).rows(nid)
    assert model.rowCount() == len(rows) > 200
    assert model.fetch_count == 0 and model.cached_rows() == 0
    name = model.column_of("name")
    assert model.data(model.index(0, name)) == rows[0].name
    assert model.data(model.index(49, name)) == rows[49].name
    assert model.fetch_count == 1 and model.cached_rows() == 50
    assert model.data(model.index(120, name)) == rows[120].name
    assert model.data(model.index(len(rows) - 1, name)) == rows[-1].name
    assert model.fetch_count == 3 and model.cached_rows() <= 100
    model.data(model.index(0, name))  # page 0 was evicted: fetched again
    assert model.fetch_count == 4


def test_cells_show_money_and_quantities_exactly(clerk_env):
    nid = _demo_draft(clerk_env)
    model = _model(clerk_env, nid)
    row = NoticeService(clerk_env.ctx).rows(nid)[0]
    amount, quantity = model.column_of("amount"), model.column_of("quantity")
    yuan, fen = divmod(row.amount_fen, 100)
    assert model.data(model.index(0, amount)) == f"{yuan:,}.{fen:02d}"
    assert model.data(model.index(0, amount), EDIT) == f"{yuan}.{fen:02d}"
    assert Decimal(model.data(model.index(0, quantity))) == row.quantity
    assert model.data(model.index(0, 0)) == "1"
    assert model.headerData(model.column_of("id_number"), Qt.Orientation.Horizontal) == "身份证号码"


def test_invalid_cells_are_red_with_the_problem_as_tooltip(clerk_env):
    model = _model(clerk_env, _demo_draft(clerk_env))
    id_col, amount_col, name_col = model.column_of("id_number"), model.column_of("amount"), model.column_of("name")
    bad_id = model.index(3, id_col)
    assert model.data(bad_id, BACKGROUND).color() == ERROR_BACKGROUND
    assert "校验位" in model.data(bad_id, TOOLTIP)
    assert model.data(model.index(3, name_col), BACKGROUND) is None
    bad_amount = model.index(7, amount_col)
    assert "应为" in model.data(bad_amount, TOOLTIP)
    assert model.data(bad_amount, Qt.ItemDataRole.DecorationRole) is not None
    assert model.data(model.index(0, amount_col), TOOLTIP) is None


def test_an_edit_goes_through_the_service_and_clears_the_mark(clerk_env, qtbot):
    nid = _demo_draft(clerk_env)
    model = _model(clerk_env, nid)
    model.set_editable(True)  # the editor does this when the service allows editing
    cell = model.index(7, model.column_of("amount"))
    expected = model.data(cell, TOOLTIP).split("应为")[1].strip(" 元")
    with qtbot.waitSignal(model.row_edited):
        assert model.setData(cell, expected.replace(",", ""))
    assert model.data(cell, BACKGROUND) is None and model.data(cell, TOOLTIP) is None
    assert NoticeService(clerk_env.ctx).totals(nid).error_rows == 1


def test_text_that_is_no_number_is_refused_and_shown_in_the_cell(clerk_env, qtbot):
    nid = _demo_draft(clerk_env)
    model = _model(clerk_env, nid)
    model.set_editable(True)
    cell = model.index(0, model.column_of("quantity"))
    before = model.data(cell)
    with qtbot.waitSignal(model.edit_failed) as failed:
        assert not model.setData(cell, "十二亩半")
    assert "补贴面积" in failed.args[0]
    assert model.data(cell) == before  # nothing stored
    assert model.data(cell, BACKGROUND).color() == ERROR_BACKGROUND
    assert "补贴面积" in model.data(cell, TOOLTIP)
    assert model.setData(cell, "12.5")  # a number clears it
    assert model.data(cell, BACKGROUND) is None and model.data(cell) == "12.5"


def test_cells_are_editable_only_when_the_editor_allows_it(clerk_env):
    model = _model(clerk_env, _demo_draft(clerk_env))
    cell = model.index(0, model.column_of("name"))
    assert not model.flags(cell) & Qt.ItemFlag.ItemIsEditable
    assert not model.setData(cell, "王五")
    model.set_editable(True)
    assert model.flags(cell) & Qt.ItemFlag.ItemIsEditable
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable  # 序号 never


def test_the_filter_runs_off_the_gui_thread_and_hands_over_an_id_list(clerk_env, qtbot):
    from ui.roster_panel import RosterPanel

    nid = _demo_draft(clerk_env)
    service = NoticeService(clerk_env.ctx)
    panel = RosterPanel(clerk_env, nid, service.detail(nid).roster_schema)
    qtbot.addWidget(panel)
    total = panel.model.rowCount()
    surname = service.rows(nid)[0].name[0]
    with qtbot.waitSignal(panel.filter_applied, timeout=5000):
        panel.filter_edit.setText(surname)  # what an input method commits (QTest types ASCII only)
    assert 0 < panel.model.rowCount() < total
    assert panel.model.ids() == service.row_ids(nid, surname)
    assert "筛选后显示" in panel.totals_label.text()
    with qtbot.waitSignal(panel.filter_applied, timeout=5000):
        panel.filter_edit.clear()
    with qtbot.waitSignal(panel.filter_applied, timeout=5000):
        panel.only_issues.setChecked(True)
    assert [panel.model.row_view(r).seq for r in range(panel.model.rowCount())] == [4, 8]


# ---------------------------------------------------------------------------- 100,000 rows
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(i: int) -> str:
    """The i-th of 100,000 distinct valid ID numbers (quick to make, unlike random ones)."""
    born = date(1950, 1, 1) + timedelta(days=i // 1000)
    body = f"530102{born:%Y%m%d}{i % 1000:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def _big_notice(env, rows: int) -> str:
    """A draft with ``rows`` valid rows, inserted through the service's bulk path."""
    from app.demo import make_name
    from app.money import compute_amount_fen
    from app.reference import ReferenceService
    from app.rows import RowInput

    service = NoticeService(env.ctx)
    program = next(p for p in ReferenceService(env.ctx).programs() if p.notice_type_code == "subsidy_payout")
    nid = service.create(env.user.id, notice_type_id=program.notice_type_id, program_id=program.id,
                         title="大名单测试")
    rng = random.Random(100_000)
    rate = Decimal("103.55")
    data = []
    for i in range(rows):
        qty = Decimal(rng.randrange(50, 2500)) / 100
        data.append(RowInput(name=make_name(rng), id_number=_id_number(i), group_name=f"{i * 7 // rows + 1}组",
                             quantity=qty, rate=rate, amount_fen=compute_amount_fen(qty, rate),
                             bank_account=f"6228{i:015d}"))
    service.add_rows(nid, env.user.id, data, [()] * rows, validated=True)
    return nid


@pytest.mark.slow
def test_a_100k_roster_scrolls_to_its_end_with_a_few_pages_fetched(clerk_env, qtbot):
    from ui.notice_editor import NoticeEditor

    nid = _big_notice(clerk_env, 100_000)
    editor = NoticeEditor(clerk_env, nid)
    qtbot.addWidget(editor)
    editor.resize(1366, 768)
    editor.show()
    qtbot.waitExposed(editor)
    model, table = editor.roster.model, editor.roster.table
    assert model.rowCount() == 100_000
    assert "共 100000 行" in editor.roster.totals_label.text()
    table.scrollToBottom()
    QApplication.processEvents()
    bottom = table.rowAt(table.viewport().height() - 2)
    assert bottom == 100_000 - 1
    assert model.data(model.index(bottom, 0)) == "100000"
    assert model.fetch_count <= 4
    assert model.cached_rows() <= 4 * 200 < 100_000
    # and a filter over all of them (pinyin initials, in SQL on a worker thread)
    with qtbot.waitSignal(editor.roster.filter_applied, timeout=10_000):
        editor.roster.filter_edit.setText("zl")
    shown = model.rowCount()
    assert 0 < shown < 100_000
    for r in range(min(shown, 50)):
        assert "zl" in initials_fast(model.row_view(r).name)
    assert model.cached_rows() <= 20 * 200
