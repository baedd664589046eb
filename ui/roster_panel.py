"""The roster part of the notice editor: filter box, the lazy roster table, add and delete rows,
and the running totals. Filtering runs in SQL on a worker thread and hands the model a new id
list; totals are an SQL aggregate."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.errors import AppError
from app.i18n import _
from app.money import format_yuan
from app.notices import NoticeService, RosterTotals
from ui.background import BackgroundOp
from ui.common import ERROR_STYLE, UiEnv, show_error
from ui.roster_model import RosterTableModel

FILTER_DELAY_MS = 250

# typical content per column kind, for initial widths
_SAMPLES = {"seq": "000000", "group": "十二组", "name": "阿依古丽·买买", "id_number": "53010219800101123X",
            "quantity": "000000.0000", "rate": "0000.00", "money": "0,000,000.00",
            "bank_account": "6228480000000000000", "phone": "0000-00000000", "text": "一二三四五六七八"}


class RosterPanel(QWidget):
    """Filter, table, row buttons and totals of one notice's roster."""

    #: rows were added, changed or deleted here (the editor tells the change bus)
    rows_changed = Signal()
    totals_changed = Signal(object)  # RosterTotals
    filter_applied = Signal()

    def __init__(self, env: UiEnv, notice_id: str, schema, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._env = env
        self._service = NoticeService(env.ctx)
        self.notice_id = notice_id
        self.totals: RosterTotals | None = None
        self._filter_generation = 0
        self._filter_prepared = False
        self.filter_op: BackgroundOp | None = None

        self.model = RosterTableModel(env, notice_id, schema, self)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText(_("筛选：姓名、身份证号码、村民小组（姓名可输入拼音首字母，如 zl）"))
        self.filter_edit.setClearButtonEnabled(True)
        self.only_issues = QCheckBox(_("只看有问题的行"), self)
        self.add_button = QPushButton(_("添加一行"), self)
        self.delete_button = QPushButton(_("删除所选行"), self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self._size_columns(schema)
        self.totals_label = QLabel(self)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.only_issues)
        top.addSpacing(16)
        top.addWidget(self.add_button)
        top.addWidget(self.delete_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.totals_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addLayout(bottom)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(self._on_filter_edit_text_changed)
        self.only_issues.toggled.connect(lambda _on: self.apply_filter())
        self.add_button.clicked.connect(self.add_row)
        self.delete_button.clicked.connect(self.delete_selected_rows)
        self.model.row_edited.connect(self._on_model_row_edited)
        self.model.edit_failed.connect(self.message.setText)
        self.table.selectionModel().currentRowChanged.connect(self._on_selection_current_row_changed)

        self.model.set_ids(self._service.row_ids(notice_id))
        self.refresh_totals()

    def _size_columns(self, schema) -> None:
        metrics = self.fontMetrics()
        kinds = ["seq"] + [c.get("kind", "text") if c["key"] not in ("bank_account", "phone") else c["key"]
                           for c in schema]
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, kind in enumerate(kinds):
            label = self.model.headerData(column, Qt.Orientation.Horizontal)
            sample = _SAMPLES.get(kind, _SAMPLES["text"])
            width = max(metrics.horizontalAdvance(label), metrics.horizontalAdvance(sample)) + 34
            self.table.setColumnWidth(column, min(width, 260))

    # ---------------------------------------------------------------------------- state
    def set_editable(self, reason: str) -> None:
        """``reason`` empty: the clerk may edit; otherwise why not (shown on the buttons)."""
        editable = not reason
        self.model.set_editable(editable)
        for button in (self.add_button, self.delete_button):
            button.setEnabled(editable)
            button.setToolTip(reason)

    def reload(self) -> None:
        """Fetch the id list again (rows were added, changed or deleted), keeping the filter, the
        scroll position and the current row."""
        ids = self._service.row_ids(self.notice_id, self.filter_edit.text(), self.only_issues.isChecked())
        if ids == self.model.ids():
            self.model.invalidate()
        else:
            current = self.table.currentIndex()
            current_id = self.model.row_id(current.row()) if current.isValid() else None
            scroll = self.table.verticalScrollBar().value()
            self.model.set_ids(ids)
            if current_id is not None and current_id in ids:
                self.table.setCurrentIndex(self.model.index(self.model.row_of(current_id), current.column()))
            self.table.verticalScrollBar().setValue(scroll)
        self.refresh_totals()

    def refresh_totals(self) -> None:
        t = self._service.totals(self.notice_id)
        self.totals = t
        text = _("共 {rows} 行，金额合计 {amount} 元").format(rows=t.rows, amount=format_yuan(t.total_fen))
        if t.error_rows:
            text += _("；{n} 行有错误").format(n=t.error_rows)
        warnings = t.issue_rows - t.error_rows
        if warnings:
            text += _("；{n} 行需核实").format(n=warnings)
        if self._filtering():
            text += _("（筛选后显示 {n} 行）").format(n=self.model.rowCount())
        self.totals_label.setText(text)
        self.totals_label.setStyleSheet(ERROR_STYLE if t.error_rows else "")
        self.totals_changed.emit(t)

    def _filtering(self) -> bool:
        return bool(self.filter_edit.text().strip()) or self.only_issues.isChecked()

    # --------------------------------------------------------------------------- filter
    def _on_filter_edit_text_changed(self, _text: str) -> None:
        if not self._filter_prepared:
            # read the roster's searchable text while the clerk is still typing
            self._filter_prepared = True
            service, notice_id = self._service, self.notice_id
            op = BackgroundOp(self, lambda _progress, _cancel: service.prepare_filter(notice_id))
            op.finished.connect(op.deleteLater)
            op.run()
        self._filter_timer.start()

    def apply_filter(self) -> BackgroundOp:
        """Run the filter in SQL on a worker thread; the newest request wins."""
        self._filter_timer.stop()
        self._filter_generation += 1
        generation = self._filter_generation
        query, only_issues = self.filter_edit.text(), self.only_issues.isChecked()
        service, notice_id = self._service, self.notice_id
        op = BackgroundOp(self, lambda _progress, _cancel: service.row_ids(notice_id, query, only_issues))
        op.on_success(lambda ids: self._on_filter_done(generation, ids))
        op.on_failure(lambda exc: show_error(self, exc))
        op.finished.connect(op.deleteLater)
        self.filter_op = op
        return op.run()

    def _on_filter_done(self, generation: int, ids: list[str]) -> None:
        if generation != self._filter_generation:
            return  # a newer filter is on its way
        self.model.set_ids(ids)
        self.refresh_totals()
        self.filter_applied.emit()

    # ----------------------------------------------------------------------------- rows
    def add_row(self) -> None:
        try:
            row_id = self._service.append_blank_row(self.notice_id, self._env.user.id)
        except AppError as err:
            show_error(self, err)
            return
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()
        self.filter_edit.blockSignals(False)
        self.only_issues.blockSignals(True)
        self.only_issues.setChecked(False)
        self.only_issues.blockSignals(False)
        self.reload()
        self.rows_changed.emit()
        keys = [self.model.column_key(c) for c in range(self.model.columnCount())]
        index = self.model.index(self.model.row_of(row_id), keys.index("name") if "name" in keys else 1)
        self.table.scrollTo(index)
        self.table.setCurrentIndex(index)
        self.table.edit(index)

    def selected_row_ids(self) -> list[str]:
        return [self.model.row_id(i.row()) for i in self.table.selectionModel().selectedRows()]

    def delete_selected_rows(self) -> None:
        ids = self.selected_row_ids()
        if not ids:
            self.message.setText(_("请先选中要删除的行。"))
            return
        answer = QMessageBox.question(
            self, _("删除明细行"),
            _("确定删除所选的 {n} 行明细吗？删除会记入操作记录。").format(n=len(ids)),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self._service.delete_rows(ids, self._env.user.id)
        except AppError as err:
            show_error(self, err)
            return
        self.reload()
        self.message.setText(_("已删除 {n} 行。").format(n=len(ids)))
        self.rows_changed.emit()

    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def _on_model_row_edited(self, _row_id: str) -> None:
        self.message.clear()
        self.refresh_totals()
        self.rows_changed.emit()

    def _on_selection_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        view = self.model.row_view(current.row())
        issues = self.model.row_issues(current.row())
        if view is not None and issues:
            self.message.setText(_("第 {seq} 行：{issues}").format(seq=view.seq, issues="；".join(issues)))
        else:
            self.message.clear()
