"""Boards (公开栏): what is posted where, what has expired and must come down, and the photos that
prove a notice was posted.

Left: the township's boards (filtered by the village chosen in the navigation) with how many
notices are up and how many are due to come down. Right: the postings of the chosen board (or of
all boards), expired ones highlighted, and the photos of the chosen posting as thumbnails. Photos
are copied into the content-addressed store and thumbnailed off the GUI thread.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QImage, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.boards import BoardService, PostingInfo, evidence_path
from app.i18n import _
from app.reference import BoardInfo, ReferenceService
from app.search import sort_key
from app.settings import local_township_id
from ui.background import BackgroundOp
from ui.common import GREY, RED, Changes, UiEnv, apply_change, ok_cancel_buttons, show_error

RED_BACKGROUND = QColor("#fde7ea")
THUMB = QSize(160, 120)
PHOTO_FILTER = "*.jpg *.jpeg *.png *.bmp *.gif *.webp *.heic"

_ID = Qt.ItemDataRole.UserRole


def _day(d: date | None) -> str:
    return d.isoformat() if d else ""


def _posting_state(p: PostingInfo) -> str:
    if p.taken_down_on is not None:
        return _("已于 {day} 撤下").format(day=p.taken_down_on.isoformat())
    if p.take_down_due:
        if p.notice_status == "withdrawn":
            return _("公示已撤回，应撤下")
        if p.notice_status == "superseded":
            return _("已有更正公示，应撤下")
        return _("公示期已满，应撤下")
    return _("张贴中")


def load_thumbnails(root: Path, digests: list[str], size: QSize = THUMB) -> dict[str, QImage]:
    """Decode scaled-down images of stored photos. Runs on a worker thread (QImage, not QPixmap);
    a photo that is missing or not an image is left out."""
    out: dict[str, QImage] = {}
    for digest in digests:
        path = evidence_path(root, digest)
        if not path.is_file():
            continue
        reader = QImageReader(str(path))
        reader.setAutoTransform(True)
        full = reader.size()
        if full.isValid():
            reader.setScaledSize(full.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if not image.isNull():
            out[digest] = image
    return out


class BoardsPage(QWidget):
    """The boards view (公开栏): postings per board, take-down, photo evidence, new boards."""

    thumbnails_loaded = Signal()

    def __init__(self, env: UiEnv, parent=None) -> None:
        super().__init__(parent)
        self._env = env
        self._service = BoardService(env.ctx)
        self._reference = ReferenceService(env.ctx)
        self._region: str | None = None
        self._boards: list[BoardInfo] = []
        self._postings: list[PostingInfo] = []
        self._shown: list[PostingInfo] = []
        self._thumbs: dict[str, QPixmap] = {}
        self._missing: set[str] = set()
        self._loading: BackgroundOp | None = None

        # ---- left: boards
        self.board_list = QTreeWidget(self)
        self.board_list.setHeaderLabels([_("公开栏名称"), _("张贴中"), _("应撤下")])
        self.board_list.setRootIsDecorated(False)
        self.board_list.setAlternatingRowColors(True)
        header = self.board_list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.board_list.currentItemChanged.connect(self._on_board_list_current_item_changed)
        self.add_board_button = QPushButton(_("新增公开栏…"), self)
        self.add_board_button.clicked.connect(lambda: self.add_board())
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.board_list)
        left_layout.addWidget(self.add_board_button)

        # ---- right: postings of the chosen board
        self.heading = QLabel(self)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.heading.setFont(font)
        self.location = QLabel(self)
        self.location.setTextFormat(Qt.TextFormat.PlainText)
        self.post_button = QPushButton(_("张贴公示…"), self)
        self.post_button.setToolTip(_("把一份已发布的公示登记为张贴在此公开栏"))
        self.post_button.clicked.connect(lambda: self.post_notice())
        self.take_down_button = QPushButton(_("撤下"), self)
        self.take_down_button.setToolTip(_("登记所选公示已从公开栏撤下（今天）"))
        self.take_down_button.clicked.connect(self.take_down_selected)
        self.photo_button = QPushButton(_("添加张贴照片…"), self)
        self.photo_button.clicked.connect(self.add_photos)
        self.open_button = QPushButton(_("打开公示"), self)
        self.open_button.clicked.connect(self._open_selected_notice)
        self.show_removed = QCheckBox(_("显示已撤下的"), self)
        self.show_removed.toggled.connect(lambda _on: self._fill_postings())
        actions = QHBoxLayout()
        for w in (self.post_button, self.take_down_button, self.photo_button, self.open_button):
            actions.addWidget(w)
        actions.addStretch(1)
        actions.addWidget(self.show_removed)

        self.table = QTableWidget(0, 7, self)
        self.table.setHorizontalHeaderLabels(
            [_("公示标题"), _("所在公开栏"), _("张贴日期"), _("公示截止"), _("剩余天数"), _("状态"), _("照片")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        theader = self.table.horizontalHeader()
        theader.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        theader.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 130), (2, 95), (3, 100), (4, 75), (5, 140), (6, 55)):
            self.table.setColumnWidth(column, width)
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.table.itemDoubleClicked.connect(lambda _item: self._open_selected_notice())

        self.photo_label = QLabel(self)
        self.photo_label.setTextFormat(Qt.TextFormat.PlainText)
        self.photos = QListWidget(self)
        self.photos.setViewMode(QListView.ViewMode.IconMode)
        self.photos.setIconSize(THUMB)
        self.photos.setGridSize(QSize(THUMB.width() + 24, THUMB.height() + 44))
        self.photos.setResizeMode(QListView.ResizeMode.Adjust)
        self.photos.setMovement(QListView.Movement.Static)
        self.photos.setWrapping(False)
        self.photos.setFlow(QListView.Flow.LeftToRight)
        self.photos.setFixedHeight(THUMB.height() + 64)
        self.photos.itemDoubleClicked.connect(self._on_photos_item_double_clicked)

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.heading)
        right_layout.addWidget(self.location)
        right_layout.addLayout(actions)
        right_layout.addWidget(self.table, 1)
        right_layout.addWidget(self.photo_label)
        right_layout.addWidget(self.photos)

        splitter = QSplitter(self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 870])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        self.summary = QLabel(self)
        layout.addWidget(self.summary)

        env.bus.changed.connect(self._on_bus_changed)
        env.bus.region_selected.connect(self._on_bus_region_selected)
        self.refresh()

    # ------------------------------------------------------------------------- state
    def current_board_id(self) -> str | None:
        item = self.board_list.currentItem()
        return item.data(0, _ID) if item is not None else None

    def selected_posting(self) -> PostingInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self._shown[rows[0].row()] if rows else None

    def select_board(self, board_id: str | None) -> None:
        """Show the postings of ``board_id`` (None: all boards shown in the list)."""
        for i in range(self.board_list.topLevelItemCount()):
            item = self.board_list.topLevelItem(i)
            if item.data(0, _ID) == board_id:
                self.board_list.setCurrentItem(item)
                return
        if board_id is not None and any(b.id == board_id for b in self._boards):
            # the board is hidden by the village filter: show every board, then pick it
            self._region = None
            self._fill_boards(board_id)

    def select_posting(self, posting_id: str) -> bool:
        for row, p in enumerate(self._shown):
            if p.id == posting_id:
                self.table.selectRow(row)
                return True
        return False

    # ------------------------------------------------------------------------ refresh
    def refresh(self) -> None:
        township = local_township_id()
        villages = {v.id: n for n, v in enumerate(sorted(
            self._reference.regions("village", township) if township else [], key=lambda r: r.code or r.name))}
        # the township's boards first, then the villages' in the navigation's order
        self._boards = sorted(self._reference.boards(),
                              key=lambda b: (villages.get(b.village_id, -1), sort_key(b.name)))
        self._postings = self._service.postings()
        self._fill_boards(self.current_board_id())

    def _fill_boards(self, keep: str | None) -> None:
        self.board_list.blockSignals(True)
        self.board_list.clear()
        boards = [b for b in self._boards if self._region is None or b.village_id == self._region]
        everything = QTreeWidgetItem(self.board_list, [_("全部公开栏"), "", ""])
        everything.setData(0, _ID, None)
        up_total = due_total = 0
        current = everything
        for b in boards:
            mine = [p for p in self._postings if p.board_id == b.id and p.taken_down_on is None]
            due = sum(p.take_down_due for p in mine)
            up_total += len(mine)
            due_total += due
            item = QTreeWidgetItem(self.board_list, [b.name, str(len(mine)), str(due) if due else ""])
            item.setData(0, _ID, b.id)
            item.setToolTip(0, b.location or b.name)
            for column in (1, 2):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if due:
                item.setForeground(2, QBrush(RED))
                item.setForeground(0, QBrush(RED))
            if b.id == keep:
                current = item
        everything.setText(1, str(up_total))
        everything.setText(2, str(due_total) if due_total else "")
        everything.setForeground(2, QBrush(RED))
        for column in (1, 2):
            everything.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        font = QFont(everything.font(0))
        font.setBold(True)
        everything.setFont(0, font)
        self.board_list.setCurrentItem(current)
        self.board_list.blockSignals(False)
        self._fill_postings()
        self.summary.setText(
            _("共 {boards} 块公开栏，张贴中 {up} 份公示，其中 {due} 份已到期应撤下").format(
                boards=len(boards), up=up_total, due=due_total))

    def _board(self, board_id: str | None) -> BoardInfo | None:
        return next((b for b in self._boards if b.id == board_id), None)

    def _fill_postings(self) -> None:
        board_id = self.current_board_id()
        board = self._board(board_id)
        keep = self.selected_posting()
        if board is None:
            self.heading.setText(_("全部公开栏"))
            self.location.setText(_("选择左侧的公开栏可张贴公示、撤下公示和添加照片。"))
            allowed = {b.id for b in self._boards if self._region is None or b.village_id == self._region}
            postings = [p for p in self._postings if p.board_id in allowed]
        else:
            self.heading.setText(board.name)
            self.location.setText(_("位置：{place}").format(place=board.location) if board.location else "")
            postings = [p for p in self._postings if p.board_id == board.id]
        if not self.show_removed.isChecked():
            postings = [p for p in postings if p.taken_down_on is None]
        # what must come down first, then what ends soonest
        postings.sort(key=lambda p: (p.taken_down_on is not None, not p.take_down_due,
                                     p.days_left if p.days_left is not None else 10**6, sort_key(p.title)))
        self._shown = postings
        self.table.setColumnHidden(1, board is not None)
        self.table.setRowCount(len(postings))
        for row, p in enumerate(postings):
            cells = [p.title, p.board, _day(p.posted_on), _day(p.posting_end),
                     "" if p.days_left is None or p.taken_down_on else str(p.days_left),
                     _posting_state(p), str(len(p.evidence)) if p.evidence else ""]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (4, 6):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if p.take_down_due:
                    item.setForeground(QBrush(RED))
                    item.setBackground(QBrush(RED_BACKGROUND))
                elif p.taken_down_on is not None:
                    item.setForeground(QBrush(GREY))
                self.table.setItem(row, column, item)
            self.table.item(row, 0).setToolTip(p.title)
        self.post_button.setEnabled(board is not None)
        self.table.blockSignals(True)
        self.table.clearSelection()
        if keep is not None:
            self.select_posting(keep.id)
        self.table.blockSignals(False)
        self._on_table_item_selection_changed()

    def _on_table_item_selection_changed(self) -> None:
        p = self.selected_posting()
        self.take_down_button.setEnabled(p is not None and p.taken_down_on is None)
        self.photo_button.setEnabled(p is not None)
        self.open_button.setEnabled(p is not None)
        self._fill_photos(p)

    # ------------------------------------------------------------------------- photos
    def _fill_photos(self, p: PostingInfo | None) -> None:
        self.photos.clear()
        if p is None:
            self.photo_label.setText(_("张贴照片：请先选择一条张贴记录。"))
            return
        self.photo_label.setText(
            _("张贴照片（{n} 张）：{title}").format(n=len(p.evidence), title=p.title) if p.evidence
            else _("张贴照片：还没有照片。张贴后请拍照并点击“添加张贴照片…”。"))
        evidence = {e.sha256: e for e in self._service.evidence(p.id)}
        for digest in dict.fromkeys(p.evidence):
            info = evidence.get(digest)
            item = QListWidgetItem(info.filename if info else digest[:12])
            item.setData(_ID, digest)
            item.setToolTip(_("{name}\n{who} 添加于 {at}").format(
                name=info.filename, who=info.added_by, at=info.added_at[:16].replace("T", " "))
                if info else digest)
            self.photos.addItem(item)
        self._apply_thumbnails()
        wanted = [d for d in p.evidence if d not in self._thumbs and d not in self._missing]
        if wanted:
            root = self._env.ctx.evidence_dir
            op = BackgroundOp(self, lambda _progress, _cancel: load_thumbnails(root, wanted))
            op.on_success(lambda images: self._on_thumbnails(wanted, images))
            op.on_failure(lambda exc: show_error(self, exc))
            self._loading = op.run()
        else:
            self.thumbnails_loaded.emit()

    def _on_thumbnails(self, wanted: list[str], images: dict[str, QImage]) -> None:
        for digest in wanted:
            if digest in images:
                self._thumbs[digest] = QPixmap.fromImage(images[digest])
            else:
                self._missing.add(digest)
        self._apply_thumbnails()
        self.thumbnails_loaded.emit()

    def _apply_thumbnails(self) -> None:
        for i in range(self.photos.count()):
            item = self.photos.item(i)
            digest = item.data(_ID)
            if digest in self._thumbs:
                item.setIcon(QIcon(self._thumbs[digest]))
            elif digest in self._missing:
                item.setText(_("照片不在本机"))
                item.setForeground(QBrush(GREY))

    def thumbnail_count(self) -> int:
        """How many photos of the chosen posting show a picture."""
        return sum(not self.photos.item(i).icon().isNull() for i in range(self.photos.count()))

    def _on_photos_item_double_clicked(self, item: QListWidgetItem) -> None:
        path = evidence_path(self._env.ctx.evidence_dir, item.data(_ID))
        if path.is_file():
            PhotoDialog(path, item.text(), self).open()

    def add_photos(self) -> BackgroundOp | None:
        """Pick photos of the chosen posting and store them (copied off the GUI thread)."""
        p = self.selected_posting()
        if p is None:
            return None
        files, _filter = QFileDialog.getOpenFileNames(
            self, _("选择张贴照片"), "", _("照片 ({patterns})").format(patterns=PHOTO_FILTER))
        if not files:
            return None
        service, user = self._service, self._env.user.id

        def work(progress, cancel):
            from app.errors import Cancelled

            added = []
            for n, name in enumerate(files):
                if cancel.is_set():
                    raise Cancelled(_("已取消，之前添加的照片已保存。"))
                progress(n, len(files), Path(name).name)
                added.append(service.add_evidence(p.id, user, Path(name)))
            return added

        op = BackgroundOp(self, work).with_progress(_("正在保存张贴照片……"))
        op.on_success(lambda _added: self._env.bus.changed.emit(Changes(boards=True)))
        op.on_failure(lambda exc: self._on_photos_failed(exc))
        return op.run()

    def _on_photos_failed(self, exc: BaseException) -> None:
        self._env.bus.changed.emit(Changes(boards=True))  # some photos may have been saved
        show_error(self, exc)

    # ------------------------------------------------------------------------ actions
    def take_down_selected(self) -> bool:
        p = self.selected_posting()
        if p is None or p.taken_down_on is not None:
            return False
        answer = QMessageBox.question(
            self, _("撤下公示"),
            _("登记“{title}”已于今天从“{board}”撤下？").format(title=p.title, board=p.board))
        if answer != QMessageBox.StandardButton.Yes:
            return False
        done, _result = apply_change(self, self._env, Changes(boards=True),
                                     lambda: self._service.take_down(p.id, self._env.user.id))
        return done

    def post_notice(self) -> PostNoticeDialog | None:
        board = self._board(self.current_board_id())
        if board is None:
            return None
        dialog = PostNoticeDialog(self._env, board, self)
        dialog.posted.connect(self.select_posting)
        dialog.open()
        return dialog

    def add_board(self) -> AddBoardDialog:
        dialog = AddBoardDialog(self._env, self._region, self)
        dialog.added.connect(self.select_board)
        dialog.open()
        return dialog

    def _open_selected_notice(self) -> None:
        p = self.selected_posting()
        if p is not None:
            self._env.bus.notice_open_requested.emit(p.notice_id)

    # ---------------------------------------------------------------------------- bus
    def _on_board_list_current_item_changed(self, _item, _previous) -> None:
        self._fill_postings()

    def _on_bus_region_selected(self, region: str | None) -> None:
        self._region = region
        self._fill_boards(self.current_board_id())

    def _on_bus_changed(self, changes: Changes) -> None:
        if changes.boards or changes.notices or changes.reference or changes.sync:
            self.refresh()


class PostNoticeDialog(QDialog):
    """Choose a published notice that is not up on the board yet, and the day it was posted."""

    posted = Signal(str)  # posting id

    def __init__(self, env: UiEnv, board: BoardInfo, parent=None) -> None:
        super().__init__(parent)
        self._env = env
        self._board = board
        self.setWindowTitle(_("张贴公示到“{board}”").format(board=board.name))
        self.resize(640, 420)
        self.notices = QListWidget(self)
        self.notices.setAlternatingRowColors(True)
        self._candidates = BoardService(env.ctx).postable_notices(board.id)
        for c in self._candidates:
            period = (_("公示期 {start} 至 {end}").format(start=_day(c.posting_start), end=_day(c.posting_end))
                      if c.posting_start else "")
            where = c.village or _("全镇")
            text = f"{c.title}\n{where} · {period}" if c.relevant else \
                _("{title}\n{where} · {period}（其他村的公示）").format(title=c.title, where=where, period=period)
            item = QListWidgetItem(text)
            item.setData(_ID, c.id)
            if not c.relevant:
                item.setForeground(QBrush(GREY))
            self.notices.addItem(item)
        if self.notices.count():
            self.notices.setCurrentRow(0)
        self.empty = QLabel(_("没有可张贴的公示：已发布的公示都已张贴在此公开栏上。"), self)
        self.empty.setVisible(not self._candidates)
        self.posted_on = QDateEdit(self)
        self.posted_on.setCalendarPopup(True)
        self.posted_on.setDisplayFormat("yyyy-MM-dd")
        today = env.ctx.clock.today()
        self.posted_on.setMaximumDate(QDate(today.year, today.month, today.day))
        self.posted_on.setDate(QDate(today.year, today.month, today.day))
        form = QFormLayout()
        form.addRow(_("张贴日期："), self.posted_on)
        self.buttons = ok_cancel_buttons(self, _("登记张贴"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self._candidates))
        self.notices.itemDoubleClicked.connect(lambda _item: self.submit())
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(_("选择要张贴的已发布公示："), self))
        layout.addWidget(self.notices, 1)
        layout.addWidget(self.empty)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def choose(self, notice_id: str) -> None:
        for i in range(self.notices.count()):
            if self.notices.item(i).data(_ID) == notice_id:
                self.notices.setCurrentRow(i)
                return
        raise KeyError(notice_id)

    def submit(self) -> None:
        item = self.notices.currentItem()
        if item is None:
            return
        day = self.posted_on.date().toPython()
        done, posting_id = apply_change(self, self._env, Changes(boards=True), lambda: BoardService(self._env.ctx).post(
            item.data(_ID), self._board.id, self._env.user.id, posted_on=day))
        if done:
            self.posted.emit(posting_id)
            self.accept()


class AddBoardDialog(QDialog):
    """Register a physical board at a village or at the township."""

    added = Signal(str)  # board id

    def __init__(self, env: UiEnv, village_id: str | None, parent=None) -> None:
        super().__init__(parent)
        self._env = env
        self.setWindowTitle(_("新增公开栏"))
        self.resize(420, 180)
        self.village = QComboBox(self)
        self.village.addItem(_("乡镇（政务公开栏）"), None)
        township = local_township_id()
        reference = ReferenceService(env.ctx)
        villages = reference.regions("village", township) if township else []
        for v in sorted(villages, key=lambda r: r.code or r.name):
            self.village.addItem(v.name, v.id)
        self.village.setCurrentIndex(max(0, self.village.findData(village_id)))
        self.name = QLineEdit(self)
        self.name.setPlaceholderText(_("例如：石门村二组公开栏"))
        self.location = QLineEdit(self)
        self.location.setPlaceholderText(_("例如：二组文化广场"))
        form = QFormLayout()
        form.addRow(_("所属："), self.village)
        form.addRow(_("名称："), self.name)
        form.addRow(_("位置："), self.location)
        self.buttons = ok_cancel_buttons(self, _("新增"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        done, board_id = apply_change(self, self._env, Changes(boards=True), lambda: BoardService(self._env.ctx).add_board(
            self.name.text(), self.village.currentData(), self._env.user.id, self.location.text()))
        if done:
            self.added.emit(board_id)
            self.accept()


class PhotoDialog(QDialog):
    """A posting photo at a readable size."""

    def __init__(self, path: Path, title: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(900, 640)
        label = QLabel(self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        reader = QImageReader(str(path))
        reader.setAutoTransform(True)
        full = reader.size()
        if full.isValid():
            reader.setScaledSize(full.scaled(QSize(1600, 1200), Qt.AspectRatioMode.KeepAspectRatio)
                                 if full.width() > 1600 or full.height() > 1200 else full)
        image = reader.read()
        if image.isNull():
            label.setText(_("无法显示该照片。"))
        else:
            label.setPixmap(QPixmap.fromImage(image))
        scroll = QScrollArea(self)
        scroll.setWidget(label)
        scroll.setWidgetResizable(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("关闭"))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll)
        layout.addWidget(buttons)
