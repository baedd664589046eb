"""The objection inbox (异议) on the demo township: recording a phone objection, overdue in red,
investigating and answering, and the offer to open a notice that must be corrected."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from PySide6.QtCore import QDate, QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from app.notices import NoticeService
from app.objections import ObjectionService
from tests.ui.conftest import save_screenshot
from ui.common import RED

QINGSHI_SUBSIDY = "关于青石村2026年耕地地力保护补贴发放情况的公示"


def _page(qtbot, env):
    from ui.objections_page import ObjectionsPage

    page = ObjectionsPage(env)
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.show()
    return page


def _cells(page, row: int) -> list[str]:
    return [page.table.item(row, c).text() for c in range(page.table.columnCount())]


def _ok(dialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def _record_phone_objection(qtbot, page, env, received: date) -> str:
    dialog = page.record_objection()
    qtbot.addWidget(dialog)
    notice = next(s for s in NoticeService(env.ctx).summaries() if s.title == QINGSHI_SUBSIDY)
    dialog.notice.setCurrentIndex(dialog.notice.findData(notice.id))
    dialog.channel.setCurrentIndex(dialog.channel.findData("phone"))
    dialog.received.setDate(QDate(received.year, received.month, received.day))
    dialog.contact.setText("王某 13812345678")
    dialog.content.setPlainText("我家三组的补贴面积少算了 1.2 亩，请核实。")
    before = {o.id for o in ObjectionService(env.ctx).inbox(include_answered=True)}
    qtbot.mouseClick(_ok(dialog), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    (new,) = {o.id for o in ObjectionService(env.ctx).inbox(include_answered=True)} - before
    return new


def test_the_inbox_lists_unanswered_objections_with_their_due_dates(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    assert page.table.rowCount() == 1
    cells = _cells(page, 0)
    assert cells[:5] == ["2026-12-02", "7", "待处理", "来电", "2026-11-25"]
    assert cells[7] == "村民 周某" and "少算" in cells[8]
    assert page.summary.text() == "未答复 1 件"
    page.show_answered.setChecked(True)
    assert page.table.rowCount() == 2
    assert _cells(page, 1)[2] == "已答复"


def test_record_a_phone_objection_overdue_in_red_then_investigate_and_answer(qtbot, clerk_env, monkeypatch, caplog):
    page = _page(qtbot, clerk_env)
    with caplog.at_level(logging.DEBUG):
        oid = _record_phone_objection(qtbot, page, clerk_env, received=date(2026, 11, 15))
    # personal data is never logged (peewee's own SQL trace at DEBUG is off in the app: the app logs
    # at INFO or above)
    ours = [r.getMessage() for r in caplog.records if r.name != "peewee" or r.levelno >= logging.INFO]
    assert not [m for m in ours if "王某" in m or "1381234" in m or "5678" in m]
    # received ten days ago, answer due after seven: overdue, on top, in red
    row = page.row_of(oid)
    assert row == 0 and page.selected().id == oid
    cells = _cells(page, row)
    assert cells[:4] == ["2026-11-22", "逾期 3 天", "待处理", "来电"]
    assert cells[7] == "王某 138****5678"  # staff see the contact; only part of the phone is kept
    assert all(page.table.item(row, c).foreground().color() == RED for c in range(page.table.columnCount()))
    assert page.table.item(1, 0).foreground().color() != RED
    assert "1 件已超过答复期限" in page.summary.text()
    assert "王某 138****5678" in page.detail.toPlainText()

    qtbot.mouseClick(page.investigate_button, Qt.MouseButton.LeftButton)
    assert _cells(page, page.row_of(oid))[2] == "核查中"
    assert not page.investigate_button.isEnabled()

    page.select(oid)
    dialog = page.answer_selected()
    qtbot.addWidget(dialog)
    dialog.text.setPlainText("经村组核实，该户三组承包面积登记漏了 1.2 亩，已更正。")
    qtbot.mouseClick(dialog.correction, Qt.MouseButton.LeftButton, pos=QPoint(8, dialog.correction.height() // 2))
    assert dialog.correction.isChecked()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(clerk_env.bus.notice_open_requested, timeout=2000) as opened:
        qtbot.mouseClick(_ok(dialog), Qt.MouseButton.LeftButton)
    notice = next(s for s in NoticeService(clerk_env.ctx).summaries() if s.title == QINGSHI_SUBSIDY)
    assert opened.args == [notice.id]
    (answer,) = ObjectionService(clerk_env.ctx).answers(oid)
    assert answer.led_to_correction and answer.answered_by == "张丽"
    assert oid not in {o.id for o in page._shown}  # answered ones are hidden unless asked for
    page.show_answered.setChecked(True)
    page.select(oid)
    assert "已答复" in _cells(page, page.row_of(oid))[2]
    assert "（已更正公示）" in page.detail.toPlainText() and "漏了 1.2 亩" in page.detail.toPlainText()


def test_an_answer_without_correction_does_not_offer_to_open_the_notice(qtbot, clerk_env, monkeypatch):
    page = _page(qtbot, clerk_env)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: asked.append(a)))
    page.table.selectRow(0)
    oid = page.selected().id
    dialog = page.answer_selected()
    qtbot.addWidget(dialog)
    dialog.text.setPlainText("经核实面积无误，已电话告知本人。")
    qtbot.mouseClick(_ok(dialog), Qt.MouseButton.LeftButton)
    assert asked == [] and ObjectionService(clerk_env.ctx).answers(oid)[0].led_to_correction is False
    assert page.table.rowCount() == 0 and page.summary.text() == "未答复 0 件"


def test_an_empty_answer_is_refused_and_the_dialog_stays_open(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    page.table.selectRow(0)
    dialog = page.answer_selected()
    qtbot.addWidget(dialog)
    qtbot.mouseClick(_ok(dialog), Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    boxes = [b for b in dialog.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and boxes[0].text() == "请填写答复内容。"
    assert page.selected().status == "open"


def test_only_published_notices_are_offered_for_an_objection(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    dialog = page.record_objection()
    qtbot.addWidget(dialog)
    offered = {dialog.notice.itemData(i) for i in range(dialog.notice.count())}
    statuses = {s.id: s.status for s in NoticeService(clerk_env.ctx).summaries()}
    assert offered and {statuses[i] for i in offered} <= {"published", "closed", "superseded"}
    assert [dialog.channel.itemText(i) for i in range(dialog.channel.count())] == ["来电", "来访", "书面"]
    assert dialog.received.maximumDate() == QDate(2026, 11, 25)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_screenshot(qtbot, clerk_env, language, request):
    if language == "en":
        request.getfixturevalue("english")
    page = _page(qtbot, clerk_env)
    _record_phone_objection(qtbot, page, clerk_env, received=date(2026, 11, 15))
    page.show_answered.setChecked(True)
    assert page.table.horizontalHeaderItem(0).text() == ("答复期限" if language == "zh" else "Answer due")
    assert _cells(page, 0)[1] == ("逾期 3 天" if language == "zh" else "3 days late")
    save_screenshot(page, f"objections_page_{language}")


def test_a_portal_objection_shows_the_day_it_arrived_in_china_time():
    from ui.objections_page import _received_day

    assert _received_day("2026-11-25") == "2026-11-25"
    assert _received_day("2026-11-24T17:30:00Z") == "2026-11-25"  # 01:30 on the 25th in Beijing
