"""What the import wizard shows before storing (sheets, header, column mapping) and adding a file's
rows to an existing draft: all or nothing."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from app.errors import Cancelled, TransitionError
from app.import_preview import (
    append_to_draft,
    applicable_mapping,
    column_letter,
    drafts_for_program,
    preview_file,
    preview_mapping,
    program_choices,
    remembered_mapping,
)
from app.importing import ReadError
from app.money import compute_amount_fen

from .test_imports import _db_fingerprint
from .world import make_world

HEADERS = ["序号", "组别", "户主姓名", "身份证号码", "补贴面积（亩）", "补贴标准（元/亩）", "补贴金额（元）", "一折通"]


def _rows(w, n: int, seed: int = 1) -> list[list]:
    out = []
    for i, r in enumerate(w.rows(n, seed=seed)):
        out.append([i + 1, r.group_name, r.name, r.id_number, str(r.quantity), "103.55",
                    f"{Decimal(compute_amount_fen(r.quantity, Decimal('103.55'))) / 100:.2f}", f"62284800{i:011d}"])
    return out


def _book(path, sheets: dict[str, list[list]]):
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def test_the_sheet_with_the_roster_is_suggested(ctx, tmp_path):
    w = make_world(ctx)
    path = _book(tmp_path / "a.xlsx", {"说明": [["填表说明"]], "空表": [], "清册": [["标题"], HEADERS, *_rows(w, 3)]})
    preview = preview_file(ctx, path, w.program_id)
    assert [(s.name, s.empty, s.matched > 0) for s in preview.sheets] == [
        ("说明", False, False), ("空表", True, False), ("清册", False, True)]
    assert preview.suggested == "清册" and not preview.is_csv
    assert preview.sheet("清册").text_rows(2) == [["标题"] + [""] * 7, HEADERS]


def test_the_mapping_follows_the_header_and_the_clerks_choices(ctx, tmp_path):
    w = make_world(ctx)
    path = _book(tmp_path / "a.xlsx", {"清册": [["标题"], ["日期"], HEADERS, *_rows(w, 12)]})
    preview = preview_file(ctx, path, w.program_id)
    auto = preview_mapping(preview, "清册")
    assert (auto.header_first, auto.header_last) == (3, 3)
    assert auto.mapping["name"] == "户主姓名" and "bank_account" not in auto.mapping
    assert [h.letter for h in auto.headers] == list("ABCDEFGH")
    assert [row for row, _values in auto.rows] == list(range(4, 12))  # the first 8 data rows
    assert [c.label for c in auto.missing_required(preview.columns())] == []
    chosen = preview_mapping(preview, "清册", {"bank_account": "一折通", "name": ""})
    assert chosen.mapping["bank_account"] == "一折通" and "name" not in chosen.mapping
    assert [c.key for c in chosen.missing_required(preview.columns())] == ["name"]
    assert applicable_mapping(preview, "清册", {"bank_account": "一折通", "phone": "手机号码", "group": ""}) == {
        "bank_account": "一折通", "group": ""}


def test_csv_and_broken_files(ctx, tmp_path):
    w = make_world(ctx)
    csv = tmp_path / "a.csv"
    csv.write_text("\n".join(",".join(map(str, r)) for r in [HEADERS, *_rows(w, 2)]), encoding="utf-8")
    preview = preview_file(ctx, csv, w.program_id)
    assert preview.is_csv and preview.suggested == ""
    assert preview_mapping(preview, "").mapping["id_number"] == "身份证号码"
    broken = tmp_path / "b.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(ReadError, match="b.xlsx"):
        preview_file(ctx, broken, w.program_id)
    no_header = _book(tmp_path / "c.xlsx", {"表": [["甲", "乙"], [1, 2]]})
    with pytest.raises(ReadError, match="找不到表头"):
        preview_mapping(preview_file(ctx, no_header, w.program_id), "表")


def test_rows_are_appended_to_a_draft_with_their_problems(ctx, tmp_path):
    w = make_world(ctx)
    draft = w.draft(2)
    rows = _rows(w, 3, seed=5)
    rows[1][3] = rows[1][3][:-1] + ("0" if rows[1][3][-1] != "0" else "1")
    path = _book(tmp_path / "a.xlsx", {"清册": [HEADERS, *rows]})
    added = append_to_draft(ctx, draft, path, by=w.clerk, mapping_override={"bank_account": "一折通"})
    stored = w.notices.rows(draft)
    assert added == 3 and [r.seq for r in stored] == [1, 2, 3, 4, 5]
    assert [r.bank_account for r in stored[2:]] == [r[7] for r in rows]
    assert [bool(r.issues) for r in stored[2:]] == [False, True, False]
    assert remembered_mapping(w.program_id) == {"bank_account": "一折通"}
    assert [s.id for s in drafts_for_program(ctx, w.program_id)] == [draft]
    assert drafts_for_program(ctx, w.land_program_id) == []


def test_appending_changes_nothing_when_cancelled_or_not_a_draft(ctx, tmp_path):
    w = make_world(ctx)
    draft, approved = w.draft(2), w.approved(2)
    path = _book(tmp_path / "a.xlsx", {"清册": [HEADERS, *_rows(w, 3)]})
    before = _db_fingerprint(ctx)
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        append_to_draft(ctx, draft, path, by=w.clerk, progress=lambda *a: cancel.set(), cancel=cancel)
    with pytest.raises(TransitionError):
        append_to_draft(ctx, approved, path, by=w.clerk, mapping_override={"bank_account": "一折通"})
    assert _db_fingerprint(ctx) == before


def test_program_choices_name_the_notice_type(ctx):
    w = make_world(ctx)
    choices = {c.id: c for c in program_choices(ctx)}
    assert choices[w.program_id].notice_type_name == "惠农补贴发放情况公示"
    assert choices[w.program_id].level == "村"
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


def test_the_mapping_page_says_how_a_compensation_table_is_read(ctx, tmp_path):
    """An .ods (no merged ranges reach the reader): the two header rows are found by their shape,
    and the page says that the amount is the 合计 of the fees."""
    from tests.importing.files import write_book
    from tests.importing.roster import land_table

    from .test_imports import _land_program

    make_world(ctx)
    rows, merges = land_table()
    path = write_book(tmp_path / "分配到户.ods", {"分配表": rows}, {"分配表": merges})
    preview = preview_file(ctx, path, _land_program(ctx))
    mapping = preview_mapping(preview, "分配表")
    assert (mapping.header_first, mapping.header_last) == (2, 3)
    assert mapping.mapping["amount"] == "补偿费用（元）/合计"
    assert mapping.mapping["x_land_fee"] == "补偿费用（元）/土地补偿费"
    assert [row for row, _values in mapping.rows][:2] == [4, 5]
    assert len(mapping.notes) == 1 and "金额按“补偿费用（元）/合计”导入" in mapping.notes[0]


def test_the_mapping_page_chooses_the_area_the_programs_rate_explains(ctx, tmp_path):
    from tests.importing.files import write_book
    from tests.importing.test_layouts import areas

    w = make_world(ctx)
    preview = preview_file(ctx, write_book(tmp_path / "a.xlsx", {"清册": areas(rate_column=False)}), w.program_id)
    mapping = preview_mapping(preview, "清册")
    assert mapping.mapping["quantity"] == "确权面积"
    assert len(mapping.notes) == 1 and "本项目的标准 103.55 元/亩" in mapping.notes[0]
    chosen = preview_mapping(preview, "清册", {"quantity": "实际种植面积"})  # the clerk's choice stands
    assert chosen.mapping["quantity"] == "实际种植面积" and chosen.notes == ()
