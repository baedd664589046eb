"""County admin pages: login, CSRF, and every change reaching the townships through pull."""

from __future__ import annotations

import re

from server.county import create_admin

from .conftest import PASSWORD
from .conftest import csrf_of as _csrf
from .test_public_pages import synced  # noqa: F401 - fixture
from .test_sync_api import auth, enroll, pull_all


def _form(client, path: str) -> str:
    return _csrf(client.get(path).text)


def test_pages_need_a_login_and_wrong_passwords_are_refused(client):
    create_admin("zhangsan", PASSWORD)
    for path in ("/admin", "/admin/townships", "/admin/devices", "/admin/settings"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    token = _form(client, "/admin/login")
    bad = client.post("/admin/login", data={"username": "zhangsan", "password": "nope", "csrf": token})
    assert bad.status_code == 401 and "不正确" in bad.text
    no_token = client.post("/admin/login", data={"username": "zhangsan", "password": PASSWORD, "csrf": "x"})
    assert no_token.status_code == 403


def test_forms_need_the_page_token(admin):
    r = admin.post("/admin/townships", data={"code": "539901104000", "name": "新镇", "csrf": "forged"})
    assert r.status_code == 403


def test_township_enrolment_code_and_revocation(admin):
    admin.post("/admin/townships", data={"code": "539901104000", "name": "新镇",
                                         "csrf": _form(admin, "/admin/townships")})
    page = admin.get("/admin/townships")
    assert "新镇" in page.text
    r = admin.post("/admin/townships/539901104000/enroll-code", data={"csrf": _csrf(page.text)})
    code = re.search(r'class="code">([A-Z0-9-]+)<', r.text).group(1)
    device = admin.post("/api/v1/enroll", json={"code": code, "device_name": "新镇一号机"},
                        headers={"X-Gongkai-Protocol": "1"}).json()
    assert admin.get("/api/v1/sync/pull", headers=auth(device)).status_code == 200
    devices = admin.get("/admin/devices")
    assert "新镇一号机" in devices.text
    admin.post(f"/admin/devices/{device['device_id']}/revoke", data={"csrf": _csrf(devices.text)})
    assert admin.get("/api/v1/sync/pull", headers=auth(device)).status_code == 401
    assert "已停用" in admin.get("/admin/devices").text


def test_the_devices_page_names_workstations_still_on_the_old_bundle_signature(admin):
    from .test_bundle_keys import enroll_with_key

    enroll(admin, "539901101000", "旧工作站")  # enrolled as before signing keys: no key sent
    enroll_with_key(admin, "539901101000", "新工作站")
    rows = {name: row for row in admin.get("/admin/devices").text.split("<tr>")
            for name in ("旧工作站", "新工作站") if f"<td>{name}</td>" in row}
    assert "旧式" in rows["旧工作站"] and "本机密钥" in rows["新工作站"] and "旧式" not in rows["新工作站"]


def test_county_changes_reach_townships_by_pull(admin):
    device = enroll(admin, "539901101000")
    admin.post("/admin/notice-types/subsidy_payout", data={"min_days": 5, "day_unit": "natural",
                                                           "csrf": _form(admin, "/admin/notice-types")})
    admin.post("/admin/programs", data={"name": "2026年一次性种粮补贴", "year": 2026, "notice_type": "subsidy_payout",
                                        "unit": "亩", "rate": "13.5", "csrf": _form(admin, "/admin/programs")})
    admin.post("/admin/holidays", data={"day": "2027-01-01", "kind": "holiday", "name": "元旦",
                                        "complete_year": "true", "csrf": _form(admin, "/admin/holidays")})
    admin.post("/admin/settings", data={"public_url": "https://gk.example.gov.cn", "id_mask_pattern": "6+4",
                                        "objection_answer_days": 10, "csrf": _form(admin, "/admin/settings")})
    pulled = pull_all(admin, device)
    subsidy = [c for c in pulled if c["entity"] == "notice_type" and c["data"]["code"] == "subsidy_payout"]
    assert subsidy[-1]["data"]["min_days"] == 5 and subsidy[-1]["version"] == 2
    assert any(c["entity"] == "program" and c["data"]["rate"] == "13.5" for c in pulled)
    assert any(c["entity"] == "holiday_override" and c["data"]["day"] == "2027-01-01" for c in pulled)
    settings = {c["data"]["key"]: c["data"]["value"] for c in pulled if c["entity"] == "county_setting"}
    assert settings["public_url"] == "https://gk.example.gov.cn" and settings["id_mask_pattern"] == "6+4"
    assert settings["objection_answer_days"] == 10 and settings["holiday_complete_years"] == [2027]


def test_a_mask_that_reveals_too_much_is_refused(admin):
    r = admin.post("/admin/settings", data={"public_url": "https://gk.example.gov.cn", "id_mask_pattern": "9+9",
                                            "objection_answer_days": 7, "csrf": _form(admin, "/admin/settings")})
    assert "脱敏规则无效" in r.text
    assert 'value="2+3"' in admin.get("/admin/settings").text


def test_dashboard_counts_what_a_county_officer_watches(admin, synced):  # noqa: F811
    page = admin.get("/admin")
    assert page.status_code == 200, page.text
    rows = re.findall(r"<tr><td>石门镇</td><td>([^<]+)</td>(.*?)</tr>", page.text, re.S)  # the demo's township
    table = {village: [int(x) for x in re.findall(r">(\d+)<", cells)] for village, cells in rows}
    # published, running, ended, open objections, overdue, without photo
    assert table["柳溪村"][:3] == [1, 0, 1]
    assert sum(v[3] for v in table.values()) == 1  # the phone objection on a running notice
    assert sum(v[0] for v in table.values()) >= 8
    assert sum(v[5] for v in table.values()) >= 2  # closed notices have no posting photo in the demo


def test_a_county_officer_hands_notices_over_to_another_workstation(admin, county):
    """The 公示移交 page lists the notices in hand with the workstation handling each; handing one
    over writes a new version naming the new workstation, which both workstations pull. A revoked
    workstation's notices go over all at once from the devices page. The workstation directory
    every township pulls names them, and says which are revoked."""
    import uuid

    from .test_sync_api import push

    first, second = enroll(admin, "539901101000", "一号机"), enroll(admin, "539901101000", "二号机")
    liu = enroll(admin, "539901102000", "柳镇一号机")
    notices = []
    for title in ("一号机的公示", "一号机的另一份公示"):
        nid = str(uuid.uuid4())
        notices.append(nid)
        data = {"id": nid, "version": 1, "township_id": county["shimen"], "status": "draft", "title": title,
                "deleted": False, "owner_device": first["device_id"]}
        assert push(admin, first, [{"entity": "notice", "id": nid, "version": 1, "base_version": None,
                                    "data": data}]).json()["accepted"]
    # the second workstation asks for the first notice (twice: one request); the owner cannot ask,
    # nor can another township's workstation, nor anyone for a notice the county does not have
    asked = {"X-Gongkai-Protocol": "1"}
    for _ in range(2):
        r = admin.post(f"/api/v1/notices/{notices[0]}/handover-request", headers=auth(second))
        assert r.status_code == 202, r.text
    assert admin.post(f"/api/v1/notices/{notices[0]}/handover-request", headers=auth(first)).status_code == 409
    assert admin.post(f"/api/v1/notices/{notices[0]}/handover-request", headers=auth(liu)).status_code == 404
    assert admin.post(f"/api/v1/notices/{uuid.uuid4()}/handover-request", headers=auth(second)).status_code == 404
    assert admin.post(f"/api/v1/notices/{notices[0]}/handover-request", headers=asked).status_code == 401
    page = admin.get("/admin/handover")
    assert page.status_code == 200
    row = re.search(r"<tr><td>石门镇</td><td>一号机的公示</td><td>草稿</td><td>一号机</td>\s*"
                    r'<td><span class="alert">二号机</span></td>(.*?)</tr>', page.text, re.S)
    options = re.findall(r'<option value="([^"]+)">([^<]+)</option>', row.group(1))
    assert options == [(second["device_id"], "二号机")]  # not itself, not another township's
    r = admin.post(f"/admin/handover/{notices[0]}", data={"device_id": second["device_id"], "csrf": _csrf(page.text)})
    assert "已把“一号机的公示”移交给工作站“二号机”" in r.text
    assert "申请接手</th>" in r.text and '<span class="alert">二号机</span>' not in r.text  # decided
    [moved] = [c for c in pull_all(admin, second) if c["id"] == notices[0]]
    assert (moved["version"], moved["data"]["owner_device"]) == (2, second["device_id"])
    bad = admin.post(f"/admin/handover/{notices[1]}", data={"device_id": "no-such", "csrf": _form(admin, "/admin/handover")})
    assert "未能移交" in bad.text
    # the first workstation is revoked: what it still handles goes over in one step
    admin.post(f"/admin/devices/{first['device_id']}/revoke", data={"csrf": _form(admin, "/admin/devices")})
    devices = admin.get("/admin/devices")
    r = admin.post(f"/admin/devices/{first['device_id']}/hand-over",
                   data={"to_device": second["device_id"], "csrf": _csrf(devices.text)})
    assert "办理的 1 份公示移交给“二号机”" in r.text
    pulled = pull_all(admin, second)
    owners = {c["id"]: c["data"]["owner_device"] for c in pulled if c["entity"] == "notice"}
    assert owners == {nid: second["device_id"] for nid in notices}
    directory = {c["id"]: c["data"] for c in pulled if c["entity"] == "workstation"}
    assert {d["name"]: d["revoked"] for d in directory.values()} == {"一号机": True, "二号机": False}


def test_admin_forms_take_only_their_own_sessions_token(admin, client):
    """A form token handed out by a public page, or by another browser's session, is refused."""
    from fastapi.testclient import TestClient

    from server.public import _csrf_token, svc_secret

    public = _csrf_token(svc_secret(), client.app.state.clock.now())  # as a public page hands out
    other = TestClient(client.app)
    foreign = _csrf(other.get("/admin/login").text)
    for token in (foreign, "1.2.3", public):
        r = admin.post("/admin/settings", data={"public_url": "https://evil.example", "id_mask_pattern": "2+3",
                                                "objection_answer_days": 7, "csrf": token})
        assert r.status_code == 403
    assert "evil.example" not in admin.get("/admin/settings").text


def test_signing_out_ends_the_session_on_the_server(admin):
    """A copy of the cookie taken before signing out no longer opens anything."""
    from fastapi.testclient import TestClient

    copied = TestClient(admin.app, cookies=dict(admin.cookies))
    assert copied.get("/admin", follow_redirects=False).status_code == 200
    admin.post("/admin/logout", data={"csrf": _form(admin, "/admin")})
    r = copied.get("/admin", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"


def test_wrong_passwords_lock_the_account_with_one_answer_for_every_refusal(client, monkeypatch):
    """Unknown name, wrong password, locked account: the same words, and the same password check
    (an unknown name is checked against a stand-in hash). Five wrong passwords lock the account,
    the right one included, for a minute, then two, four …"""
    from datetime import timedelta

    from fastapi.testclient import TestClient

    import server.admin as admin_module
    from app.context import Clock
    from server.app import create_app
    from tests.conftest import FIXED_NOW

    create_admin("zhangsan", PASSWORD)
    checks = []
    real = admin_module.check_password
    monkeypatch.setattr(admin_module, "check_password", lambda p, h: checks.append(h) or real(p, h))

    def attempt(app_client, username: str, password: str) -> tuple[int, str]:
        page = app_client.get("/admin/login")
        r = app_client.post("/admin/login", data={"username": username, "password": password, "csrf": _csrf(page.text)},
                            follow_redirects=False)
        answer = re.search(r'class="alert[^"]*">([^<]+)<', r.text)
        return r.status_code, answer.group(1) if answer else ""

    unknown = attempt(client, "nobody", "whatever password")
    wrong = [attempt(client, "zhangsan", f"wrong {i}") for i in range(5)]
    assert len(checks) == 6  # the unknown name was checked too
    assert {unknown, *wrong} == {(401, admin_module.LOGIN_REFUSED)}
    assert attempt(client, "zhangsan", PASSWORD) == (401, admin_module.LOGIN_REFUSED)  # locked
    later = TestClient(create_app(clock=Clock.fixed(FIXED_NOW + timedelta(minutes=2))))
    assert attempt(later, "zhangsan", PASSWORD)[0] == 303


def test_pages_carry_security_headers(client, admin):
    for page in (client.get("/admin/login"), admin.get("/admin"), client.get("/v/nothing/1")):
        h = page.headers
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in h["content-security-policy"] and "script-src" not in h["content-security-policy"]
    assert client.get("/api/v1/health").headers["x-content-type-options"] == "nosniff"


def test_the_county_takes_a_public_page_down_with_a_reason_and_puts_it_back(admin, synced):  # noqa: F811
    """A page the county takes down shows only that and why: no title, roster, "check my row" or
    objection form. The reason is required, the township pulls the record, and both the
    take-down and the putting back are in the county's record of who did what."""
    from db.models import Notice, RosterRow
    from server.models import AdminAudit

    from .test_public_pages import _published

    n = _published()
    person = RosterRow.select().where(RosterRow.notice == n.id).first()
    url = f"/v/{n.id}/{n.edition}"
    listing = admin.get("/admin/pages")
    assert n.title in listing.text and "暂停公开" in listing.text
    # no reason: refused, nothing changes
    refused = admin.post(f"/admin/pages/{n.id}/take-down", data={"reason": "  ", "csrf": _csrf(listing.text)})
    assert "请填写暂停公开的原因" in refused.text and admin.get(url).status_code == 200
    # a forged form token: refused
    assert admin.post(f"/admin/pages/{n.id}/take-down", data={"reason": "x", "csrf": "forged"}).status_code == 403
    resident_token = _csrf(admin.get(url).text)
    done = admin.post(f"/admin/pages/{n.id}/take-down",
                      data={"reason": "名单中混入了其他村的人员，核实后重新公示。联系电话13812345678",
                            "csrf": _csrf(admin.get("/admin/pages").text)})
    assert "已暂停公开" in done.text
    page = admin.get(f"{url}?f={n.fingerprint[:12]}")
    assert page.status_code == 410 and "本公示页面已暂停公开" in page.text and 'class="verdict bad"' in page.text
    assert "名单中混入了其他村的人员" in page.text and "13812345678" not in page.text  # masked like any public text
    assert n.title not in page.text and person.name not in page.text and "与正式记录一致" not in page.text
    check = admin.post(f"{url}/check", data={"id_number": person.id_number, "name": person.name, "csrf": resident_token})
    assert check.status_code == 410 and person.name not in check.text
    assert admin.get(f"{url}/objection").status_code == 410
    # the township pulls the county's record
    device = enroll(admin, "539901103000")
    records = [c for c in pull_all(admin, device) if c["entity"] == "page_takedown"]
    assert [(r["id"], r["data"]["active"]) for r in records] == [(n.id, True)]
    assert records[0]["data"]["township_id"] == Notice.get_by_id(n.id).township_id
    # another township does not
    other = enroll(admin, "539901101000")
    assert not [c for c in pull_all(admin, other) if c["entity"] == "page_takedown"]
    # put back: served again
    admin.post(f"/admin/pages/{n.id}/put-back", data={"csrf": _csrf(admin.get("/admin/pages").text)})
    back = admin.get(url)
    assert back.status_code == 200 and n.title in back.text and "公示名单（共" in back.text
    assert [(e.username, e.action, e.target) for e in AdminAudit.select().order_by(AdminAudit.id)] == [
        ("zhangsan", "take_down", n.id), ("zhangsan", "put_back", n.id)]
    log = admin.get("/admin/pages").text
    assert "暂停公开公示页面" in log and "恢复公开公示页面" in log and "zhangsan" in log


def test_only_a_published_notice_page_can_be_taken_down(admin, synced):  # noqa: F811
    from db.models import Notice

    draft = Notice.get(Notice.status == "draft")
    r = admin.post(f"/admin/pages/{draft.id}/take-down", data={"reason": "测试", "csrf": _form(admin, "/admin/pages")})
    assert "找不到这份已发布的公示" in r.text
    r = admin.post("/admin/pages/no-such-notice/put-back", data={"csrf": _form(admin, "/admin/pages")})
    assert "找不到" in r.text
