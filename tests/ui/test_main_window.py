"""The main window on the demo township, offscreen: navigation, the notice list with search by
text or pinyin initials, filters, and opening a notice in its own tab."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.notices import STATUS_LABELS, NoticeService

from .conftest import save_screenshot


def _window(qtbot, env):
    from ui.main_window import MainWindow

    window = MainWindow(env)
    qtbot.addWidget(window)
    window.show()
    return window


def _titles(page) -> list[str]:
    return [page.model.notice(r).title for r in range(page.model.rowCount())]


def test_the_list_shows_every_notice_with_its_status_and_days_left(qtbot, clerk_env):
    window = _window(qtbot, clerk_env)
    page = window.pages["notices"]
    summaries = NoticeService(clerk_env.ctx).summaries()
    assert sorted(_titles(page)) == sorted(s.title for s in summaries)
    shown = {page.model.index(r, 3).data() for r in range(page.model.rowCount())}
    assert {STATUS_LABELS["published"], STATUS_LABELS["draft"], STATUS_LABELS["closed"]} <= shown
    published = [r for r in range(page.model.rowCount()) if page.model.notice(r).status == "published"]
    assert published and all(page.model.index(r, 5).data().lstrip("-").isdigit() for r in published)
    assert "石门镇" in window.nav.topLevelItem(0).text(0)
    save_screenshot(window, "main_window_zh")


def test_search_by_pinyin_initials_and_filter_by_status(qtbot, clerk_env):
    window = _window(qtbot, clerk_env)
    page = window.pages["notices"]
    everything = _titles(page)
    target = next(t for t in everything if "耕地" in t)
    qtbot.keyClicks(page.search, "gd")  # 耕地
    assert target in _titles(page) and len(_titles(page)) < len(everything)
    page.search.clear()
    page.status.setCurrentIndex(page.status.findData("draft"))
    assert {page.model.notice(r).status for r in range(page.model.rowCount())} == {"draft"}


def test_choosing_a_village_shows_its_notices_only(qtbot, clerk_env):
    window = _window(qtbot, clerk_env)
    page = window.pages["notices"]
    township = window.nav.topLevelItem(0)
    village = township.child(0)
    window.nav.setCurrentItem(village)
    villages = {page.model.notice(r).village for r in range(page.model.rowCount())}
    assert villages == {village.text(0)}
    window.nav.setCurrentItem(township)
    assert len({page.model.notice(r).village for r in range(page.model.rowCount())}) > 1


def test_double_click_opens_the_notice_in_a_tab_once(qtbot, clerk_env):
    window = _window(qtbot, clerk_env)
    page = window.pages["notices"]
    index = page.model.index(0, 0)
    rect = page.table.visualRect(index)
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    editor = window.tabs.currentWidget()
    assert editor.notice_id == page.model.notice(0).id
    count = window.tabs.count()
    window.open_notice(editor.notice_id)
    assert window.tabs.count() == count and window.tabs.currentWidget() is editor


def test_the_window_speaks_english_when_asked(qtbot, clerk_env, english):
    window = _window(qtbot, clerk_env)
    assert window.tabs.tabText(0) == "Notices"
    assert window.menuBar().actions()[0].text() == "&File"
    shown = {window.pages["notices"].model.index(r, 3).data() for r in range(window.pages["notices"].model.rowCount())}
    assert "Posted" in shown
    save_screenshot(window, "main_window_en")
