"""The Qt binding itself: a long session of widget updates must not corrupt the interpreter.
(PySide6 6.12.0 on Python 3.11 dropped one reference to ``None`` per void call; after enough
clicks the desktop app aborted with "Fatal Python error: deallocating None".)

What a clerk would notice is the abort, so that is what is tested, on every Python: a subprocess
makes several times more void calls and signal emissions than ``None`` and ``True`` have
references, then exits normally. A binding that drops references kills it on Python 3.11; from
Python 3.12 ``None`` and ``True`` are immortal, the same binding cannot abort it, and neither
does the test.
"""

from __future__ import annotations

import os
import subprocess
import sys

SESSION = r"""
import sys
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel

app = QApplication([])


class Emitter(QObject):
    fired = Signal(bool)


label, emitter, got = QLabel(), Emitter(), []
emitter.fired.connect(lambda value: got.append(value) if len(got) < 10 else None)
# several times the references None and True hold (about 5,000 and 600 at start on Python 3.11);
# immortal objects report a huge count, and then a fixed 100,000 calls are made
calls = min(max(3 * sys.getrefcount(None), 3 * sys.getrefcount(True), 100_000), 1_000_000)
for i in range(calls):
    label.setText(str(i))  # void
    label.setEnabled(i % 2 == 0)  # void
    emitter.fired.emit(True)  # a bool through a signal, into Python and back
del label, emitter
import gc
gc.collect()
print("calls", calls)
"""


def test_a_long_session_of_void_calls_and_signals_does_not_abort_the_interpreter(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", SESSION], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 0, f"the interpreter died ({done.returncode}): {done.stderr[-800:]}"
    assert "deallocating" not in done.stderr
    assert int(done.stdout.split()[-1]) >= 100_000
