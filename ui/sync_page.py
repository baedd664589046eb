"""The sync page: this workstation's sync state, "sync now" with progress and cancel, USB bundles,
enrolment with the county, conflicts side by side, and the log of recent sync runs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import AppError, Cancelled
from app.i18n import _
from app.maintenance import workstation_state
from sync.client import ConflictService, LargeDeletion
from sync.conflicts import ProblemView, open_problem_views
from sync.operations import (
    SyncBusy,
    default_device_name,
    enroll,
    export_bundle,
    import_reply,
    run_sync,
    sync_in_progress,
)
from sync.status import SyncRun, SyncStatus, sync_status
from ui.background import BackgroundOp
from ui.common import ERROR_STYLE, GREY, RED, Changes, UiEnv, show_error
from ui.sync_scheduler import changes_after, clock_warning_text, format_time

DIFF_BACKGROUND = QColor("#fff1b8")
REFRESH_MS = 30_000
CELL_CHARS = 400
BUNDLE_FILTER = "*.gkb"

KIND_LABELS = {"sync": "联网同步", "bundle_export": "导出U盘同步包", "bundle_import": "导入回执包",
               "enroll": "注册工作站"}
PROBLEM_LABELS = {"conflict": "版本冲突", "rejected": "县里拒收", "replaced": "已改用县里版本", "integrity": "数据检查"}


def _ask(parent: QWidget, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def _tell(parent: QWidget, title: str, text: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    box.open()
    return box


# ---------------------------------------------------------------------------- enrolment
class EnrollDialog(QDialog):
    """Server URL + one-time code from the county → this workstation is registered."""

    enrolled = Signal(str)  # township id

    def __init__(self, ctx, parent: QWidget | None = None, server_url: str = "") -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.township_id: str | None = None
        self.op: BackgroundOp | None = None
        self.setWindowTitle(_("注册本工作站"))
        self.setMinimumWidth(560)
        intro = QLabel(_("请向县政务公开办索取本乡镇的一次性注册码。注册后，本机的公示、名单和张贴记录会同步到县里，"
                         "县里的区划、项目、公示期限和节假日安排会同步到本机。"), self)
        intro.setWordWrap(True)
        self.url_edit = QLineEdit(server_url, self)
        self.url_edit.setPlaceholderText(_("例如 https://gongkai.example.gov.cn"))
        self.code_edit = QLineEdit(self)
        self.code_edit.setPlaceholderText(_("例如 K7QF-9ZRM-2WXA"))
        self.name_edit = QLineEdit(default_device_name(), self)
        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        form = QFormLayout()
        form.addRow(_("县级服务器网址"), self.url_edit)
        form.addRow(_("注册码"), self.code_edit)
        form.addRow(_("工作站名称"), self.name_edit)
        self.buttons = QDialogButtonBox(self)
        self.ok_button = self.buttons.addButton(_("注册"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button.clicked.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        (self.code_edit if server_url else self.url_edit).setFocus()

    def submit(self) -> BackgroundOp | None:
        if self.op is not None:
            return None
        ctx, url, code, name = self.ctx, self.url_edit.text(), self.code_edit.text(), self.name_edit.text()
        self.error_label.setText(_("正在连接县级服务器……"))
        self._set_enabled(False)
        self.op = (BackgroundOp(self, lambda progress, cancel: enroll(ctx, url, code, name))
                   .on_success(self._on_op_succeeded)
                   .on_failure(self._on_op_failed)
                   .run())
        return self.op

    def _set_enabled(self, enabled: bool) -> None:
        for w in (self.url_edit, self.code_edit, self.name_edit, self.ok_button):
            w.setEnabled(enabled)

    def _on_op_succeeded(self, township_id: str) -> None:
        self.op = None
        self.township_id = township_id
        self.error_label.clear()
        self.enrolled.emit(township_id)
        self.accept()

    def _on_op_failed(self, exc: BaseException) -> None:
        self.op = None
        self._set_enabled(True)
        if isinstance(exc, AppError):
            self.error_label.setText(str(exc))
        else:
            self.error_label.clear()
            show_error(self, exc)


# ---------------------------------------------------------------------------- conflicts
class ConflictPanel(QWidget):
    """Open conflicts and refusals; the chosen one side by side, field by field."""

    resolved = Signal(str)  # entity of the row that was decided

    def __init__(self, env: UiEnv, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.env = env
        self.views: list[ProblemView] = []
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.setMinimumWidth(260)
        self.list.currentRowChanged.connect(self._on_list_current_row_changed)
        self.heading = QLabel(self)
        bold = QFont(self.heading.font())
        bold.setBold(True)
        bold.setPointSizeF(bold.pointSizeF() * 1.1)
        self.heading.setFont(bold)
        self.heading.setWordWrap(True)
        self.reason = QLabel(self)
        self.reason.setWordWrap(True)
        self.only_differences = QCheckBox(_("只显示不同的字段"), self)
        self.only_differences.toggled.connect(self._show_current)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels([_("字段"), _("本机的版本"), _("县里的版本"), _("保留本机版本后")])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.keep_mine_button = QPushButton(_("保留本机版本"), self)
        self.take_theirs_button = QPushButton(_("采用县里版本"), self)
        self.acknowledge_button = QPushButton(_("知道了"), self)
        self.keep_mine_button.clicked.connect(self.keep_mine)
        self.take_theirs_button.clicked.connect(self.take_theirs)
        self.acknowledge_button.clicked.connect(self.acknowledge)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)

        detail = QWidget(self)
        d = QVBoxLayout(detail)
        d.setContentsMargins(0, 0, 0, 0)
        d.addWidget(self.heading)
        d.addWidget(self.reason)
        d.addWidget(self.only_differences)
        d.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.hint, 1)
        buttons.addWidget(self.keep_mine_button)
        buttons.addWidget(self.take_theirs_button)
        buttons.addWidget(self.acknowledge_button)
        d.addLayout(buttons)
        splitter = QSplitter(self)
        splitter.addWidget(self.list)
        splitter.addWidget(detail)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 860])
        self.empty = QLabel(_("没有待处理的冲突。两台电脑改了同一份草稿，或县里拒收了本机的修改时，会在这里列出，由您决定保留哪个版本。"), self)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(splitter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    def refresh(self) -> None:
        current = self.current_view()
        self.views = open_problem_views(self.env.ctx)
        self.list.blockSignals(True)
        self.list.clear()
        for v in self.views:
            kind = _(PROBLEM_LABELS.get(v.kind, v.kind))
            label = _("{what}：{title}").format(what=v.entity_label, title=v.title) if v.title else v.entity_label
            item = QListWidgetItem(_("[{kind}] {label}").format(kind=kind, label=label) + "\n" + v.reason)
            item.setToolTip(v.reason)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.stack.setCurrentIndex(1 if self.views else 0)
        if self.views:
            ids = [v.id for v in self.views]
            row = ids.index(current.id) if current is not None and current.id in ids else 0
            self.list.setCurrentRow(row)
            self._show_current()

    def current_view(self) -> ProblemView | None:
        row = self.list.currentRow()
        return self.views[row] if 0 <= row < len(self.views) else None

    def select(self, problem_id: int) -> None:
        self.list.setCurrentRow([v.id for v in self.views].index(problem_id))

    def _on_list_current_row_changed(self, _row: int) -> None:
        self._show_current()

    def _show_current(self) -> None:
        view = self.current_view()
        self.table.setRowCount(0)
        if view is None:
            return
        what = _("{what}“{title}”").format(what=view.entity_label, title=view.title) if view.title \
            else view.entity_label
        self.heading.setText(what)
        if view.kind == "conflict":
            self.reason.setText(_("原因：{reason}。有差异的字段已用黄色标出（共 {n} 处）。").format(
                reason=view.reason, n=len(view.differing)))
        else:
            self.reason.setText(_("县里的答复：{reason}").format(reason=view.reason))
        # a conflict shows what "keep mine" makes of each field: this workstation's changes, the
        # county's version of every other field
        merging = view.kind == "conflict" and view.has_local and view.has_server
        self.table.setColumnHidden(3, not merging)
        shown = [f for f in view.fields if f.differs or not self.only_differences.isChecked()]
        self.table.setRowCount(len(shown))
        for r, f in enumerate(shown):
            kept = (_("{value}（本机）") if f.kept_mine else _("{value}（县里）")).format(value=f.result) \
                if f.differs else f.result
            cells = [f.label, f.local if view.has_local else _("（本机没有这一行）"),
                     f.server if view.has_server else "—", kept]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + "…")
                item.setToolTip(text)
                if f.differs:
                    item.setBackground(QBrush(DIFF_BACKGROUND))
                    if c == 0:
                        font = item.font()
                        font.setBold(True)
                        item.setFont(font)
                elif f.meta:
                    item.setForeground(QBrush(GREY))
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
        self.keep_mine_button.setEnabled(view.choosable and view.has_local)
        self.take_theirs_button.setEnabled(view.choosable)
        self.acknowledge_button.setVisible(view.kind == "replaced")
        self.keep_mine_button.setVisible(view.kind != "replaced")
        self.take_theirs_button.setVisible(view.kind != "replaced")
        if view.choosable:
            self.hint.setText(_("“保留本机版本”只保留本机改过的字段，其他字段采用县里的版本（见最后一列）。"
                                "无论选择哪个，另一个版本都会保存在同步记录中，不会丢失。"))
        elif view.kind == "replaced":
            self.hint.setText(_("本机已按县里的版本改好，无需再同步。核对无误后点“知道了”；本机原来的版本仍保存在同步记录中。"))
        else:
            self.hint.setText(_("这一项不能二选一：请按县里的答复修改后再同步，或联系县里。"))

    def keep_mine(self) -> bool:
        view = self.current_view()
        if view is None or not _ask(self, _("保留本机版本"), _(
                "保留本机的版本？下次同步时，它会上传并覆盖县里的版本；县里的版本仍保存在同步记录中。")):
            return False
        return self._decide(view, ConflictService(self.env.ctx).keep_mine)

    def take_theirs(self) -> bool:
        view = self.current_view()
        if view is None or not _ask(self, _("采用县里版本"), _(
                "采用县里的版本？本机这一项尚未上传的修改会被县里的版本替换；本机的版本仍保存在同步记录中。")):
            return False
        return self._decide(view, ConflictService(self.env.ctx).take_theirs)

    def acknowledge(self) -> bool:
        view = self.current_view()
        if view is None:
            return False
        return self._decide(view, ConflictService(self.env.ctx).acknowledge)

    def _decide(self, view: ProblemView, action) -> bool:
        try:
            action(view.id, self.env.user)
        except AppError as err:
            show_error(self, err)
            return False
        self.resolved.emit(view.entity)
        return True


# ---------------------------------------------------------------------------- the page
class SyncPage(QWidget):
    sync_finished = Signal(object)  # SyncRun, or the exception of a failed run

    def __init__(self, env: UiEnv, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.env = env
        self.current_op: BackgroundOp | None = None
        self._retry_confirmed = None  # runs the last operation again once large deletions are confirmed
        self.status: SyncStatus | None = None
        self.enroll_dialog: EnrollDialog | None = None

        box = QGroupBox(_("同步状态"), self)
        self.enrolled_label = QLabel(box)
        self.server_label = QLabel(box)
        self.server_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.last_success_label = QLabel(box)
        self.queue_label = QLabel(box)
        self.problems_label = QLabel(box)
        self.error_label = QLabel(box)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.clock_label = QLabel(box)
        self.clock_label.setStyleSheet(ERROR_STYLE)
        self.result_label = QLabel(box)
        self.result_label.setWordWrap(True)
        form = QFormLayout()
        form.addRow(_("本工作站"), self.enrolled_label)
        form.addRow(_("县级服务器"), self.server_label)
        form.addRow(_("上次成功同步"), self.last_success_label)
        form.addRow(_("待上传"), self.queue_label)
        form.addRow(_("待处理"), self.problems_label)
        form.addRow(_("上次错误"), self.error_label)
        self._clock_row_label = QLabel(_("时钟"), box)
        form.addRow(self._clock_row_label, self.clock_label)
        form.addRow(_("最近一次"), self.result_label)

        self.sync_button = QPushButton(_("立即同步"), box)
        self.export_button = QPushButton(_("导出U盘同步包…"), box)
        self.import_button = QPushButton(_("导入县里的回执包…"), box)
        self.enroll_button = QPushButton(_("注册本工作站…"), box)
        self.sync_button.setDefault(True)
        self.sync_button.clicked.connect(lambda: self.sync_now())
        self.export_button.clicked.connect(lambda: self.export_bundle())
        self.import_button.clicked.connect(lambda: self.import_reply())
        self.enroll_button.clicked.connect(lambda: self.enroll())
        buttons = QVBoxLayout()
        for b in (self.sync_button, self.export_button, self.import_button, self.enroll_button):
            b.setMinimumWidth(190)
            buttons.addWidget(b)
        buttons.addStretch(1)
        top = QHBoxLayout(box)
        top.addLayout(form, 1)
        top.addLayout(buttons)

        self.conflicts = ConflictPanel(env, self)
        self.conflicts.resolved.connect(self._on_conflicts_resolved)
        self.log_table = QTableWidget(0, 9, self)
        self.log_table.setHorizontalHeaderLabels([_("时间"), _("方式"), _("结果"), _("上传"), _("接收"), _("冲突"),
                                                  _("拒收"), _("用时"), _("说明")])
        self.log_table.verticalHeader().setVisible(False)
        self.log_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.log_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.log_table.horizontalHeader()
        for c in range(8):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(8, QHeaderView.ResizeMode.Stretch)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.conflicts, _("冲突与问题"))
        self.tabs.addTab(self.log_table, _("同步记录"))

        layout = QVBoxLayout(self)
        layout.addWidget(box)
        layout.addWidget(self.tabs, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()
        env.bus.changed.connect(self._on_bus_changed)
        self.refresh()
        if not self.conflicts.views:
            self.tabs.setCurrentWidget(self.log_table)

    # ------------------------------------------------------------------ display
    def refresh(self) -> None:
        ctx = self.env.ctx
        s = self.status = sync_status(ctx)
        now = ctx.clock.now()
        if s.enrolled:
            self.enrolled_label.setText(_("已注册（工作站编号 {device}）").format(device=s.device_id[:8]))
        else:
            self.enrolled_label.setText(_("未注册：请用县里提供的注册码注册，或用U盘同步包与县里交换数据。"))
        self.server_label.setText(s.server_url or "—")
        self.last_success_label.setText(
            format_time(s.last_success_at, now) if s.last_success_at else _("尚未成功同步"))
        self.queue_label.setText(_("{n} 项更改").format(n=s.queue))
        self.problems_label.setText(_("{n} 项冲突或拒收，请在下方处理").format(n=s.open_problems)
                                    if s.open_problems else _("无"))
        if s.last_error and s.last_error_at:
            self.error_label.setText(_("{error}（{time}）").format(error=s.last_error, time=format_time(s.last_error_at, now)))
        else:
            self.error_label.setText(s.last_error or _("无"))
        self.error_label.setStyleSheet(ERROR_STYLE if s.last_error else "")
        self._clock_row_label.setVisible(s.clock_warning)
        self.clock_label.setVisible(s.clock_warning)
        self.clock_label.setText(clock_warning_text(s) if s.clock_warning else "")
        if s.runs:
            self.result_label.setText(self._run_summary(s.runs[0]))
        else:
            self.result_label.setText("—")
        busy = self.current_op is not None
        self.sync_button.setEnabled(s.enrolled and not busy)
        self.export_button.setEnabled(s.enrolled and not busy)
        self.import_button.setEnabled(s.enrolled and not busy)
        self.enroll_button.setText(_("重新注册…") if s.enrolled else _("注册本工作站…"))
        self.enroll_button.setEnabled(not busy)
        self.conflicts.refresh()
        self.tabs.setTabText(0, _("冲突与问题（{n}）").format(n=len(self.conflicts.views))
                             if self.conflicts.views else _("冲突与问题"))
        self._fill_log(s.runs, now)

    def _run_summary(self, run: SyncRun) -> str:
        when = format_time(run.at_datetime, self.env.ctx.clock.now())
        kind = _(KIND_LABELS.get(run.kind, run.kind))
        if not run.ok:
            return _("{when} {kind}未完成：{error}").format(when=when, kind=kind, error=run.error)
        if run.kind == "bundle_export":
            return _("{when} 已导出 {n} 项更改到 {file}").format(when=when, n=run.pushed, file=run.file)
        if run.kind == "enroll":
            return _("{when} 已注册到县级服务器").format(when=when)
        return _("{when} {kind}完成：上传 {pushed} 项，接收 {pulled} 项，冲突 {conflicts} 项，拒收 {rejected} 项").format(
            when=when, kind=kind, pushed=run.pushed, pulled=run.pulled, conflicts=run.conflicts,
            rejected=run.rejected)

    def _fill_log(self, runs: tuple[SyncRun, ...], now) -> None:
        self.log_table.setRowCount(len(runs))
        for r, run in enumerate(runs):
            if run.ok:
                result = _("成功")
            elif run.cancelled:
                result = _("已取消")
            elif run.offline:
                result = _("离线")
            else:
                result = _("失败")
            counts = [str(run.pushed), str(run.pulled), str(run.conflicts), str(run.rejected)]
            if run.kind in ("enroll",) or not run.ok:
                counts = ["", "", "", ""]
            note = run.error or run.file
            cells = [format_time(run.at_datetime, now), _(KIND_LABELS.get(run.kind, run.kind)), result, *counts,
                     _("{s} 秒").format(s=f"{run.seconds:.1f}"), note]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if 3 <= c <= 7:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 8:
                    item.setToolTip(text)
                if not run.ok and c == 2:
                    item.setForeground(QBrush(RED))
                self.log_table.setItem(r, c, item)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self.refresh()

    def _on_timer_timeout(self) -> None:
        if self.isVisible() and self.current_op is None:
            self.refresh()

    def _on_bus_changed(self, changes: Changes) -> None:
        if self.current_op is None:
            self.refresh()

    def _on_conflicts_resolved(self, entity: str) -> None:
        notices = entity in ("notice", "sign_off")
        rows = entity == "roster_row"
        self.env.bus.changed.emit(Changes(sync=True, notices=notices or rows, rows=rows,
                                          boards=entity in ("board", "posting", "evidence_file"),
                                          objections=entity in ("objection", "objection_answer"),
                                          reference=entity in ("program", "region")))
        self.refresh()
        self.result_label.setText(_("已处理。选择的版本会在下次同步时与县里一致。"))

    # ------------------------------------------------------------------ actions
    def _start(self, work, label: str, on_success, retry_confirmed=None) -> BackgroundOp:
        """Run ``work``; ``retry_confirmed`` runs it again once the clerk confirmed large deletions."""
        self._retry_confirmed = retry_confirmed
        self.current_op = (BackgroundOp(self, work).with_progress(label)
                           .on_success(lambda result: self._on_op_done(result, on_success))
                           .on_failure(self._on_op_failed))
        self.refresh()
        self.current_op.run()
        return self.current_op

    def _on_op_done(self, result, on_success) -> None:
        self.current_op = None
        self.refresh()
        on_success(result)
        self.sync_finished.emit(result)

    def _on_op_failed(self, exc: BaseException) -> None:
        self.current_op = None
        self.refresh()
        if isinstance(exc, Cancelled):
            self.result_label.setText(str(exc))
        elif isinstance(exc, SyncBusy):
            self.result_label.setText(_("正在后台同步，请稍候再试。"))
        elif isinstance(exc, LargeDeletion) and self._retry_confirmed is not None:
            self.result_label.setText(str(exc))
            if self.confirm_large_deletion(exc):
                self._retry_confirmed()
        else:
            show_error(self, exc)
        self.sync_finished.emit(exc)

    def _busy_elsewhere(self) -> bool:
        if self.current_op is not None:
            return True
        if sync_in_progress():
            self.result_label.setText(_("正在后台同步，请稍候再试。"))
            return True
        return False

    def sync_now(self, confirm_deletes: bool = False) -> BackgroundOp | None:
        """Sync with the county now (push, then pull), with progress and cancel. A sync that would
        delete many rows stops and asks (``confirm_large_deletion``) before going ahead."""
        if not sync_status(self.env.ctx).enrolled:
            self.enroll()
            return None
        if self._busy_elsewhere():
            return None
        ctx = self.env.ctx
        return self._start(lambda progress, cancel: run_sync(ctx, progress, cancel, confirm_deletes),
                           _("正在与县级服务器同步……"), self._on_synced,
                           retry_confirmed=lambda: self.sync_now(confirm_deletes=True))

    def confirm_large_deletion(self, err: LargeDeletion) -> bool:
        """Ask the clerk whether the many deletions are intended (the sync changed nothing yet)."""
        return _ask(self, _("确认删除"), _("{message}\n\n确认这些删除无误，继续同步吗？").format(message=str(err)))

    def _on_synced(self, run: SyncRun) -> None:
        self.env.bus.changed.emit(changes_after(run) or Changes(sync=True))
        if run.conflicts or run.rejected:
            self.tabs.setCurrentWidget(self.conflicts)

    def export_bundle(self) -> BackgroundOp | None:
        """Write this workstation's changes to a file for a USB stick."""
        if not sync_status(self.env.ctx).enrolled:
            self.enroll()
            return None
        if self._busy_elsewhere():
            return None
        township = workstation_state().township_name or _("工作站")
        default = Path.home() / _("公开栏同步包-{township}-{day}.gkb").format(
            township=township, day=self.env.ctx.clock.today().strftime("%Y%m%d"))
        name, _filter = QFileDialog.getSaveFileName(self, _("导出U盘同步包"), str(default),
                                                    _("同步包 ({pattern})").format(pattern=BUNDLE_FILTER))
        if not name:
            return None
        path = Path(name) if Path(name).suffix else Path(name).with_suffix(".gkb")
        return self.export_bundle_to(path)

    def export_bundle_to(self, path: Path, confirm_deletes: bool = False) -> BackgroundOp:
        ctx = self.env.ctx
        return self._start(lambda progress, cancel: export_bundle(ctx, path, progress, cancel, confirm_deletes),
                           _("正在写入同步包……"), lambda run: self._on_exported(run, path),
                           retry_confirmed=lambda: self.export_bundle_to(path, confirm_deletes=True))

    def _on_exported(self, run: SyncRun, path: Path) -> None:
        _tell(self, _("导出U盘同步包"), _(
            "同步包已写入并核对无误：{file}（{n} 项更改）。\n现在可以安全地拔下U盘，带到县里导入；"
            "县里会给您一个回执包，回来后用“导入县里的回执包”完成同步。").format(file=path, n=run.pushed))

    def import_reply(self) -> BackgroundOp | None:
        """Apply the county's reply bundle from a USB stick."""
        if not sync_status(self.env.ctx).enrolled:
            self.enroll()
            return None
        if self._busy_elsewhere():
            return None
        name, _filter = QFileDialog.getOpenFileName(
            self, _("导入县里的回执包"), str(Path.home()),
            _("回执包 ({pattern});;所有文件 (*)").format(pattern=BUNDLE_FILTER))
        if not name:
            return None
        ctx, path = self.env.ctx, Path(name)
        return self._start(lambda progress, cancel: import_reply(ctx, path, progress, cancel),
                           _("正在导入回执包……"), self._on_reply_imported)

    def _on_reply_imported(self, run: SyncRun) -> None:
        self._on_synced(run)
        _tell(self, _("导入县里的回执包"), _(
            "回执已导入：县里确认收到 {pushed} 项更改，本机收到 {pulled} 项更新，冲突 {conflicts} 项，拒收 {rejected} 项。"
        ).format(pushed=run.pushed + run.duplicates, pulled=run.pulled, conflicts=run.conflicts,
                 rejected=run.rejected))

    def enroll(self) -> EnrollDialog | None:
        """Register this workstation with the county; a first sync follows."""
        status = sync_status(self.env.ctx)
        if status.enrolled and not _ask(self, _("重新注册"), _(
                "本工作站已注册到 {url}。重新注册会换用新的注册码和授权（例如授权被县里停用后）。继续吗？").format(
                url=status.server_url)):
            return None
        dialog = EnrollDialog(self.env.ctx, self, server_url=status.server_url)
        dialog.enrolled.connect(self._on_dialog_enrolled)
        dialog.open()
        self.enroll_dialog = dialog
        return dialog

    def _on_dialog_enrolled(self, _township_id: str) -> None:
        self.env.bus.changed.emit(Changes(sync=True))
        self.result_label.setText(_("注册成功，正在进行第一次同步……"))
        self.sync_now()

