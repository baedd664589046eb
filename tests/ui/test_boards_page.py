"""The boards page (公开栏) on the demo township: what is posted where, posting a notice, photo
evidence through the file picker, and taking down what has expired."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.boards import BoardService, evidence_path
from app.context import Clock
from app.notices import NoticeService
from app.reference import ReferenceService
from tests.ui.conftest import save_screenshot
from ui.common import RED, Changes, UiEnv

QINGSHI_SUBSIDY = "关于青石村2026年耕地地力保护补贴发放情况的公示"


def _page(qtbot, env):
    from ui.boards_page import BoardsPage

    page = BoardsPage(env)
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.show()
    return page


def _board(env, name: str):
    return next(b for b in ReferenceService(env.ctx).boards() if b.name == name)


def _titles(page) -> list[str]:
    return [page.table.item(row, 0).text() for row in range(page.table.rowCount())]


def _row_of(page, title: str) -> int:
    return _titles(page).index(title)


def _png(path, colour=Qt.GlobalColor.darkGreen):
    image = QImage(320, 240, QImage.Format.Format_RGB32)
    image.fill(colour)
    assert image.save(str(path), "PNG")
    return path


def test_every_board_is_listed_with_what_is_up_on_it(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    names = [page.board_list.topLevelItem(i).text(0) for i in range(page.board_list.topLevelItemCount())]
    assert names[0] == "全部公开栏" and names[1] == "石门镇政务公开栏" and len(names) == 11
    assert page.board_list.topLevelItem(0).text(1) == "5"  # five postings up in the demo
    page.select_board(_board(clerk_env, "青石村村务公开栏").id)
    assert page.heading.text() == "青石村村务公开栏" and "青石村村委会门前" in page.location.text()
    assert set(_titles(page)) == {QINGSHI_SUBSIDY, "云岭县人民政府征收土地预公告"}
    row = _row_of(page, QINGSHI_SUBSIDY)
    assert [page.table.item(row, c).text() for c in (2, 3, 4, 5)] == ["2026-11-23", "2026-11-30", "5", "张贴中"]
    page.table.selectRow(row)
    qtbot.waitUntil(lambda: page.thumbnail_count() == 1, timeout=5000)
    assert page.photos.item(0).text() == "青石村-张贴.png"


def test_post_a_notice_on_the_township_board(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    board = _board(clerk_env, "石门镇政务公开栏")
    page.select_board(board.id)
    assert page.table.rowCount() == 0
    dialog = page.post_notice()
    qtbot.addWidget(dialog)
    project = next(s for s in NoticeService(clerk_env.ctx).summaries() if s.title.endswith("项目公告公示"))
    # the township board may carry every village's notices (村镇县三级公示); none is marked
    assert dialog.notices.item(0).data(Qt.ItemDataRole.UserRole) == project.id
    assert not any("其他村的公示" in dialog.notices.item(i).text() for i in range(dialog.notices.count()))
    dialog.choose(project.id)
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    posted = BoardService(clerk_env.ctx).postings(board.id)
    assert [(p.notice_id, p.posted_on, p.taken_down_on) for p in posted] == [(project.id, date(2026, 11, 25), None)]
    assert _titles(page) == [project.title]
    assert page.selected_posting().notice_id == project.id
    again = page.post_notice()
    qtbot.addWidget(again)
    offered = {again.notices.item(i).data(Qt.ItemDataRole.UserRole) for i in range(again.notices.count())}
    assert project.id not in offered


def test_a_village_board_offers_its_own_and_township_notices_first(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    page.select_board(_board(clerk_env, "青石村村务公开栏").id)
    dialog = page.post_notice()
    qtbot.addWidget(dialog)
    texts = [dialog.notices.item(i).text() for i in range(dialog.notices.count())]
    # 青石村's own notices are up already; the township's project notice leads, others' follow, marked
    assert texts[0].startswith("石门镇2026年财政衔接推进乡村振兴补助资金项目公告公示\n全镇")
    assert all("其他村的公示" in t for t in texts[1:]) and len(texts) > 1


def test_add_a_photo_through_the_file_picker(qtbot, clerk_env, monkeypatch, tmp_path):
    photo = _png(tmp_path / "镇政府公开栏张贴.png")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(photo)], "")))
    page = _page(qtbot, clerk_env)
    page.select_board(_board(clerk_env, "石门村村务公开栏").id)
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.thumbnail_count() == 1, timeout=5000)
    qtbot.mouseClick(page.photo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.photos.count() == 2 and page.thumbnail_count() == 2, timeout=10_000)
    assert page.photos.item(1).text() == "镇政府公开栏张贴.png"
    posting = page.selected_posting()
    assert len(posting.evidence) == 2
    stored = evidence_path(clerk_env.ctx.evidence_dir, posting.evidence[1])
    assert stored.read_bytes() == photo.read_bytes()
    assert page.table.item(0, 6).text() == "2"


def test_an_expired_posting_is_red_and_can_be_taken_down(qtbot, clerk_env, monkeypatch):
    later = UiEnv(ctx=replace(clerk_env.ctx, clock=Clock.fixed(datetime(2026, 12, 3, 2, 0, tzinfo=UTC))),
                  user=clerk_env.user, bus=clerk_env.bus)
    page = _page(qtbot, later)
    board = _board(later, "青石村村务公开栏")
    item = next(page.board_list.topLevelItem(i) for i in range(page.board_list.topLevelItemCount())
                if page.board_list.topLevelItem(i).text(0) == board.name)
    assert item.text(2) == "1" and item.foreground(2).color() == RED
    page.select_board(board.id)
    row = _row_of(page, QINGSHI_SUBSIDY)
    assert row == 0  # what must come down is listed first
    assert page.table.item(row, 5).text() == "公示期已满，应撤下"
    assert page.table.item(row, 0).foreground().color() == RED
    assert page.table.item(_row_of(page, "云岭县人民政府征收土地预公告"), 0).foreground().color() != RED
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Yes))
    page.table.selectRow(row)
    qtbot.mouseClick(page.take_down_button, Qt.MouseButton.LeftButton)
    assert asked
    taken = {p.title: p.taken_down_on for p in BoardService(later.ctx).postings(board.id)}
    assert taken[QINGSHI_SUBSIDY] == date(2026, 12, 3)
    assert QINGSHI_SUBSIDY not in _titles(page)
    page.show_removed.setChecked(True)
    assert page.table.item(_row_of(page, QINGSHI_SUBSIDY), 5).text() == "已于 2026-12-03 撤下"
    assert page.board_list.currentItem().text(2) == ""


def test_cancelling_the_take_down_question_changes_nothing(qtbot, clerk_env, monkeypatch):
    page = _page(qtbot, clerk_env)
    page.select_board(_board(clerk_env, "青石村村务公开栏").id)
    page.table.selectRow(0)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.No))
    qtbot.mouseClick(page.take_down_button, Qt.MouseButton.LeftButton)
    assert all(p.taken_down_on is None for p in BoardService(clerk_env.ctx).postings())


def test_a_withdrawn_notice_must_come_down_at_once(qtbot, clerk_env, reviewer_env):
    page = _page(qtbot, clerk_env)
    page.select_board(_board(clerk_env, "桃源村村务公开栏").id)
    notice_id = page._shown[0].notice_id
    NoticeService(reviewer_env.ctx).withdraw(notice_id, reviewer_env.user.id, "名单需重新核实")
    clerk_env.bus.changed.emit(Changes(notices=True))
    assert page.table.item(0, 5).text() == "公示已撤回，应撤下"
    assert "1 份已到期应撤下" in page.summary.text()


def test_the_village_chosen_in_the_navigation_filters_the_boards(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    gaoping = next(v for v in ReferenceService(clerk_env.ctx).regions("village") if v.name == "高坪村")
    clerk_env.bus.region_selected.emit(gaoping.id)
    names = [page.board_list.topLevelItem(i).text(0) for i in range(page.board_list.topLevelItemCount())]
    assert names == ["全部公开栏", "高坪村村务公开栏"]
    # a board elsewhere chosen in the navigation is still shown
    page.select_board(_board(clerk_env, "青石村村务公开栏").id)
    assert page.heading.text() == "青石村村务公开栏"
    clerk_env.bus.region_selected.emit(None)
    assert page.board_list.topLevelItemCount() == 11


def test_add_a_board(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    dialog = page.add_board()
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert dialog.isVisible()  # no name: the clerk is told, nothing is added
    assert len(ReferenceService(clerk_env.ctx).boards()) == 10
    dialog.village.setCurrentIndex(dialog.village.findText("龙潭村"))
    dialog.name.setText("龙潭村三组公开栏")  # QTest cannot type Chinese characters
    dialog.location.setText("三组晒场边")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    board = _board(clerk_env, "龙潭村三组公开栏")
    assert board.location == "三组晒场边"
    assert page.current_board_id() == board.id and page.heading.text() == "龙潭村三组公开栏"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_screenshot(qtbot, clerk_env, language, request):
    if language == "en":
        request.getfixturevalue("english")
    page = _page(qtbot, clerk_env)
    page.select_board(_board(clerk_env, "青石村村务公开栏").id)
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.thumbnail_count() == 1, timeout=5000)
    assert page.table.horizontalHeaderItem(0).text() == ("公示标题" if language == "zh" else "Notice title")
    save_screenshot(page, f"boards_page_{language}")
