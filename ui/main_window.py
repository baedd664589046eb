"""The main window: township, notices with status and posting window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.context import Context
from app.money import format_yuan
from app.notices import STATUS_LABELS, NoticeService
from app.periods import days_left
from app.settings import local_township_id
from ui.background import BackgroundOp

COLUMNS = ["标题", "类型", "村", "状态", "公示期", "剩余天数", "行数", "金额（元）"]


class MainWindow(QMainWindow):
    """Lists the township's notices. Built with services only, so tests can construct it."""

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self._ctx = ctx
        self._notices = NoticeService(ctx)
        self.setWindowTitle("公开栏 — 村务政务公开")
        self.resize(1280, 720)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.heading = QLabel(central)
        self.heading.setStyleSheet("font-size: 16px; font-weight: bold; padding: 4px;")
        layout.addWidget(self.heading)
        self.table = QTableWidget(0, len(COLUMNS), central)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for i in range(1, len(COLUMNS)):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table)
        self.setCentralWidget(central)
        self.statusBar().showMessage("未连接县级服务器（离线工作）")
        self.refresh()

    def refresh(self) -> None:
        from app.reference import ReferenceService

        township_id = local_township_id()
        if township_id is None:
            self.heading.setText("尚未设置乡镇")
            self.table.setRowCount(0)
            return
        township = ReferenceService(self._ctx).region(township_id)
        items = self._notices.summaries()
        self.heading.setText(f"{township.name} · 公示 {len(items)} 份")
        today = self._ctx.clock.today()
        self.table.setRowCount(len(items))
        for row, s in enumerate(items):
            window = f"{s.posting_start:%Y-%m-%d} 至 {s.posting_end:%Y-%m-%d}" if s.posting_start else ""
            left = str(days_left(s.posting_end, today)) if s.posting_end and s.status == "published" else ""
            values = [s.title, s.type_name, s.village, STATUS_LABELS[s.status], window, left,
                      str(s.rows), format_yuan(s.total_fen)]
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                if col >= 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)

    def offer_demo_if_empty(self) -> None:
        """First run: offer to create the demo township."""
        if local_township_id() is not None:
            return
        answer = QMessageBox.question(
            self, "首次使用", "这是首次使用。是否创建演示乡镇数据，以便熟悉软件？",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self.create_demo()

    def create_demo(self) -> BackgroundOp:
        from app.demo import create_demo

        ctx = self._ctx
        return (
            BackgroundOp(self, lambda progress, cancel: create_demo(ctx, progress=progress))
            .on_success(lambda _summary: self.refresh())
            .on_failure(lambda exc: QMessageBox.critical(self, "公开栏", f"创建演示数据失败：{exc}"))
            .with_progress("正在创建演示乡镇数据……")
            .run()
        )
