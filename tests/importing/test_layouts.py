"""Real-shaped township tables: compensation split into fees and their 合计, two-row headers whose
second row names the columns (no units), two area columns of which only one pays, and the 小计,
合计 and signature lines around the households."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.importing import read_roster
from app.importing.model import skipped_summary
from app.money import compute_amount_fen
from app.rows import RowChecker, RowInput

from .files import HEADER, write_book
from .roster import (
    AMOUNTS,
    HOUSEHOLD_ROWS,
    HOUSEHOLDS,
    LAND_HOUSEHOLD,
    PEOPLE,
    RATE,
    SHORT_ROW,
    SUBSIDY,
    household_fen,
    land_table,
    yuan,
)
from .test_rows import person

TODAY = date(2026, 11, 20)
# every format a township sends: XlsxWriter's .xlsx (merge_range), .xls, .ods and a GB18030 .csv,
# which has no merged cells at all: a merged parent is a header cell with blanks to its right
FORMATS = [(".xlsx", {"engine": "xlsxwriter"}), (".xls", {}), (".ods", {}), (".csv", {"encoding": "gb18030"})]
FORMAT_IDS = ["xlsx", "xls", "ods", "csv-gb18030"]
SHORT = "土地补偿费+安置补助费+青苗及地上附着物补偿费 = 24,500.00 元，与合计 24,000.00 元不符"


def land_file(tmp_path, suffix: str = ".xlsx", options: dict | None = None):
    rows, merges = land_table()
    return write_book(tmp_path / f"分配到户{suffix}", {"分配表": rows}, {"分配表": merges},
                      **(options if options is not None else {"engine": "xlsxwriter"}))


def issues(rows: RowChecker, parsed) -> dict[int, list[tuple[str, str, str]]]:
    found = rows.validate_columns(parsed.columns)
    return {parsed.excel_rows[pos]: [(i.column, i.code, i.message) for i in got] for pos, got in found.items()}


# ------------------------------------------------------------------ fees and their total

@pytest.mark.parametrize(("suffix", "options"), FORMATS, ids=FORMAT_IDS)
def test_a_compensation_table_pays_the_total_and_keeps_the_fees(tmp_path, suffix, options):
    parsed = read_roster(land_file(tmp_path, suffix, options), LAND_HOUSEHOLD)
    assert (parsed.header_row, parsed.excel_rows) == (3, HOUSEHOLD_ROWS)
    assert parsed.mapping == {
        "group": "组", "name": "户主姓名", "id_number": "身份证号码", "quantity": "征收面积（亩）",
        "x_land_fee": "补偿费用（元）/土地补偿费", "x_resettlement_fee": "补偿费用（元）/安置补助费",
        "x_crop_fee": "补偿费用（元）/青苗及地上附着物补偿费", "amount": "补偿费用（元）/合计", "remark": "备注",
    }
    # the amount is each household's 合计, not its 土地补偿费
    assert [r.row.amount_fen for r in parsed.rows] == [household_fen(i, 3) for i in range(5)]
    assert [r.row.quantity for r in parsed.rows] == [Decimal(str(h[3])) for h in HOUSEHOLDS]
    assert [r.row.group_name for r in parsed.rows] == ["一组", "一组", "二组", "二组", "二组"]
    assert parsed.rows[1].row.extra == {"x_land_fee": "20000.00", "x_resettlement_fee": "10000.00",
                                        "x_crop_fee": "1350.50"}
    assert parsed.rows[3].row.extra == {"x_land_fee": "45000.00", "x_resettlement_fee": "22500.00"}
    assert all(not r.issues for r in parsed.rows) and parsed.warnings == ()
    assert parsed.skipped == ((6, "subtotal"), (10, "subtotal"), (11, "subtotal"), (12, "blank"), (13, "note"))
    assert parsed.notes == (
        "“补偿费用（元）/合计”是“土地补偿费”“安置补助费”“青苗及地上附着物补偿费”之和：金额按“补偿费用（元）/合计”导入，"
        "每行都核对各项相加是否等于它。",)


def test_fees_that_do_not_add_up_to_the_total_are_an_error_naming_both_numbers(tmp_path):
    parsed = read_roster(land_file(tmp_path), LAND_HOUSEHOLD)
    assert issues(RowChecker(LAND_HOUSEHOLD, TODAY), parsed) == {SHORT_ROW: [("amount", "parts_mismatch", SHORT)]}


def test_fees_edited_in_the_roster_are_checked_against_the_total():
    checker = RowChecker(LAND_HOUSEHOLD, TODAY)
    name, idn = PEOPLE[0][0], PEOPLE[0][1]
    row = checker.normalize(RowInput(name=name, id_number=idn, quantity=Decimal("0.8"), amount_fen=2400000,
                                     extra={"x_land_fee": "16,000", "x_resettlement_fee": " 8000元 ",
                                            "x_crop_fee": "500"}))
    assert row.extra == {"x_land_fee": "16000.00", "x_resettlement_fee": "8000.00", "x_crop_fee": "500.00"}
    assert [(i.column, i.code, i.message) for i in checker.validate(row)] == [("amount", "parts_mismatch", SHORT)]
    fixed = RowInput(name=name, id_number=idn, quantity=Decimal("0.8"), amount_fen=2450000, extra=row.extra)
    assert checker.validate(fixed) == []
    typo = checker.normalize(RowInput(name=name, id_number=idn, quantity=Decimal("0.8"), amount_fen=2450000,
                                      extra={**row.extra, "x_crop_fee": "五百"}))
    assert [(i.column, i.code) for i in checker.validate(typo)] == [("x_crop_fee", "bad_number")]


def test_fees_the_notice_type_has_no_columns_for_are_read_to_check_the_total(tmp_path):
    """A notice type without fee columns (an older catalogue, or a county's own): the total is
    still the amount, every household is still checked, and the clerk is told the fees stay out."""
    schema = [c for c in LAND_HOUSEHOLD if not c.get("part_of")]
    parsed = read_roster(land_file(tmp_path), schema)
    assert parsed.mapping["amount"] == "补偿费用（元）/合计"
    assert [r.row.amount_fen for r in parsed.rows] == [household_fen(i, 3) for i in range(5)]
    assert all(r.row.extra == {} for r in parsed.rows)
    assert [(i.row, i.column, i.key, i.code, i.message, i.severity) for r in parsed.rows for i in r.issues] == [
        (SHORT_ROW, "补偿费用（元）/合计", "amount", "parts_mismatch", SHORT, "error")]
    assert [(w.row, w.code, w.severity) for w in parsed.warnings] == [(3, "parts_not_kept", "warning")]
    assert "土地补偿费" in parsed.warnings[0].message and "不导入" in parsed.warnings[0].message
    # the clerk's own choice of the total as the amount (remembered from the wizard) changes nothing
    chosen = read_roster(land_file(tmp_path), schema, mapping_override={"amount": "补偿费用（元）/合计"})
    assert [(i.row, i.code) for r in chosen.rows for i in r.issues] == [(SHORT_ROW, "parts_mismatch")]


def test_a_one_row_header_with_a_named_total(tmp_path):
    """土地补偿费 names money more surely than 补偿费合计 does; the total is still what is paid."""
    rows = [["户主姓名", "身份证号码", "面积（亩）", "土地补偿费", "安置补助费", "青苗补偿费", "补偿费合计", "备注"],
            ["王国华", PEOPLE[0][1], 1.5, 30000, 15000, 2000, 47000, None],
            ["李秀英", PEOPLE[1][1], 1.0, "20,000.00", "10,000.00", "1,350.50", "31,350.50", None]]
    parsed = read_roster(write_book(tmp_path / "one.csv", {"": rows}), LAND_HOUSEHOLD)
    assert parsed.mapping["amount"] == "补偿费合计"
    assert (parsed.mapping["x_land_fee"], parsed.mapping["x_crop_fee"]) == ("土地补偿费", "青苗补偿费")
    assert [r.row.amount_fen for r in parsed.rows] == [4700000, 3135050]
    assert issues(RowChecker(LAND_HOUSEHOLD, TODAY), parsed) == {}


# ------------------------------------------------------------------ two-row headers, two areas

def subsidy_two_rows(parent: str = "补贴面积（亩）") -> tuple[list[list], list]:
    """补贴面积 merged over 计税面积 and 实际种植面积, the other headers merged down, no unit row;
    the amounts were computed on 计税面积."""
    rows = [["石门村2026年耕地地力保护补贴发放花名册"],
            ["序号", "户主姓名", "身份证号码", parent, None, "补贴标准（元/亩）", "补贴金额（元）", "备注"],
            [None, None, None, "计税面积", "实际种植面积", None, None, None]]
    for i, (name, idn, q) in enumerate(PEOPLE):
        rows.append([i + 1, name, idn, float(q), float(q + 1), float(RATE), yuan(AMOUNTS[i]), None])
    merges = [*((1, c, 2, c) for c in (0, 1, 2, 5, 6, 7)), (1, 3, 1, 4)]
    return rows, merges


@pytest.mark.parametrize(("suffix", "options"), FORMATS, ids=FORMAT_IDS)
def test_a_two_row_header_whose_second_row_names_the_columns(tmp_path, suffix, options):
    rows, merges = subsidy_two_rows()
    parsed = read_roster(write_book(tmp_path / f"two{suffix}", {"花名册": rows}, {"花名册": merges}, **options),
                         SUBSIDY)
    assert parsed.header_row == 3 and parsed.excel_rows == [4, 5, 6, 7, 8]
    assert parsed.mapping["quantity"] == "补贴面积（亩）/计税面积"
    assert [r.row.quantity for r in parsed.rows] == [q for _n, _i, q in PEOPLE]
    assert all(not r.issues for r in parsed.rows)
    assert issues(RowChecker(SUBSIDY, TODAY), parsed) == {}
    assert parsed.notes == (
        "“补贴面积（亩）/计税面积”和“补贴面积（亩）/实际种植面积”都是面积：按“补贴面积（亩）/计税面积”导入，"
        "因为前 5 行中有 5 行的金额等于它乘以“补贴标准（元/亩）”，而“补贴面积（亩）/实际种植面积”只有 0 行。"
        "如果应按另一列，请在导入时把“补贴面积（亩）”对应到那一列。",)


def test_a_parent_without_a_unit_over_its_columns(tmp_path):
    rows, merges = subsidy_two_rows("补贴面积")
    parsed = read_roster(write_book(tmp_path / "two.xlsx", {"S": rows}, {"S": merges}), SUBSIDY)
    assert parsed.header_row == 3 and parsed.mapping["quantity"] == "补贴面积/计税面积"
    assert all(not r.issues for r in parsed.rows)


def test_a_first_row_of_text_under_a_header_with_a_gap_is_still_data(tmp_path):
    """A household with no figures yet, under a header that leaves one cell blank: its cells are
    values under every header, not names under a parent."""
    rows = [["户主姓名", "组别", None, "备注"], ["王国华", "一组", "另有一块地", "面积待核"]]
    parsed = read_roster(write_book(tmp_path / "gap.csv", {"": rows}), SUBSIDY)
    assert parsed.header_row == 1 and parsed.excel_rows == [2]
    assert (parsed.rows[0].row.name, parsed.rows[0].row.remark) == ("王国华", "面积待核")


def areas(fits_longer: bool = False, rate_column: bool = True) -> list[list]:
    """确权面积 and 实际种植面积 side by side; the amounts were computed on 确权面积 (the shorter
    header), or on 实际种植面积 when ``fits_longer``."""
    header = ["序号", "户主姓名", "身份证号码", "确权面积", "实际种植面积", "补贴标准", "补贴金额"]
    rows = [header if rate_column else header[:5] + header[6:]]
    for i, (name, idn, q) in enumerate(PEOPLE):
        planted = q - Decimal("0.5") if i else q  # the first household planted all its land
        paid = planted if fits_longer else q
        row = [i + 1, name, idn, float(q), float(planted), float(RATE), yuan(compute_amount_fen(paid, RATE))]
        rows.append(row if rate_column else row[:5] + row[6:])
    return rows


def test_the_area_that_fits_amount_equals_area_times_rate_is_imported(tmp_path):
    parsed = read_roster(write_book(tmp_path / "areas.xlsx", {"S": areas()}), SUBSIDY)
    assert parsed.mapping["quantity"] == "确权面积"
    assert [r.row.quantity for r in parsed.rows] == [q for _n, _i, q in PEOPLE]
    assert issues(RowChecker(SUBSIDY, TODAY), parsed) == {}
    assert "按“确权面积”导入" in parsed.notes[0] and "“实际种植面积”只有 1 行" in parsed.notes[0]

    longer = read_roster(write_book(tmp_path / "longer.xlsx", {"S": areas(fits_longer=True)}), SUBSIDY)
    assert longer.mapping["quantity"] == "实际种植面积"
    assert issues(RowChecker(SUBSIDY, TODAY), longer) == {}


def test_without_a_rate_column_the_programs_rate_decides(tmp_path):
    path = write_book(tmp_path / "no-rate.csv", {"": areas(rate_column=False)})
    parsed = read_roster(path, SUBSIDY, rate=RATE)
    assert parsed.mapping["quantity"] == "确权面积" and "rate" not in parsed.mapping
    assert "乘以本项目的标准 103.55 元/亩" in parsed.notes[0]
    # with no rate anywhere nothing can decide: the clerk is told which column was taken
    guessed = read_roster(path, SUBSIDY)
    assert guessed.notes == ()
    assert [(w.row, w.column, w.code, w.severity) for w in guessed.warnings] == [
        (1, "实际种植面积", "quantity_guessed", "warning")]
    assert "确权面积" in guessed.warnings[0].message


def test_the_clerks_choice_of_area_is_kept(tmp_path):
    path = write_book(tmp_path / "areas.xlsx", {"S": areas()})
    parsed = read_roster(path, SUBSIDY, mapping_override={"quantity": "实际种植面积"})
    assert parsed.mapping["quantity"] == "实际种植面积" and parsed.notes == ()


# ------------------------------------------------------------------ 小计, 合计 and signatures

@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_subtotals_and_signature_lines_are_not_households(tmp_path, suffix):
    def blank_but(**cells) -> list:
        row = [None] * len(HEADER)
        for column, value in cells.items():
            row[int(column[1:])] = value
        return row

    rows = [
        HEADER, person(0, "一组"), person(1, "一组"),
        blank_but(c1="一组", c4=20.7, c6=yuan(AMOUNTS[0] + AMOUNTS[1]), c8="小计"),         # 4: 小计 in 备注
        person(2, "二组"),
        blank_but(c0="共计", c4=24.45, c6=yuan(sum(AMOUNTS[:3]))),                         # 6
        [None] * len(HEADER),                                                               # 7
        blank_but(c0="制表人：李会计", c3="审核人：王主任", c6="监督委员会：（签字）"),        # 8: in 金额
        blank_but(c0="会计：张三", c4="出纳：李四"),                                        # 9: in 面积
        blank_but(c0="村委会（盖章）", c6="2026年11月20日"),                                 # 10
        blank_but(c0="村务监督委员会：（签字）"),                                            # 11
    ]
    parsed = read_roster(write_book(tmp_path / f"foot{suffix}", {"S": rows}), SUBSIDY)
    assert parsed.excel_rows == [2, 3, 5]
    assert parsed.skipped == ((4, "subtotal"), (6, "subtotal"), (7, "blank"), (8, "note"), (9, "note"),
                              (10, "note"), (11, "note"))
    assert all(not r.issues for r in parsed.rows) and parsed.warnings == ()
    assert skipped_summary(parsed.skipped) == (
        "有 7 行不是明细，没有导入：第 4、6 行是小计或合计，第 8—11 行是签字、盖章或说明，第 7 行是空行。")


def test_a_skipped_summary_names_every_kind_of_row():
    assert skipped_summary(()) == ""
    assert skipped_summary(((3, "header"), (9, "heading"), (12, "blank"))) == (
        "有 3 行不是明细，没有导入：第 3 行是重复的表头，第 9 行是组名行（下面各行归入该组），第 12 行是空行。")
