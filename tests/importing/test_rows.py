"""Reading the rows: skipped and subtotal rows, merged groups, and the cells clerks really type."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from app.catalogue import col
from app.importing import read_roster

from .files import HEADER, write_book
from .roster import ACCOUNTS, AMOUNTS, PEOPLE, RATE, SUBSIDY, yuan

ID, NAME, QTY, AMT = "身份证号码", "户主姓名", "补贴面积（亩）", "补贴金额（元）"
RATE_H, ACCT, GROUP = "补贴标准（元/亩）", "一卡通账号", "组别"


def person(i: int, group: str | None = None, **changes) -> list:
    name, idn, q = PEOPLE[i]
    row = dict(zip(HEADER, [i + 1, group, name, idn, float(q), float(RATE), yuan(AMOUNTS[i]),
                            ACCOUNTS[i], None], strict=True))
    row.update(changes)
    return [row[h] for h in HEADER]


def read_rows(tmp_path, rows: list[list], suffix: str = ".xlsx", merges=None, schema=SUBSIDY):
    path = write_book(tmp_path / f"r{suffix}", {"清册": rows}, {"清册": merges or []})
    return read_roster(path, schema)


def codes(parsed) -> list[tuple[int, str, str, str]]:
    return [(i.row, i.column, i.key, i.code) for r in parsed.rows for i in r.issues]


# ------------------------------------------------------------------ rows that are not data

def test_merged_group_cells_are_filled_down_and_heading_rows_name_the_group(tmp_path):
    rows = [HEADER, person(0, "一组"), person(1), person(2),
            [None, "二组", None, None, None, None, None, None, None],   # heading row
            person(3), person(4, "三组")]
    parsed = read_rows(tmp_path, rows, merges=[(1, 1, 3, 1)])
    assert [r.row.group_name for r in parsed.rows] == ["一组", "一组", "一组", "二组", "三组"]
    assert [r.excel_row for r in parsed.rows] == [2, 3, 4, 6, 7]
    assert parsed.skipped == ((5, "heading"),)


def test_blank_subtotal_and_total_rows_are_skipped_and_checked(tmp_path):
    rows = [
        ["补贴发放清册"], HEADER,
        person(0, "一组"), person(1, "一组"),
        [None, "小  计", None, None, 20.7, None, yuan(AMOUNTS[0] + AMOUNTS[1]), None, None],  # right
        [None, "   ", None, None, None, None, None, None, None],                       # blank
        person(2, "二组"), person(3, "二组"),
        [None, "二组小计", None, None, 23.75, None, yuan(AMOUNTS[2] + AMOUNTS[3] - 1), None, None],
        person(4, "三组"),
        [None, None, None, None, None, None, None, None, None],                          # blank
        ["总计", None, None, None, 44.0, None, "4,670.11", None, None],                  # area wrong
        ["制表人：李会计", None, None, "审核人：王主任"],                                  # note
    ]
    parsed = read_rows(tmp_path, rows)
    assert [r.excel_row for r in parsed.rows] == [3, 4, 7, 8, 10]
    assert parsed.skipped == ((5, "subtotal"), (6, "blank"), (9, "subtotal"), (11, "blank"),
                              (12, "subtotal"), (13, "note"))
    assert [(w.row, w.column, w.code) for w in parsed.warnings] == [
        (9, "补贴金额（元）", "subtotal_mismatch"),
        (12, "补贴面积（亩）", "subtotal_mismatch"),
    ]
    assert parsed.warnings[0].message == "小计行的金额为 2,459.30 元，而上面各行相加为 2,459.31 元，请核对"
    assert parsed.warnings[1].message == (
        "总计行的“补贴面积（亩）”为 44 亩，而上面各行相加为 45.1 亩，请核对")
    assert sum(r.row.amount_fen for r in parsed.rows) == 467011


def test_a_total_per_group_written_as_he_ji_is_not_a_mismatch(tmp_path):
    rows = [HEADER, person(0, "一组"), ["合计", None, None, None, 12.5, None, yuan(AMOUNTS[0])],
            person(1, "二组"), ["合计", None, None, None, 8.2, None, yuan(AMOUNTS[1])],
            ["总计", None, None, None, 20.7, None, yuan(AMOUNTS[0] + AMOUNTS[1])]]
    parsed = read_rows(tmp_path, rows, suffix=".csv")
    assert len(parsed.rows) == 2 and parsed.warnings == ()


def test_a_header_repeated_on_each_printed_page_is_skipped(tmp_path):
    rows = [HEADER, person(0), person(1), HEADER, person(2)]
    parsed = read_rows(tmp_path, rows)
    assert [r.excel_row for r in parsed.rows] == [2, 3, 5] and parsed.skipped == ((4, "header"),)


# ------------------------------------------------------------------ ID numbers

def test_an_id_number_stored_as_a_number_rejects_that_row_without_guessing(tmp_path):
    stored = 530102197208112421  # Excel keeps 15 digits: 530102197208112000
    rows = [HEADER, person(0), person(1, **{ID: float(stored)}), person(2)]
    parsed = read_rows(tmp_path, rows)
    assert codes(parsed) == [(3, "身份证号码", "id_number", "id_as_number")]
    issue = parsed.rows[1].issues[0]
    assert issue.severity == "error" and "数字" in issue.message
    assert not re.search(r"\d", issue.message)  # no digit of the number, nor any other
    assert parsed.rows[1].row.id_number == ""
    assert [r.row.id_number for r in parsed.rows[::2]] == [PEOPLE[0][1], PEOPLE[2][1]]


@pytest.mark.parametrize("text", ["5.30102E+17", "5.30102197208112E+17", "5.3E17"])
def test_an_id_number_in_scientific_notation_is_a_lost_number(tmp_path, text):
    parsed = read_rows(tmp_path, [HEADER, person(1, **{ID: text})], suffix=".csv")
    assert codes(parsed) == [(2, "身份证号码", "id_number", "id_as_number")]


def test_id_numbers_as_clerks_type_them(tmp_path):
    rows = [HEADER,
            person(2, **{ID: "１１０１０５１９４９１２３１００２ｘ"}),   # full width, small x
            person(2, **{ID: " 110105 19491231 002x "}),             # stray spaces
            person(2, **{ID: "'11010519491231002X"}),                 # Excel text apostrophe
            person(0, **{ID: f'="{PEOPLE[0][1]}"'})]                  # CSV formula trick
    parsed = read_rows(tmp_path, rows, suffix=".csv")
    assert [r.row.id_number for r in parsed.rows] == ["11010519491231002X"] * 3 + [PEOPLE[0][1]]
    assert codes(parsed) == []


def test_a_bank_account_stored_as_a_number_is_rejected(tmp_path):
    parsed = read_rows(tmp_path, [HEADER, person(0, **{ACCT: 6228480000000000011})])
    assert codes(parsed) == [(2, "一卡通账号", "bank_account", "account_as_number")]
    assert not re.search(r"\d", parsed.rows[0].issues[0].message)


# ------------------------------------------------------------------ names and numbers

def test_full_width_characters_units_and_thousands_separators(tmp_path):
    rows = [HEADER,
            person(0, **{NAME: " 王 国华 ", QTY: "１２．５", AMT: "１，２９４．３８"}),
            person(1, **{QTY: "8.2亩", RATE_H: "103.55元/亩", AMT: "849.11元"}),
            person(2, **{AMT: "¥388.31", QTY: " 3.75 "}),
            person(3, **{AMT: "2,071.00", GROUP: "２组"})]
    parsed = read_rows(tmp_path, rows)
    assert codes(parsed) == []
    assert [r.row.name for r in parsed.rows] == ["王国华", "李秀英", "张建明", "阿依古丽·买买提"]
    assert [r.row.quantity for r in parsed.rows] == [q for _n, _i, q in PEOPLE[:4]]
    assert [r.row.rate for r in parsed.rows] == [RATE] * 4
    assert [r.row.amount_fen for r in parsed.rows] == AMOUNTS[:4]
    assert parsed.rows[3].row.group_name == "2组"


def test_unreadable_numbers_are_bad_number_on_their_cell(tmp_path):
    rows = [HEADER, person(0, **{AMT: "一千二"}), person(1, **{QTY: "8.2元"}),
            person(2, **{QTY: 1.23456}), person(3)]
    parsed = read_rows(tmp_path, rows)
    assert codes(parsed) == [(2, "补贴金额（元）", "amount", "bad_number"),
                             (3, "补贴面积（亩）", "quantity", "bad_number"),
                             (4, "补贴面积（亩）", "quantity", "bad_number")]
    assert parsed.rows[0].row.amount_fen is None and parsed.rows[1].row.quantity is None
    assert "4 位小数" in parsed.rows[2].issues[0].message


def test_float_residue_is_read_as_excel_shows_it(tmp_path):
    """=0.1+0.2 is 0.30000000000000004 in the file and 0.3 on the clerk's screen."""
    parsed = read_rows(tmp_path, [HEADER, person(0, **{QTY: 0.1 + 0.2, AMT: 31.065})])
    assert parsed.rows[0].row.quantity == Decimal("0.3")
    assert parsed.rows[0].row.amount_fen == 3107  # half-up to the fen
    assert codes(parsed) == []


def test_dates_in_extra_columns_become_iso_dates(tmp_path):
    schema = [*SUBSIDY, col("x_paid_on", "发放日期"), col("x_note", "说明事项")]
    header = ["户主姓名", "身份证号码", "补贴面积", "补贴金额", "发放日期", "说明事项"]
    rows = [header,
            ["王国华", PEOPLE[0][1], 12.5, 1294.38, 45658, 7],                  # a bare serial
            ["李秀英", PEOPLE[1][1], 8.2, 849.11, datetime(2025, 1, 2), "补发"],  # a date cell
            ["张建明", PEOPLE[2][1], 3.75, 388.31, "2025年1月3日", None]]           # text stays text
    parsed = read_rows(tmp_path, rows, schema=schema)
    assert [r.row.extra for r in parsed.rows] == [
        {"x_paid_on": "2025-01-01", "x_note": "7"},
        {"x_paid_on": "2025-01-02", "x_note": "补发"},
        {"x_paid_on": "2025年1月3日"},
    ]
    assert date(1899, 12, 30).toordinal() + 45658 == date(2025, 1, 1).toordinal()


def test_a_zero_amount_row_is_data_not_blank(tmp_path):
    parsed = read_rows(tmp_path, [HEADER, person(0, **{QTY: 0, AMT: 0})])
    assert [(r.row.quantity, r.row.amount_fen) for r in parsed.rows] == [(Decimal(0), 0)]


def test_a_unit_written_in_the_cell_wins_over_the_header(tmp_path):
    parsed = read_rows(tmp_path, [HEADER, person(1, **{QTY: "0.5公顷"})])
    assert parsed.rows[0].row.quantity == Decimal("7.5") and codes(parsed) == []


def test_rows_converted_a_batch_at_a_time_are_the_rows_read_at_once(tmp_path):
    """An importer converts the rows a batch at a time (open_roster) to store the first ones while
    the next are converted: merged groups, group headings, subtotals and reading problems come
    out as read_roster gives them."""
    from app.importing import open_roster

    rows = [["补贴发放清册"], HEADER,
            person(0, "一组"), person(1), [None, "二组", None, None, None, None, None, None, None],
            person(2), person(3, **{AMT: "一千二"}),
            [None, "小计", None, None, 24.0, None, yuan(AMOUNTS[2] + AMOUNTS[3]), None, None],
            person(4, **{ID: 530102197208112421.0, QTY: "8.2元"}), person(0), person(1, "三组")]
    path = write_book(tmp_path / "batches.xlsx", {"清册": rows}, {"清册": [(2, 1, 3, 1)]})
    whole = read_roster(path, SUBSIDY)
    reading = open_roster(path, SUBSIDY)
    assert reading.id_numbers == [r.row.id_number for r in whole.rows]
    batches = list(reading.batches(2))
    assert [(start, len(values)) for start, values, _p in batches] == [(0, 2), (2, 2), (4, 2), (6, 1)]
    assert [row for _s, values, _p in batches for row in values.rows()] == [r.row for r in whole.rows]
    assert {pos: p for _s, _v, problems in batches for pos, p in problems.items()} == whole.problems
    assert [r.row.group_name for r in whole.rows] == ["一组", "一组", "二组", "二组", "二组", "二组", "三组"]
    assert len(whole.problems) == 2 and whole.warnings
    again = reading.result()
    assert (again.rows, again.warnings, again.skipped) == (whole.rows, whole.warnings, whole.skipped)

