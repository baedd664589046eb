"""A township with a valid token that lies (issue: what the county publishes can be trusted), on
SQLite and PostgreSQL: the county serves only the public view it derives itself."""

from __future__ import annotations

import json
import uuid

from server.models import SyncRow

from .test_sync_api import enroll, publishable, push
from .test_sync_outcomes import ROW_FIELDS

ID_NUMBER = "53290119880808123X"


def _roster(county, notice_id: str) -> list[dict]:
    rows = []
    for seq, (name, number) in enumerate([("张三", ID_NUMBER), ("李四", "532901199001011234")], start=1):
        rid = str(uuid.uuid4())
        rows.append({"entity": "roster_row", "id": rid, "version": 1, "base_version": None, "deleted": False,
                     "data": {"id": rid, "version": 1, "township_id": county["shimen"], "notice_id": notice_id,
                              "seq": seq, "deleted": False, **ROW_FIELDS, "name": name, "id_number": number,
                              "amount_fen": 12345, "remark": f"代领人身份证{number}"}})
    return rows


def _publish(county, device, rows, **changes) -> dict:
    nid = rows[0]["data"]["notice_id"]
    data = publishable({"id": nid, "township_id": county["shimen"], "status": "published", "version": 1,
                        "posting_start": "2026-11-25", "posting_end": "2026-12-01", "owner_device": device["device_id"],
                        "title": "补贴发放公示"}, tuple(rows))
    return {"entity": "notice", "id": nid, "version": 1, "base_version": None, "deleted": False, "data": {**data, **changes}}


def test_the_county_serves_only_the_public_view_it_derives_itself(client, county):
    """Public content carrying full ID numbers, or a made-up fingerprint, or content that no longer
    matches the rows, is refused with the county's reason; nothing of it is stored or served. The
    honest publish of the same notice is accepted and its page says it matches."""
    device = enroll(client, "539901101000")
    rows = _roster(county, str(uuid.uuid4()))
    honest = _publish(county, device, rows)
    view = json.loads(honest["data"]["public_snapshot"])
    assert ID_NUMBER not in honest["data"]["public_snapshot"]  # masked by the county's derivation
    leaking = json.loads(honest["data"]["public_snapshot"])
    leaking["rows"] = [[*r[:-1], f"代领人身份证{ID_NUMBER}"] for r in view["rows"]]
    forged_text = json.dumps(leaking, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    attempts = {
        "full ID numbers in the public content": {"public_snapshot": forged_text},
        "a made-up fingerprint": {"fingerprint": "0" * 64},
        "another amount than the rows": {"public_snapshot": honest["data"]["public_snapshot"].replace("24690", "99999")},
    }
    for what, changes in attempts.items():
        forged = {**honest, "data": {**honest["data"], **changes}}
        result = push(client, device, [*rows, forged]).json()
        [refused] = result["rejected"]
        assert (refused["code"], refused["id"], refused["server_data"]) == ("public_view", honest["id"], None), what
        assert SyncRow.get_or_none(SyncRow.id == honest["id"]) is None, what
        page = client.get(f"/v/{honest['id']}/1")
        assert page.status_code == 404 and ID_NUMBER not in page.text, what
    assert push(client, device, [honest]).json()["accepted"]
    page = client.get(f"/v/{honest['id']}/1?f={honest['data']['fingerprint'][:12]}")
    assert page.status_code == 200 and "与正式记录一致" in page.text and ID_NUMBER not in page.text


def test_a_publish_made_under_another_masking_rule_than_the_countys_is_refused(client, county):
    """The county tightened its masking rule; a workstation that has not pulled it yet publishes
    with the old one. The county refuses (the workstation goes back to approved and publishes
    again after a sync) rather than serve IDs masked less than it now requires."""
    from server import sync_service as svc

    device = enroll(client, "539901101000")
    rows = _roster(county, str(uuid.uuid4()))
    with_old_rule = _publish(county, device, rows)
    from app.settings import county_setting_id

    svc.put_county_row("county_setting", county_setting_id("show_id_column"),
                       {"key": "show_id_column", "value": True})
    [refused] = push(client, device, [*rows, with_old_rule]).json()["rejected"]
    assert refused["code"] == "public_view"
    assert push(client, device, [_publish(county, device, rows)]).json()["accepted"]  # made under the new rule
