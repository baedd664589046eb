"""Start-up of the desktop application: QApplication, database, services, main window."""

from __future__ import annotations

import sys

from app.paths import AppPaths


def install_qt_translator(app, locale: str) -> None:
    """Qt's own strings (standard buttons, dialogs) in the UI language."""
    from PySide6.QtCore import QLibraryInfo, QTranslator

    translator = QTranslator(app)
    if translator.load(f"qtbase_{locale}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(translator)


def run(paths: AppPaths) -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.context import Context
    from app.errors import AppError
    from db.connection import open_database
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("公开栏")
    app.setOrganizationName("Gongkai")
    install_qt_translator(app, "zh_CN")
    try:
        db = open_database(paths.database, backup_dir=paths.backups)
    except AppError as err:
        QMessageBox.critical(None, "公开栏", str(err))
        return 1
    window = MainWindow(Context(db=db, data_dir=paths.data_dir))
    window.show()
    window.offer_demo_if_empty()
    return app.exec()
