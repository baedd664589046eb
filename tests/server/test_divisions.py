"""行政区划: the county's townships and villages from the statistics bureau's division codes
(统计用区划代码), on the command line and on the admin pages, reaching every workstation by pull
and grouping the compliance dashboard by village."""

from __future__ import annotations

import json
from datetime import date

import pytest

from .conftest import csrf_of as _csrf
from .test_sync_api import enroll, pull_all

DIVISIONS = """统计用区划代码,城乡分类代码,名称
539901000000,,云岭县
539901101000,,石门镇
539901101001,220,柳溪村
539901101002,121,石门社区
539901102000,,柳镇
539901102001,220,柳河村
539901103000,,新安乡
539901103001,210,新安村
"""

BAD = """区划代码,名称
539901101003,好村
53990110100,短码村
5399011010AB,字母村
120101001001,外县村
539901109001,孤村
"""


def _cli(url: str, path, *extra: str) -> tuple[int, str, str]:
    """``python main.py county import-divisions`` in this process, on the test's database."""
    import contextlib
    import io

    from app.cli import main
    from server.db import database

    before = database.obj
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["county", "import-divisions", "--db", url, str(path), *extra])
    finally:
        opened = database.obj
        if opened is not before:
            if hasattr(opened, "close_all"):
                opened.close_all()
            elif not opened.is_closed():
                opened.close()
            database.initialize(before)
    return code, out.getvalue(), err.getvalue()


def _regions() -> dict[str, dict]:
    """The county's region rows by division code (retired ones too), with their version."""
    from server.db import database
    from server.models import SyncRow

    with database.connection_context():
        return {json.loads(r.data)["code"]: {**json.loads(r.data), "version": r.version, "deleted": r.deleted}
                for r in SyncRow.select().where(SyncRow.entity == "region") if json.loads(r.data).get("code")}


def _xlsx(path, rows, numeric: bool) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("区划")
    sheet.write_row(0, 0, ["统计用区划代码", "城乡分类代码", "名称"])
    for i, (code, kind, name) in enumerate(rows, start=1):
        if numeric:
            sheet.write_number(i, 0, int(code))
            if kind:
                sheet.write_number(i, 1, int(kind))
        else:
            sheet.write_string(i, 0, code)
            if kind:
                sheet.write_string(i, 1, kind)
        sheet.write_string(i, 2, name)
    book.close()


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "utf-8-sig"])
def test_import_divisions_creates_townships_and_villages_and_a_rerun_changes_nothing(server_db, county, tmp_path,
                                                                                       encoding):
    source = tmp_path / "区划.csv"
    source.write_bytes(DIVISIONS.encode(encoding))
    code, out, err = _cli(server_db, source, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["added"], report["renamed"], report["unchanged"], report["refused"]) == (5, 0, 2, [])
    regions = _regions()
    assert regions["539901103000"]["level"] == "township" and regions["539901103000"]["name"] == "新安乡"
    village = regions["539901101001"]
    assert village["level"] == "village" and village["name"] == "柳溪村" and village["parent_id"] == county["shimen"]
    assert village["urban_rural"] == "220" and regions["539901102001"]["parent_id"] == county["liu"]
    assert regions["539901103001"]["parent_id"] == regions["539901103000"]["id"]
    from server.db import database
    from server.models import Township

    with database.connection_context():
        assert Township.get(Township.code == "539901103000").id == regions["539901103000"]["id"]  # can enrol

    code, out, _err = _cli(server_db, source, "--json")
    again = json.loads(out)
    assert code == 0 and (again["added"], again["renamed"], again["unchanged"]) == (0, 0, 7)
    assert _regions() == regions  # not even a new version


@pytest.mark.parametrize("numeric", [True, False])
def test_import_divisions_reads_xlsx_and_renames_an_entry_under_the_same_id(server_db, county, tmp_path, numeric):
    rows = [(line.split(",")[0], line.split(",")[1], line.split(",")[2]) for line in DIVISIONS.splitlines()[1:]]
    source = tmp_path / "区划.xlsx"
    _xlsx(source, rows, numeric)
    code, out, err = _cli(server_db, source, "--json")
    assert code == 0, err and json.loads(out)["added"] == 5
    before = _regions()["539901101001"]
    renamed = [(c, k, "柳溪新村" if c == "539901101001" else n) for c, k, n in rows]
    _xlsx(source, renamed, numeric)
    code, out, err = _cli(server_db, source, "--json")
    report = json.loads(out)
    assert code == 0 and (report["added"], report["renamed"], report["unchanged"]) == (0, 1, 6)
    after = _regions()["539901101001"]
    assert after["id"] == before["id"] and after["name"] == "柳溪新村" and after["version"] == before["version"] + 1


def test_bad_rows_are_refused_with_their_row_numbers_and_nothing_changes(server_db, county, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(BAD, encoding="utf-8")
    before = _regions()
    code, out, _err = _cli(server_db, source, "--json")
    assert code == 1
    report = json.loads(out)
    refused = {r["row"]: r["reason"] for r in report["refused"]}
    assert sorted(refused) == [3, 4, 5, 6]
    assert "12 位" in refused[3] and "数字" in refused[4] and "539901" in refused[5] and "539901109000" in refused[6]
    assert report["added"] == 0 and _regions() == before  # the good row was not applied either

    code, out, err = _cli(server_db, source)  # without --json: the refused rows in the one-line reason
    assert code == 1 and "第 3 行" in err and "第 6 行" in err and "bad.csv" in err


def test_import_divisions_needs_an_initialised_county_and_a_code_column(server_db, tmp_path):
    source = tmp_path / "区划.csv"
    source.write_text(DIVISIONS, encoding="utf-8")
    code, _out, err = _cli(server_db, source)
    assert code == 1 and "county init" in err
    from server.county import init_county
    from server.db import database

    with database.connection_context():
        init_county("539901000000", "云岭县", "http://127.0.0.1:8765")
    nonsense = tmp_path / "x.csv"
    nonsense.write_text("甲,乙\n丙,丁\n", encoding="utf-8")
    code, _out, err = _cli(server_db, nonsense)
    assert code == 1 and "区划代码" in err


# ------------------------------------------------------------------------------- admin pages
def _token(client) -> str:
    return _csrf(client.get("/admin/divisions").text)


def _audit() -> list[tuple[str, str, str]]:
    from server.db import database
    from server.models import AdminAudit

    with database.connection_context():
        return [(a.username, a.action, a.detail) for a in AdminAudit.select().order_by(AdminAudit.id)]


def test_the_divisions_page_imports_an_uploaded_file_audited(admin, county):
    assert ("/admin/divisions", "行政区划") in __import__("server.admin", fromlist=["SECTIONS"]).SECTIONS
    r = admin.post("/admin/divisions/import", data={"csrf": _token(admin)},
                   files={"file": ("区划.csv", DIVISIONS.encode("gb18030"), "text/csv")})
    assert r.status_code == 200, r.text
    assert "新增 5" in r.text and "柳溪村" in r.text and "新安乡" in r.text
    page = admin.get("/admin/divisions").text
    assert page.index("石门镇") < page.index("柳溪村") < page.index("柳镇") < page.index("柳河村")
    assert _audit() == [("zhangsan", "import_divisions", "区划.csv：新增 5，改名 0，未变 2")]

    bad = admin.post("/admin/divisions/import", data={"csrf": _token(admin)},
                     files={"file": ("bad.csv", BAD.encode(), "text/csv")})
    assert bad.status_code == 422 and "第 3 行" in bad.text and "好村" not in admin.get("/admin/divisions").text
    forged = admin.post("/admin/divisions/import", data={"csrf": "forged"},
                        files={"file": ("区划.csv", DIVISIONS.encode(), "text/csv")})
    assert forged.status_code == 403


def test_uploads_need_the_session_and_are_size_limited(client, admin):
    from fastapi.testclient import TestClient

    from server.limits import limit_for

    with TestClient(client.app) as stranger:
        r = stranger.post("/admin/divisions/import", data={"csrf": "x"},
                          files={"file": ("区划.csv", DIVISIONS.encode(), "text/csv")}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    big = b"x" * (limit_for("/admin/divisions/import") + 1)
    r = admin.post("/admin/divisions/import", data={"csrf": _token(admin)}, files={"file": ("big.csv", big)})
    assert r.status_code == 413


def test_add_rename_retire_and_groups_reach_the_township_by_pull(admin, county):
    device = enroll(admin, "539901101000")
    r = admin.post("/admin/divisions/villages", data={"township_id": county["shimen"], "code": "539901101007",
                                                      "name": "桃园村", "csrf": _token(admin)})
    assert r.status_code == 200 and "已添加" in r.text, r.text
    village = _regions()["539901101007"]
    assert village["parent_id"] == county["shimen"] and village["level"] == "village"
    wrong = admin.post("/admin/divisions/villages", data={"township_id": county["shimen"], "code": "539901102007",
                                                          "name": "错村", "csrf": _token(admin)})
    assert "未添加" in wrong.text and "539901102007" not in _regions()

    admin.post(f"/admin/divisions/{village['id']}/rename", data={"name": "桃源村", "csrf": _token(admin)})
    admin.post(f"/admin/divisions/{village['id']}/groups", data={"name": "一组", "csrf": _token(admin)})
    admin.post(f"/admin/divisions/{village['id']}/retire", data={"csrf": _token(admin)})
    page = admin.get("/admin/divisions").text
    assert "桃源村" in page and "已撤销" in page and "一组" in page

    pulled = {c["id"]: c for c in pull_all(admin, device) if c["entity"] == "region"}
    mine = pulled[village["id"]]
    assert mine["data"]["name"] == "桃源村" and mine["deleted"] is True and mine["version"] == 3
    group = next(c for c in pulled.values() if c["data"].get("level") == "group")
    assert group["data"]["parent_id"] == village["id"] and group["data"]["name"] == "一组"
    assert [a[1] for a in _audit()] == ["add_village", "rename_region", "add_group", "retire_region"]

    admin.post(f"/admin/divisions/{village['id']}/restore", data={"csrf": _token(admin)})
    assert _regions()["539901101007"]["deleted"] is False and _audit()[-1][1] == "restore_region"
    assert admin.post(f"/admin/divisions/{county['shimen']}/retire",
                      data={"csrf": _token(admin)}).status_code == 200  # refused, with a message
    assert _regions()["539901101000"]["deleted"] is False


def test_a_retired_village_leaves_the_workstation_lists_but_stays_readable(admin, county, ctx):
    """What a workstation does with the pulled rows: the same upsert its pull applies."""
    from app.reference import ReferenceService
    from db.models import Region
    from sync.client import _upsert

    device = enroll(admin, "539901101000")
    admin.post("/admin/divisions/import", data={"csrf": _token(admin)},
               files={"file": ("区划.csv", DIVISIONS.encode(), "text/csv")})
    retired = _regions()["539901101002"]["id"]
    admin.post(f"/admin/divisions/{retired}/retire", data={"csrf": _token(admin)})
    with ctx.write():
        for change in pull_all(admin, device):
            if change["entity"] == "region":
                _upsert(Region, change["data"])
    reference = ReferenceService(ctx)
    assert [v.name for v in reference.regions("village", county["shimen"])] == ["柳溪村"]
    assert reference.region(retired).name == "石门社区"  # old notices still name it
    assert {t.name for t in reference.regions("township")} >= {"石门镇", "柳镇", "新安乡"}


# ------------------------------------------------------------------------------- dashboard
def _notice(township_id: str, village_id: str | None, status: str = "published", end: str = "2099-01-01") -> None:
    import uuid

    from server import sync_service as svc
    from server.db import database, write_transaction

    with database.connection_context(), write_transaction():
        svc._put_row("notice", str(uuid.uuid4()), {"title": "公示", "status": status, "township_id": township_id,
                                                   "village_id": village_id, "posting_end": end}, township_id)


def test_the_dashboard_groups_by_township_and_village(admin, county):
    from server.admin import compliance
    from server.db import database

    admin.post("/admin/divisions/import", data={"csrf": _token(admin)},
               files={"file": ("区划.csv", DIVISIONS.encode(), "text/csv")})
    regions = _regions()
    _notice(county["shimen"], regions["539901101001"]["id"])
    _notice(county["shimen"], regions["539901101001"]["id"], end="2000-01-01")
    _notice(county["shimen"], None)
    _notice(county["shimen"], regions["539901101002"]["id"])
    admin.post(f"/admin/divisions/{regions['539901101002']['id']}/retire", data={"csrf": _token(admin)})
    with database.connection_context():
        rows = compliance(date(2026, 3, 1))
    table = {(r["township"], r["village"]): r for r in rows}
    assert table[("石门镇", "柳溪村")]["published"] == 2 and table[("石门镇", "柳溪村")]["running"] == 1
    assert table[("石门镇", "乡镇级")]["published"] == 1
    assert table[("石门镇", "石门社区（已撤销）")]["published"] == 1  # its old notices stay counted
    assert table[("柳镇", "柳河村")]["published"] == 0  # every village is listed, those with nothing too
    order = [(r["township"], r["village"]) for r in rows]
    assert order.index(("石门镇", "乡镇级")) < order.index(("石门镇", "柳溪村")) < order.index(("柳镇", "乡镇级"))
    page = admin.get("/admin").text
    assert "<td>柳溪村</td>" in page and "<td>柳河村</td>" in page


def test_a_file_without_a_header_in_the_bureaus_column_order_and_a_township_renamed(server_db, county, tmp_path):
    source = tmp_path / "区划.csv"
    source.write_text("539901101000,石门乡\n539901101001,220,柳溪村\n", encoding="gb18030")
    code, out, err = _cli(server_db, source, "--json")
    report = json.loads(out)
    assert code == 0, err
    assert (report["added"], report["renamed"]) == (1, 1)
    regions = _regions()
    assert regions["539901101000"]["name"] == "石门乡" and regions["539901101000"]["id"] == county["shimen"]
    assert regions["539901101001"]["urban_rural"] == "220"
    from server.db import database
    from server.models import Township

    with database.connection_context():
        assert Township.get_by_id(county["shimen"]).name == "石门乡"
