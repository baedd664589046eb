"""The township's notices: status, type, village, posting window and days left, with search (text
or pinyin initials), filters and sorting. Notices number in the hundreds, so the list is held in
memory; rosters (100k rows) are never loaded here."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.i18n import _
from app.money import format_yuan
from app.notices import STATUS_LABELS, NoticeService, NoticeSummary
from app.periods import days_left
from app.search import matches, sort_key
from ui.common import RED, Changes, UiEnv


def _columns() -> list[str]:
    return [_("标题"), _("类型"), _("村"), _("状态"), _("公示期"), _("剩余天数"), _("行数"), _("金额（元）")]


class NoticeTableModel(QAbstractTableModel):
    """A sorted, filtered list of notice summaries."""

    def __init__(self, env: UiEnv, parent=None) -> None:
        super().__init__(parent)
        self._env = env
        self._all: list[NoticeSummary] = []
        self._shown: list[NoticeSummary] = []
        self._query = ""
        self._status = ""
        self._type = ""
        self._region: str | None = None
        self._sort = (3, Qt.SortOrder.AscendingOrder)
        self._headers = _columns()

    # ----------------------------------------------------------------------------- data
    def set_notices(self, notices: list[NoticeSummary]) -> None:
        self._all = notices
        self._apply()

    def set_filter(self, *, query: str | None = None, status: str | None = None, type_code: str | None = None,
                   region: str | None | bool = False) -> None:
        if query is not None:
            self._query = query
        if status is not None:
            self._status = status
        if type_code is not None:
            self._type = type_code
        if region is not False:
            self._region = region
        self._apply()

    def notice(self, row: int) -> NoticeSummary:
        return self._shown[row]

    def _days_left(self, s: NoticeSummary) -> int | None:
        if s.status != "published" or s.posting_end is None:
            return None
        return days_left(s.posting_end, self._env.ctx.clock.today())

    def _apply(self) -> None:
        self.beginResetModel()
        shown = [
            s for s in self._all
            if (not self._status or s.status == self._status)
            and (not self._type or s.type_code == self._type)
            and (self._region is None or s.village_id == self._region)
            and matches(self._query, s.title, s.village, s.type_name)
        ]
        column, order = self._sort
        shown.sort(key=lambda s: self._key(s, column), reverse=order == Qt.SortOrder.DescendingOrder)
        self._shown = shown
        self.endResetModel()

    _STATUS_ORDER = {"in_review": 0, "approved": 1, "draft": 2, "published": 3, "closed": 5,
                     "withdrawn": 6, "superseded": 7}

    def _key(self, s: NoticeSummary, column: int):
        left = self._days_left(s)
        keys = [
            sort_key(s.title), sort_key(s.type_name), sort_key(s.village),
            (self._STATUS_ORDER.get(s.status, 9), left if left is not None else 10**6, sort_key(s.title)),
            (s.posting_start.isoformat() if s.posting_start else "9999"),
            (left if left is not None else 10**6), s.rows, s.total_fen,
        ]
        return keys[column]

    # -------------------------------------------------------------------------- Qt model
    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 - Qt override
        return 0 if parent is not None and parent.isValid() else len(self._shown)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self._headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headers[section]
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self._apply()

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        s = self._shown[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            left = self._days_left(s)
            return [
                s.title, _(s.type_name), s.village or _("全镇"), _(STATUS_LABELS[s.status]),
                f"{s.posting_start:%Y-%m-%d} — {s.posting_end:%Y-%m-%d}" if s.posting_start else "",
                "" if left is None else str(left), str(s.rows), format_yuan(s.total_fen),
            ][column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 5:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 0 and s.error_rows:
                return QBrush(RED)
            if column == 5 and (left := self._days_left(s)) is not None and left <= 2:
                return QBrush(RED)
        if role == Qt.ItemDataRole.ToolTipRole and column == 0 and s.error_rows:
            return _("有 {n} 行未通过校验").format(n=s.error_rows)
        return None


class NoticeListPage(QWidget):
    """The notice list with search and filters; double-click opens a notice."""

    def __init__(self, env: UiEnv, parent=None) -> None:
        super().__init__(parent)
        self._env = env
        self._service = NoticeService(env.ctx)
        self.model = NoticeTableModel(env, self)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText(_("搜索标题、村名或类型（可输入拼音首字母）"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda text: self.model.set_filter(query=text))
        self.status = QComboBox(self)
        self.status.addItem(_("全部状态"), "")
        for code, label in STATUS_LABELS.items():
            self.status.addItem(_(label), code)
        self.status.currentIndexChanged.connect(
            lambda _i: self.model.set_filter(status=self.status.currentData()))
        self.type = QComboBox(self)
        self.type.currentIndexChanged.connect(lambda _i: self.model.set_filter(type_code=self.type.currentData() or ""))
        self.summary = QLabel(self)

        top = QHBoxLayout()
        top.addWidget(self.search, 3)
        top.addWidget(self.status, 1)
        top.addWidget(self.type, 1)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 150), (2, 80), (3, 70), (4, 175), (5, 70), (6, 60), (7, 110)):
            self.table.setColumnWidth(column, width)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        env.bus.changed.connect(self._on_bus_changed)
        env.bus.region_selected.connect(lambda region: self.model.set_filter(region=region))
        self.refresh()

    def refresh(self) -> None:
        notices = self._service.summaries()
        current = self.type.currentData()
        self.type.blockSignals(True)
        self.type.clear()
        self.type.addItem(_("全部类型"), "")
        for code, name in sorted({(s.type_code, s.type_name) for s in notices}, key=lambda t: sort_key(t[1])):
            self.type.addItem(_(name), code)
        self.type.setCurrentIndex(max(0, self.type.findData(current)))
        self.type.blockSignals(False)
        self.model.set_notices(notices)
        published = sum(s.status == "published" for s in notices)
        self.summary.setText(_("共 {n} 份公示，其中公示中 {p} 份").format(n=len(notices), p=published))

    def selected_notice_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.notice(rows[0].row()).id if rows else None

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        self._env.bus.notice_open_requested.emit(self.model.notice(index.row()).id)

    def _on_bus_changed(self, changes: Changes) -> None:
        if changes.notices or changes.rows or changes.sync:
            self.refresh()
