"""UI fixtures: a ``UiEnv`` on the demo township for each role, and screenshots on request."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def _collector(qapp):
    """Cyclic garbage is collected on the GUI thread, as in the application (ui.app.run)."""
    from ui.background import GuiThreadCollector

    collector = GuiThreadCollector().install()
    yield collector
    collector.uninstall()


@pytest.fixture(autouse=True)
def _no_work_left_behind(_collector):
    """After each test (its widgets closed by qtbot, which cancels their work): the test's
    background work has ended, and the garbage that is due is collected here."""
    from PySide6.QtCore import QThreadPool

    yield
    assert QThreadPool.globalInstance().waitForDone(60_000), "background work still running after the test"
    _collector.collect_due()


def _env(ctx, username: str):
    from app.users import UserService
    from ui.common import ChangeBus, UiEnv

    user = next(u for u in UserService(ctx).list() if u.username == username)
    return UiEnv(ctx=ctx, user=user, bus=ChangeBus())


@pytest.fixture
def clerk_env(demo_ctx, qapp):
    """张丽, the township's preparer (经办人), on the demo data."""
    return _env(demo_ctx, "zhangli")


@pytest.fixture
def reviewer_env(demo_ctx, qapp):
    """王强, a reviewer (审核人), on the same demo data."""
    return _env(demo_ctx, "wangqiang")


@pytest.fixture
def admin_env(demo_ctx, qapp):
    return _env(demo_ctx, "admin")


@pytest.fixture
def english():
    """Widgets built inside the test use the English catalogue."""
    from app.i18n import set_language

    set_language("en")
    yield
    set_language("zh_CN")


def save_screenshot(widget, name: str) -> None:
    """With GONGKAI_SCREENSHOTS=DIR set, save ``widget`` as DIR/name.png (for looking at layouts)."""
    target = os.environ.get("GONGKAI_SCREENSHOTS")
    if target:
        os.makedirs(target, exist_ok=True)
        widget.grab().save(os.path.join(target, f"{name}.png"))
