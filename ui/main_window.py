"""The main window: navigation (township → villages → boards) on the left, the work areas as tabs
(notices, boards, objections, disclosure calendar, sync), opened notices as further tabs, and the
sync state in the status bar. Built from a ``UiEnv`` only, so tests can construct it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from app.errors import NotFound
from app.i18n import _
from app.reference import ReferenceService
from app.settings import local_township_id
from app.users import ROLE_LABELS
from ui.common import Changes, UiEnv

_REGION = Qt.ItemDataRole.UserRole
_KIND = Qt.ItemDataRole.UserRole + 1


class MainWindow(QMainWindow):
    def __init__(self, env: UiEnv) -> None:
        super().__init__()
        self.env = env
        self.setWindowTitle(_("公开栏 — 村务政务公开"))
        self.resize(1366, 768)
        self.nav = QTreeWidget(self)
        self.nav.setHeaderHidden(True)
        self.nav.setMinimumWidth(170)
        self.nav.currentItemChanged.connect(self._on_nav_current_item_changed)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.tabCloseRequested.connect(self._on_tabs_close_requested)
        self.pages: dict[str, QWidget] = {}
        for key, title, factory in self._page_factories():
            page = factory()
            self.pages[key] = page
            self.tabs.addTab(page, title)
            self.tabs.tabBar().setTabButton(self.tabs.count() - 1, self.tabs.tabBar().ButtonPosition.RightSide, None)
        splitter = QSplitter(self)
        splitter.addWidget(self.nav)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([190, 1176])
        self.setCentralWidget(splitter)
        self.user_label = QLabel(self)
        self.sync_label = QLabel(self)
        self.statusBar().addWidget(self.user_label)
        self.statusBar().addPermanentWidget(self.sync_label)
        self.user_label.setText(_("{name}（{role}）").format(
            name=env.user.display_name, role=_(ROLE_LABELS[env.user.role])))
        self._build_menus()
        env.bus.changed.connect(self._on_bus_changed)
        env.bus.notice_open_requested.connect(self.open_notice)
        self.refresh_navigation()

    # ------------------------------------------------------------------------------ pages
    def _page_factories(self):
        from ui.boards_page import BoardsPage
        from ui.calendar_page import CalendarPage
        from ui.notice_list import NoticeListPage
        from ui.objections_page import ObjectionsPage
        from ui.sync_page import SyncPage

        env = self.env
        return [
            ("notices", _("公示"), lambda: NoticeListPage(env, self)),
            ("boards", _("公开栏"), lambda: BoardsPage(env, self)),
            ("objections", _("异议"), lambda: ObjectionsPage(env, self)),
            ("calendar", _("公开日历"), lambda: CalendarPage(env, self)),
            ("sync", _("同步"), lambda: SyncPage(env, self)),
        ]

    def show_page(self, key: str) -> QWidget:
        page = self.pages[key]
        self.tabs.setCurrentWidget(page)
        return page

    def open_notice(self, notice_id: str) -> QWidget:
        """Open a notice in its own tab (or switch to it when it is open already)."""
        from ui.notice_editor import NoticeEditor

        for i in range(self.tabs.count()):
            widget = self.tabs.widget(i)
            if isinstance(widget, NoticeEditor) and widget.notice_id == notice_id:
                self.tabs.setCurrentIndex(i)
                return widget
        editor = NoticeEditor(self.env, notice_id, self)
        index = self.tabs.addTab(editor, editor.tab_title())
        self.tabs.setCurrentIndex(index)
        return editor

    def _on_tabs_close_requested(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if widget in self.pages.values():
            return
        if hasattr(widget, "can_close") and not widget.can_close():
            return
        self.tabs.removeTab(index)
        widget.deleteLater()

    # ------------------------------------------------------------------------- navigation
    def refresh_navigation(self) -> None:
        reference = ReferenceService(self.env.ctx)
        self.nav.blockSignals(True)
        self.nav.clear()
        township_id = local_township_id()
        if township_id is None:
            QTreeWidgetItem(self.nav, [_("尚未设置乡镇")])
            self.nav.blockSignals(False)
            return
        try:
            township_region = reference.region(township_id)
        except NotFound:  # enrolled, but the first sync has not brought the township yet
            QTreeWidgetItem(self.nav, [_("尚未收到本乡镇的数据，请在“同步”页同步")])
            self.nav.blockSignals(False)
            return
        township = QTreeWidgetItem(self.nav, [township_region.name])
        township.setData(0, _REGION, None)
        township.setData(0, _KIND, "township")
        boards = reference.boards()
        for village in sorted(reference.regions("village", township_id), key=lambda r: r.code or r.name):
            item = QTreeWidgetItem(township, [village.name])
            item.setData(0, _REGION, village.id)
            item.setData(0, _KIND, "village")
            for board in (b for b in boards if b.village_id == village.id):
                child = QTreeWidgetItem(item, [board.name])
                child.setData(0, _REGION, board.id)
                child.setData(0, _KIND, "board")
        for board in (b for b in boards if b.village_id is None):
            child = QTreeWidgetItem(township, [board.name])
            child.setData(0, _REGION, board.id)
            child.setData(0, _KIND, "board")
        township.setExpanded(True)
        self.nav.setCurrentItem(township)
        self.nav.blockSignals(False)

    def _on_nav_current_item_changed(self, item: QTreeWidgetItem | None, _previous) -> None:
        if item is None:
            return
        kind = item.data(0, _KIND)
        if kind == "board":
            self.show_page("boards")
            self.env.bus.region_selected.emit(item.parent().data(0, _REGION))
            if hasattr(self.pages["boards"], "select_board"):
                self.pages["boards"].select_board(item.data(0, _REGION))
            return
        self.env.bus.region_selected.emit(item.data(0, _REGION))
        if self.tabs.currentWidget() not in (self.pages["notices"], self.pages["boards"], self.pages["calendar"],
                                             self.pages["objections"]):
            self.show_page("notices")

    # ------------------------------------------------------------------------------ menus
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(_("文件(&F)"))
        self._action(file_menu, _("导入名单…"), self.import_roster, QKeySequence("Ctrl+I"))
        file_menu.addSeparator()
        self._action(file_menu, _("备份数据库…"), self.backup)
        self._action(file_menu, _("从备份恢复…"), self.restore)
        file_menu.addSeparator()
        self._action(file_menu, _("退出"), self.close, QKeySequence.StandardKey.Quit)

        notice_menu = bar.addMenu(_("公示(&N)"))
        self._action(notice_menu, _("新建公示…"), self.new_notice, QKeySequence.StandardKey.New)
        self._action(notice_menu, _("打开所选公示"), self.open_selected_notice, QKeySequence("Return"))
        notice_menu.addSeparator()
        self._action(notice_menu, _("打印预览…"), self.print_selected, QKeySequence.StandardKey.Print)
        self._action(notice_menu, _("按村批量打印…"), self.print_by_village)

        sync_menu = bar.addMenu(_("同步(&S)"))
        self._action(sync_menu, _("立即同步"), lambda: self.show_page("sync").sync_now(), QKeySequence("F5"))
        self._action(sync_menu, _("导出U盘同步包…"), lambda: self.show_page("sync").export_bundle())
        self._action(sync_menu, _("导入县里的回执包…"), lambda: self.show_page("sync").import_reply())
        self._action(sync_menu, _("注册本工作站…"), lambda: self.show_page("sync").enroll())

        settings_menu = bar.addMenu(_("设置(&T)"))
        self._action(settings_menu, _("设置…"), self.open_settings)

        help_menu = bar.addMenu(_("帮助(&H)"))
        self._action(help_menu, _("使用说明"), self.open_guide, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, _("关于公开栏"), self.about)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    # ---------------------------------------------------------------------------- actions
    def open_selected_notice(self) -> None:
        notice_id = self.pages["notices"].selected_notice_id()
        if notice_id:
            self.open_notice(notice_id)

    def new_notice(self):
        from ui.notice_editor import NewNoticeDialog

        dialog = NewNoticeDialog(self.env, self)
        dialog.created.connect(self.open_notice)
        dialog.open()
        return dialog

    def import_roster(self):
        from ui.import_wizard import ImportWizard

        wizard = ImportWizard(self.env, self)
        wizard.imported.connect(self.open_notice)
        wizard.open()
        return wizard

    def print_selected(self):
        from ui.print_preview import PrintPreviewDialog

        notice_id = self._current_notice_id()
        if notice_id is None:
            QMessageBox.information(self, _("打印"), _("请先在列表中选择一份公示。"))
            return None
        dialog = PrintPreviewDialog(self.env, notice_id, self)
        dialog.open()
        return dialog

    def print_by_village(self):
        from ui.print_preview import BatchPrintDialog

        dialog = BatchPrintDialog(self.env, self)
        dialog.open()
        return dialog

    def _current_notice_id(self) -> str | None:
        widget = self.tabs.currentWidget()
        if getattr(widget, "notice_id", None):
            return widget.notice_id
        return self.pages["notices"].selected_notice_id()

    def open_settings(self):
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.env, self)
        dialog.open()
        return dialog

    def backup(self):
        from ui.settings_dialog import backup_database

        return backup_database(self.env, self)

    def restore(self):
        from ui.settings_dialog import restore_database

        return restore_database(self.env, self)

    def open_guide(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        from ui.app import guide_path

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(guide_path())))

    def about(self) -> None:
        QMessageBox.about(self, _("关于公开栏"), _("公开栏：乡镇村务、政务公开栏管理。\n版本 {v}").format(v="0.1.0"))

    # ------------------------------------------------------------------------------- bus
    def _on_bus_changed(self, changes: Changes) -> None:
        if changes.reference or changes.boards:
            self.refresh_navigation()
