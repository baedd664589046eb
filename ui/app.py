"""Start-up of the desktop application: QApplication, the database, the UI language, the first-run
wizard, sign-in, the main window and the background sync. ``main.py`` → ``app.cli`` → ``run``."""

from __future__ import annotations

import sys
from pathlib import Path

from app.paths import AppPaths

ROOT = Path(__file__).resolve().parents[1]
GUIDES = {"zh_CN": "用户指南.md", "en": "user-guide.md"}


def guide_path() -> Path:
    """The user guide in the UI language (the Chinese one when there is no translation)."""
    from app.i18n import language

    docs = ROOT / "docs"
    localized = docs / GUIDES.get(language(), GUIDES["zh_CN"])
    return localized if localized.exists() else docs / GUIDES["zh_CN"]


def install_qt_translator(app, locale: str) -> None:
    """Qt's own strings (standard buttons, dialogs) in the UI language."""
    from PySide6.QtCore import QLibraryInfo, QTranslator

    translator = QTranslator(app)
    if translator.load(f"qtbase_{locale}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(translator)


class ExceptionHook:
    """``sys.excepthook`` for the GUI: an error nobody caught is logged (without personal data)
    and shown as a clerk should see it; never a crash without a word. One dialog at a time."""

    def __init__(self) -> None:
        self.box = None
        self.previous = sys.excepthook

    def install(self) -> ExceptionHook:
        sys.excepthook = self
        return self

    def uninstall(self) -> None:
        if sys.excepthook is self:
            sys.excepthook = self.previous

    def __call__(self, exc_type, exc, tb) -> None:
        from PySide6.QtWidgets import QApplication

        from app.errors import AppError
        from app.i18n import _
        from app.maintenance import log_crash
        from ui.common import show_error

        if issubclass(exc_type, KeyboardInterrupt):
            self.previous(exc_type, exc, tb)
            return
        report = log_crash(exc_type, exc, tb)
        if QApplication.instance() is None or (self.box is not None and self.box.isVisible()):
            return
        if not isinstance(exc, AppError):
            exc = AppError(_("出现了意外错误，操作没有完成。已保存的数据是安全的。\n"
                             "错误已记录在日志中；如果一再出现，请把详细信息复制给县里的技术人员。"), details=report)
        self.box = show_error(QApplication.activeWindow(), exc)


def start_main_window(ctx, user, interval: int | None = None):
    """Build the main window for ``user`` and the background sync; returns (window, scheduler)."""
    from ui.common import ChangeBus, UiEnv
    from ui.main_window import MainWindow
    from ui.sync_scheduler import DEFAULT_INTERVAL_S, SyncScheduler

    env = UiEnv(ctx=ctx, user=user, bus=ChangeBus())
    window = MainWindow(env)
    scheduler = SyncScheduler(env, window, interval or DEFAULT_INTERVAL_S)

    def show_status(text: str, tooltip: str) -> None:
        window.sync_label.setText(text)
        window.sync_label.setToolTip(tooltip)

    scheduler.status_changed.connect(show_status)
    scheduler.start()  # syncs only while the workstation is enrolled
    return window, scheduler


def run(paths: AppPaths) -> int:
    from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

    from app.errors import AppError
    from app.i18n import set_language
    from app.maintenance import open_workstation, setup_file_log, workstation_state
    from app.preferences import ui_language
    from ui.background import GuiThreadCollector

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("公开栏")
    app.setOrganizationName("Gongkai")
    try:
        ctx = open_workstation(paths)
    except AppError as err:
        install_qt_translator(app, "zh_CN")
        QMessageBox.critical(None, "公开栏", str(err))
        return 1
    setup_file_log(paths.data_dir)
    language = ui_language()
    set_language(language)
    install_qt_translator(app, language)
    hook = ExceptionHook().install()
    collector = GuiThreadCollector(app).install()

    from ui.first_run import FirstRunWizard
    from ui.login import LoginDialog

    username = None
    if workstation_state().needs_setup:
        wizard = FirstRunWizard(ctx)
        if wizard.exec() != QDialog.DialogCode.Accepted:
            return 0
        username = wizard.suggested_username or None
    login = LoginDialog(ctx, username=username)
    if login.exec() != QDialog.DialogCode.Accepted or login.user is None:
        return 0
    window, scheduler = start_main_window(ctx, login.user)
    window.show()
    try:
        return app.exec()
    finally:
        scheduler.stop()
        collector.uninstall()
        hook.uninstall()
