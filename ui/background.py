"""The one way the UI runs long work: ``BackgroundOp``.

``work(progress, cancel)`` runs on a pool thread; ``progress(done, total, message)`` may be called
from it, and ``cancel`` is a ``threading.Event`` the work checks. Results, errors and progress are
delivered through signals to a QObject on the GUI thread, so callbacks always run there. A progress
dialog appears only if the work is still running after ``DIALOG_DELAY_MS``.

``GuiThreadCollector`` keeps Python's cycle collector on the GUI thread, where Qt objects may die.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.i18n import _

DIALOG_DELAY_MS = 600

Work = Callable[[Callable[[int, int, str], None], threading.Event], Any]


class _Relay(QObject):
    """Carries one job's progress and outcome from its pool thread to the GUI thread.

    Qt owns it (its parent is the application), so nothing the window that asked for the work
    does can delete it while the pool thread emits on it; the BackgroundOp listening may go at
    any time, and Qt then drops what is queued for it. The work and its outcome are kept here
    and let go in ``_on_ended``, on the GUI thread: whatever they hold, Qt objects included,
    never dies on the pool thread.
    """

    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(int, int, str)
    ended = Signal()

    def __init__(self, work: Work) -> None:
        super().__init__(QCoreApplication.instance())
        self.work: Work | None = work
        self.outcome: tuple[bool, Any] | None = None
        self.ended.connect(self._on_ended)  # emitted on the pool thread, so queued to this one

    def _on_ended(self) -> None:
        ok, value = self.outcome
        self.work = self.outcome = None
        try:
            (self.succeeded if ok else self.failed).emit(value)
        finally:
            self.deleteLater()


class _Runnable(QRunnable):
    def __init__(self, relay: _Relay, cancel: threading.Event) -> None:
        super().__init__()
        self._relay, self._cancel = relay, cancel

    def run(self) -> None:  # runs on a pool thread: must not touch widgets
        relay = self._relay
        try:
            relay.outcome = (True, relay.work(self._progress, self._cancel))
        except BaseException as exc:  # delivered to the GUI thread, shown there
            relay.outcome = (False, exc)
        relay.ended.emit()

    def _progress(self, done: int, total: int, message: str) -> None:
        self._relay.progressed.emit(done, total, message)


class BackgroundOp(QObject):
    """Run ``work`` off the GUI thread with delayed progress and cancel."""

    finished = Signal()

    def __init__(self, parent: QWidget, work: Work) -> None:
        super().__init__(parent)
        self._parent = parent
        self._work: Work | None = work
        self._listeners: list[Callable[[int, int, str], None]] = []
        self._success: Callable[[Any], None] = lambda _result: None
        self._failure: Callable[[BaseException], None] = lambda exc: None
        self._label: str | None = None
        self._dialog: QProgressDialog | None = None
        self._last: tuple[int, int, str] = (0, 0, "")
        self.cancel_event = threading.Event()
        self._done = False
        cancel = self.cancel_event
        self.destroyed.connect(lambda *_args: cancel.set())  # the window went: nobody to tell

    def on_success(self, fn: Callable[[Any], None]) -> BackgroundOp:
        self._success = fn
        return self

    def on_failure(self, fn: Callable[[BaseException], None]) -> BackgroundOp:
        self._failure = fn
        return self

    def with_progress(self, label: str) -> BackgroundOp:
        self._label = label
        return self

    def on_progress(self, fn: Callable[[int, int, str], None]) -> BackgroundOp:
        """Also deliver progress to ``fn`` on the GUI thread (for progress shown inside a page)."""
        self._listeners.append(fn)
        return self

    def run(self) -> BackgroundOp:
        """Start the work (once); from here on only the job holds it."""
        work, self._work = self._work, None
        relay = _Relay(work)
        del work
        relay.succeeded.connect(self._on_relay_succeeded)
        relay.failed.connect(self._on_relay_failed)
        relay.progressed.connect(self._on_relay_progressed)
        if self._label is not None:
            QTimer.singleShot(DIALOG_DELAY_MS, self._show_dialog)
        QThreadPool.globalInstance().start(_Runnable(relay, self.cancel_event))
        return self

    @property
    def dialog(self) -> QProgressDialog | None:
        return self._dialog

    def _show_dialog(self) -> None:
        if self._label is None or self._done:
            return
        dialog = QProgressDialog(self._label, _("取消"), 0, 0, self._parent)
        dialog.setMinimumDuration(0)
        dialog.canceled.connect(self.cancel_event.set)
        self._dialog = dialog
        self._update_dialog()
        dialog.show()

    def _finish(self) -> None:
        self._done = True
        if self._dialog is not None:
            self._dialog.reset()
            self._dialog.hide()
        self.finished.emit()

    def _on_relay_progressed(self, done: int, total: int, message: str) -> None:
        self._last = (done, total, message)
        self._update_dialog()
        for listener in self._listeners:
            listener(done, total, message)

    def _update_dialog(self) -> None:
        done, total, message = self._last
        if self._dialog is not None:
            self._dialog.setMaximum(max(total, 0))
            self._dialog.setValue(min(done, total) if total else 0)
            if message:
                self._dialog.setLabelText(message)

    def _on_relay_succeeded(self, result: Any) -> None:
        self._finish()
        self._success(result)

    def _on_relay_failed(self, exc: BaseException) -> None:
        self._finish()
        self._failure(exc)


class GuiThreadCollector(QObject):
    """Run Python's cycle collector on the GUI thread only.

    Python collects cyclic garbage on whichever thread happens to allocate when its counters
    say so. Were that a pool thread, and the garbage a closed dialog still referred to by one of
    its own lambdas, Qt would destroy widgets off the GUI thread: a crash or a deadlock. So while
    this is installed, automatic collection is off and a timer on the GUI thread collects the
    generations that are due, by the thresholds Python itself uses.
    """

    INTERVAL_MS = 250

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = False  # whether Python collected by itself before install()

    def install(self) -> GuiThreadCollector:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()
        return self

    def uninstall(self) -> None:
        """Collect everything now, on this thread, and give collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    @staticmethod
    def collect_due() -> int:
        """Collect the oldest generation whose count is over its threshold; the objects freed."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                return gc.collect(generation)
        return 0
