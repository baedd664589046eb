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


def test_no_township_can_attach_rows_to_anothers_notice(client, county):
    """Township 柳镇, with its own valid token, pushes a roster row, a sign-off, an objection and
    a posting that point at 石门镇's published notice, and a notice claiming to supersede it: all
    refused; 石门镇's "check my row" and page are as 石门镇 published them."""
    from server.models import IdLookup

    shimen, liu = enroll(client, "539901101000", "石门镇一号机"), enroll(client, "539901102000", "柳镇一号机")
    rows = _roster(county, str(uuid.uuid4()))
    notice = _publish(county, shimen, rows)
    assert len(push(client, shimen, [*rows, notice]).json()["accepted"]) == 3
    nid = notice["id"]

    def change(entity: str, **data) -> dict:
        rid = str(uuid.uuid4())
        return {"entity": entity, "id": rid, "version": 1, "base_version": None, "deleted": False,
                "data": {"id": rid, "version": 1, "township_id": county["liu"], "deleted": False, **data}}

    board = change("board", name="柳镇公开栏", location="", village_id=None)
    assert push(client, liu, [board]).json()["accepted"]
    attacks = [
        change("roster_row", **{**ROW_FIELDS, "notice_id": nid, "seq": 3, "name": "冒充的人", "amount_fen": 100,
                                "id_number": "532901197001011234"}),
        change("sign_off", notice_id=nid, kind="village_review", body="冒充", names=["某某"], signed_on="2026-11-20"),
        change("objection", notice_id=nid, roster_row_id=rows[0]["id"], number="X1", origin="visit", channel="visit",
               received_at="2026-11-25T01:00:00+00:00", contact="", content="冒充的异议", due_date="2026-12-02",
               status="open", recorded_by=None),
        change("posting", notice_id=nid, board_id=board["id"], posted_on="2026-11-25", posted_by="某某",
               taken_down_on=None, note=""),
        change("notice", status="draft", title="冒充的更正", supersedes_id=nid, owner_device=liu["device_id"]),
    ]
    result = push(client, liu, attacks).json()
    assert result["accepted"] == []
    assert [(r["code"], "another township" in r["reason"]) for r in result["rejected"]] == [("other_township", True)] * 5
    assert IdLookup.select().where(IdLookup.notice_id == nid).count() == 2
    assert all(SyncRow.get_or_none(SyncRow.id == a["id"]) is None for a in attacks)
    # 柳镇's own rows naming its own rows are fine (its board above; a sign-off of its own draft)
    draft = change("notice", status="draft", title="柳镇的公示", owner_device=liu["device_id"])
    own = change("sign_off", notice_id=draft["id"], kind="village_review", body="村务监督委员会", names=["某某"],
                 signed_on="2026-11-20")
    assert len(push(client, liu, [draft, own]).json()["accepted"]) == 2


def test_the_newest_edition_link_follows_only_the_same_townships_published_correction(client, county):
    """A correction of another township that names 石门镇's notice (one that got into the county's
    database before references were checked) is not linked from 石门镇's page."""
    from server.db import write_transaction

    shimen = enroll(client, "539901101000", "石门镇一号机")
    rows = _roster(county, str(uuid.uuid4()))
    notice = _publish(county, shimen, rows)
    assert len(push(client, shimen, [*rows, notice]).json()["accepted"]) == 3
    from server import sync_service as svc

    fake = str(uuid.uuid4())
    with write_transaction():
        svc._put_row("notice", fake, {**notice["data"], "id": fake, "township_id": county["liu"], "edition": 2,
                                      "supersedes_id": notice["id"], "title": "柳镇冒充的更正"}, county["liu"])
    page = client.get(f"/v/{notice['id']}/1")
    assert page.status_code == 200 and "柳镇冒充的更正" not in page.text and fake not in page.text


def test_a_broken_row_stored_before_pushes_were_checked_breaks_no_page(client, county, admin):
    """Rows that got in before every field was checked — an edition that is not a number, a
    posting end that is not a date, public content that is not JSON — are not served (404), and the
    county's dashboard and hand-over page still open; a QR fingerprint in Chinese is a mismatch,
    not an error."""
    from server import sync_service as svc
    from server.db import write_transaction

    device = enroll(client, "539901101000")
    rows = _roster(county, str(uuid.uuid4()))
    good = _publish(county, device, rows)
    assert len(push(client, device, [*rows, good]).json()["accepted"]) == 3
    broken = {"edition": {"edition": "abc"}, "end": {"posting_end": "garbage"},
              "snapshot": {"public_snapshot": "{not json"}, "rows": {"public_snapshot": '{"rows": 5}'}}
    for what, change in broken.items():
        bad = str(uuid.uuid4())
        with write_transaction():
            svc._put_row("notice", bad, {**good["data"], "id": bad, **change}, county["shimen"])
        assert client.get(f"/v/{bad}/1").status_code == 404, what
    r = client.get(f"/v/{good['id']}/1?f=%E4%B8%AD%E6%96%87")
    assert r.status_code == 200 and "与正式记录不一致" in r.text
    assert admin.get("/admin").status_code == 200
    assert admin.get("/admin/handover").status_code == 200


class _Body:
    """A request body of ``total`` bytes sent in chunks, counting what the server asked for."""

    def __init__(self, total: int, chunk: int = 1024 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0

    def __iter__(self):
        while self.sent < self.total:
            self.sent += self.chunk
            yield b"x" * self.chunk


def test_uploads_are_limited_before_they_are_read(client, county):
    """300 MB to the bundle upload without signing in is turned away before a byte of it is read;
    100 MB to a public form is refused once past the form's limit; a body that declares too many
    bytes is refused on its declaration."""
    anonymous = _Body(300 * 1024 * 1024)
    r = client.post("/admin/bundles", content=anonymous, follow_redirects=False,
                    headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    assert anonymous.sent <= 2 * anonymous.chunk
    public = _Body(100 * 1024 * 1024)
    r = client.post(f"/v/{uuid.uuid4()}/1/check", content=public,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413  # (the test transport sends the whole body anyway; the server stopped at 32 KB)
    declared = client.post(f"/v/{uuid.uuid4()}/1/objection", content=b"x" * 100,
                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "Content-Length": str(100 * 1024 * 1024)})
    assert declared.status_code == 413


def test_the_county_database_is_readable_by_the_countys_account_only(tmp_path):
    """It holds every roster's full ID, bank and phone numbers: 0600, its WAL and shared-memory
    files too, in a 0700 folder the server made."""
    import os
    import stat

    from server import sync_service as svc
    from server.db import database, open_server_database

    path = tmp_path / "county" / "county.sqlite3"
    db = open_server_database(f"sqlite:///{path}")
    try:
        with db.connection_context():
            svc.create_schema()
            with database.atomic():
                svc.put_county_row("region", "r", {"name": "云岭县"})
            files = [p for p in path.parent.iterdir()]
            assert {p.name for p in files} >= {"county.sqlite3", "county.sqlite3-wal", "county.sqlite3-shm"}
            assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in files), [
                (p.name, oct(os.stat(p).st_mode)) for p in files]
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    finally:
        db.close()
        database.initialize(None)


def test_a_county_backup_is_readable_by_the_countys_account_only(tmp_path):
    """`county backup` copies the database with every roster's full numbers: 0600, whether the
    file is new or was there (0644) before."""
    import os
    import stat

    from server import sync_service as svc
    from server.county import backup
    from server.db import database, open_server_database

    url = f"sqlite:///{tmp_path / 'county' / 'county.sqlite3'}"
    db = open_server_database(url)
    try:
        with db.connection_context():
            svc.create_schema()
    finally:
        db.close()
        database.initialize(None)
    fresh, old = tmp_path / "backups" / "new.sqlite3", tmp_path / "old.sqlite3"
    old.write_bytes(b"")
    old.chmod(0o644)
    for target in (fresh, old):
        backup(url, target)
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600, target
        assert target.stat().st_size > 0
