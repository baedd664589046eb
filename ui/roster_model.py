"""The roster (清册) of one notice as a lazy table model.

The model holds only the list of row ids (from an SQL query, in ``seq`` order, perhaps filtered)
and fetches rows by primary key a page at a time when the view first asks to show them, keeping
the most recently used pages. A 100,000-row roster therefore costs one id list and a few pages,
whatever the clerk scrolls through. Searching, filtering and totals run in SQL in the service;
the model is handed a new id list (see :meth:`RosterTableModel.set_ids`).
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QApplication, QStyle

from app.errors import AppError
from app.exports import row_cell_text
from app.i18n import _
from app.notices import NoticeService, RowView
from app.validation import issue_text
from ui.common import UiEnv

PAGE_SIZE = 200
MAX_PAGES = 20

ERROR_BACKGROUND = QColor("#fde2e1")
WARNING_BACKGROUND = QColor("#fff3cd")
ERROR_TEXT = QColor("#a50e0e")

_NUMERIC = ("quantity", "rate", "amount")
_SEQ = "seq"


def cell_text(row: RowView, key: str, *, for_edit: bool = False) -> str:
    """What a cell shows: amounts in 元 with two decimals (thousands separated unless edited)."""
    return row_cell_text(row, key, thousands=not for_edit)


class RosterTableModel(QAbstractTableModel):
    """Roster rows of one notice: ids in memory, rows paged in by id, an LRU of pages.

    ``fetch_count`` counts page fetches and :meth:`cached_rows` tells how many rows are held, so
    tests can prove that scrolling through 100,000 rows loads only what was shown.
    """

    #: a cell was changed and stored; totals and the notice's state may have changed
    row_edited = Signal(str)  # row id
    #: a typed value was refused (text fit for the clerk)
    edit_failed = Signal(str)

    def __init__(self, env: UiEnv, notice_id: str, schema: tuple[dict, ...] | list[dict], parent=None, *,
                 page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES) -> None:
        super().__init__(parent)
        self._env = env
        self._service = NoticeService(env.ctx)
        self.notice_id = notice_id
        self._columns = [(_SEQ, _("序号"), "")] + [(c["key"], _(c["label"]), c.get("kind", "text")) for c in schema]
        self._page_size = page_size
        self._max_pages = max_pages
        self._ids: list[str] = []
        self._pages: OrderedDict[int, list[RowView | None]] = OrderedDict()
        self._edit_errors: dict[tuple[str, str], str] = {}
        self._editable = False
        self.fetch_count = 0
        style = QApplication.style()
        self._error_icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
        self._warning_icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)

    # ---------------------------------------------------------------------------- state
    def set_ids(self, ids: list[str]) -> None:
        """Show these rows (ids in display order); cached pages are dropped."""
        self.beginResetModel()
        self._ids = list(ids)
        self._pages.clear()
        self.endResetModel()

    def ids(self) -> list[str]:
        return self._ids

    def set_editable(self, editable: bool) -> None:
        if editable != self._editable:
            self.beginResetModel()
            self._editable = editable
            self.endResetModel()

    @property
    def editable(self) -> bool:
        return self._editable

    def invalidate(self) -> None:
        """Forget cached rows (they changed in the database); visible rows are fetched again."""
        self._pages.clear()
        if self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, len(self._columns) - 1))

    def cached_rows(self) -> int:
        return sum(len(page) for page in self._pages.values())

    def column_key(self, column: int) -> str:
        return self._columns[column][0]

    def column_of(self, key: str) -> int:
        return next(i for i, c in enumerate(self._columns) if c[0] == key)

    def row_id(self, row: int) -> str:
        return self._ids[row]

    def row_of(self, row_id: str) -> int:
        return self._ids.index(row_id)

    def row_view(self, row: int) -> RowView | None:
        page_no, offset = divmod(row, self._page_size)
        page = self._pages.get(page_no)
        if page is None:
            page = self._fetch(page_no)
        else:
            self._pages.move_to_end(page_no)
        return page[offset]

    def _fetch(self, page_no: int) -> list[RowView | None]:
        ids = self._ids[page_no * self._page_size:(page_no + 1) * self._page_size]
        found = {r.id: r for r in self._service.rows_by_ids(ids)}
        page = [found.get(i) for i in ids]  # None: deleted meanwhile
        self.fetch_count += 1
        self._pages[page_no] = page
        while len(self._pages) > self._max_pages:
            self._pages.popitem(last=False)
        return page

    # ------------------------------------------------------------------------- Qt model
    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 - Qt override
        return 0 if parent is not None and parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self._columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section][1]
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self._editable and index.isValid() and index.column() > 0:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    _ROLES = frozenset({Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole, Qt.ItemDataRole.ToolTipRole,
                        Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole,
                        Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.TextAlignmentRole})

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role not in self._ROLES:
            return None
        key = self._columns[index.column()][0]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if key in _NUMERIC or key == _SEQ:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        row = self.row_view(index.row())
        if row is None:
            return "" if role == Qt.ItemDataRole.DisplayRole else None
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(row, key)
        if role == Qt.ItemDataRole.EditRole:
            return cell_text(row, key, for_edit=True)
        issues = self._issues(row, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(message for _severity, message in issues) or None
        if not issues:
            return None
        error = any(severity == "error" for severity, _message in issues)
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(ERROR_BACKGROUND if error else WARNING_BACKGROUND)
        if role == Qt.ItemDataRole.ForegroundRole and error:
            return QBrush(ERROR_TEXT)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._error_icon if error else self._warning_icon
        return None

    def _issues(self, row: RowView, key: str) -> list[tuple[str, str]]:
        """(severity, message) of one cell; the 序号 cell gathers the row's issues of columns
        the table does not show."""
        shown = {c[0] for c in self._columns}
        out = [(i["severity"], issue_text(i)) for i in row.issues
               if i["column"] == key or (key == _SEQ and i["column"] not in shown)]
        typed = self._edit_errors.get((row.id, key))
        if typed:
            out.insert(0, ("error", typed))
        return out

    def row_issues(self, row: int) -> list[str]:
        """Every issue message of a row (for the status line)."""
        view = self.row_view(row)
        return [issue_text(i) for i in view.issues] if view else []

    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or not self._editable or index.column() == 0:
            return False
        row = self.row_view(index.row())
        if row is None:
            return False
        key = self._columns[index.column()][0]
        text = "" if value is None else str(value)
        if text.strip() == cell_text(row, key, for_edit=True) and (row.id, key) not in self._edit_errors:
            return False
        try:
            self._service.update_cell(row.id, self._env.user.id, key, text)
        except AppError as err:
            self._edit_errors[(row.id, key)] = str(err)
            self.dataChanged.emit(index.siblingAtColumn(0), index.siblingAtColumn(len(self._columns) - 1))
            self.edit_failed.emit(str(err))
            return False
        self._edit_errors.pop((row.id, key), None)
        # a changed ID number can add or clear duplicate marks on other rows too
        self.invalidate()
        self.row_edited.emit(row.id)
        return True
