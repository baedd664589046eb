"""Finding the table: titles above it, two-row and merged headers, several sheets, traditional
characters, units and rates written in the header, and the clerk's own mapping."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.catalogue import DEFAULT_NOTICE_TYPES
from app.importing import ReadError, read_roster
from app.money import compute_amount_fen

from .files import HEADER, write_book
from .roster import AMOUNTS, LAND_PLAN, PEOPLE, RATE, SUBSIDY, yuan


def person_rows(header: list[str], groups: str = "一组") -> list[list]:
    return [header] + [
        [i + 1, groups, n, idn, float(q), float(RATE), yuan(AMOUNTS[i]), None, None]
        for i, (n, idn, q) in enumerate(PEOPLE)
    ]


# ------------------------------------------------------------------ two-row, merged headers

def two_row_header() -> tuple[list[list], list]:
    """'补贴面积' merged over '亩' and '公顷'; '补贴金额' over '（万元）'; the other headers merged
    down over both rows."""
    rows = [
        ["石门村耕地地力保护补贴发放花名册"],
        ["序号", "户主姓名", "身份证号码", "补贴面积", None, "补贴标准", "补贴金额", "备注"],
        [None, None, None, "亩", "公顷", "（元/亩）", "（万元）", None],
    ]
    for i, (name, idn, q) in enumerate(PEOPLE):
        rows.append([i + 1, name, idn, float(q), float(q / 15), float(RATE),
                     float(Decimal(AMOUNTS[i]) / 1_000_000), None])
    merges = [(1, 0, 2, 0), (1, 1, 2, 1), (1, 2, 2, 2), (1, 3, 1, 4), (1, 7, 2, 7)]
    return rows, merges


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".ods", ".csv"])
def test_a_two_row_header_with_merged_cells(tmp_path, suffix):
    rows, merges = two_row_header()
    path = write_book(tmp_path / f"two{suffix}", {"花名册": rows}, {"花名册": merges})
    parsed = read_roster(path, SUBSIDY)
    assert parsed.header_row == 3
    assert parsed.mapping == {
        "name": "户主姓名", "id_number": "身份证号码", "quantity": "补贴面积（亩）",
        "rate": "补贴标准（元/亩）", "amount": "补贴金额（万元）", "remark": "备注",
    }
    assert parsed.units == {"quantity": "亩", "rate": "元/亩", "amount": "万元"}
    assert [r.excel_row for r in parsed.rows] == [4, 5, 6, 7, 8]
    assert [r.row.quantity for r in parsed.rows] == [q for _n, _i, q in PEOPLE]
    assert [r.row.amount_fen for r in parsed.rows] == AMOUNTS  # 万元 → fen, exactly
    assert all(not r.issues for r in parsed.rows)


def test_a_group_heading_over_sub_headers(tmp_path):
    """'补贴情况' spans 面积/标准/金额; the name and ID headers are merged down."""
    rows = [
        ["户主姓名", "身份证号码", "补贴情况", None, None],
        [None, None, "面积（亩）", "标准（元/亩）", "金额（元）"],
        [PEOPLE[0][0], PEOPLE[0][1], 12.5, 103.55, 1294.38],
    ]
    path = write_book(tmp_path / "h.xlsx", {"Sheet1": rows}, {"Sheet1": [(0, 0, 1, 0), (0, 1, 1, 1),
                                                                            (0, 2, 0, 4)]})
    parsed = read_roster(path, SUBSIDY)
    assert parsed.header_row == 2
    assert parsed.mapping["quantity"] == "补贴情况/面积（亩）"
    assert parsed.mapping["amount"] == "补贴情况/金额（元）"
    assert (parsed.rows[0].row.quantity, parsed.rows[0].row.amount_fen) == (Decimal("12.5"), 129438)


# ------------------------------------------------------------------ titles, sheets, characters

def test_title_and_date_rows_above_the_header(tmp_path):
    rows = [["关于石门村2026年耕地地力保护补贴金额的公示"], [], ["公示日期：2026年11月20日"],
            *person_rows(HEADER)]
    parsed = read_roster(write_book(tmp_path / "t.xlsx", {"Sheet1": rows}), SUBSIDY)
    assert parsed.header_row == 4
    assert [r.excel_row for r in parsed.rows] == [5, 6, 7, 8, 9]


def several_sheets(tmp_path):
    return write_book(tmp_path / "several.xlsx", {
        "填表说明": [["填表说明"], ["1. 面积以亩为单位，保留两位小数"], ["2. 身份证号码须设为文本格式"]],
        "一组": person_rows(HEADER, "一组")[:3],
        "二组": person_rows(HEADER, "二组"),
    })


def test_the_sheet_with_the_table_is_chosen(tmp_path):
    parsed = read_roster(several_sheets(tmp_path), SUBSIDY)
    assert parsed.sheet == "一组"
    assert [r.row.group_name for r in parsed.rows] == ["一组", "一组"]


def test_a_named_sheet_is_read(tmp_path):
    parsed = read_roster(several_sheets(tmp_path), SUBSIDY, sheet="二组")
    assert (parsed.sheet, len(parsed.rows)) == ("二组", 5)


def test_a_missing_named_sheet_lists_the_sheets(tmp_path):
    with pytest.raises(ReadError) as err:
        read_roster(several_sheets(tmp_path), SUBSIDY, sheet="三组")
    message = str(err.value)
    assert "several.xlsx" in message and "三组" in message
    assert "“填表说明”、“一组”、“二组”" in message


def test_a_named_sheet_without_a_table_says_which_columns_were_expected(tmp_path):
    with pytest.raises(ReadError) as err:
        read_roster(several_sheets(tmp_path), SUBSIDY, sheet="填表说明")
    assert "填表说明" in str(err.value) and "户主姓名、身份证号码" in str(err.value)


def test_traditional_character_headers(tmp_path):
    header = ["序號", "組別", "戶主姓名", "身份證號碼", "補貼面積（畝）", "補貼標準（元/畝）",
              "補貼金額（元）", "一卡通賬號", "備註"]
    parsed = read_roster(write_book(tmp_path / "繁體.xlsx", {"清冊": person_rows(header)}), SUBSIDY)
    assert parsed.mapping == {
        "group": "組別", "name": "戶主姓名", "id_number": "身份證號碼", "quantity": "補貼面積（畝）",
        "rate": "補貼標準（元/畝）", "amount": "補貼金額（元）", "bank_account": "一卡通賬號",
        "remark": "備註",
    }
    assert parsed.units == {"quantity": "亩", "rate": "元/亩", "amount": "元"}
    assert [r.row.amount_fen for r in parsed.rows] == AMOUNTS


def test_header_synonyms_and_headers_split_over_lines(tmp_path):
    header = ["组", "农户姓名", "公民身份号码", "计税面积\n(亩)", "标准", "发放金额", "备 注"]
    rows = [header, ["3", "王国华", PEOPLE[0][1], 12.5, 103.55, 1294.38, "已核"]]
    parsed = read_roster(write_book(tmp_path / "s.csv", {"": rows}), SUBSIDY)
    assert parsed.mapping == {"group": "组", "name": "农户姓名", "id_number": "公民身份号码",
                              "quantity": "计税面积(亩)", "rate": "标准", "amount": "发放金额",
                              "remark": "备 注"}
    assert parsed.rows[0].row.remark == "已核"


# ------------------------------------------------------------------ rates and units in headers

def test_a_header_naming_a_rate_is_the_rate_for_every_row(tmp_path):
    """塔城's layout: 序号|乡镇|姓名|种植面积|补贴金额每亩150元|补贴金额."""
    rows = [["序号", "乡镇", "姓名", "种植面积", "补贴金额每亩150元", "补贴金额"],
            [1, "阿西尔乡", "王国华", 12.5, 150, 1875],
            [2, "阿西尔乡", "李秀英", 8.2, 150, 1230]]
    parsed = read_roster(write_book(tmp_path / "r.xlsx", {"Sheet1": rows}), SUBSIDY)
    assert parsed.mapping["rate"] == "补贴金额每亩150元"
    assert parsed.mapping["amount"] == "补贴金额"
    assert parsed.units["rate"] == "元/亩"
    assert [r.row.rate for r in parsed.rows] == [Decimal(150), Decimal(150)]
    assert [r.row.amount_fen for r in parsed.rows] == [187500, 123000]


def test_a_rate_header_without_an_amount_column_holds_the_amounts(tmp_path):
    rows = [["姓名", "种植面积", "补贴金额（每亩150元）"], ["王国华", 12.5, 1875]]
    parsed = read_roster(write_book(tmp_path / "r.csv", {"": rows}), SUBSIDY)
    assert parsed.mapping["rate"] == parsed.mapping["amount"] == "补贴金额（每亩150元）"
    assert (parsed.rows[0].row.rate, parsed.rows[0].row.amount_fen) == (Decimal(150), 187500)


def test_hectares_and_ten_thousand_yuan_are_converted_exactly(tmp_path):
    """A land compensation plan in 公顷 and 万元 (DOMAIN.md §1B): 1 公顷 = 15 亩 exactly."""
    rows = [
        ["附件：征地补偿安置方案明细表"],
        ["被征地村民小组", "地类", "面积(公顷)", "补偿标准(万元/公顷)", "补偿费用(万元)", "备注"],
        ["一组", "耕地", 11.8078, 67.5, 797.0265, None],
        ["二组", "林地", 2.5, 37.7, 94.25, None],
        ["合计", None, 14.3078, None, 891.2765, None],
    ]
    parsed = read_roster(write_book(tmp_path / "征地.xls", {"方案": rows}), LAND_PLAN)
    assert parsed.units == {"quantity": "公顷", "rate": "万元/公顷", "amount": "万元"}
    first, second = (p.row for p in parsed.rows)
    assert first.quantity == Decimal("177.117")            # 11.8078 × 15
    assert first.rate == Decimal(45000)                    # 67.5 万元/公顷 = 45000 元/亩
    assert first.amount_fen == 797026500
    assert compute_amount_fen(first.quantity, first.rate) == first.amount_fen
    assert first.extra == {"x_land_class": "耕地"}
    assert second.quantity == Decimal("37.5") and second.amount_fen == 94250000
    # 37.7 万元/公顷 is 25133.33… 元/亩: no exact value, so the rate is left out and said so
    assert second.rate is None
    assert [(i.row, i.column, i.code, i.severity) for i in parsed.rows[1].issues] == [
        (4, "补偿标准(万元/公顷)", "rate_inexact", "warning")]
    assert parsed.skipped == ((5, "subtotal"),)
    assert parsed.warnings == ()                           # 合计 matches in 公顷 and 万元


def test_units_stated_above_the_table_apply(tmp_path):
    rows = [["补偿费用明细"], ["单位：万元、公顷"],
            ["被征地村民小组", "面积", "补偿费用"], ["一组", 2, 90]]
    parsed = read_roster(write_book(tmp_path / "u.xlsx", {"S": rows}), LAND_PLAN)
    assert parsed.units == {"quantity": "公顷", "amount": "万元"}
    assert (parsed.rows[0].row.quantity, parsed.rows[0].row.amount_fen) == (Decimal(30), 90000000)


# ------------------------------------------------------------------ the clerk's mapping

def test_a_mapping_override_names_headers_nobody_could_guess(tmp_path):
    rows = [["名字", "身份号", "承包地亩数", "应领钱数"], ["王国华", PEOPLE[0][1], 12.5, 1294.38]]
    path = write_book(tmp_path / "odd.xlsx", {"Sheet1": rows})
    with pytest.raises(ReadError, match="找不到表头"):
        read_roster(path, SUBSIDY)
    parsed = read_roster(path, SUBSIDY, mapping_override={
        "name": "名字", "id_number": "身份号", "amount": "应领钱数"})
    assert parsed.mapping == {"name": "名字", "id_number": "身份号", "quantity": "承包地亩数",
                              "amount": "应领钱数"}
    assert parsed.rows[0].row.amount_fen == 129438


def test_an_override_takes_a_column_from_its_automatic_key(tmp_path):
    path = write_book(tmp_path / "o.xlsx", {"Sheet1": person_rows(HEADER)})
    parsed = read_roster(path, SUBSIDY, mapping_override={"remark": "一卡通账号", "phone": "电话"})
    assert parsed.mapping["remark"] == "一卡通账号" and "bank_account" not in parsed.mapping
    assert [(w.code, w.column, w.key) for w in parsed.warnings] == [
        ("mapping_not_found", "电话", "phone")]


def test_an_empty_override_leaves_a_column_unmapped(tmp_path):
    path = write_book(tmp_path / "o.xlsx", {"Sheet1": person_rows(HEADER)})
    parsed = read_roster(path, SUBSIDY, mapping_override={"bank_account": ""})
    assert "bank_account" not in parsed.mapping and parsed.warnings == ()


def test_a_missing_required_column_is_reported_once(tmp_path):
    rows = [["户主姓名", "补贴面积", "补贴金额"], ["王国华", 12.5, 1294.38]]
    parsed = read_roster(write_book(tmp_path / "m.xlsx", {"S": rows}), SUBSIDY)
    assert [(w.row, w.column, w.key, w.code) for w in parsed.warnings] == [
        (1, "身份证号码", "id_number", "missing_column")]


@pytest.mark.parametrize("notice_type", DEFAULT_NOTICE_TYPES, ids=lambda t: t["code"])
def test_every_shipped_schema_recognises_its_own_labels(tmp_path, notice_type):
    """A file made from our own template (the schema's labels as headers) maps every column."""
    schema = notice_type["roster_schema"]
    sample = {"quantity": 2.5, "rate": 100, "amount": 250, "id_number": PEOPLE[0][1],
              "name": "王国华", "group": "一组"}
    parts = [c["key"] for c in schema if c.get("part_of") == "amount"]
    sample.update({key: 250 - 100 * (len(parts) - 1) if i == 0 else 100 for i, key in enumerate(parts)})
    rows = [["标题"], [c["label"] for c in schema], [sample.get(c["key"], "内容") for c in schema]]
    parsed = read_roster(write_book(tmp_path / "own.xlsx", {"S": rows}), schema)
    assert parsed.mapping == {c["key"]: c["label"] for c in schema}
    assert parsed.header_row == 2 and len(parsed.rows) == 1 and parsed.warnings == ()
    assert parsed.rows[0].row.amount_fen == (25000 if "amount" in parsed.mapping else None)
    assert all(not r.issues for r in parsed.rows)
