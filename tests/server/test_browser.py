"""The public page in a real browser (Debian's Chromium, headless, at phone width) against the
real server running in a subprocess (uvicorn)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.context import Clock
from db.models import Notice, NoticeType, RosterRow
from server.app import create_app
from tests.live import county_server

from .conftest import make_county
from .test_public_pages import push_demo

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def county_db(sqlite_server_db, demo_today_ctx):
    """The county database holding the demo township's notices, closed for a server to open."""
    make_county()
    push_demo(TestClient(create_app(clock=Clock())))
    from server.db import database

    database.close()
    return sqlite_server_db


@pytest.fixture
def live_server(county_db):
    with county_server(county_db) as base:
        yield base


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # the resident's phone keeps its own clock: not the one `make test-dates` moves
        own_clock = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}
        b = p.chromium.launch(executable_path="/usr/bin/chromium", env=own_clock, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def test_a_resident_checks_the_notice_their_row_and_objects_on_a_phone(county_db, live_server, browser, tmp_path):
    shots = Path(os.environ.get("GONGKAI_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    n = (Notice.select().join(NoticeType).where((Notice.status == "published") & (Notice.edition == 1)
         & (NoticeType.code == "subsidy_payout")).order_by(Notice.title).first())
    person = RosterRow.select().where(RosterRow.notice == n.id).order_by(RosterRow.seq).offset(2).first()
    page = browser.new_page(viewport=PHONE, device_scale_factor=2, java_script_enabled=False)

    page.goto(f"{live_server}/v/{n.id}/{n.edition}?f={n.fingerprint[:12]}")
    assert "与正式记录一致" in page.inner_text("body")
    page.screenshot(path=str(shots / "public-notice.png"))
    width = page.locator("main").bounding_box()["width"]
    assert width <= PHONE["width"]

    page.fill("#id_number", person.id_number)
    page.fill("#name", person.name)
    page.click("form[action$='/check'] button")
    body = page.inner_text("body")
    assert "您在本公示名单中" in body and person.name in body and person.id_number not in page.content()
    page.screenshot(path=str(shots / "public-check.png"), full_page=True)

    page.goto(f"{live_server}/v/{n.id}/{n.edition}/objection")
    page.fill("#row", "3")
    page.fill("#content", "我家的补贴面积少算了 0.8 亩，请核实。")
    page.fill("#contact", "周某 13900001111")
    page.screenshot(path=str(shots / "public-objection-form.png"), full_page=True)
    page.click("form button")
    assert "已收到您的反映" in page.inner_text("body")
    page.screenshot(path=str(shots / "public-objection-done.png"))

    # a withdrawn and a superseded notice, scanned from an old printout: red, with no roster
    for status in ("withdrawn", "superseded"):
        old = Notice.get((Notice.status == status) & Notice.fingerprint.is_null(False))
        page.goto(f"{live_server}/v/{old.id}/{old.edition}?f={old.fingerprint[:12]}")
        body = page.inner_text("body")
        assert "不再有效" in body and "与正式记录一致" not in body and "查询本人信息" not in body
        verdict = page.locator(".verdict").first
        assert verdict.evaluate("e => getComputedStyle(e).color") == "rgb(179, 38, 30)"  # the red of .bad
        assert page.locator("main").bounding_box()["width"] <= PHONE["width"]
        page.screenshot(path=str(shots / f"public-{status}.png"), full_page=True)

    # the county takes the running notice's page down: the reason in red, nothing of the notice
    from server import sync_service as svc
    from server.db import database, open_server_database

    db = open_server_database(county_db)
    with db.connection_context():
        svc.take_down(n.id, "名单正在核实，核实后重新公开。", "county-admin", Clock().now())
    db.close()
    database.initialize(None)
    page.goto(f"{live_server}/v/{n.id}/{n.edition}?f={n.fingerprint[:12]}")
    body = page.inner_text("body")
    assert "本公示页面已暂停公开" in body and "名单正在核实" in body and n.title not in body
    assert page.locator(".verdict").first.evaluate("e => getComputedStyle(e).color") == "rgb(179, 38, 30)"
    page.screenshot(path=str(shots / "public-taken-down.png"), full_page=True)


def test_serve_believes_x_forwarded_for_only_from_a_configured_proxy(county_db):
    """``main.py serve`` as deployed: a client rotating X-Forwarded-For is still one client and is
    limited after ten row checks; behind ``--trusted-proxy 127.0.0.1`` the header names the client
    (the proxy's own limit is then the outer bound)."""
    import re

    import requests

    n = (Notice.select().join(NoticeType).where((Notice.status == "published") & (Notice.edition == 1)
         & (NoticeType.code == "subsidy_payout")).order_by(Notice.title).first())
    person = RosterRow.select().where(RosterRow.notice == n.id).first()

    def statuses(base: str) -> list[int]:
        session = requests.Session()
        token = re.search(r'name="csrf" value="([^"]+)"', session.get(f"{base}/v/{n.id}/{n.edition}").text).group(1)
        return [session.post(f"{base}/v/{n.id}/{n.edition}/check", timeout=10,
                             data={"id_number": person.id_number, "name": person.name, "csrf": token},
                             headers={"X-Forwarded-For": f"10.9.0.{i}"}).status_code for i in range(12)]

    with county_server(county_db) as base:
        assert statuses(base) == [200] * 10 + [429] * 2
    with county_server(county_db, "--trusted-proxy", "127.0.0.1") as base:
        assert statuses(base) == [200] * 12
