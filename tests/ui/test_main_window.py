"""The minimal main window, offscreen: it opens on the demo and lists every notice."""

from __future__ import annotations

from app.notices import STATUS_LABELS, NoticeService


def test_main_window_lists_the_demo_notices(qtbot, demo_ctx):
    from ui.main_window import MainWindow

    window = MainWindow(demo_ctx)
    qtbot.addWidget(window)
    window.show()
    summaries = NoticeService(demo_ctx).summaries()
    assert window.table.rowCount() == len(summaries)
    titles = {window.table.item(r, 0).text() for r in range(window.table.rowCount())}
    assert titles == {s.title for s in summaries}
    statuses = {window.table.item(r, 3).text() for r in range(window.table.rowCount())}
    assert {STATUS_LABELS["published"], STATUS_LABELS["draft"], STATUS_LABELS["closed"]} <= statuses
    assert "石门镇" in window.heading.text()


def test_first_run_shows_an_empty_township_heading(qtbot, ctx):
    from ui.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert window.table.rowCount() == 0
    assert window.heading.text() == "尚未设置乡镇"


def test_demo_is_created_off_the_gui_thread_and_the_list_refreshes(qtbot, ctx):
    import threading

    from app import demo
    from ui.main_window import MainWindow

    threads = []
    real = demo.create_demo

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    demo.create_demo = spy
    try:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        op = window.create_demo()
        with qtbot.waitSignal(op.finished, timeout=60_000):
            pass
    finally:
        demo.create_demo = real
    assert threads and threads[0] is not threading.main_thread()
    assert window.table.rowCount() >= 10
