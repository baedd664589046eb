"""County admin page: a USB bundle uploaded is applied like a push; the reply comes back as a
download; a refused bundle shows why and changes nothing."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

from server.models import SyncRow
from sync.bundle import public_key_from_text, read_bundle, write_bundle

from .conftest import csrf_of as _csrf
from .test_bundle_keys import enroll_with_key
from .test_bundle_keys import request_bundle as _request_bundle
from .test_sync_api import board, enroll


def _upload(client, path: Path, csrf: str | None = None):
    token = csrf if csrf is not None else _csrf(client.get("/admin/bundles").text)
    return client.post("/admin/bundles", data={"csrf": token},
                       files={"bundle": (path.name, path.read_bytes(), "application/octet-stream")})


def _boards() -> int:
    return SyncRow.select().where(SyncRow.entity == "board").count()


def test_an_uploaded_bundle_is_applied_once_and_the_reply_is_downloaded(admin, county, tmp_path):
    page = admin.get("/admin/bundles")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    device = enroll_with_key(admin, "539901101000", "山里的工作站")
    changes = [board(county["shimen"], "U盘带来的公开栏"), board(county["shimen"], "第二块公开栏")]
    stick = _request_bundle(tmp_path / "石门镇-2026.gkb", device, changes)
    before = _boards()
    r = _upload(admin, stick)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    assert "attachment" in r.headers["content-disposition"] and ".gkb" in r.headers["content-disposition"]
    assert r.headers["x-gongkai-accepted"] == "2"
    assert _boards() == before + 2
    # the download is the reply bundle, signed by the county for the workstation: receipt plus the pull
    reply = tmp_path / "reply.gkb"
    reply.write_bytes(r.content)
    key = public_key_from_text(device["county_bundle_key"])
    device_id, body = read_bundle(reply, "reply", lambda d: key if d == device["device_id"] else None)
    assert device_id == device["device_id"]
    [result] = body["results"]
    assert sorted(a["id"] for a in result["result"]["accepted"]) == sorted(c["id"] for c in changes)
    pulled = [c for page in body["pages"] for c in page["changes"]]
    assert {c["id"] for c in changes} <= {c["id"] for c in pulled}
    assert any(c["entity"] == "county_setting" for c in pulled)
    # the same stick again: applied once, the receipt again
    again = _upload(admin, stick)
    assert again.status_code == 200 and _boards() == before + 2
    # the stored result of the same batch goes back, and the county does not count it as applied again
    assert (again.headers["x-gongkai-accepted"], again.headers["x-gongkai-already-applied"]) == ("0", "2")


def test_refused_bundles_show_a_clear_message_and_change_nothing(admin, county, tmp_path):
    device = enroll_with_key(admin, "539901101000")
    stick = _request_bundle(tmp_path / "stick.gkb", device, [board(county["shimen"], "公开栏")])
    data = gzip.decompress(stick.read_bytes())
    tampered = tmp_path / "tampered.gkb"
    tampered.write_bytes(gzip.compress(data.replace("公开栏".encode(), "公告栏".encode(), 1)))
    truncated = tmp_path / "truncated.gkb"
    truncated.write_bytes(stick.read_bytes()[: stick.stat().st_size // 2])
    foreign = tmp_path / "foreign.gkb"
    stranger = {"device_id": str(uuid.uuid4()), "token": "not-a-device"}
    _request_bundle(foreign, stranger, [board(county["shimen"], "公开栏")])
    junk = tmp_path / "junk.gkb"
    junk.write_bytes(b"not a bundle")
    before = _boards()
    for bad, words in ((tampered, "校验失败"), (truncated, "损坏或不完整"), (foreign, "未注册或已停用"),
                       (junk, "损坏或不完整")):
        r = _upload(admin, bad)
        assert r.status_code == 422 and words in r.text and bad.name in r.text, (bad.name, r.text)
        assert 'enctype="multipart/form-data"' in r.text  # the form again, to try another file
    assert _boards() == before
    # a reply bundle is not a request
    reply = tmp_path / "reply.gkb"
    write_bundle(reply, "reply", device["device_id"], device["key"], {"manifest": {}, "results": [], "pages": []})
    r = _upload(admin, reply)
    assert r.status_code == 422 and "不是这一步需要的同步文件" in r.text


def test_uploading_needs_a_login_and_the_page_token(client, county, tmp_path):
    from server.county import create_admin

    device = enroll(client, "539901101000")
    stick = _request_bundle(tmp_path / "stick.gkb", device, [board(county["shimen"], "公开栏")])
    files = {"bundle": ("stick.gkb", stick.read_bytes(), "application/octet-stream")}
    r = client.post("/admin/bundles", data={"csrf": "x"}, files=files, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    create_admin("lisi", "county-secret-1")
    login = client.get("/admin/login")
    client.post("/admin/login", data={"username": "lisi", "password": "county-secret-1", "csrf": _csrf(login.text)})
    r = client.post("/admin/bundles", data={"csrf": "forged"}, files=files)
    assert r.status_code == 403
    assert _boards() == 0
