"""The Qt binding itself: a long session of widget updates must not corrupt the interpreter.
(PySide6 6.12.0 on Python 3.11 dropped one reference to ``None`` per void call; after enough
clicks the desktop app aborted with "deallocating None".)"""

from __future__ import annotations

import sys


def test_many_void_calls_leave_none_alone(qapp):
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    before = sys.getrefcount(None)
    for i in range(2000):
        label.setText(str(i))
        label.setEnabled(i % 2 == 0)
    assert sys.getrefcount(None) >= before - 50


def test_many_signal_emits_leave_true_alone(qapp):
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal(bool)

    emitter = Emitter()
    got = []
    emitter.fired.connect(got.append)
    before = sys.getrefcount(True)
    for _ in range(2000):
        emitter.fired.emit(True)
    assert len(got) == 2000
    assert sys.getrefcount(True) >= before - 50
