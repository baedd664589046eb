"""The same roster read from .xlsx, .xls, .ods and CSV in every encoding a township meets."""

from __future__ import annotations

import codecs
from decimal import Decimal

import pytest

from app.importing import ReadError, read_roster

from .files import HEADER, write_book
from .roster import ACCOUNTS, AMOUNTS, PEOPLE, RATE, SUBSIDY, yuan

FORMATS = {
    "xlsx": ("roster.xlsx", {}),
    "xls": ("roster.xls", {}),
    "ods": ("roster.ods", {}),
    "csv-utf8": ("roster.csv", {"encoding": "utf-8"}),
    "csv-utf8-bom": ("roster.csv", {"encoding": "utf-8", "bom": True}),
    "csv-gbk": ("roster.csv", {"encoding": "gbk"}),
}


def roster_rows() -> tuple[list[list], list]:
    """Title, date, header; 一组 (merged 组 cell), a blank row, 一组小计, 二组, and a 合计 row
    whose amount is 1 元 too high. Returns the rows and the merges (0-based)."""
    def person(i: int, group: str | None) -> list:
        name, id_number, quantity = PEOPLE[i]
        return [i + 1, group, name, id_number, float(quantity), float(RATE), yuan(AMOUNTS[i]),
                ACCOUNTS[i], None]

    rows = [
        ["石门村2026年耕地地力保护补贴发放清册"],
        ["填报日期：2026年11月20日", None, None, None, None, None, None, None, "单位：元、亩"],
        HEADER,
        person(0, "一组"), person(1, None), person(2, None),
        [],
        [None, "一组小计", None, None, 24.45, None, yuan(sum(AMOUNTS[:3])), None, None],
        person(3, "二组"), person(4, None),
        ["合计", None, None, None, 45.1, None, yuan(sum(AMOUNTS) + 100), None, None],
    ]
    merges = [(3, 1, 5, 1), (8, 1, 9, 1)]
    return rows, merges


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_one_roster_reads_the_same_in_every_format(tmp_path, fmt):
    name, options = FORMATS[fmt]
    rows, merges = roster_rows()
    path = write_book(tmp_path / name, {"清册": rows}, {"清册": merges}, **options)

    parsed = read_roster(path, SUBSIDY)

    assert parsed.file == name
    assert parsed.sheet == ("" if fmt.startswith("csv") else "清册")
    assert parsed.header_row == 3
    assert parsed.mapping == {
        "group": "组别", "name": "户主姓名", "id_number": "身份证号码", "quantity": "补贴面积（亩）",
        "rate": "补贴标准（元/亩）", "amount": "补贴金额（元）", "bank_account": "一卡通账号",
        "remark": "备注",
    }
    assert parsed.units == {"quantity": "亩", "rate": "元/亩", "amount": "元"}
    assert [r.excel_row for r in parsed.rows] == [4, 5, 6, 9, 10]
    assert parsed.skipped == ((7, "blank"), (8, "subtotal"), (11, "subtotal"))
    got = [(r.row.name, r.row.id_number, r.row.group_name, r.row.quantity, r.row.rate,
            r.row.amount_fen, r.row.bank_account) for r in parsed.rows]
    assert got == [
        (n, i, g, q, RATE, a, acct)
        for (n, i, q), g, a, acct in zip(PEOPLE, ["一组"] * 3 + ["二组"] * 2, AMOUNTS, ACCOUNTS,
                                          strict=True)
    ]
    assert sum(r.row.amount_fen for r in parsed.rows) == 467011
    assert sum(r.row.quantity for r in parsed.rows) == Decimal("45.1")
    assert all(r.issues == () for r in parsed.rows)
    assert [(w.row, w.column, w.code, w.severity) for w in parsed.warnings] == [
        (11, "补贴金额（元）", "subtotal_mismatch", "warning")]
    assert "4,671.11" in parsed.warnings[0].message and "4,670.11" in parsed.warnings[0].message


def test_a_csv_in_utf16_without_bom_is_refused_with_one_clear_message(tmp_path):
    rows, _merges = roster_rows()
    path = write_book(tmp_path / "名单.csv", {"": rows}, encoding="utf-16-le")
    with pytest.raises(ReadError) as err:
        read_roster(path, SUBSIDY)
    assert "名单.csv" in str(err.value) and "编码" in str(err.value)


def test_a_csv_of_random_high_bytes_is_refused(tmp_path):
    path = tmp_path / "乱码.csv"
    path.write_bytes(bytes(range(0x80, 0x100)) * 40)
    with pytest.raises(ReadError, match="乱码.csv.*编码"):
        read_roster(path, SUBSIDY)


def test_excel_unicode_text_export_is_read(tmp_path):
    """Excel's "Unicode 文本" is tab-separated UTF-16 with a BOM: unambiguous, so it is read."""
    rows, _merges = roster_rows()
    text = "\r\n".join("\t".join("" if v is None else str(v) for v in row) for row in rows)
    path = tmp_path / "unicode.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    parsed = read_roster(path, SUBSIDY)
    assert [r.excel_row for r in parsed.rows] == [4, 5, 6, 9, 10]
    assert [r.row.amount_fen for r in parsed.rows] == AMOUNTS


def test_a_tab_separated_file_named_xls_is_read_as_text(tmp_path):
    """Some county systems export tab-separated GBK text with an .xls name."""
    rows, _merges = roster_rows()
    text = "\r\n".join("\t".join("" if v is None else str(v) for v in row) for row in rows)
    path = tmp_path / "导出.xls"
    path.write_bytes(text.encode("gbk"))
    parsed = read_roster(path, SUBSIDY)
    assert [r.row.name for r in parsed.rows] == [p[0] for p in PEOPLE]
