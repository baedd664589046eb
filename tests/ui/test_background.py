"""BackgroundOp: work off the GUI thread, delayed progress dialog, cancel."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QWidget

from app.errors import Cancelled
from ui.background import BackgroundOp


def test_quick_work_shows_no_dialog_and_delivers_its_result_on_the_gui_thread(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    got = []
    op = BackgroundOp(parent, lambda progress, cancel: 6 * 7).on_success(
        lambda r: got.append((r, threading.current_thread() is threading.main_thread()))
    ).with_progress("计算中").run()
    with qtbot.waitSignal(op.finished, timeout=5000):
        pass
    assert got == [(42, True)]
    assert op.dialog is None


def test_long_work_shows_progress_and_stops_when_cancelled(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    failures = []

    def work(progress, cancel):
        for i in range(1000):
            if cancel.is_set():
                raise Cancelled("已取消")
            progress(i, 1000, f"第 {i} 项")
            time.sleep(0.01)
        return "done"

    op = BackgroundOp(parent, work).on_failure(failures.append).with_progress("处理中").run()
    qtbot.waitUntil(lambda: op.dialog is not None and op.dialog.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: op.dialog.value() > 0, timeout=5000)
    with qtbot.waitSignal(op.finished, timeout=5000):
        qtbot.mouseClick(op.dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)
    assert len(failures) == 1 and isinstance(failures[0], Cancelled)
