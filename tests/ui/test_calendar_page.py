"""The disclosure calendar page (公开日历) on the demo township (clock 2026-11-25): overdue village
finances in red, a village that has published its month done and openable, quarter view and
navigation, and the village filter."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import QPoint, Qt

from app.reference import ReferenceService
from tests.app.test_disclosure_calendar import publish_regular
from tests.ui.conftest import save_screenshot
from ui.common import RED, Changes


def _page(qtbot, env):
    from ui.calendar_page import CalendarPage

    page = CalendarPage(env)
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.show()
    return page


def _find(page, type_code: str, village: str, period_start: date):
    return next((item, row) for item, row in page.rows()
                if item.type_code == type_code and item.village == village and item.period_start == period_start)


def test_a_village_without_its_monthly_finances_is_overdue_in_red(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    assert page.period.text() == "2026年11月"
    first_group = page.tree.topLevelItem(0)
    assert first_group.text(0) == "以前各期逾期未办（9 项）" and first_group.foreground(0).color() == RED
    item, row = _find(page, "village_finance", "石门村", date(2026, 10, 1))
    assert row.parent() is first_group
    assert [row.text(c) for c in range(5)] == ["村级财务收支公开", "石门村", "2026年10月", "公开", "已逾期 25 天"]
    assert all(row.foreground(c).color() == RED for c in range(page.tree.columnCount()))
    # this month's is not late yet: due on the 30th, shown as pending, not red
    _item, november = _find(page, "village_finance", "石门村", date(2026, 11, 1))
    assert november.text(4) == "待公开（还剩 5 天）" and november.foreground(0).color() != RED
    assert november.parent().text(0).startswith("2026-11-30（周一） 到期")
    assert "已逾期 0" in page.summary.text() and "以前各期还有 9 项逾期未办" in page.summary.text()


def test_a_published_finance_notice_marks_its_month_done_and_opens(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    nid = publish_regular(clerk_env.ctx, "柳溪村", date(2026, 11, 20))
    clerk_env.bus.changed.emit(Changes(notices=True))
    item, row = _find(page, "village_finance", "柳溪村", date(2026, 11, 1))
    assert (item.status, item.notice_id) == ("done", nid)
    assert row.text(4) == "已公开" and row.text(5).startswith("柳溪村2026年11月财务收支公开")
    assert row.foreground(0).color() != RED
    page.tree.scrollToItem(row)
    rect = page.tree.visualItemRect(row)
    with qtbot.waitSignal(clerk_env.bus.notice_open_requested, timeout=2000) as opened:
        qtbot.mouseClick(page.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(page.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == [nid]
    # an item without a notice has nothing to open
    _item, other = _find(page, "village_finance", "龙潭村", date(2026, 11, 1))
    page.tree.setCurrentItem(other)
    assert not page.open_button.isEnabled() and page.open_selected() is False


def test_only_open_items(qtbot, clerk_env):
    publish_regular(clerk_env.ctx, "柳溪村", date(2026, 11, 20))
    page = _page(qtbot, clerk_env)
    assert any(item.status == "done" for item, _row in page.rows())
    qtbot.mouseClick(page.open_only, Qt.MouseButton.LeftButton, pos=QPoint(8, page.open_only.height() // 2))
    assert page.open_only.isChecked()
    assert page.rows() and all(item.status != "done" for item, _row in page.rows())


def test_quarter_view_and_moving_between_periods(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    page.set_mode("quarter")
    assert page.period.text() == "2026年第4季度（10月—12月）"
    affairs = [item for item, _row in page.rows() if item.type_code == "village_affairs"]
    assert len(affairs) == 9 and {i.due_date for i in affairs} == {date(2026, 12, 31)}
    # October's overdue finances are inside the quarter now, not in the earlier-periods group
    assert not page.tree.topLevelItem(0).text(0).startswith("以前各期")
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    assert page.period.text() == "2027年第1季度（1月—3月）"
    assert page.tree.topLevelItem(0).text(0) == "以前各期逾期未办（9 项）"
    qtbot.mouseClick(page.today_button, Qt.MouseButton.LeftButton)
    assert page.period.text() == "2026年第4季度（10月—12月）"
    page.set_mode("month")
    qtbot.mouseClick(page.previous_button, Qt.MouseButton.LeftButton)
    assert page.period.text() == "2026年10月"
    assert page.view.count("overdue") == 9


def test_the_village_chosen_in_the_navigation_filters_the_calendar(qtbot, clerk_env):
    page = _page(qtbot, clerk_env)
    gaoping = next(v for v in ReferenceService(clerk_env.ctx).regions("village") if v.name == "高坪村")
    clerk_env.bus.region_selected.emit(gaoping.id)
    villages = {item.village for item, _row in page.rows()}
    assert villages == {"高坪村"}
    republish = [item for item, _row in page.rows() if item.action == "republish"]
    assert len(republish) == 1 and republish[0].notice_status == "withdrawn"
    clerk_env.bus.region_selected.emit(None)
    assert len({item.village for item, _row in page.rows()}) == 9


@pytest.mark.parametrize("language", ["zh", "en"])
def test_screenshot(qtbot, clerk_env, language, request):
    if language == "en":
        request.getfixturevalue("english")
    publish_regular(clerk_env.ctx, "柳溪村", date(2026, 11, 20))
    page = _page(qtbot, clerk_env)
    assert page.period.text() == ("2026年11月" if language == "zh" else "11/2026")
    assert page.tree.topLevelItem(0).text(0) == (
        "以前各期逾期未办（9 项）" if language == "zh" else "Overdue from earlier periods (9)")
    save_screenshot(page, f"calendar_page_{language}")
    page.set_mode("quarter")
    save_screenshot(page, f"calendar_page_quarter_{language}")
