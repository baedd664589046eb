"""The public verification pages, fed by a real demo township's published notices."""

from __future__ import annotations

import re
import uuid

import pytest

from db.models import Notice, Outbox, RosterRow
from server.models import SyncRow

from .test_sync_api import auth, enroll, pull_all, push


def push_demo(client, code: str = "539901103000") -> dict:
    """Register the demo township (open in this process) on the server under ``code`` and push its
    outbox."""
    from app.notices import claim_unowned
    from app.settings import local_township_id
    from db.changes import payload_of
    from db.models import Program, Region, database
    from server import sync_service as svc
    from server.county import add_township

    township_id = local_township_id()
    # under the demo's own name: the public view printed there names it, and the county derives it
    add_township(code, Region.get_by_id(township_id).name, township_id=township_id)
    # the county holds the demo's villages as reference data, as it would have from the start
    for region in Region.select().where(Region.level == "village"):
        svc.put_county_row("region", region.id, payload_of(region))
    for program in Program.select().where(Program.township_id.is_null()):  # the county's own programs
        svc.put_county_row("program", program.id, payload_of(program))
    device = enroll(client, code)
    with database.atomic():
        claim_unowned(device["device_id"])  # as the workstation's enrolment does
    entries = list(Outbox.select().order_by(Outbox.seq))
    for start in range(0, len(entries), 500):
        changes = [{"entity": e.entity, "id": e.entity_id, "version": e.version, "base_version": e.base_version,
                    "data": e.payload} for e in entries[start:start + 500]]
        r = push(client, device, changes)
        assert r.status_code == 200, r.text
    secrets = set()
    for r in RosterRow.select():
        secrets |= {v for v in (r.id_number, r.bank_account, r.phone) if v}
    return {"device": device, "secrets": secrets}


@pytest.fixture
def synced(client, county, demo_ctx):
    """The demo township registered on the server, its whole outbox pushed."""
    return push_demo(client) | {"ctx": demo_ctx}


def _clean(body: str, secrets: set[str]) -> None:
    for s in secrets:
        assert s not in body
    assert not re.search(r"(?<!\d)\d{17}[\dX](?!\d)", body)


def _published() -> Notice:
    """A running subsidy notice (a roster of people)."""
    from db.models import NoticeType

    return (Notice.select().join(NoticeType).where((Notice.status == "published") & (Notice.edition == 1)
            & (NoticeType.code == "subsidy_payout")).order_by(Notice.title).first())


def test_verification_page_shows_the_public_view_and_confirms_the_fingerprint(client, synced):
    n = _published()
    r = client.get(f"/v/{n.id}/{n.edition}?f={n.fingerprint[:12]}")
    assert r.status_code == 200
    assert n.title in r.text and "与正式记录一致" in r.text and "公示中" in r.text
    _clean(r.text, synced["secrets"])
    bad = client.get(f"/v/{n.id}/{n.edition}?f=000000000000")
    assert "与正式记录不一致" in bad.text


def test_the_page_follows_the_county_clock_it_is_given(client, synced):
    """The same stored notice, served by a county whose clock is on its last day, the day after,
    and a month later: the state, the days left, the objection form and its due date follow that
    clock, never the machine's."""
    from datetime import UTC, datetime, time, timedelta

    from fastapi.testclient import TestClient

    from app.context import Clock
    from server.app import create_app

    n = _published()

    def county_on(day, hour=10):
        moment = datetime.combine(day, time(hour - 8), tzinfo=UTC)  # China time
        return TestClient(create_app(clock=Clock.fixed(moment)))

    last_day = county_on(n.posting_end).get(f"/v/{n.id}/{n.edition}")
    assert "公示中，剩余 0 天" in last_day.text and "在线提交异议" in last_day.text
    day_after = county_on(n.posting_end + timedelta(days=1)).get(f"/v/{n.id}/{n.edition}")
    assert "公示期已结束" in day_after.text and "在线提交异议" not in day_after.text

    on_day = county_on(n.posting_end)
    form = on_day.get(f"/v/{n.id}/{n.edition}/objection")
    sent = on_day.post(f"/v/{n.id}/{n.edition}/objection",
                       data={"content": "面积有误", "row": "1", "csrf": _csrf(form.text)})
    assert sent.status_code == 200 and f"WS-{n.posting_end:%Y%m%d}-" in sent.text
    [objection] = [c["data"] for c in pull_all(client, synced["device"]) if c["entity"] == "objection"
                   and c["data"]["origin"] == "portal"]
    assert objection["due_date"] == (n.posting_end + timedelta(days=7)).isoformat()
    # a form token from a month before is stale for a county whose clock has moved on
    later = county_on(n.posting_end + timedelta(days=30))
    stale = later.post(f"/v/{n.id}/{n.edition}/objection", data={"content": "x", "csrf": _csrf(form.text)})
    assert stale.status_code == 403


def test_drafts_unknown_ids_and_wrong_editions_are_not_found(client, synced):
    draft = Notice.get(Notice.status == "draft")
    n = _published()
    for url in (f"/v/{draft.id}/1", f"/v/{uuid.uuid4()}/1", f"/v/{n.id}/{n.edition + 1}", "/v/x/1",
                f"/v/{'a' * 500}/1"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "未找到" in r.text


def test_a_superseded_notice_links_to_the_correction(client, synced):
    old = Notice.get(Notice.status == "superseded")
    new = Notice.get(Notice.supersedes == old.id)
    r = client.get(f"/v/{old.id}/{old.edition}")
    assert "已被更正" in r.text and f"/v/{new.id}/{new.edition}" in r.text


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_check_my_row_shows_only_that_row_masked(client, synced):
    """The full ID number and the name together show the resident's own row; a number that is
    not listed and a listed number with another name get the same answer."""
    n = _published()
    page = client.get(f"/v/{n.id}/{n.edition}")
    person = RosterRow.select().where(RosterRow.notice == n.id).order_by(RosterRow.seq).offset(4).first()
    r = client.post(f"/v/{n.id}/{n.edition}/check", data={"id_number": person.id_number, "name": f" {person.name} ",
                                                          "csrf": _csrf(page.text)})
    assert r.status_code == 200 and "您在本公示名单中" in r.text
    assert person.name in r.text
    others = RosterRow.select().where((RosterRow.notice == n.id) & (RosterRow.id != person.id)).limit(20)
    assert not any(o.name in r.text for o in others if o.name != person.name)
    _clean(r.text, synced["secrets"])
    answers = []
    for number, name in (("11010519491231002X", person.name), (person.id_number, "王某某"),
                         (person.id_number, "")):
        miss = client.post(f"/v/{n.id}/{n.edition}/check", data={"id_number": number, "name": name,
                                                                 "csrf": _csrf(page.text)})
        assert miss.status_code == 200 and "您在本公示名单中" not in miss.text and person.name not in miss.text.split("查询结果")[1]
        answers.append(re.search(r'<div class="verdict warn">(.*?)</div>', miss.text).group(1))
    assert answers[0] == answers[1] and "姓名与它对不上" in answers[0]  # not listed, or the wrong name: one answer
    assert "身份证号码和您的姓名" in answers[2]


def test_check_my_row_needs_a_valid_form_token_and_is_rate_limited(client, synced):
    """Ten tries a minute per address; sixty a minute per notice, however many addresses a
    guesser rotates through."""
    n = _published()
    person = RosterRow.select().where(RosterRow.notice == n.id).first()
    assert client.post(f"/v/{n.id}/{n.edition}/check", data={"id_number": person.id_number, "name": person.name,
                                                             "csrf": "1.2.3"}).status_code == 403
    token = _csrf(client.get(f"/v/{n.id}/{n.edition}").text)
    form = {"id_number": person.id_number, "name": person.name, "csrf": token}
    codes = [client.post(f"/v/{n.id}/{n.edition}/check", data=form).status_code for _ in range(12)]
    # ten attempts a minute per client, the refused one included
    assert codes[:9] == [200] * 9 and codes[9:] == [429, 429, 429]
    other = RosterRow.select().where(RosterRow.notice != n.id).first().notice
    assert client.post(f"/v/{other.id}/{other.edition}/check", data=form).status_code == 429  # the same address


def test_rotating_forwarded_for_does_not_escape_the_limits(synced):
    """The application takes the client's address from the connection: a rotated X-Forwarded-For
    header changes nothing (``serve`` believes the header only from a configured proxy)."""
    from fastapi.testclient import TestClient

    from app.context import Clock
    from server.app import create_app
    from tests.conftest import FIXED_NOW

    n = _published()
    person = RosterRow.select().where(RosterRow.notice == n.id).first()
    fresh = TestClient(create_app(clock=Clock.fixed(FIXED_NOW)))
    token = _csrf(fresh.get(f"/v/{n.id}/{n.edition}").text)
    form = {"id_number": person.id_number, "name": person.name, "csrf": token}
    codes = [fresh.post(f"/v/{n.id}/{n.edition}/check", data=form,
                        headers={"X-Forwarded-For": f"10.0.{i // 250}.{i % 250}"}).status_code for i in range(15)]
    assert codes.count(429) == 5  # all one client: the header changed nothing


def test_the_limiter_forgets_the_least_recent_addresses_and_holds_per_notice():
    """Memory stays bounded however many addresses a guesser rotates through, and a crowd of
    addresses meets the per-notice limit long before it could guess an ID number (thousands of
    tries)."""
    from server.public import Limits, RateLimiter

    limiter = RateLimiter(limit=2, window=60, keys=1000)
    for i in range(100_000):
        limiter.allow(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(limiter._events) == 1000
    limits = Limits(per_client=(10, 60), per_notice=(60, 60), overall=(600, 60))
    allowed = sum(limits.allow(f"addr-{i}", "notice-a") for i in range(4000))
    assert allowed == 60 and limits.allow("addr-x", "notice-b")


def test_a_resident_objection_reaches_the_township_through_pull(client, synced):
    n = _published()
    form = client.get(f"/v/{n.id}/{n.edition}/objection")
    r = client.post(f"/v/{n.id}/{n.edition}/objection",
                    data={"content": "第3行的面积与实际不符", "contact": "李某 13900001111", "row": "3",
                          "csrf": _csrf(form.text)})
    assert r.status_code == 200 and "已收到您的反映" in r.text
    assert "13900001111" not in r.text
    objections = [c for c in pull_all(client, synced["device"]) if c["entity"] == "objection"
                  and c["data"]["origin"] == "portal"]
    assert len(objections) == 1
    data = objections[0]["data"]
    assert data["notice_id"] == n.id and data["status"] == "open" and data["number"].startswith("WS-")
    third = RosterRow.select().where(RosterRow.notice == n.id).order_by(RosterRow.seq).offset(2).first()
    assert data["roster_row_id"] == third.id


@pytest.mark.parametrize("fields, status", [
    ({"content": ""}, 422),
    ({"content": "x" * 2001}, 422),
    ({"content": "ok", "row": "99999"}, 422),
    ({"content": "<script>alert(1)</script>", "contact": "'; DROP TABLE sync_row; --"}, 200),
    ({"content": "<script>alert(1)</script>第三行面积不对", "contact": "李某", "row": "abc"}, 422),
])
def test_objection_form_refuses_bad_input_cleanly(client, synced, fields, status):
    n = _published()
    form = client.get(f"/v/{n.id}/{n.edition}/objection")
    before = SyncRow.select().where(SyncRow.entity == "objection").count()
    r = client.post(f"/v/{n.id}/{n.edition}/objection", data={**fields, "csrf": _csrf(form.text)})
    assert r.status_code == status
    assert "<script>alert(1)</script>" not in r.text
    after = SyncRow.select().where(SyncRow.entity == "objection").count()
    assert after == before + (1 if status == 200 else 0)
    if status == 422 and fields["content"]:  # what the resident typed is still in the form, escaped
        typed = fields["content"].replace("<", "&lt;").replace(">", "&gt;")
        assert typed[:500] in r.text and (fields.get("contact") or "") in r.text


def test_objection_numbers_are_unique_across_the_county(client, synced, county):
    """Residents of notices of two townships object on the same day: every number is different
    (a number names one objection wherever it is quoted, at the county or in either township)."""
    from server.public import create_portal_objection
    from tests.conftest import FIXED_NOW

    demo = Notice.get(Notice.status == "published")
    notices = [{"id": demo.id, "township_id": demo.township_id}, {"id": str(uuid.uuid4()), "township_id": county["liu"]}]
    numbers = [create_portal_objection(n, "意见", "", None, FIXED_NOW) for n in notices * 2]
    assert len(set(numbers)) == 4 and all(x.startswith("WS-20261125-") for x in numbers)


def test_pull_responses_of_one_township_hold_no_other_townships_data(client, synced, county):
    other = enroll(client, "539901102000")
    changes = pull_all(client, other)
    assert all(c["data"].get("township_id") in (None, county["liu"]) for c in changes)
    assert not any(c["entity"] == "roster_row" for c in changes)
    assert auth(other)


def test_the_personal_data_scanner_recognises_what_it_must_and_spares_the_rest():
    from .conftest import _PERSONAL

    for leak in ("身份证 11010519491231002X。", "电话13812345678", "卡号6228480000000000001 "):
        assert _PERSONAL.search(leak), leak
    for fine in ("合计 1,216.48 元", "2026-11-25T10:00:00Z", "0872-6123456", "01a21509-4cd6-7ffa-90ff-6d8fb5132455",
                 "539901101000", "f=74d71fcdbf33"):
        assert not _PERSONAL.search(fine), fine


def test_withdrawn_and_superseded_pages_say_so_in_red_and_show_no_roster(client, synced):
    """A withdrawn notice: a red "no longer valid" with the township's reason, no roster, no
    "check my row", no objection form, whatever its QR fingerprint; a superseded one likewise,
    with the link to the correction. Check-my-row and objections sent to them anyway are refused."""
    for status in ("withdrawn", "superseded"):
        n = Notice.get((Notice.status == status) & Notice.public_snapshot.is_null(False))
        page = client.get(f"/v/{n.id}/{n.edition}?f={n.fingerprint[:12]}")
        assert page.status_code == 200 and "不再有效" in page.text and 'class="verdict bad"' in page.text
        assert "与正式记录一致" not in page.text and "公示名单（共" not in page.text
        assert "查询本人信息" not in page.text and "在线提交异议" not in page.text
        if status == "withdrawn":
            assert "撤回原因：补贴面积统计口径有误" in page.text
        person = RosterRow.select().where(RosterRow.notice == n.id).first()
        check = client.post(f"/v/{n.id}/{n.edition}/check", data={"id_number": person.id_number,
                                                                   "csrf": _csrf(_published_page(client))})
        assert check.status_code == 410 and person.name not in check.text
        form = client.get(f"/v/{n.id}/{n.edition}/objection")
        sent = client.post(f"/v/{n.id}/{n.edition}/objection",
                           data={"content": "我有意见", "contact": "", "row": "", "csrf": _csrf(_published_page(client))})
        assert form.status_code == sent.status_code == 410 and "不再在线受理异议" in sent.text


def test_objections_are_taken_online_only_while_the_notice_is_posted(client, synced):
    n = Notice.get(Notice.status == "closed")
    before = SyncRow.select().where(SyncRow.entity == "objection").count()
    sent = client.post(f"/v/{n.id}/{n.edition}/objection",
                       data={"content": "期满后才提的意见", "contact": "", "row": "", "csrf": _csrf(_published_page(client))})
    assert sent.status_code == 410 and SyncRow.select().where(SyncRow.entity == "objection").count() == before


def _published_page(client) -> str:
    n = _published()
    return client.get(f"/v/{n.id}/{n.edition}").text


def test_a_notice_page_is_served_from_the_cache_until_anything_it_shows_changes(synced, monkeypatch):
    """One app (one cache), a clock that moves: the same page twice is one render, with an ETag
    (a 304 for a browser that holds it) and gzip; a matching and a non-matching printout each get
    their own verdict; the next day, a withdrawal pushed by the township and a take-down by the
    county each show at the next request."""
    from datetime import UTC, datetime, time, timedelta

    from fastapi.testclient import TestClient

    from app.context import Clock
    from db.changes import payload_of
    from server import sync_service as svc
    from server.app import create_app

    n = _published()
    moment = [datetime.combine(n.posting_end - timedelta(days=1), time(2), tzinfo=UTC)]
    client = TestClient(create_app(clock=Clock(now_fn=lambda: moment[0])))
    url = f"/v/{n.id}/{n.edition}"
    renders = []
    import server.public

    original = server.public._env.get_template

    def counting(name, *args, **kwargs):
        renders.append(name)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(server.public._env, "get_template", counting)
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    again = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == again.status_code == 200 and renders.count("notice.html") == 1
    assert first.headers["content-encoding"] == "gzip" and first.headers["cache-control"] == "public, no-cache"
    assert first.text == again.text and first.headers["etag"] == again.headers["etag"]
    assert "公示中，剩余 1 天" in first.text
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == first.text
    held = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert held.status_code == 304 and held.content == b""

    good, bad = f"{url}?f={n.fingerprint[:12]}", f"{url}?f=000000000000"
    for _ in range(2):
        assert "与正式记录一致" in client.get(good).text
        assert "与正式记录不一致" in client.get(bad).text
    assert renders.count("notice.html") == 3  # no fingerprint, a matching one, another one

    moment[0] += timedelta(days=2)  # the county's next days: the posting has ended
    ended = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert ended.status_code == 200 and "公示期已结束" in ended.text and ended.headers["etag"] != first.headers["etag"]

    data = payload_of(n) | {"status": "withdrawn", "withdraw_reason": "面积统计有误", "version": n.version + 1}
    r = push(client, synced["device"], [{"entity": "notice", "id": n.id, "version": n.version + 1,
                                          "base_version": n.version, "data": data}])
    assert r.json()["accepted"], r.text
    withdrawn = client.get(url)
    assert "撤回原因：面积统计有误" in withdrawn.text and "公示名单（共" not in withdrawn.text

    svc.take_down(n.id, "待核实", "county-admin", moment[0])
    down = client.get(url, headers={"If-None-Match": withdrawn.headers["etag"]})
    assert down.status_code == 410 and "本公示页面已暂停公开" in down.text


def test_the_page_cache_keeps_a_bounded_number_of_notices_least_recent_out_first():
    from server.page_cache import PageCache

    cache = PageCache(entries=3)
    for i in range(5):
        cache.put((f"n{i}", 1, (i, 0), "day"), "fp", None, f"<p>{i}</p>")
    assert [cache.get((f"n{i}", 1, (i, 0), "day")) is not None for i in range(5)] == [False, False, True, True, True]
    cache.get(("n2", 1, (2, 0), "day"))  # used: kept when the next one comes
    cache.put(("n5", 1, (5, 0), "day"), "fp", None, "<p>5</p>")
    assert cache.get(("n2", 1, (2, 0), "day")) is not None and cache.get(("n3", 1, (3, 0), "day")) is None
    # a newer version of a notice replaces the older one
    cache.put(("n5", 1, (6, 0), "day"), "fp", None, "<p>5 again</p>")
    assert cache.get(("n5", 1, (5, 0), "day")) is None
    off = PageCache(entries=0)
    off.put(("n", 1, (1, 0), "day"), "fp", None, "<p></p>")
    assert off.get(("n", 1, (1, 0), "day")) is None
