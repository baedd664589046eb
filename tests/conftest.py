"""Shared fixtures: a migrated template database copied per test, a demo township built once
per session and copied per test, and a fixed clock.

Most tests run on the fixed clock (FIXED_NOW). Tests that talk to the county server in a
subprocess (``main.py serve``, which runs on the real clock) use the demo made on the real date
(``_demo_today_template``, ``demo_today_ctx``) and the real clock on the township side too, so
that both sides agree on what today is; ``make test-dates`` runs them at chosen dates.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.context import Clock, Context  # noqa: E402
from db.connection import DB_FILENAME, close_database, open_database  # noqa: E402

# 2026-11-25 10:00 China time
FIXED_NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _copy_dir(src: Path, dst: Path) -> None:
    close_database()
    shutil.copytree(src, dst, dirs_exist_ok=True)


@pytest.fixture(scope="session", autouse=True)
def _data_dir_of_the_session(tmp_path_factory):
    """Nothing a test runs falls back on the user's own data folder (a county server on
    PostgreSQL keeps its signing key there by default, see server.keys): the default data folder
    is one of the session's, for this process and the servers and commands it starts."""
    with pytest.MonkeyPatch.context() as patch:
        if not os.environ.get("GONGKAI_DATA_DIR"):
            patch.setenv("GONGKAI_DATA_DIR", str(tmp_path_factory.mktemp("default-data-dir")))
        yield


@pytest.fixture(scope="session")
def _empty_template(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("empty-template")
    open_database(d / DB_FILENAME)
    close_database()
    return d


def _make_demo(d: Path, clock: Clock) -> Path:
    from app.demo import create_demo

    db = open_database(d / DB_FILENAME)
    create_demo(Context(db=db, data_dir=d, clock=clock))
    close_database()
    return d


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory) -> Path:
    """The demo as made on FIXED_NOW."""
    return _make_demo(tmp_path_factory.mktemp("demo-template"), Clock.fixed(FIXED_NOW))


@pytest.fixture(scope="session")
def _demo_today_template(tmp_path_factory) -> Path:
    """The demo as made today, on the real clock (for the county server in a subprocess)."""
    return _make_demo(tmp_path_factory.mktemp("demo-today-template"), Clock())


def _context(template: Path, target: Path, clock: Clock) -> Context:
    _copy_dir(template, target)
    db = open_database(target / DB_FILENAME)
    return Context(db=db, data_dir=target, clock=clock)


@pytest.fixture
def ctx(_empty_template, tmp_path) -> Context:
    """An empty, migrated database with the fixed clock."""
    c = _context(_empty_template, tmp_path / "data", Clock.fixed(FIXED_NOW))
    yield c
    close_database()


@pytest.fixture
def demo_dir(_demo_template, tmp_path) -> Path:
    """A private copy of the demo data folder (for CLI subprocess tests)."""
    target = tmp_path / "demo"
    _copy_dir(_demo_template, target)
    return target


@pytest.fixture
def demo_ctx(_demo_template, tmp_path) -> Context:
    """The demo township, with the fixed clock."""
    c = _context(_demo_template, tmp_path / "demo", Clock.fixed(FIXED_NOW))
    yield c
    close_database()


@pytest.fixture
def demo_today_ctx(_demo_today_template, tmp_path) -> Context:
    """The demo township made today, with the real clock."""
    c = _context(_demo_today_template, tmp_path / "demo", Clock())
    yield c
    close_database()


# `make test-dates` runs these at dates where dates go wrong (see the Makefile): every test that
# makes or uses a demo, and the modules that publish, serve a public page or count a period.
_DATE_FIXTURES = {"_demo_template", "_demo_today_template"}
_DATE_MODULES = {
    "tests/app/test_periods.py", "tests/app/test_lifecycle.py", "tests/app/test_demo.py",
    "tests/app/test_disclosure_calendar.py", "tests/app/test_postings_and_answers.py",
    "tests/app/test_objections_boards.py", "tests/app/test_public_view.py", "tests/app/test_validation.py",
    "tests/test_cli.py",
    "tests/ui/test_calendar_page.py", "tests/ui/test_boards_page.py", "tests/ui/test_objections_page.py",
    "tests/ui/test_user_guide.py", "tests/ui/test_settings_login.py",
}
_DATE_PACKAGES = ("tests/server/", "tests/printing/")


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).resolve().parents[1]
    for item in items:
        where = Path(str(item.fspath)).resolve().relative_to(root).as_posix()
        if (_DATE_FIXTURES & set(getattr(item, "fixturenames", ())) or where in _DATE_MODULES
                or where.startswith(_DATE_PACKAGES)):
            item.add_marker(pytest.mark.dates)
