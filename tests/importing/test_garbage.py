"""Files that are not rosters get one clear message naming the file, never a raw exception."""

from __future__ import annotations

import io
import os
import random
import zipfile
from pathlib import Path

import pytest

from app.importing import ParsedRoster, ReadError, read_roster

from .files import write_book
from .roster import SUBSIDY
from .test_formats import roster_rows


def refused(path: Path, **options) -> str:
    with pytest.raises(ReadError) as err:
        read_roster(path, SUBSIDY, **options)
    message = str(err.value)
    assert path.name in message
    return message


def test_random_bytes_named_xlsx(tmp_path):
    path = tmp_path / "清册.xlsx"
    path.write_bytes(random.Random(1).randbytes(5000))
    assert "不是能识别的表格文件" in refused(path)


def test_a_truncated_xlsx(tmp_path):
    rows, merges = roster_rows()
    good = write_book(tmp_path / "good.xlsx", {"清册": rows}, {"清册": merges}).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good[: len(good) // 2])
    assert "不完整或已损坏" in refused(path)


def test_a_zip_that_is_not_a_workbook(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    path = tmp_path / "公示.xlsx"
    path.write_bytes(buffer.getvalue())
    assert "不是能识别的表格文件" in refused(path)


def test_an_empty_file(tmp_path):
    path = tmp_path / "empty.xls"
    path.write_bytes(b"")
    assert "空文件" in refused(path)


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".ods"])
def test_an_empty_workbook(tmp_path, suffix):
    path = write_book(tmp_path / f"空白{suffix}", {"Sheet1": [], "Sheet2": [[None]]})
    assert "没有任何内容" in refused(path)


def test_an_empty_named_sheet(tmp_path):
    rows, _merges = roster_rows()
    path = write_book(tmp_path / "two.xlsx", {"清册": rows, "空表": []})
    message = refused(path, sheet="空表")
    assert "“空表”是空的" in message


def test_a_sheet_without_a_header(tmp_path):
    rows = [[random.Random(i).random() for _ in range(6)] for i in range(40)]
    rows[3] = ["张三", "李四", "王五"]
    path = write_book(tmp_path / "数字.xlsx", {"数据": rows})
    message = refused(path)
    assert "找不到表头" in message and "“数据”" in message
    assert "户主姓名、身份证号码、补贴面积（亩）、补贴标准（元/亩）、补贴金额（元）" in message


def test_an_html_table_saved_as_xls(tmp_path):
    path = tmp_path / "导出.xls"
    path.write_text("<html><body><table><tr><td>户主姓名</td></tr></table></body></html>",
                    encoding="utf-8")
    assert "网页" in refused(path)


def test_an_oversize_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    rows, merges = roster_rows()
    path = write_book(tmp_path / "big.xlsx", {"清册": rows}, {"清册": merges})

    def never(self):
        raise AssertionError("the file was read before its size was checked")

    monkeypatch.setattr(Path, "read_bytes", never)
    message = refused(path, max_bytes=1024)
    assert "太大" in message and "1 KB" in message


def test_a_missing_file(tmp_path):
    assert "找不到文件" in refused(tmp_path / "nowhere.xlsx")


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".ods"])
def test_damaged_files_never_raise_a_raw_exception(tmp_path, suffix):
    """Cut and corrupted copies of a good file: a roster or a ReadError, nothing else (calamine
    can even panic on a malformed .xls)."""
    rows, merges = roster_rows()
    good = write_book(tmp_path / f"good{suffix}", {"清册": rows}, {"清册": merges}).read_bytes()
    rng = random.Random(2026)
    outcomes = set()
    for attempt in range(60):
        data = bytearray(good)
        if attempt % 2:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randrange(1, 12)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"damaged{suffix}"
        path.write_bytes(bytes(data))
        try:
            outcomes.add(type(read_roster(path, SUBSIDY)))
        except ReadError as err:
            assert "damaged" in str(err)
            outcomes.add(ReadError)
    assert ReadError in outcomes and outcomes <= {ParsedRoster, ReadError}


def test_read_errors_carry_technical_details_apart_from_the_message(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(200))
    with pytest.raises(ReadError) as err:
        read_roster(path, SUBSIDY)
    assert err.value.details and err.value.details not in str(err.value)
