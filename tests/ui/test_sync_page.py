"""The sync page and the background sync against the real county server in a subprocess:
enrolment through the dialog, sync now, a conflict between two workstations decided side by side,
USB bundles there and back, and the status-bar text."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.context import Clock
from app.i18n import set_language
from app.notices import NoticeService
from sync.status import SyncRun, SyncStatus
from tests.sync.test_client import ROOT, cli, county, enroll_code, notices  # noqa: F401 (fixture)
from tests.ui.conftest import save_screenshot
from ui.common import Changes

WAIT = 120_000
# workstation B edits a notice title and syncs (a second process: one database per process)
EDIT_ON_B = """
import sys
from pathlib import Path
from app.context import Context
from app.notices import NoticeService
from app.users import UserService
from db.connection import open_database
from db.models import User
from sync.client import SyncClient
data = Path(sys.argv[1])
ctx = Context(db=open_database(data / "gongkai.sqlite3"), data_dir=data)
SyncClient(ctx).sync()
clerk = User.get_or_none(User.username == "clerk2") or User.get_by_id(
    UserService(ctx).create("clerk2", "经办乙", "preparer", "long enough").id)
NoticeService(ctx).update_header(sys.argv[2], clerk.id, title=sys.argv[3])
print(SyncClient(ctx).sync().conflicts)
"""


def _with_clock(env, clock: Clock):
    return dataclasses.replace(env, ctx=dataclasses.replace(env.ctx, clock=clock))


@pytest.fixture
def live_env(county, clerk_env):  # noqa: F811 (fixture from tests.sync.test_client)
    """张丽 on the demo township, with the real clock (the fixed test clock is a day off the
    server's and would raise the clock warning)."""
    return _with_clock(clerk_env, Clock())


def _page(qtbot, env):
    from ui.sync_page import SyncPage

    page = SyncPage(env)
    qtbot.addWidget(page)
    page.resize(1176, 680)
    page.show()
    return page


def _main_window(qtbot, ctx, user):
    """The main window as ui.app builds it, on the sync page (background sync stopped)."""
    from ui.app import start_main_window

    window, scheduler = start_main_window(ctx, user)
    scheduler.stop()
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    page = window.show_page("sync")
    page.tabs.setCurrentWidget(page.conflicts)
    qtbot.wait(50)
    return window


def _sync(qtbot, page) -> SyncRun:
    with qtbot.waitSignal(page.sync_finished, timeout=WAIT) as blocker:
        assert page.sync_now() is not None
    result = blocker.args[0]
    assert isinstance(result, SyncRun), result
    return result


def _enroll(qtbot, page, base: str, code: str) -> SyncRun:
    dialog = page.enroll()
    qtbot.keyClicks(dialog.url_edit, base)
    qtbot.keyClicks(dialog.code_edit, code)
    with qtbot.waitSignal(page.sync_finished, timeout=WAIT) as blocker:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    return blocker.args[0]


def _answer_yes(monkeypatch) -> list[str]:
    asked = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def _draft_id(ctx) -> str:
    return next(s.id for s in NoticeService(ctx).summaries() if s.status == "draft")


def test_enrol_through_the_dialog_then_sync_shows_the_last_success_and_an_empty_queue(qtbot, county, live_env):  # noqa: F811
    base, db_url, _township = county
    page = _page(qtbot, live_env)
    assert page.enrolled_label.text().startswith("未注册")
    assert not page.sync_button.isEnabled() and not page.export_button.isEnabled()
    assert page.last_success_label.text() == "尚未成功同步"

    # a wrong code: a clear message in the dialog, nothing registered
    dialog = page.enroll()
    qtbot.keyClicks(dialog.url_edit, base)
    qtbot.keyClicks(dialog.code_edit, "AAAA-BBBB-CCCC")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.op is None, timeout=WAIT)
    assert "注册码无效" in dialog.error_label.text() and dialog.isVisible()
    dialog.reject()

    first = _enroll(qtbot, page, base, enroll_code(db_url))  # enrolment is followed by a first sync
    assert first.ok and first.pushed > 100 and first.rejected == 0
    assert page.enrolled_label.text().startswith("已注册")
    assert page.server_label.text() == base
    assert page.queue_label.text() == "0 项更改"
    assert re.fullmatch(r"\d\d:\d\d", page.last_success_label.text())  # today, China time
    assert page.error_label.text() == "无"
    assert page.enroll_button.text() == "重新注册…"
    assert not page.clock_label.isVisible()  # the real clock agrees with the server's

    # a change made now waits in the queue until "sync now" sends it
    NoticeService(live_env.ctx).update_header(_draft_id(live_env.ctx), live_env.user.id, title="新标题")
    live_env.bus.changed.emit(Changes(notices=True))
    queued = page.status.queue
    assert queued == 2 and page.queue_label.text() == "2 项更改"  # the notice and its audit event
    qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.current_op is None and page.queue_label.text() == "0 项更改", timeout=WAIT)

    kinds = [page.log_table.item(r, 1).text() for r in range(page.log_table.rowCount())]
    results = [page.log_table.item(r, 2).text() for r in range(page.log_table.rowCount())]
    assert kinds[:3] == ["联网同步", "联网同步", "注册工作站"]
    assert results[:3] == ["成功", "成功", "成功"] and "失败" in results  # the wrong code is logged too
    assert page.log_table.item(0, 3).text() == str(queued)  # sent by the second sync
    save_screenshot(page, "sync_page_enrolled")


def test_a_conflict_between_two_workstations_is_shown_side_by_side_and_decided(
        qtbot, county, live_env, tmp_path, monkeypatch):  # noqa: F811
    from sync.operations import enroll, run_sync

    base, db_url, _township = county
    ctx, user = live_env.ctx, live_env.user
    # enrolled before notices had owners: its drafts name none, so the other workstation may edit
    # them too (a notice of its own it alone would change: no conflict to show)
    monkeypatch.setattr("app.notices.claim_unowned", lambda device_id: 0)
    enroll(ctx, base, enroll_code(db_url), "甲")
    run_sync(ctx)
    second = tmp_path / "second"
    assert cli("enroll", "--server", base, "--code", enroll_code(db_url), "--data-dir", str(second)).returncode == 0
    draft = _draft_id(ctx)

    def edit_on_b(title: str) -> None:
        out = subprocess.run([sys.executable, "-c", EDIT_ON_B, str(second), draft, title], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "0"

    page = _page(qtbot, live_env)
    asked = _answer_yes(monkeypatch)

    # round 1: both edit the title; this workstation keeps its own version
    edit_on_b("乙工作站的标题")
    NoticeService(ctx).update_header(draft, user.id, title="甲工作站的标题")
    run = _sync(qtbot, page)
    assert run.conflicts == 1
    assert page.tabs.currentWidget() is page.conflicts
    assert page.tabs.tabText(0) == "冲突与问题（1）"
    assert page.conflicts.list.count() == 1 and "公示" in page.conflicts.list.item(0).text()
    table = page.conflicts.table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    title = rows["标题"]
    assert table.item(title, 1).text() == "甲工作站的标题"
    assert table.item(title, 2).text() == "乙工作站的标题"
    assert table.item(title, 1).background().color().name() == "#fff1b8"  # highlighted
    assert table.item(rows["正文"], 1).background().style() == Qt.BrushStyle.NoBrush  # same on both sides
    # what "keep mine" makes of each field: the changed title from here, the rest as it is
    assert table.item(title, 3).text() == "甲工作站的标题（本机）" and not table.isColumnHidden(3)
    assert table.item(rows["正文"], 3).text() == table.item(rows["正文"], 2).text()
    assert page.conflicts.keep_mine_button.isEnabled() and page.conflicts.take_theirs_button.isEnabled()
    page.conflicts.only_differences.setChecked(True)
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["标题"]
    page.conflicts.only_differences.setChecked(False)
    window = _main_window(qtbot, ctx, user)  # the status bar of the main window says so too
    assert window.sync_label.text().startswith("已同步 ") and "1 项冲突待处理" in window.sync_label.text()
    if os.environ.get("GONGKAI_SCREENSHOTS"):
        save_screenshot(window, "main_sync_conflict_zh_CN")
        set_language("en")
        try:
            save_screenshot(_main_window(qtbot, ctx, user), "main_sync_conflict_en")
        finally:
            set_language("zh_CN")

    qtbot.mouseClick(page.conflicts.keep_mine_button, Qt.MouseButton.LeftButton)
    assert asked and "保留本机的版本" in asked[-1]
    assert page.conflicts.list.count() == 0 and page.tabs.tabText(0) == "冲突与问题"
    assert page.status.queue >= 1  # the kept version goes up with the next sync
    run = _sync(qtbot, page)
    assert run.conflicts == 0 and page.queue_label.text() == "0 项更改"
    title_on_b = next(n["title"] for n in notices(second) if n["id"] == draft)
    assert title_on_b == "乙工作站的标题"  # B has not synced since
    edit_on_b("乙第二次改的标题")  # B syncs first (gets 甲's title), then edits again

    # round 2: this workstation takes the county's version
    NoticeService(ctx).update_header(draft, user.id, title="甲第二次改的标题")
    run = _sync(qtbot, page)
    assert run.conflicts == 1 and page.conflicts.list.count() == 1
    qtbot.mouseClick(page.conflicts.take_theirs_button, Qt.MouseButton.LeftButton)
    assert "采用县里的版本" in asked[-1]
    assert NoticeService(ctx).get(draft).title == "乙第二次改的标题"
    assert page.conflicts.list.count() == 0
    assert page.queue_label.text() == "1 项更改"  # only the audit record of the decision
    run = _sync(qtbot, page)
    assert run.conflicts == 0 and page.problems_label.text() == "无" and page.queue_label.text() == "0 项更改"


def test_a_usb_bundle_is_written_and_the_county_reply_completes_the_cycle(
        qtbot, county, live_env, tmp_path, monkeypatch):  # noqa: F811
    from sync.operations import enroll, run_sync

    base, db_url, _township = county
    ctx = live_env.ctx
    enroll(ctx, base, enroll_code(db_url), "甲")
    run_sync(ctx)
    NoticeService(ctx).update_header(_draft_id(ctx), live_env.user.id, title="U盘带去的标题")
    page = _page(qtbot, live_env)
    assert page.queue_label.text() == "2 项更改"  # the notice and its audit event

    target = tmp_path / "stick" / "石门镇同步包"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    with qtbot.waitSignal(page.sync_finished, timeout=WAIT) as blocker:
        assert page.export_bundle() is not None
    written = target.with_suffix(".gkb")
    assert blocker.args[0].pushed == 2 and written.is_file() and written.stat().st_size > 0
    told = [b for b in page.findChildren(QMessageBox) if b.isVisible()]
    assert told and "核对无误" in told[-1].text() and "拔下U盘" in told[-1].text()
    assert page.log_table.item(0, 1).text() == "导出U盘同步包" and page.log_table.item(0, 8).text() == written.name

    reply = tmp_path / "stick" / "reply.gkb"
    out = cli("bundle", "import", str(written), "--db", db_url, "-o", str(reply))
    assert out.returncode == 0, out.stderr
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(reply), ""))
    with qtbot.waitSignal(page.sync_finished, timeout=WAIT) as blocker:
        assert page.import_reply() is not None
    assert blocker.args[0].pushed == 2
    assert page.queue_label.text() == "0 项更改"
    told = [b for b in page.findChildren(QMessageBox) if b.isVisible()]
    assert "县里确认收到 2 项更改" in told[-1].text()


def test_the_scheduler_syncs_in_the_background_one_at_a_time_and_warns_about_the_clock(
        qtbot, county, clerk_env):  # noqa: F811
    from sync.operations import enroll
    from ui.sync_scheduler import SyncScheduler

    base, db_url, _township = county
    fast = _with_clock(clerk_env, Clock(now_fn=lambda: datetime.now(UTC) + timedelta(minutes=30)))
    window = QWidget()
    qtbot.addWidget(window)
    scheduler = SyncScheduler(fast, window, interval=3600)
    texts = []
    scheduler.status_changed.connect(lambda text, tip: texts.append(text))
    scheduler.start(first_delay_ms=3_600_000)
    assert not scheduler.active and texts[-1] == "未注册到县级服务器"  # nothing to do before enrolment

    enroll(fast.ctx, base, enroll_code(db_url), "甲")
    fast.bus.changed.emit(Changes(sync=True))
    assert scheduler.active  # started by the enrolment
    assert texts[-1].startswith("尚未同步 · 待上传")
    with qtbot.waitSignal(scheduler.run_finished, timeout=WAIT):
        op = scheduler.sync_once()
        assert op is not None
        assert scheduler.sync_once() is None  # never two at once
        assert texts[-1].startswith("正在同步…")
    text = texts[-1]
    assert text.startswith("已同步 ") and "待上传 0 项" in text
    assert "本机时钟比县级服务器快约 30 分钟" in text
    scheduler.stop()
    assert not scheduler.active


def test_the_status_text_reads_like_the_status_bar_should():
    from ui.sync_scheduler import status_text

    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 11:00 China time
    base = SyncStatus(enrolled=True, server_url="https://county", device_id="d", last_success_at=datetime(
        2026, 11, 25, 2, 42, tzinfo=UTC), last_error="", last_error_at=None, offline=False, queue=3,
        open_problems=0, clock_skew=12.0, runs=())
    assert status_text(base, now)[0] == "已同步 10:42 · 待上传 3 项"
    offline = dataclasses.replace(base, last_error="无法连接县级服务器，已保存的数据不受影响，稍后会自动重试。",
                                  offline=True, queue=12)
    text, tooltip = status_text(offline, now)
    assert text.startswith("离线 · 待上传 12 项 · 上次错误：无法连接县级服务器")
    assert "稍后会自动重试。" in tooltip  # the whole error in the tooltip
    refused = dataclasses.replace(base, last_error="本机的同步授权无效或已被县里停用，请联系县里重新获取注册码。",
                                  offline=False, open_problems=2, clock_skew=-400)
    text, _tip = status_text(refused, now)
    assert text.startswith("同步失败 · 待上传 3 项 · 2 项冲突待处理 · 上次错误：")
    assert text.endswith("本机时钟比县级服务器慢约 7 分钟，请校准时间")
    yesterday = dataclasses.replace(base, last_success_at=datetime(2026, 11, 24, 2, 42, tzinfo=UTC))
    assert status_text(yesterday, now)[0] == "已同步 11-24 10:42 · 待上传 3 项"


def test_a_sync_that_would_delete_many_rows_asks_first_and_goes_ahead_when_confirmed(
        qtbot, county, live_env, monkeypatch):  # noqa: F811
    from sync.operations import enroll, run_sync

    base, db_url, _township = county
    enroll(live_env.ctx, base, enroll_code(db_url), "工作站")
    run_sync(live_env.ctx)
    notices = NoticeService(live_env.ctx)
    draft = max((s for s in notices.summaries() if s.status == "draft"), key=lambda s: s.rows)
    rows = notices.rows(draft.id)
    notices.delete_rows([r.id for r in rows[:80]], live_env.user.id)
    page = _page(qtbot, live_env)
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda parent, title, text, *a, **k: asked.append(text) or QMessageBox.StandardButton.No)
    qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(asked) and page.current_op is None, timeout=WAIT)
    assert "80" in asked[0] and page.status.queue > 0  # declined: nothing was sent
    asked.clear()
    _answer_yes(monkeypatch)
    with qtbot.waitSignal(page.sync_finished, timeout=WAIT):
        qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.current_op is None and page.queue_label.text() == "0 项更改", timeout=WAIT)
