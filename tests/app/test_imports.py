"""Importing roster files into draft notices: all or nothing, precise reports, nothing half-written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.errors import ValidationError
from app.importing import ReadError
from app.imports import ImportService, write_validation_report
from app.money import compute_amount_fen
from db.models import Notice, Outbox, RosterRow

from .world import make_world

ROOT = Path(__file__).resolve().parents[2]
HEADERS = ["序号", "组别", "户主姓名", "身份证号码", "补贴面积（亩）", "补贴标准（元/亩）", "补贴金额（元）", "一卡通账号", "备注"]


def people(n: int, seed: int = 11) -> list:
    import random

    from app.demo import make_id_number, make_name
    from app.rows import RowInput

    rng = random.Random(seed)
    out = []
    for i in range(n):
        qty = Decimal(rng.randrange(50, 2000)) / 100
        out.append(RowInput(name=make_name(rng), id_number=make_id_number(rng), group_name=f"{i % 3 + 1}组",
                            quantity=qty, rate=Decimal("103.55"),
                            amount_fen=compute_amount_fen(qty, Decimal("103.55")),
                            bank_account="6228480000000000001"))
    return out


def write_xlsx(path: Path, w, n: int = 6, *, break_rows: dict[int, dict] | None = None) -> list:
    """A roster with a title row and a date row above the header; returns the source rows."""
    import openpyxl

    people_ = people(n)
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "清册"
    ws.append(["测试村2026年耕地地力保护补贴发放清册"])
    ws.append(["填报日期：2026年11月20日"])
    ws.append(HEADERS)
    for i, p in enumerate(people_):
        values = [i + 1, p.group_name, p.name, p.id_number, str(p.quantity), "103.55",
                  f"{Decimal(p.amount_fen) / 100:.2f}", p.bank_account, ""]
        for col, value in (break_rows or {}).get(i, {}).items():
            values[HEADERS.index(col)] = value
        ws.append(values)
    total = sum(p.amount_fen for p in people_)
    ws.append(["合计", "", "", "", "", "", f"{Decimal(total) / 100:.2f}", "", ""])
    book.save(path)
    return people_


def _db_fingerprint(ctx) -> str:
    h = hashlib.sha256()
    for table in ("notice", "roster_row", "outbox", "audit_event", "local_setting"):
        for row in ctx.db.execute_sql(f'SELECT * FROM "{table}" ORDER BY 1').fetchall():
            h.update(repr(row).encode())
    return h.hexdigest()


def test_a_clean_file_becomes_a_draft_with_every_row(ctx, tmp_path):
    w = make_world(ctx)
    path = tmp_path / "清册.xlsx"
    source = write_xlsx(path, w, 6)
    result = ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk, village_id=w.village_id)
    assert (result.sheet, result.header_row, result.data_rows, result.valid_rows) == ("清册", 3, 6, 6)
    assert result.invalid_rows == ()
    assert result.skipped_rows == ((10, "subtotal"),)
    assert result.amount_fen == sum(p.amount_fen for p in source)
    assert result.mapping["id_number"] == "身份证号码" and result.mapping["group"] == "组别"
    n = Notice.get_by_id(result.notice_id)
    assert n.status == "draft" and n.village_id == w.village_id
    rows = w.notices.rows(result.notice_id)
    assert [r.id_number for r in rows] == [p.id_number for p in source]
    assert [r.quantity for r in rows] == [p.quantity for p in source]
    w.notices.submit(result.notice_id, w.clerk)  # nothing stands in the way


def test_rows_with_errors_are_kept_marked_and_block_submission(ctx, tmp_path):
    w = make_world(ctx)
    path = tmp_path / "bad.xlsx"
    source = write_xlsx(path, w, 6, break_rows={
        1: {"身份证号码": "110105194912310021"},          # wrong check digit, Excel row 5
        3: {"补贴金额（元）": "999.99"},                    # amount ≠ quantity × rate, Excel row 7
        4: {"户主姓名": ""},                                # missing name, Excel row 8
    })
    result = ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk, village_id=w.village_id)
    got = [(r.row, r.column, r.code) for r in result.invalid_rows]
    assert got == [(5, "身份证号码", "id_checksum"), (7, "补贴金额（元）", "amount_mismatch"),
                   (8, "户主姓名", "missing_value")]
    assert result.data_rows == 6 and result.valid_rows == 3
    bad = {1, 3, 4}
    assert result.valid_amount_fen == sum(p.amount_fen for i, p in enumerate(source) if i not in bad)
    assert all("110105194912310021" not in r.message for r in result.invalid_rows)
    stored = w.notices.rows(result.notice_id)
    assert len(stored) == 6 and [bool(r.issues) for r in stored] == [False, True, False, True, True, False]
    with pytest.raises(ValidationError, match="3 行明细存在错误"):
        w.notices.submit(result.notice_id, w.clerk)

    report = write_validation_report(result, tmp_path / "report.xlsx")
    import python_calamine

    sheet = python_calamine.CalamineWorkbook.from_path(str(report)).get_sheet_by_index(0).to_python()
    assert [int(r[0]) for r in sheet[3:]] == [5, 7, 8]
    assert "校验位" in sheet[3][-1]


def test_dry_run_reads_and_checks_but_writes_nothing(ctx, tmp_path):
    w = make_world(ctx)
    path = tmp_path / "dry.xlsx"
    write_xlsx(path, w, 4)
    before = _db_fingerprint(ctx)
    result = ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk, dry_run=True)
    assert result.notice_id is None and result.data_rows == 4
    assert _db_fingerprint(ctx) == before


@pytest.mark.parametrize("make_bad", [
    lambda p: p.write_bytes(os.urandom(5000)),
    lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 100),
    lambda p: p.write_bytes(b""),
])
def test_garbage_files_fail_cleanly_and_change_nothing(ctx, tmp_path, make_bad):
    w = make_world(ctx)
    path = tmp_path / "garbage.xlsx"
    make_bad(path)
    before = _db_fingerprint(ctx)
    with pytest.raises(ReadError) as err:
        ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk)
    assert "garbage.xlsx" in str(err.value)
    assert _db_fingerprint(ctx) == before


def test_a_200_mb_file_is_refused_before_it_is_read(ctx, tmp_path):
    w = make_world(ctx)
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as f:  # sparse: instant, no disk used
        f.truncate(200 * 1024 * 1024)
    before = _db_fingerprint(ctx)
    with pytest.raises(ReadError, match="huge.xlsx"):
        ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk)
    assert _db_fingerprint(ctx) == before


def test_a_failure_while_storing_leaves_no_half_written_draft(ctx, tmp_path, monkeypatch):
    w = make_world(ctx)
    path = tmp_path / "ok.xlsx"
    write_xlsx(path, w, 5)
    before = (Notice.select().count(), RosterRow.select().count(), Outbox.select().count())

    def disk_full(*args, **kwargs):  # a fault that is hard to cause for real here
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("app.notices.NoticeService._refresh_duplicates", disk_full)
    with pytest.raises(OSError):
        ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk)
    assert (Notice.select().count(), RosterRow.select().count(), Outbox.select().count()) == before


def test_a_mapping_override_is_remembered_for_the_program(ctx, tmp_path):
    w = make_world(ctx)
    path = tmp_path / "remark.xlsx"
    write_xlsx(path, w, 3)
    service = ImportService(ctx)
    first = service.import_file(path, program_id=w.program_id, by=w.clerk,
                                mapping_override={"remark": "一卡通账号"})
    assert first.mapping["remark"] == "一卡通账号"
    again = service.import_file(path, program_id=w.program_id, by=w.clerk, dry_run=True)
    assert again.mapping["remark"] == "一卡通账号"


def test_cli_import_json_and_exit_codes(demo_dir, tmp_path):
    from app.context import Context
    from app.reference import ReferenceService
    from db.connection import close_database, open_database

    ctx = Context(db=open_database(demo_dir / "gongkai.sqlite3"), data_dir=demo_dir)
    program = next(p for p in ReferenceService(ctx).programs() if p.notice_type_code == "subsidy_payout")
    village = ReferenceService(ctx).regions("village")[0]
    close_database()
    path = tmp_path / "cli.xlsx"
    source = write_xlsx(path, None, 5, break_rows={2: {"身份证号码": "abc"}})

    def run(*args):
        return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)

    out = run("import", str(path), "--data-dir", str(demo_dir), "--program", program.id, "--village",
              village.id, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"file", "sheet", "header_row", "mapping", "data_rows", "valid_rows", "invalid_rows",
                         "skipped_rows", "totals", "notice_id"}
    assert [(r["row"], r["column"], r["code"]) for r in data["invalid_rows"]] == [(6, "身份证号码", "id_format")]
    assert data["totals"]["amount_fen"] == sum(p.amount_fen for p in source)
    assert data["skipped_rows"] == [{"row": 9, "reason": "subtotal"}]
    assert data["notice_id"] and (data["data_rows"], data["valid_rows"]) == (5, 4)
    garbage = tmp_path / "x.xlsx"
    garbage.write_bytes(b"not a spreadsheet")
    bad = run("import", str(garbage), "--data-dir", str(demo_dir), "--program", program.id, "--json")
    assert bad.returncode == 2 and "x.xlsx" in bad.stderr


def test_the_reader_returns_rows_exactly_as_the_checker_normalises_them(ctx, tmp_path):
    """ImportService relies on it to skip a second normalising pass."""
    from app.importing import read_roster
    from app.reference import ReferenceService
    from app.rows import RowChecker

    w = make_world(ctx)
    path = tmp_path / "messy.xlsx"
    write_xlsx(path, w, 6, break_rows={
        0: {"身份证号码": "１１０１０５１９４９１２３１００２ｘ", "户主姓名": " 阿依古丽 • 买买提 "},
        1: {"户主姓名": "王　 五", "组别": " 二组 ", "一卡通账号": "6228 4800 0000 0000 001"},
        2: {"身份证号码": "11010519491231002x"},
    })
    schema = ReferenceService(ctx).notice_type("subsidy_payout").roster_schema
    checker = RowChecker(schema)
    parsed = read_roster(path, schema)
    assert [checker.normalize(p.row) for p in parsed.rows] == [p.row for p in parsed.rows]
    assert parsed.rows[0].row.id_number == "11010519491231002X"
    assert parsed.rows[0].row.name == "阿依古丽·买买提"


def test_a_cancel_while_rows_are_being_stored_leaves_nothing(ctx, tmp_path, monkeypatch):
    """The rows are stored batch by batch on the writer's thread while the next ones are checked:
    a cancel after some batches were written rolls all of them back."""
    import threading

    import app.imports
    import app.notices
    from app.errors import Cancelled

    w = make_world(ctx)
    path = tmp_path / "cancel.xlsx"
    write_xlsx(path, w, 40)
    monkeypatch.setattr(app.imports, "_BATCH", 7)
    cancel = threading.Event()
    real_insert = app.notices.insert_columns
    stored = []

    def insert_then_cancel(*args, **kwargs):
        ids = real_insert(*args, **kwargs)
        stored.extend(ids)
        cancel.set()  # as the clerk presses 取消 while the first batch is being stored
        return ids

    monkeypatch.setattr(app.notices, "insert_columns", insert_then_cancel)
    before = _db_fingerprint(ctx)
    with pytest.raises(Cancelled):
        ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk, village_id=w.village_id,
                                       cancel=cancel)
    assert stored  # rows had been written inside the transaction
    assert _db_fingerprint(ctx) == before
    assert not RosterRow.select().where(RosterRow.id.in_(stored)).exists()
    assert not Outbox.select().where(Outbox.entity_id.in_(stored)).exists()
    assert [t.name for t in threading.enumerate() if t.name == "import-writer"] == []


def test_an_import_inside_the_callers_transaction_stores_on_its_connection(ctx, tmp_path):
    """A caller that already holds a write transaction gets the rows written on its own
    connection (a writer thread would wait for that transaction), and keeps all or nothing."""
    w = make_world(ctx)
    path = tmp_path / "nested.xlsx"
    source = write_xlsx(path, w, 12)
    before = _db_fingerprint(ctx)
    with pytest.raises(RuntimeError), ctx.write():
        result = ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk)
        assert len(w.notices.rows(result.notice_id)) == 12
        raise RuntimeError("the caller changes its mind")
    assert _db_fingerprint(ctx) == before
    with ctx.write():
        result = ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk)
    assert [r.id_number for r in w.notices.rows(result.notice_id)] == [p.id_number for p in source]


def test_checking_by_columns_finds_what_checking_row_by_row_finds():
    """RowChecker.validate_columns (the importer's) and RowChecker.validate (one row's) agree on
    every kind of problem, in the same order."""
    from app.catalogue import DEFAULT_NOTICE_TYPES
    from app.rows import RowChecker, RowColumns, RowInput

    schema = next(t for t in DEFAULT_NOTICE_TYPES if t["code"] == "subsidy_payout")["roster_schema"]
    good = people(3)
    rate = Decimal("103.55")
    rows = [
        *good,
        RowInput(name="", id_number="", quantity=None, amount_fen=None),
        RowInput(name="王5", id_number="110105194912310021", quantity=Decimal("-1"), rate=rate, amount_fen=5),
        RowInput(name="李四", id_number="11010519491231002", phone="12345", quantity=Decimal("2"), rate=rate,
                 amount_fen=20710),
        RowInput(name="赵六", id_number="110105491231002", quantity=Decimal("2.0"), rate=rate, amount_fen=20711),
        RowInput(name="王5", id_number="999999198001010011", quantity=Decimal("2"), rate=rate, amount_fen=20711),
        RowInput(name="·王", id_number="110105209912310012", phone="13812345678", amount_fen=100),
        RowInput(name="孙七", id_number="11010519491231002X", quantity=Decimal("1"), rate=None, amount_fen=None),
    ]
    checker = RowChecker(schema, date(2026, 11, 25))
    expected = {i: issues for i, row in enumerate(rows) if (issues := checker.validate(row))}
    columns = RowColumns(*(list(values) for values in zip(
        *((r.name, r.id_number, r.group_name, r.quantity, r.rate, r.amount_fen, r.bank_account, r.phone,
           r.remark) for r in rows), strict=True)))
    assert len(expected) == len(rows) - 3
    assert checker.validate_columns(columns) == expected
    assert checker.validate_columns(columns, 4, 8) == {i: v for i, v in expected.items() if 4 <= i < 8}


def test_a_draft_that_cannot_be_created_stops_the_import_with_its_own_error(ctx, tmp_path):
    """The draft is created on the writer's thread; its failure reaches the caller unchanged."""
    import threading

    from app.errors import NotFound

    w = make_world(ctx)
    path = tmp_path / "novillage.xlsx"
    write_xlsx(path, w, 5)
    before = _db_fingerprint(ctx)
    with pytest.raises(NotFound):
        ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk, village_id="no-such-village")
    assert _db_fingerprint(ctx) == before
    assert not [t for t in threading.enumerate() if t.name == "import-writer"]


def test_a_personal_number_typed_into_a_remark_is_flagged_and_never_published(ctx, tmp_path):
    """A 备注 naming a 代领人 with their ID number in full-width digits, a spaced mobile and a
    grouped card number: the row imports (a warning, not an error), the clerk is told the column
    will be masked, and the public view shows none of the numbers."""
    w = make_world(ctx)
    path = tmp_path / "备注.xlsx"
    remark = "代领人王五 ５３２９０１１９８８０８０８１２３５，电话139 8765 4321，卡号6228-4800-1234-5678-912"
    write_xlsx(path, w, 3, break_rows={1: {"备注": remark}})
    result = ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk, village_id=w.village_id)
    assert result.valid_rows == 3 and result.invalid_rows == ()
    [flag] = [i for i in result.warnings if i.code == "number_in_text"]
    assert flag.row == 5 and "备注" in flag.message and not any(c.isdigit() for c in flag.message)
    shown = w.notices.public_view(result.notice_id).canonical_json().decode()
    for number in ("532901198808081235", "５３２９０１１９８８０８０８１２３５", "13987654321", "139 8765 4321",
                   "6228480012345678912", "6228-4800-1234-5678-912"):
        assert number not in shown
    assert "139****4321" in shown and "（账号已隐去）" in shown and "53*************235" in shown


# ------------------------------------------------------------------ real-shaped township tables

def _land_program(ctx) -> str:
    from app.reference import ReferenceService

    return ReferenceService(ctx).add_program(name="G318线改线工程征地补偿费分配", year=2026,
                                             notice_type_code="land_household", unit="亩").id


def test_a_compensation_table_pays_each_households_total_and_checks_its_fees(ctx, tmp_path):
    """补偿费用（元） merged over 土地补偿费 | 安置补助费 | 青苗及地上附着物补偿费 | 合计: each household
    gets its 合计, the fees are kept beside it, and the household whose 合计 is 500 元 short of
    its fees is an error naming both figures; 小计, 合计 and the signature line are not households."""
    from tests.importing.files import write_book
    from tests.importing.roster import HOUSEHOLD_ROWS, SHORT_ROW, household_fen, land_table

    w = make_world(ctx)
    program = _land_program(ctx)
    rows, merges = land_table()
    path = write_book(tmp_path / "分配到户.xlsx", {"分配表": rows}, {"分配表": merges}, engine="xlsxwriter")
    result = ImportService(ctx).import_file(path, program_id=program, by=w.clerk, village_id=w.village_id)
    assert (result.header_row, result.data_rows, result.valid_rows) == (3, 5, 4)
    assert [(r.row, r.column, r.code, r.message) for r in result.invalid_rows] == [
        (SHORT_ROW, "补偿费用（元）/合计", "parts_mismatch",
         "土地补偿费+安置补助费+青苗及地上附着物补偿费 = 24,500.00 元，与合计 24,000.00 元不符")]
    totals = [household_fen(i, 3) for i in range(5)]
    assert result.amount_fen == sum(totals) and result.valid_amount_fen == sum(totals) - totals[2]
    stored = w.notices.rows(result.notice_id)
    assert [r.amount_fen for r in stored] == totals
    assert stored[0].extra == {"x_land_fee": "30000.00", "x_resettlement_fee": "15000.00", "x_crop_fee": "2000.00"}
    assert [bool(r.issues) for r in stored] == [False, False, True, False, False]
    assert [row for row, _reason in result.skipped_rows] == [6, 10, 11, 12, 13] and HOUSEHOLD_ROWS[2] == SHORT_ROW
    data = result.as_json()
    assert data["notes"] == list(result.notes) and len(result.notes) == 2
    assert "金额按“补偿费用（元）/合计”导入" in result.notes[0]
    assert result.notes[1] == ("有 5 行不是明细，没有导入：第 6、10、11 行是小计或合计，第 13 行是签字、盖章或说明，"
                               "第 12 行是空行。")
    public = w.notices.public_view(result.notice_id)
    assert [c.label for c in public.columns if c.key.startswith("x_")] == [
        "土地补偿费（元）", "安置补助费（元）", "青苗及地上附着物补偿费（元）"]
    # corrected in the roster editor, the row is sound again
    fixed = w.notices.update_cell(stored[2].id, w.clerk, "amount", "24500")
    assert not fixed.issues


def test_the_area_that_fits_the_programs_rate_is_imported(ctx, tmp_path):
    """No 标准 column: of 确权面积 and 实际种植面积, the program's 103.55 元/亩 explains the amounts
    with 确权面积 only, so that is the area stored, and the clerk is told why."""
    from tests.importing.files import write_book
    from tests.importing.test_layouts import areas

    w = make_world(ctx)
    path = write_book(tmp_path / "两种面积.xlsx", {"清册": areas(rate_column=False)})
    result = ImportService(ctx).import_file(path, program_id=w.program_id, by=w.clerk, village_id=w.village_id)
    assert result.mapping["quantity"] == "确权面积" and result.invalid_rows == ()
    assert [r.quantity for r in w.notices.rows(result.notice_id)] == [
        Decimal("12.5"), Decimal("8.2"), Decimal("3.75"), Decimal("20"), Decimal("0.65")]
    assert result.notes == (
        "“确权面积”和“实际种植面积”都是面积：按“确权面积”导入，因为前 5 行中有 5 行的金额等于它乘以本项目的标准 "
        "103.55 元/亩，而“实际种植面积”只有 1 行。如果应按另一列，请在导入时把“补贴面积（亩）”对应到那一列。",)


def test_cli_dry_run_json_says_how_the_table_was_read(demo_dir, tmp_path):
    from app.context import Context
    from app.reference import ReferenceService
    from db.connection import close_database, open_database
    from tests.importing.files import write_book
    from tests.importing.test_layouts import areas

    ctx = Context(db=open_database(demo_dir / "gongkai.sqlite3"), data_dir=demo_dir)
    program = next(p for p in ReferenceService(ctx).programs() if p.notice_type_code == "subsidy_payout")
    close_database()
    rows = [*areas(), ["合计", None, None, 45.1, None, None, 4670.11], [],
            ["制表人：李会计", None, None, "审核人：王主任", None, None, "监督委员会：（签字）"]]
    path = write_book(tmp_path / "两种面积.csv", {"": rows}, encoding="gb18030")
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "import", str(path), "--data-dir", str(demo_dir),
                          "--program", program.id, "--dry-run", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["notice_id"] is None and data["mapping"]["quantity"] == "确权面积"
    assert data["invalid_rows"] == [] and data["data_rows"] == 5
    assert data["skipped_rows"] == [{"row": 7, "reason": "subtotal"}, {"row": 8, "reason": "blank"},
                                    {"row": 9, "reason": "note"}]
    assert data["notes"][0].startswith("“确权面积”和“实际种植面积”都是面积：按“确权面积”导入")
    assert data["notes"][1] == "有 3 行不是明细，没有导入：第 7 行是小计或合计，第 9 行是签字、盖章或说明，第 8 行是空行。"


def test_cli_without_json_says_how_the_table_was_read_too(demo_dir, tmp_path):
    """The clerk at the command line reads the same notes as the wizard shows: which area column
    was taken and why, and which rows were left out."""
    from app.context import Context
    from app.reference import ReferenceService
    from db.connection import close_database, open_database
    from tests.importing.files import write_book
    from tests.importing.test_layouts import areas

    ctx = Context(db=open_database(demo_dir / "gongkai.sqlite3"), data_dir=demo_dir)
    program = next(p for p in ReferenceService(ctx).programs() if p.notice_type_code == "subsidy_payout")
    close_database()
    rows = [*areas(), ["合计", None, None, 45.1, None, None, 4670.11]]
    path = write_book(tmp_path / "两种面积.xlsx", {"Sheet1": rows})
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "import", str(path), "--data-dir", str(demo_dir),
                          "--program", program.id, "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("  说明：“确权面积”和“实际种植面积”都是面积：按“确权面积”导入") for line in lines), out.stdout
    assert "  说明：有 1 行不是明细，没有导入：第 7 行是小计或合计。" in lines, out.stdout


def test_fees_a_notice_type_does_not_keep_are_still_checked_beside_the_other_checks(ctx, tmp_path):
    """A county's own 分配到户 columns without the fees: the fees stay out (the clerk is told so),
    and a household whose total matches neither its fees nor area × rate gets both errors."""
    from app.reference import ReferenceService
    from tests.importing.files import write_book
    from tests.importing.roster import PEOPLE

    w = make_world(ctx)
    ref = ReferenceService(ctx)
    schema = [c for c in ref.notice_type("land_household").roster_schema if not c.get("part_of")]
    ref.override_notice_type("land_household", roster_schema=schema)
    rows = [["户主姓名", "身份证号码", "征收面积（亩）", "补偿标准（元/亩）", "土地补偿费", "安置补助费", "合计"],
            [PEOPLE[0][0], PEOPLE[0][1], 1.5, 30000, 30000, 15000, 45000],
            [PEOPLE[1][0], PEOPLE[1][1], 1.0, 30000, 20000, 10000, 31000]]
    path = write_book(tmp_path / "分配.xlsx", {"S": rows})
    result = ImportService(ctx).import_file(path, program_id=_land_program(ctx), by=w.clerk, village_id=w.village_id)
    assert [(r.row, r.column, r.code) for r in result.invalid_rows] == [
        (3, "合计", "amount_mismatch"), (3, "合计", "parts_mismatch")]
    assert result.invalid_rows[1].message == "土地补偿费+安置补助费 = 30,000.00 元，与合计 31,000.00 元不符"
    assert [(r.row, r.code) for r in result.warnings] == [(1, "parts_not_kept")]
    stored = w.notices.rows(result.notice_id)
    assert [r.extra for r in stored] == [{}, {}]
    assert [i["code"] for i in stored[1].issues] == ["amount_mismatch", "parts_mismatch"]
