"""Start-up of the desktop application: QApplication, database, services, main window."""

from __future__ import annotations

import sys

from app.paths import AppPaths


def run(paths: AppPaths) -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.context import Context
    from app.errors import AppError
    from db.connection import open_database
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("公开栏")
    app.setOrganizationName("Gongkai")
    try:
        db = open_database(paths.database, backup_dir=paths.backups)
    except AppError as err:
        QMessageBox.critical(None, "公开栏", str(err))
        return 1
    window = MainWindow(Context(db=db, data_dir=paths.data_dir))
    window.show()
    window.offer_demo_if_empty()
    return app.exec()
