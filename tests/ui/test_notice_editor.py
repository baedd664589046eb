"""The notice editor driven like a clerk and a reviewer would, offscreen, on the demo township:
fix invalid cells and watch the marks and totals, submit, sign off, approve, publish with a
confirmation that says what publishing freezes; every button enabled only for the right role and
state; content edits, rows added and deleted, corrections, exports, and the new-notice dialog."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QMessageBox
from stdnum.cn import ric

from app.notices import NoticeService
from ui.common import Changes
from ui.notice_dialogs import NewNoticeDialog, TextPromptDialog, VillageReviewDialog
from ui.notice_editor import NoticeEditor

from .conftest import save_screenshot

EDIT, BACKGROUND, TOOLTIP = Qt.ItemDataRole.EditRole, Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ToolTipRole
LEFT = Qt.MouseButton.LeftButton


def _notice(env, status: str, **match) -> str:
    for s in NoticeService(env.ctx).summaries():
        if s.status == status and all(getattr(s, k) == v for k, v in match.items()):
            return s.id
    raise LookupError(status)


def _open(qtbot, env, notice_id: str) -> NoticeEditor:
    editor = NoticeEditor(env, notice_id)
    qtbot.addWidget(editor)
    editor.resize(1366, 768)
    editor.show()
    qtbot.waitExposed(editor)
    return editor


def _answer(monkeypatch, button) -> list[str]:
    """Answer every confirmation with ``button``; returns the questions asked."""
    asked: list[str] = []

    def question(_parent, _title, text, *_args, **_kwargs):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def _enabled(editor: NoticeEditor) -> set[str]:
    return {action for action, button in editor.buttons.items() if button.isEnabled()}


def _cell_editor(editor: NoticeEditor) -> QLineEdit:
    """The line edit open over a cell (closed ones linger until deleted)."""
    [line] = [w for w in editor.roster.table.viewport().findChildren(QLineEdit) if w.isVisible()]
    return line


def _type_into_cell(qtbot, editor: NoticeEditor, row: int, key: str, text: str) -> None:
    """Double-click-style editing: open the cell editor, replace its text, press Enter."""
    roster = editor.roster
    index = roster.model.index(row, roster.model.column_of(key))
    roster.table.setCurrentIndex(index)
    roster.table.edit(index)
    line = _cell_editor(editor)
    line.selectAll()
    qtbot.keyClicks(line, text)
    with qtbot.waitSignal(roster.model.row_edited, timeout=5000):
        qtbot.keyClick(line, Qt.Key.Key_Return)


# --------------------------------------------------------------------------- the workflow
def test_clerk_fixes_the_invalid_cells_sees_totals_update_and_submits(qtbot, clerk_env):
    nid = _notice(clerk_env, "draft", type_code="subsidy_payout")
    editor = _open(qtbot, clerk_env, nid)
    roster, model = editor.roster, editor.roster.model
    save_screenshot(editor, "notice_editor_draft_zh")
    assert editor.status_label.text() == "草稿"
    assert not editor.buttons["submit"].isEnabled()
    assert "还有 2 行明细存在错误" in editor.buttons["submit"].toolTip()
    assert "2 行有错误" in roster.totals_label.text()
    before = NoticeService(clerk_env.ctx).totals(nid)

    with qtbot.waitSignal(roster.filter_applied, timeout=5000):
        qtbot.mouseClick(roster.only_issues, LEFT)
    assert model.rowCount() == 2
    bad_id = model.index(0, model.column_of("id_number"))
    assert model.data(bad_id, BACKGROUND) is not None and "校验位" in model.data(bad_id, TOOLTIP)
    number = model.data(bad_id, EDIT)
    _type_into_cell(qtbot, editor, 0, "id_number", number[:17] + ric.calc_check_digit(number))
    assert model.data(bad_id, BACKGROUND) is None and model.data(bad_id, TOOLTIP) is None
    assert "1 行有错误" in roster.totals_label.text()
    assert not editor.buttons["submit"].isEnabled()

    bad_amount = model.index(1, model.column_of("amount"))
    expected = model.data(bad_amount, TOOLTIP).split("应为")[1].strip(" 元").replace(",", "")
    _type_into_cell(qtbot, editor, 1, "amount", expected)
    assert model.data(bad_amount, BACKGROUND) is None
    after = NoticeService(clerk_env.ctx).totals(nid)
    assert (after.error_rows, after.total_fen) == (0, before.total_fen - 100)
    yuan, fen = divmod(after.total_fen, 100)
    assert roster.totals_label.text().startswith(f"共 {after.rows} 行，金额合计 {yuan:,}.{fen:02d} 元")
    assert "错误" not in roster.totals_label.text()
    assert editor.buttons["submit"].isEnabled()

    with qtbot.waitSignal(editor.action_done, timeout=10_000):
        qtbot.mouseClick(editor.buttons["submit"], LEFT)
    assert editor.status_label.text() == "待审核"
    assert NoticeService(clerk_env.ctx).detail(nid).status == "in_review"
    assert not model.editable and not roster.add_button.isEnabled()
    assert editor.header_form.fields["title"].isReadOnly()


def test_reviewer_signs_off_and_approves_then_the_clerk_publishes(qtbot, clerk_env, reviewer_env, monkeypatch):
    nid = _notice(reviewer_env, "in_review")
    review = _open(qtbot, reviewer_env, nid)
    assert not review.buttons["approve"].isEnabled()
    assert "审核签字" in review.buttons["approve"].toolTip()

    qtbot.mouseClick(review.buttons["village_review"], LEFT)
    dialog = review.findChild(VillageReviewDialog)
    assert dialog.isVisible() and not dialog.ok_button.isEnabled()
    assert dialog.body.currentText().endswith("村务监督委员会")
    dialog.names.setText("李德明、陈秀英 赵国强")
    with qtbot.waitSignal(review.action_done, timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, LEFT)
    assert "李德明、陈秀英、赵国强" in review.review.sign_offs.text()
    assert review.buttons["approve"].isEnabled()
    with qtbot.waitSignal(review.action_done, timeout=10_000):
        qtbot.mouseClick(review.buttons["approve"], LEFT)
    assert review.status_label.text() == "已审批"
    assert "乡镇审批：石门镇人民政府　签字人：王强" in review.review.sign_offs.text()

    editor = _open(qtbot, clerk_env, nid)
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    period = NoticeService(clerk_env.ctx).preview_period(nid)
    rows = NoticeService(clerk_env.ctx).totals(nid).rows
    with qtbot.waitSignal(editor.action_done, timeout=30_000):
        qtbot.mouseClick(editor.buttons["publish"], LEFT)
    [question] = asked
    for words in ("冻结", "公示内容", f"明细名单（共 {rows} 行", "核验指纹", "二维码", "更正公示", period.end.isoformat()):
        assert words in question
    assert editor.status_label.text() == "公示中"
    d = NoticeService(clerk_env.ctx).detail(nid)
    assert d.status == "published" and d.fingerprint
    assert d.fingerprint[:4] in editor.review.publication.text()
    assert editor.banner.isVisible() and "冻结" in editor.banner.text()
    assert not editor.roster.model.editable
    assert _enabled(editor) == {"correct"}
    editor.pages.setCurrentIndex(2)
    save_screenshot(editor, "notice_editor_published_zh")


def test_declining_the_publish_confirmation_changes_nothing(qtbot, clerk_env, monkeypatch):
    nid = _notice(clerk_env, "approved")
    editor = _open(qtbot, clerk_env, nid)
    asked = _answer(monkeypatch, QMessageBox.StandardButton.No)
    qtbot.mouseClick(editor.buttons["publish"], LEFT)
    assert asked and editor.last_op is None
    assert NoticeService(clerk_env.ctx).detail(nid).status == "approved"
    assert editor.status_label.text() == "已审批"


EXPECTED = [
    # (user, notice, lifecycle buttons enabled)
    ("clerk", ("draft", "subsidy_payout"), {"village_review"}),  # submit waits for the fixes
    ("reviewer", ("draft", "subsidy_payout"), {"village_review"}),
    ("clerk", ("in_review", None), {"village_review"}),
    ("reviewer", ("in_review", None), {"return", "village_review"}),  # approve waits for the sign-off
    ("clerk", ("approved", None), {"publish"}),
    ("reviewer", ("approved", None), {"publish", "withdraw"}),
    ("clerk", ("published", "poverty_project"), {"correct"}),
    ("reviewer", ("published", "poverty_project"), {"withdraw"}),  # close waits for the period
    ("clerk", ("closed", None), set()),
    ("reviewer", ("closed", None), set()),
    ("reviewer", ("withdrawn", None), set()),
]


@pytest.mark.parametrize(("who", "which", "enabled"), EXPECTED)
def test_buttons_are_enabled_only_for_the_right_role_and_state(qtbot, clerk_env, reviewer_env, who, which,
                                                              enabled):
    env = clerk_env if who == "clerk" else reviewer_env
    status, type_code = which
    nid = _notice(env, status, **({"type_code": type_code} if type_code else {}))
    editor = _open(qtbot, env, nid)
    assert _enabled(editor) == enabled
    for action, button in editor.buttons.items():
        if action not in enabled:
            assert button.toolTip()  # a disabled button says why
    editable = who == "clerk" and status == "draft"
    assert editor.roster.model.editable == editable
    assert editor.roster.add_button.isEnabled() == editable
    assert editor.header_form.fields["body"].isReadOnly() != editable


def test_the_reviewer_is_told_why_a_running_notice_cannot_be_closed(qtbot, reviewer_env):
    nid = _notice(reviewer_env, "published", type_code="poverty_project")
    editor = _open(qtbot, reviewer_env, nid)
    end = NoticeService(reviewer_env.ctx).detail(nid).posting_end
    assert f"公示期至 {end} 才结束" in editor.buttons["close"].toolTip()
    assert "剩余" in editor.review.period.text()
    assert "此操作需要以下角色：经办人" in editor.buttons["correct"].toolTip()


def test_return_needs_a_comment_that_the_clerk_then_sees(qtbot, clerk_env, reviewer_env):
    nid = _notice(reviewer_env, "in_review")
    review = _open(qtbot, reviewer_env, nid)
    qtbot.mouseClick(review.buttons["return"], LEFT)
    dialog = review.findChild(TextPromptDialog)
    assert not dialog.ok_button.isEnabled()
    dialog.text_edit.setPlainText("二组王某某的面积与台账不符，请核实。")
    assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(review.action_done, timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, LEFT)
    assert review.status_label.text() == "草稿"
    editor = _open(qtbot, clerk_env, nid)
    assert editor.banner.isVisible()
    assert editor.banner.text() == "审核人退回意见：二组王某某的面积与台账不符，请核实。"
    assert editor.roster.model.editable


def test_withdrawing_asks_for_a_reason(qtbot, reviewer_env):
    nid = _notice(reviewer_env, "approved")
    editor = _open(qtbot, reviewer_env, nid)
    qtbot.mouseClick(editor.buttons["withdraw"], LEFT)
    dialog = editor.findChild(TextPromptDialog)
    dialog.text_edit.setPlainText("补贴面积统计口径有误")
    with qtbot.waitSignal(editor.action_done, timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, LEFT)
    assert editor.status_label.text() == "已撤回"
    assert "补贴面积统计口径有误" in editor.banner.text()
    assert _enabled(editor) == set()


def test_a_correction_opens_the_new_edition(qtbot, clerk_env, monkeypatch):
    nid = _notice(clerk_env, "published", type_code="poverty_project")
    editor = _open(qtbot, clerk_env, nid)
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(clerk_env.bus.notice_open_requested, timeout=10_000) as opened:
        qtbot.mouseClick(editor.buttons["correct"], LEFT)
    assert "第 2 版" in asked[0]
    new = NoticeService(clerk_env.ctx).detail(opened.args[0])
    assert (new.status, new.edition, new.supersedes_id) == ("draft", 2, nid)
    assert "该公示已有一份更正正在办理" in editor.buttons["correct"].toolTip()


def test_an_error_from_the_service_is_shown_and_the_state_kept(qtbot, clerk_env, monkeypatch):
    nid = _notice(clerk_env, "approved")
    editor = _open(qtbot, clerk_env, nid)
    NoticeService(clerk_env.ctx).withdraw(nid, _user(clerk_env, "wangqiang"), "另行处理")  # meanwhile, elsewhere
    _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    shown = []
    monkeypatch.setattr("ui.notice_editor.show_error", lambda _parent, err: shown.append(str(err)))
    with qtbot.waitSignal(editor.action_failed, timeout=10_000):
        qtbot.mouseClick(editor.buttons["publish"], LEFT)
    assert shown and "不能发布" in shown[0]
    assert editor.status_label.text() == "已撤回"


def _user(env, username: str) -> str:
    from app.users import UserService

    return next(u.id for u in UserService(env.ctx).list() if u.username == username)


# ---------------------------------------------------------------------------- content and rows
def test_content_edits_are_saved_and_unsaved_ones_guard_the_tab(qtbot, clerk_env, monkeypatch):
    nid = _notice(clerk_env, "draft", type_code="subsidy_payout")
    editor = _open(qtbot, clerk_env, nid)
    form = editor.header_form
    editor.pages.setCurrentWidget(form)
    assert not form.save_button.isEnabled()
    form.fields["doc_number"].setText("石政〔2026〕18号")
    assert form.save_button.isEnabled()
    with qtbot.waitSignal(editor.action_done, timeout=5000):
        qtbot.mouseClick(form.save_button, LEFT)
    assert NoticeService(clerk_env.ctx).detail(nid).header["doc_number"] == "石政〔2026〕18号"
    assert editor.can_close()

    form.fields["title"].setText("改过但未保存的标题")
    _answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert not editor.can_close()
    _answer(monkeypatch, QMessageBox.StandardButton.Discard)
    assert editor.can_close()
    assert NoticeService(clerk_env.ctx).detail(nid).title != "改过但未保存的标题"
    _answer(monkeypatch, QMessageBox.StandardButton.Save)
    assert editor.can_close()
    assert NoticeService(clerk_env.ctx).detail(nid).title == "改过但未保存的标题"
    assert editor.title_label.text() == "改过但未保存的标题"


def test_rows_are_added_and_deleted_in_drafts(qtbot, clerk_env, monkeypatch):
    nid = _notice(clerk_env, "draft", type_code="subsidy_payout")
    editor = _open(qtbot, clerk_env, nid)
    roster, service = editor.roster, NoticeService(clerk_env.ctx)
    before = service.totals(nid)
    qtbot.mouseClick(roster.add_button, LEFT)
    after = service.totals(nid)
    assert (after.rows, after.error_rows) == (before.rows + 1, before.error_rows + 1)
    last = roster.model.rowCount() - 1
    assert roster.table.currentIndex().row() == last  # the new row, ready for typing
    assert roster.model.data(roster.model.index(last, roster.model.column_of("name")), BACKGROUND) is not None
    qtbot.keyClick(_cell_editor(editor), Qt.Key.Key_Escape)

    roster.select_row(last)
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(roster.delete_button, LEFT)
    assert "1 行" in asked[0]
    assert service.totals(nid) == before
    assert roster.model.rowCount() == before.rows
    assert "已删除 1 行" in roster.message.text()


def test_a_change_elsewhere_refreshes_the_open_editor(qtbot, clerk_env):
    nid = _notice(clerk_env, "approved")
    editor = _open(qtbot, clerk_env, nid)
    NoticeService(clerk_env.ctx).publish(nid, _user(clerk_env, "zhangli"))
    clerk_env.bus.changed.emit(Changes(notices=True))
    assert editor.status_label.text() == "公示中"


def test_rows_changed_elsewhere_keep_the_clerks_place(qtbot, clerk_env):
    nid = _notice(clerk_env, "draft", type_code="subsidy_payout")
    editor = _open(qtbot, clerk_env, nid)
    model, table = editor.roster.model, editor.roster.table
    rows = model.rowCount()
    editor.roster.select_row(150)
    table.scrollTo(model.index(150, 0))
    scroll, current = table.verticalScrollBar().value(), model.row_id(150)
    assert scroll > 0
    NoticeService(clerk_env.ctx).delete_rows([model.row_id(3)], _user(clerk_env, "zhangli"))
    clerk_env.bus.changed.emit(Changes(rows=True))  # e.g. from an import into this draft
    assert model.rowCount() == rows - 1
    assert model.row_id(table.currentIndex().row()) == current
    assert table.verticalScrollBar().value() == scroll
    assert "1 行有错误" in editor.roster.totals_label.text()  # the deleted row 4 had the bad ID


# ---------------------------------------------------------------------------- print and export
def test_export_of_the_public_list_and_of_the_internal_roster(qtbot, clerk_env, monkeypatch, tmp_path):
    from openpyxl import load_workbook

    nid = _notice(clerk_env, "published", type_code="poverty_project")
    editor = _open(qtbot, clerk_env, nid)
    op = editor.export_to("public", tmp_path / "public.xlsx")
    with qtbot.waitSignal(op.finished, timeout=20_000):
        pass
    assert (tmp_path / "public.xlsx").exists()
    assert "已导出" in editor.notice_message.text()

    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    monkeypatch.setattr("ui.notice_editor.QFileDialog.getSaveFileName",
                        lambda *_a, **_k: (str(tmp_path / "internal.xlsx"), ""))
    editor.export_actions["internal"].trigger()
    with qtbot.waitSignal(editor.last_op.finished, timeout=20_000):
        pass
    assert "身份证号码" in asked[0] and "记入操作记录" in asked[0]
    sheet = load_workbook(tmp_path / "internal.xlsx").active
    assert "内部清册" in sheet["A1"].value


def _payment_entry(editor: NoticeEditor):
    """The 一卡通 entry of the editor's 导出 menu, as the clerk finds it there."""
    menu = editor.export_button.menu()
    [entry] = [a for a in menu.actions() if a.text().startswith(("一卡通发放表", "Payment list"))]
    return menu, entry


def test_the_payment_entry_says_why_until_the_money_may_be_released(qtbot, clerk_env, monkeypatch, tmp_path):
    from app.exports import ExportService
    from app.objections import ObjectionService

    exports = ExportService(clerk_env.ctx)
    for status, says in (("draft", "还没有发布（当前状态：草稿）"), ("published", "公示尚未结束（公示期至 ")):
        editor = _open(qtbot, clerk_env, _notice(clerk_env, status, type_code="subsidy_payout"))
        menu, entry = _payment_entry(editor)
        reason = exports.payment_blocker(editor.notice_id)
        assert says in reason
        assert not entry.isEnabled() and entry.toolTip() == reason and entry.statusTip() == reason
        assert menu.toolTipsVisible()  # a menu shows its entries' tooltips only when told to
        assert editor.export_actions["public"].isEnabled() and editor.export_actions["internal"].isEnabled()

    nid = _notice(clerk_env, "closed", type_code="subsidy_payout")
    editor = _open(qtbot, clerk_env, nid)
    menu, entry = _payment_entry(editor)
    assert entry.isEnabled() and "可以导出交银行发放" in entry.toolTip()
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    chosen: list[str] = []
    target = [tmp_path / "pay.xlsx"]

    def save_as(*_args, **_kwargs):
        chosen.append("asked")
        return str(target[0]), ""

    monkeypatch.setattr("ui.notice_editor.QFileDialog.getSaveFileName", save_as)
    entry.trigger()
    with qtbot.waitSignal(editor.last_op.finished, timeout=20_000):
        pass
    assert (tmp_path / "pay.xlsx").exists() and "已导出" in editor.notice_message.text()
    assert "记入操作记录" in asked[0]

    # an objection arrives after the close: the entry is disabled at once, with the reason
    ObjectionService(clerk_env.ctx).record(nid, _user(clerk_env, "zhangli"), channel="phone",
                                           content="我家的补贴面积少算了")
    clerk_env.bus.changed.emit(Changes(objections=True))
    assert not entry.isEnabled()
    assert "还有 1 条异议未办结" in entry.toolTip() and entry.toolTip() == exports.payment_blocker(nid)
    asked.clear()
    chosen.clear()
    target[0] = tmp_path / "pay2.xlsx"
    entry.trigger()  # a disabled entry does nothing: nothing asked, nothing written
    assert asked == [] and chosen == [] and not (tmp_path / "pay2.xlsx").exists()


def test_the_payment_entry_gives_its_reason_in_english(qtbot, clerk_env, english):
    editor = _open(qtbot, clerk_env, _notice(clerk_env, "draft", type_code="subsidy_payout"))
    _menu, entry = _payment_entry(editor)
    assert not entry.isEnabled() and "not been posted" in entry.toolTip()
    assert not re.search(r"[\u4e00-\u9fff]", entry.toolTip())


def test_print_preview_opens_for_the_notice(qtbot, clerk_env):
    nid = _notice(clerk_env, "published", type_code="poverty_project")
    editor = _open(qtbot, clerk_env, nid)
    dialog = editor.open_print_preview()
    assert dialog is not None and dialog.notice_id == nid
    with qtbot.waitSignal(dialog.rendered, timeout=60_000) as rendered:
        pass
    assert rendered.args[0] >= 1
    dialog.close()


# ---------------------------------------------------------------------------- new notice
def test_new_notice_dialog_creates_a_draft_from_the_template(qtbot, clerk_env):
    dialog = NewNoticeDialog(clerk_env)
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.notice_type.setCurrentIndex(dialog.notice_type.findText("惠农补贴发放情况公示"))
    assert "公示期不少于7个自然日" in dialog.hint.text()
    assert not dialog.create_button.isEnabled()  # the village has not been chosen yet
    dialog.village.setCurrentIndex(dialog.village.findText("石门村"))
    assert dialog.create_button.isEnabled()
    suggested = dialog.title.placeholderText().split("：", 1)[1]
    assert suggested.startswith("关于石门村") and dialog.program.currentText() in suggested
    with qtbot.waitSignal(dialog.created, timeout=5000) as created:
        qtbot.mouseClick(dialog.create_button, LEFT)
    d = NoticeService(clerk_env.ctx).detail(created.args[0])
    assert (d.status, d.village, d.title, d.notice_type.code) == ("draft", "石门村", suggested, "subsidy_payout")
    assert not dialog.isVisible()


def test_new_notice_dialog_takes_a_typed_title_and_a_township_level(qtbot, clerk_env):
    dialog = NewNoticeDialog(clerk_env)
    qtbot.addWidget(dialog)
    dialog.notice_type.setCurrentIndex(dialog.notice_type.findText("衔接资金项目公告公示"))
    dialog.village.setCurrentIndex(dialog.village.findData(""))
    dialog.title.setText("石门镇2026年衔接资金项目公告")
    with qtbot.waitSignal(dialog.created, timeout=5000) as created:
        qtbot.mouseClick(dialog.create_button, LEFT)
    d = NoticeService(clerk_env.ctx).detail(created.args[0])
    assert (d.title, d.village_id) == ("石门镇2026年衔接资金项目公告", None)


def test_only_preparers_may_create_notices(qtbot, reviewer_env):
    dialog = NewNoticeDialog(reviewer_env)
    qtbot.addWidget(dialog)
    dialog.village.setCurrentIndex(2)
    assert not dialog.create_button.isEnabled()
    assert dialog.create_button.toolTip()


# ---------------------------------------------------------------------------- English
def test_the_editor_speaks_english_when_asked(qtbot, clerk_env, english):
    draft = _open(qtbot, clerk_env, _notice(clerk_env, "draft", type_code="subsidy_payout"))
    assert draft.buttons["submit"].text() == "Submit"
    assert draft.status_label.text() == "Draft"
    assert draft.roster.model.headerData(2, Qt.Orientation.Horizontal) == "Household head"
    assert "2 rows with errors" in draft.roster.totals_label.text()
    draft.roster.select_row(3)
    save_screenshot(draft, "notice_editor_draft_en")
    published = _open(qtbot, clerk_env, _notice(clerk_env, "published", type_code="subsidy_payout"))
    assert published.status_label.text() == "Posted"
    published.pages.setCurrentIndex(2)
    save_screenshot(published, "notice_editor_published_en")


def test_a_notice_another_workstation_handles_opens_read_only_with_its_name(qtbot, clerk_env, monkeypatch):
    """One writer per notice: a draft the county lists as handled by another workstation opens
    with a banner naming it and saying how to take it over; every button is off, each saying why,
    and a cell cannot be changed, by double click or by typing."""
    from db.changes import utc_now
    from db.models import Notice, SyncState, Workstation

    nid = _notice(clerk_env, "draft")
    with clerk_env.ctx.write():
        SyncState.insert(id=1, device_id="this-workstation", last_pulled_seq=0).execute()
        Workstation.insert(id="village-office", name="村委会的电脑", township_id=Notice.get_by_id(nid).township_id,
                           updated_at=utc_now()).execute()
        Notice.update(owner_device="village-office").where(Notice.id == nid).execute()
    editor = _open(qtbot, clerk_env, nid)
    assert editor.banner.isVisible() and "村委会的电脑" in editor.banner.text() and "移交" in editor.banner.text()
    assert "办理：村委会的电脑" in editor.info_label.text()
    assert editor.request_button.isVisible() and editor.request_button.isEnabled()
    assert _enabled(editor) == set()
    assert all("村委会的电脑" in button.toolTip() for button in editor.buttons.values())
    assert not editor.roster.model.editable
    before = NoticeService(clerk_env.ctx).rows(nid, 0, 1)[0]
    table = editor.roster.table
    index = table.model().index(0, 1)
    table.setCurrentIndex(index)
    table.setFocus()
    qtbot.keyClicks(table, "Wang")
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert NoticeService(clerk_env.ctx).rows(nid, 0, 1)[0] == before
    save_screenshot(editor, "notice_editor_read_only_zh")


def test_a_page_the_county_took_down_is_said_first_on_the_notice(qtbot, clerk_env):
    """The county's take-down record, as a sync brings it: the banner says so, with the date and
    the county's reason, above what it says about a published notice."""
    from db.changes import utc_now
    from db.models import Notice, PageTakedown

    nid = _notice(clerk_env, "published")
    with clerk_env.ctx.write():
        PageTakedown.insert(id=nid, notice_id=nid, township_id=Notice.get_by_id(nid).township_id, active=True,
                            reason="名单中有外村人员，待核实。", taken_down_at="2026-11-30T02:00:00Z",
                            updated_at=utc_now()).execute()
    editor = _open(qtbot, clerk_env, nid)
    first, _sep, rest = editor.banner.text().partition("\n")
    assert editor.banner.isVisible()
    assert "2026-11-30 暂停在网上公开" in first and "名单中有外村人员，待核实。" in first, first
    assert "冻结" in rest
    save_screenshot(editor, "notice_editor_page_taken_down_zh")
