"""Server fixtures: every server test runs against SQLite and against a real PostgreSQL."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.pg import temporary_cluster

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    with temporary_cluster("gongkai-pg-") as cluster:
        yield cluster


def _opened(url: str):
    from server.db import database, open_server_database

    db = open_server_database(url)
    yield url
    if not db.is_closed():
        db.close()
    if hasattr(db, "close_all"):
        db.close_all()
    database.initialize(None)


@pytest.fixture(params=["sqlite", "postgres"])
def server_db(request, tmp_path):
    """An empty server database (URL) of each kind, opened as the server's database."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres").create_database(f"t{next(_names)}")
    else:
        url = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    yield from _opened(url)


@pytest.fixture
def sqlite_server_db(tmp_path):
    """The embedded SQLite server database only, for tests that are not about the database."""
    yield from _opened(f"sqlite:///{tmp_path / 'county.sqlite3'}")


def make_county() -> dict[str, str]:
    """A county with one township 石门镇 and a second township 柳镇; returns their ids."""
    from server.county import add_township, init_county

    init_county("539901000000", "云岭县", "http://127.0.0.1:8765")
    return {"shimen": add_township("539901101000", "石门镇"), "liu": add_township("539901102000", "柳镇")}


@pytest.fixture
def county(server_db):
    return make_county()


@pytest.fixture
def client(county):
    from fastapi.testclient import TestClient

    from app.context import Clock
    from server.app import create_app
    from tests.conftest import FIXED_NOW

    with TestClient(create_app(clock=Clock.fixed(FIXED_NOW))) as c:
        yield c


#: the county administrator the ``admin`` fixture signs in as
PASSWORD = "county-secret-1"


def csrf_of(html: str) -> str:
    """The form token a page's forms carry."""
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def admin(client):
    """``client``, signed in to the county's admin pages as zhangsan."""
    from server.county import create_admin

    create_admin("zhangsan", PASSWORD)
    page = client.get("/admin/login")
    r = client.post("/admin/login", data={"username": "zhangsan", "password": PASSWORD, "csrf": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin"
    return client


_PERSONAL = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|1[3-9][0-9]{9}|[0-9]{16,19})(?![0-9])")
# Identifiers the server hands out (UUIDs, hex digests) may hold a long run of digits by chance.
_IDENTIFIERS = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                          r"|(?<![0-9A-Za-z])[0-9a-f]{32,}(?![0-9A-Za-z])")


@pytest.fixture(autouse=True)
def _no_personal_data_in_public_responses(monkeypatch):
    """Every response the test suite receives for a request without a workstation token (public
    pages, admin pages, errors) is scanned: no ID number, mobile number or account number."""
    from starlette.testclient import TestClient

    seen: list[tuple[str, str]] = []
    original = TestClient.request

    def request(self, method, url, *args, **kwargs):
        response = original(self, method, url, *args, **kwargs)
        headers = {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}
        if "authorization" not in headers:
            seen.append((f"{method} {url}", response.text))
        return response

    monkeypatch.setattr(TestClient, "request", request)
    yield
    leaks = [(where, m.group(0)[:4] + "…") for where, text in seen
             for m in [_PERSONAL.search(_IDENTIFIERS.sub("-", text))] if m]
    assert leaks == [], f"personal data in public responses: {leaks}"
