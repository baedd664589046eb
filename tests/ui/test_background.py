"""BackgroundOp: work off the GUI thread, delayed progress dialog, cancel."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Qt, QThreadPool
from PySide6.QtWidgets import QPushButton, QWidget

from app.errors import Cancelled
from ui.background import BackgroundOp, GuiThreadCollector


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


def test_closing_the_window_while_work_reports_progress_cancels_it_and_nothing_crashes(qtbot):
    """The window is deleted while the pool thread is emitting progress as fast as it can."""
    parent = QWidget()
    started, stopped = threading.Event(), threading.Event()
    results = []

    def work(progress, cancel):
        started.set()
        sent = 0
        while not cancel.is_set() and sent < 5_000_000:
            progress(sent, 0, "")
            sent += 1
        stopped.set()
        return sent

    op = BackgroundOp(parent, work).on_success(results.append).on_progress(lambda *_: None).run()
    assert started.wait(5)
    cancel = op.cancel_event
    qtbot.wait(20)  # let progress queue up for the window
    parent.deleteLater()
    qtbot.waitUntil(cancel.is_set, timeout=5000)
    assert stopped.wait(10)
    assert QThreadPool.globalInstance().waitForDone(5000)
    qtbot.wait(50)  # what was queued for the deleted window is dropped, not delivered
    assert results == []


class _Tracked(QObject):
    """A Qt object that records on which thread its wrapper died."""

    died_on: list[str] = []

    def __del__(self) -> None:
        self.died_on.append(threading.current_thread().name)


def test_cyclic_garbage_holding_qt_objects_dies_on_the_gui_thread_not_on_a_worker(qtbot):
    collector = GuiThreadCollector().install()
    try:
        _Tracked.died_on.clear()
        for _ in range(20):
            obj = _Tracked()
            obj.me = obj  # a cycle: only the collector can free it
        del obj

        kept = []

        def allocate(progress, cancel):  # enough new objects for Python to want a collection
            kept.extend([i] for i in range(50_000))

        parent = QWidget()
        qtbot.addWidget(parent)
        op = BackgroundOp(parent, allocate).run()
        with qtbot.waitSignal(op.finished, timeout=10_000):
            pass
        qtbot.waitUntil(lambda: len(_Tracked.died_on) == 20, timeout=5000)
        assert set(_Tracked.died_on) == {threading.main_thread().name}
    finally:
        collector.uninstall()


def test_what_the_work_holds_is_let_go_on_the_gui_thread_even_when_its_window_is_gone(qtbot):
    """A Qt object only the work refers to must not die on the pool thread when the job ends."""
    _Tracked.died_on.clear()
    parent = QWidget()
    held = _Tracked()  # parentless: Python owns it, so its last reference decides where it dies
    release = threading.Event()
    op = BackgroundOp(parent, lambda progress, cancel, held=held: release.wait(5)).run()
    del held, op
    parent.deleteLater()
    qtbot.wait(20)  # the window and the op are gone; the job holds the only reference
    assert _Tracked.died_on == []
    release.set()
    assert QThreadPool.globalInstance().waitForDone(5000)
    qtbot.waitUntil(lambda: _Tracked.died_on != [], timeout=5000)
    assert _Tracked.died_on == [threading.main_thread().name]
