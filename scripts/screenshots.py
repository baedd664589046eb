"""Screenshots of the real desktop application for the user guide (docs/用户指南.md).

Builds the demo township in a temporary folder, opens every main screen at 1366×768 and saves
PNGs: ``python scripts/screenshots.py [--out docs/images] [--lang zh_CN|en]``. Runs offscreen."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = (1366, 768)
# every image the guide shows
IMAGES = ("login", "main", "import-mapping", "import-report", "editor-draft", "editor-published",
          "print-preview", "boards", "objections", "calendar", "sync", "settings")


def _wait(app, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not become ready")
        app.processEvents()
        time.sleep(0.02)
    for _ in range(5):
        app.processEvents()


def _save(app, widget, out: Path, name: str, size=SIZE) -> Path:
    widget.resize(*size)
    widget.show()
    for _ in range(10):
        app.processEvents()
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    return path


def _has_ink(image) -> bool:
    """Whether the middle third of a screenshot holds dark pixels (text), i.e. a page was painted."""
    w, h = image.width(), image.height()
    dark = sum(image.pixelColor(x, y).lightness() < 100
               for x in range(w // 3, 2 * w // 3, 4) for y in range(60, h - 60, 4))
    return dark > 200


def _roster_file(folder: Path) -> Path:
    """A village roster as it arrives by e-mail: a title row, the header, one bad ID number."""
    import random

    import xlsxwriter

    from app.demo import make_id_number, make_name

    rng = random.Random(3)
    path = folder / "青石村耕地地力保护补贴清册.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("清册")
    sheet.write_row(0, 0, ["石门镇青石村2026年耕地地力保护补贴发放清册"])
    sheet.write_row(1, 0, ["序号", "组别", "户主姓名", "身份证号码", "补贴面积（亩）", "补贴标准（元/亩）",
                           "补贴金额（元）", "一卡通账号", "备注"])
    for i in range(40):
        id_number = make_id_number(rng)
        if i == 6:
            id_number = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")
        sheet.write_row(i + 2, 0, [i + 1, f"{i % 3 + 1}组", make_name(rng), id_number, "3.50", "103.55",
                                   "362.43", f"62284800{i:011d}", ""])
    book.close()
    return path


def take(out: Path, language: str) -> list[Path]:
    from PySide6.QtWidgets import QApplication, QWizard

    from app.context import Context
    from app.demo import create_demo
    from app.i18n import set_language
    from app.notices import NoticeService
    from app.reference import ReferenceService
    from app.users import UserService
    from db.connection import open_database
    from ui.app import install_qt_translator
    from ui.common import ChangeBus, UiEnv

    out.mkdir(parents=True, exist_ok=True)
    set_language(language)
    app = QApplication.instance() or QApplication(sys.argv)
    install_qt_translator(app, "zh_CN" if language.startswith("zh") else "en")
    folder = Path(tempfile.mkdtemp(prefix="gongkai-shots-"))
    ctx = Context(db=open_database(folder / "gongkai.sqlite3"), data_dir=folder)
    create_demo(ctx)
    users = {u.username: u for u in UserService(ctx).list()}
    clerk = UiEnv(ctx=ctx, user=users["zhangli"], bus=ChangeBus())
    reviewer = UiEnv(ctx=ctx, user=users["wangqiang"], bus=clerk.bus)
    notices = NoticeService(ctx).summaries()
    saved: list[Path] = []

    from ui.login import LoginDialog

    login = LoginDialog(ctx, username="zhangli")
    saved.append(_save(app, login, out, "login", (480, 260)))
    login.close()

    from ui.main_window import MainWindow

    window = MainWindow(clerk)
    saved.append(_save(app, window, out, "main"))

    from ui.import_wizard import ImportWizard

    wizard = ImportWizard(clerk, window)
    program = next(p for p in ReferenceService(ctx).programs() if p.notice_type_code == "subsidy_payout")
    wizard.file_page.path.setText(str(_roster_file(folder)))
    wizard.file_page.program.setCurrentIndex(wizard.file_page.program.findData(program.id))
    wizard.show()
    for target, name in ((wizard.SHEET, None), (wizard.MAPPING, "import-mapping"), (wizard.REPORT, "import-report")):
        button = wizard.button(QWizard.WizardButton.NextButton)
        _wait(app, button.isEnabled)
        button.click()
        _wait(app, lambda target=target: wizard.currentId() == target)
        if name:
            saved.append(_save(app, wizard, out, name, (1000, 680)))
    wizard.close()

    draft = max((s for s in notices if s.status == "draft"), key=lambda s: (s.error_rows, s.rows))
    window.open_notice(draft.id)
    saved.append(_save(app, window, out, "editor-draft"))
    published = max((s for s in notices if s.status == "published"), key=lambda s: s.rows)
    reviewer_window = MainWindow(reviewer)
    reviewer_window.open_notice(published.id)
    saved.append(_save(app, reviewer_window, out, "editor-published"))
    reviewer_window.close()

    from ui.print_preview import PrintPreviewDialog

    preview = PrintPreviewDialog(clerk, published.id, window)
    preview.resize(1366, 740)
    preview.show()
    _wait(app, lambda: preview.pdf is not None, timeout=60)
    _wait(app, lambda: _has_ink(preview.grab().toImage()), timeout=20)  # pages render asynchronously
    saved.append(_save(app, preview, out, "print-preview", (1366, 740)))
    preview.close()

    for key, name in (("boards", "boards"), ("objections", "objections"), ("calendar", "calendar"), ("sync", "sync")):
        window.show_page(key)
        saved.append(_save(app, window, out, name))

    from ui.settings_dialog import SettingsDialog

    settings = SettingsDialog(clerk, window)
    saved.append(_save(app, settings, out, "settings", (900, 620)))
    settings.close()
    window.close()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--lang", default="zh_CN", choices=["zh_CN", "en"])
    args = parser.parse_args()
    for path in take(args.out, args.lang):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
