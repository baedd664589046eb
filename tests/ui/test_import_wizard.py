"""The import wizard driven like a clerk would: pick a real .xlsx, step through sheet, mapping and
the check report, import into a draft. Broken files and a cancelled import change nothing."""

from __future__ import annotations

import csv
import hashlib
import random
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWizard

from app.demo import make_id_number, make_name
from app.import_preview import remembered_mapping
from app.money import compute_amount_fen
from app.notices import NoticeService
from app.reference import ReferenceService

from .conftest import save_screenshot

HEADERS = ["序号", "组别", "户主姓名", "身份证号码", "补贴面积（亩）", "补贴标准（元/亩）", "补贴金额（元）",
           "一折通", "备注"]
RATE = Decimal("103.55")


def _people(n: int, seed: int = 7) -> list[list]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        qty = Decimal(rng.randrange(50, 2000)) / 100
        amount = Decimal(compute_amount_fen(qty, RATE)) / 100
        rows.append([i + 1, f"{i % 3 + 1}组", make_name(rng), make_id_number(rng), str(qty), str(RATE),
                     f"{amount:.2f}", f"62284800{i:011d}", ""])
    return rows


def _bad_id(id_number: str) -> str:
    """The same ID with a wrong check digit."""
    return id_number[:-1] + ("0" if id_number[-1] != "0" else "1")


def write_roster(path: Path, rows: list[list]) -> Path:
    """A village's .xlsx as it comes: a notes sheet first, then the roster under a title and a
    date row (header in Excel row 3, data from row 4), and a total row."""
    import openpyxl

    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "填表说明"
    notes.append(["请按村民小组顺序填写，面积保留两位小数。"])
    ws = book.create_sheet("清册")
    ws.append(["石门镇青石村2026年耕地地力保护补贴发放清册"])
    ws.append(["填报日期：2026年11月20日"])
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    total = sum(Decimal(r[6]) for r in rows)
    ws.append(["合计", "", "", "", "", "", f"{total:.2f}", "", ""])
    book.save(path)
    return path


def _fingerprint(ctx) -> str:
    h = hashlib.sha256()
    for table in ("notice", "roster_row", "outbox", "audit_event", "local_setting"):
        for row in ctx.db.execute_sql(f'SELECT * FROM "{table}" ORDER BY 1').fetchall():
            h.update(repr(row).encode())
    return h.hexdigest()


def _soil(ctx):
    return next(p for p in ReferenceService(ctx).programs() if p.notice_type_code == "subsidy_payout")


def _wizard(qtbot, env):
    from ui.import_wizard import ImportWizard

    wizard = ImportWizard(env)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def _next(qtbot, wizard, expect: int) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    qtbot.waitUntil(button.isEnabled, timeout=10_000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.currentId() == expect or bool(_message_boxes(wizard)), timeout=20_000)
    assert not _message_boxes(wizard), _message_boxes(wizard)[0].text() + _message_boxes(wizard)[0].detailedText()


def _start(qtbot, env, path: Path):
    wizard = _wizard(qtbot, env)
    page = wizard.file_page
    page.path.setText(str(path))
    page.program.setCurrentIndex(page.program.findData(_soil(env.ctx).id))
    return wizard


def _message_boxes(widget) -> list[QMessageBox]:
    return [b for b in widget.findChildren(QMessageBox) if b.isVisible()]


def test_a_roster_goes_through_every_page_into_a_new_draft(qtbot, clerk_env, tmp_path, monkeypatch):
    ctx = clerk_env.ctx
    source = _people(6)
    source[3][3] = _bad_id(source[3][3])  # Excel row 7
    path = write_roster(tmp_path / "青石村补贴清册.xlsx", source)
    wizard = _start(qtbot, clerk_env, path)
    save_screenshot(wizard, "import_1_file_zh")

    _next(qtbot, wizard, wizard.SHEET)
    sheets = wizard.sheet_page
    assert sheets.selected_sheet() == "清册"  # the notes sheet is passed over
    assert sheets.sheets.count() == 2
    assert sheets.rows.item(2, 2).text() == "户主姓名"
    save_screenshot(wizard, "import_2_sheet_zh")

    _next(qtbot, wizard, wizard.MAPPING)
    mapping = wizard.mapping_page
    assert "第 3 行" in mapping.where.text()
    assert mapping.combos["id_number"].currentData() == "身份证号码"
    assert mapping.combos["bank_account"].currentData() == ""  # '一折通' is no known name
    mapping.choose("bank_account", "一折通")
    assert wizard.override == {"bank_account": "一折通"}
    assert mapping.combos["bank_account"].currentText().endswith("一折通")
    save_screenshot(wizard, "import_3_mapping_zh")

    _next(qtbot, wizard, wizard.REPORT)
    report = wizard.report_page
    shown = [[report.model.index(r, c).data() for c in range(4)] for r in range(report.model.rowCount())]
    assert [row[:3] for row in shown] == [["7", "身份证号码", "错误"]]
    assert "校验位" in shown[0][3] and source[3][3] not in shown[0][3]
    assert "共 6 行明细：5 行无误，1 行有错误" in report.summary.text()
    save_screenshot(wizard, "import_4_report_zh")

    target = tmp_path / "检查报告.xlsx"
    monkeypatch.setattr("ui.import_wizard.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(target), ""))
    monkeypatch.setattr("ui.import_wizard.QMessageBox.information", lambda *a, **k: None)
    qtbot.mouseClick(report.export, Qt.MouseButton.LeftButton)
    import python_calamine

    sheet = python_calamine.CalamineWorkbook.from_path(str(target)).get_sheet_by_index(0).to_python()
    assert [int(r[0]) for r in sheet[3:]] == [7]
    assert "身份证号码" in sheet[2] and "校验位" in sheet[3][-1]

    _next(qtbot, wizard, wizard.TARGET)
    page = wizard.target_page
    assert page.village.currentText() == "青石村"  # named in the title row
    save_screenshot(wizard, "import_5_target_zh")
    before = {s.id for s in NoticeService(ctx).summaries()}
    with qtbot.waitSignal(wizard.imported, timeout=20_000) as imported, \
            qtbot.waitSignal(clerk_env.bus.changed, timeout=20_000):
        qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    notice_id = imported.args[0]
    assert notice_id not in before and not wizard.isVisible()
    summary = next(s for s in NoticeService(ctx).summaries() if s.id == notice_id)
    assert (summary.status, summary.village, summary.rows, summary.error_rows) == ("draft", "青石村", 6, 1)
    rows = NoticeService(ctx).rows(notice_id)
    assert [r.name for r in rows] == [s[2] for s in source]
    assert [r.bank_account for r in rows] == [s[7] for s in source]  # the column the clerk mapped
    assert [bool(r.issues) for r in rows] == [False, False, False, True, False, False]
    assert remembered_mapping(_soil(ctx).id) == {"bank_account": "一折通"}


def test_the_remembered_mapping_is_used_next_time(qtbot, clerk_env, tmp_path):
    from app.settings import set_local

    set_local(f"import_mapping:{_soil(clerk_env.ctx).id}", {"bank_account": "一折通", "phone": "不存在的列"})
    wizard = _start(qtbot, clerk_env, write_roster(tmp_path / "a.xlsx", _people(3)))
    assert wizard.file_page.remembered.text()
    _next(qtbot, wizard, wizard.SHEET)
    _next(qtbot, wizard, wizard.MAPPING)
    assert wizard.mapping_page.combos["bank_account"].currentData() == "一折通"
    assert wizard.override == {"bank_account": "一折通"}  # a header this file lacks is left out
    _next(qtbot, wizard, wizard.REPORT)
    assert wizard.report_page.model.rowCount() == 0
    assert "全部明细检查通过" in wizard.report_page.advice.text()


@pytest.mark.parametrize("damage", ["truncated", "not_a_table"])
def test_a_broken_file_shows_a_clear_message_and_changes_nothing(qtbot, clerk_env, tmp_path, damage):
    good = write_roster(tmp_path / "good.xlsx", _people(4)).read_bytes()
    path = tmp_path / "村清册.xlsx"
    path.write_bytes(good[: len(good) // 2] if damage == "truncated" else "这不是表格".encode() * 50)
    before = _fingerprint(clerk_env.ctx)
    wizard = _start(qtbot, clerk_env, path)
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(_message_boxes(wizard)), timeout=10_000)
    text = _message_boxes(wizard)[0].text()
    save_screenshot(_message_boxes(wizard)[0], f"import_error_{damage}_zh")
    assert "村清册.xlsx" in text
    assert ("损坏" in text) if damage == "truncated" else ("不是能识别的表格文件" in text)
    assert wizard.currentId() == wizard.FILE
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()  # the clerk can pick another file
    assert _fingerprint(clerk_env.ctx) == before


def test_rows_can_be_added_to_an_existing_draft(qtbot, clerk_env, tmp_path):
    ctx = clerk_env.ctx
    notices = NoticeService(ctx)
    draft = next(s for s in notices.summaries() if s.status == "draft" and notices.get(s.id).program_id == _soil(ctx).id)
    wizard = _start(qtbot, clerk_env, write_roster(tmp_path / "补充.xlsx", _people(3, seed=99)))
    for page in (wizard.SHEET, wizard.MAPPING, wizard.REPORT, wizard.TARGET):
        _next(qtbot, wizard, page)
    wizard.target_page.choose_draft(draft.id)
    with qtbot.waitSignal(wizard.imported, timeout=20_000) as imported:
        qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    assert imported.args == [draft.id]
    assert notices.row_count(draft.id) == draft.rows + 3
    assert notices.rows(draft.id)[-1].name == _people(3, seed=99)[-1][2]


def test_cancelling_a_running_import_changes_nothing(qtbot, clerk_env, tmp_path):
    ctx = clerk_env.ctx
    path = tmp_path / "全镇清册.csv"
    rng = random.Random(3)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADERS[:7])
        for i in range(100_000):
            qty = Decimal(rng.randrange(50, 2000)) / 100
            out.writerow([i + 1, f"{i % 5 + 1}组", make_name(rng), make_id_number(rng), qty, RATE,
                          f"{Decimal(compute_amount_fen(qty, RATE)) / 100:.2f}"])
    wizard = _start(qtbot, clerk_env, path)
    for page in (wizard.SHEET, wizard.MAPPING, wizard.REPORT, wizard.TARGET):
        _next(qtbot, wizard, page)
    wizard.target_page.choose_village("石门村")
    before = _fingerprint(ctx)
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    assert wizard.busy and not wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    # the wizard's own Cancel stops the running import (reading 100,000 rows takes a while)
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(_message_boxes(wizard)), timeout=20_000)
    assert "导入已取消，未做任何更改" in _message_boxes(wizard)[0].text()
    assert wizard.isVisible() and wizard.currentId() == wizard.TARGET and wizard.notice_id is None
    assert _fingerprint(ctx) == before


def test_the_pages_in_english(qtbot, clerk_env, english, tmp_path):
    source = _people(5)
    source[1][3] = _bad_id(source[1][3])
    wizard = _start(qtbot, clerk_env, write_roster(tmp_path / "roster.xlsx", source))
    assert wizard.file_page.title() == "Choose the roster file"
    save_screenshot(wizard, "import_1_file_en")
    for page, name in ((wizard.SHEET, "2_sheet"), (wizard.MAPPING, "3_mapping"), (wizard.REPORT, "4_report"),
                       (wizard.TARGET, "5_target")):
        _next(qtbot, wizard, page)
        save_screenshot(wizard, f"import_{name}_en")
    assert wizard.report_page.model.headerData(0, Qt.Orientation.Horizontal) == "Excel row"
    assert wizard.report_page.model.index(0, 2).data() == "Error"
    assert wizard.button(QWizard.WizardButton.FinishButton).text() == "Import"


def test_the_pages_say_which_area_was_taken_and_which_rows_were_left_out(qtbot, clerk_env, tmp_path):
    """确权面积 and 实际种植面积 with no 标准 column: the mapping page says the program's rate chose
    the area; the report lists the 合计 and signature rows that were not imported, by row."""
    from tests.importing.files import write_book
    from tests.importing.test_layouts import areas

    rows = [*areas(rate_column=False), ["合计", None, None, 45.1, None, 4670.11], [],
            ["制表人：李会计", None, "审核人：王主任", None, None, "监督委员会：（签字）"]]
    wizard = _start(qtbot, clerk_env, write_book(tmp_path / "两种面积.xlsx", {"清册": rows}))
    _next(qtbot, wizard, wizard.SHEET)
    _next(qtbot, wizard, wizard.MAPPING)
    mapping = wizard.mapping_page
    assert mapping.combos["quantity"].currentData() == "确权面积"
    assert "按“确权面积”导入" in mapping.notes.text() and "103.55 元/亩" in mapping.notes.text()
    save_screenshot(wizard, "import_3_mapping_areas_zh")
    _next(qtbot, wizard, wizard.REPORT)
    report = wizard.report_page
    assert "共 5 行明细：5 行无误，0 行有错误" in report.summary.text()
    assert "第 7 行是小计或合计，第 9 行是签字、盖章或说明，第 8 行是空行" in report.summary.text()
    assert "按“确权面积”导入" in report.summary.text()
