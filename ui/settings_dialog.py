"""Settings (language, print font, county server, what the county decides, users) and the
database backup and restore actions of the File menu."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import AppError
from app.i18n import LANGUAGES, _
from app.maintenance import (
    BackupInfo,
    RestoreResult,
    backup_folder,
    backup_to,
    default_backup_name,
    inspect_backup,
    restore_from,
)
from app.preferences import (
    masking_info,
    posting_defaults,
    print_font,
    set_print_font,
    set_ui_language,
    ui_language,
)
from app.settings import CountySettings
from app.users import ROLE_LABELS, ROLES, UserService
from sync.status import sync_status
from ui.background import BackgroundOp
from ui.common import ERROR_STYLE, NOTE_STYLE, Changes, UiEnv, show_error

CADENCE_LABELS = {"monthly": "每月", "quarterly": "每季度", "": "按事项发生"}
UNIT_LABELS = {"natural": "自然日", "working": "工作日"}
_UNCHANGED = object()


def _note(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setStyleSheet(NOTE_STYLE)
    return label


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return _("{n} MB").format(n=f"{size / 1024 / 1024:.1f}")
    return _("{n} KB").format(n=max(1, round(size / 1024)))


class SettingsDialog(QDialog):
    """What this workstation may choose, and what the county decides (shown, not editable)."""

    def __init__(self, env: UiEnv, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.env = env
        self.setWindowTitle(_("设置"))
        self.resize(860, 600)
        self._font_choice = _UNCHANGED
        self._ops: list[BackgroundOp] = []
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._general_tab(), _("常规"))
        self.tabs.addTab(self._county_tab(), _("县级服务器与脱敏"))
        self.tabs.addTab(self._periods_tab(), _("公示期限"))
        self.users_tab: QWidget | None = None
        if env.can("admin"):
            self.users_tab = self._users_tab()
            self.tabs.addTab(self.users_tab, _("用户"))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.buttons)

    # ------------------------------------------------------------------ general
    def _general_tab(self) -> QWidget:
        page = QWidget(self)
        self.language_combo = QComboBox(page)
        for code, name in LANGUAGES.items():
            self.language_combo.addItem(name, code)
        self.language_combo.setCurrentIndex(self.language_combo.findData(ui_language()))
        self.font_label = QLabel(page)
        self.font_label.setWordWrap(True)
        self.font_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        choose = QPushButton(_("选择字体文件…"), page)
        choose.clicked.connect(lambda: self.choose_font())
        automatic = QPushButton(_("恢复自动选择"), page)
        automatic.clicked.connect(self.use_automatic_font)
        font_buttons = QHBoxLayout()
        font_buttons.addWidget(choose)
        font_buttons.addWidget(automatic)
        font_buttons.addStretch(1)
        self.language_combo.setMinimumWidth(200)
        language_row = QHBoxLayout()
        language_row.addWidget(self.language_combo)
        language_row.addStretch(1)
        form = QFormLayout()
        form.addRow(_("界面语言"), language_row)
        form.addRow("", _note(_("更改界面语言后，需要重新启动程序才能生效。"), page))
        form.addRow(_("打印字体"), self.font_label)
        form.addRow("", font_buttons)
        form.addRow("", _note(_("公示打印成 PDF 时嵌入这个字体。默认自动选用本机的宋体、微软雅黑或文泉驿等 TrueType "
                                "中文字体；只有在打印出现方框或缺字时才需要指定字体文件（.ttf 或 .ttc）。"), page))
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addStretch(1)
        self._show_font(print_font())
        return page

    def _show_font(self, configured: str | None) -> None:
        if configured:
            self.font_label.setText(_("指定：{path}").format(path=configured))
            return
        self.font_label.setText(_("自动选择（正在查找本机字体……）"))

        def found(font) -> None:
            if self._font_choice is _UNCHANGED and not print_font() or self._font_choice is None:
                self.font_label.setText(_("自动选择：{name}").format(name=Path(font.path).name))

        def missing(exc: BaseException) -> None:
            self.font_label.setText(_("自动选择：本机没有找到可用的中文字体，请指定字体文件。"))

        from printing.fonts import find_cjk_font

        self._ops.append(BackgroundOp(self, lambda progress, cancel: find_cjk_font())
                         .on_success(found).on_failure(missing).run())

    def choose_font(self, path: str | None = None) -> BackgroundOp | None:
        """Pick a font file; it is checked (off the GUI thread) before it is accepted."""
        if path is None:
            path, _filter = QFileDialog.getOpenFileName(self, _("选择打印字体"), "",
                                                        _("TrueType 字体 (*.ttf *.ttc)"))
        if not path:
            return None
        from printing.fonts import check_font_file

        def accepted(_font) -> None:
            self._font_choice = path
            self.font_label.setText(_("指定：{path}").format(path=path))

        op = (BackgroundOp(self, lambda progress, cancel: check_font_file(path))
              .on_success(accepted).on_failure(lambda exc: show_error(self, exc)).run())
        self._ops.append(op)
        return op

    def use_automatic_font(self) -> None:
        self._font_choice = None
        self._show_font(None)

    # ------------------------------------------------------------------ county
    def _county_tab(self) -> QWidget:
        page = QWidget(self)
        status = sync_status(self.env.ctx)
        server = QGroupBox(_("县级服务器"), page)
        self.server_edit = QLineEdit(status.server_url, server)
        self.server_edit.setReadOnly(status.enrolled)
        self.server_edit.setPlaceholderText(_("例如 https://gongkai.example.gov.cn"))
        server_form = QFormLayout(server)
        server_form.addRow(_("网址"), self.server_edit)
        if status.enrolled:
            server_form.addRow("", _note(_("本工作站已注册到这个服务器，网址不能在这里修改；需要更换服务器时，"
                                           "请在“同步”页重新注册。"), server))
        else:
            enroll = QPushButton(_("用注册码注册…"), server)
            enroll.clicked.connect(self.enroll)
            enroll_row = QHBoxLayout()
            enroll_row.addWidget(enroll)
            enroll_row.addStretch(1)
            server_form.addRow("", enroll_row)
            server_form.addRow("", _note(_("本工作站尚未注册。填写县里提供的网址，再用一次性注册码注册。"), server))

        county = CountySettings.load()
        mask = masking_info(county)
        rules = QGroupBox(_("县里统一设定（随同步更新，本机不能修改）"), page)
        form = QFormLayout(rules)
        form.addRow(_("县"), QLabel(county.county_name or _("（尚未收到）"), rules))
        form.addRow(_("核验网址（二维码）"), QLabel(county.public_url or _("（尚未收到）"), rules))
        self.mask_label = QLabel(_("{pattern}，例如 {example}").format(pattern=mask.pattern, example=mask.example),
                                 rules)
        form.addRow(_("身份证号码脱敏"), self.mask_label)
        form.addRow(_("公示中显示身份证列"), QLabel(_("是（脱敏后）") if mask.show_id_column else _("否"), rules))
        form.addRow(_("手机号码脱敏"), QLabel(_("保留前 3 位和后 4 位，例如 138****1234"), rules))
        form.addRow(_("异议答复期限"), QLabel(_("{n} 天").format(n=county.objection_answer_days), rules))
        form.addRow("", _note(_("银行/一卡通账号、联系电话和详细住址从不公开；打印的公示会注明隐去了哪些信息。"), rules))
        layout = QVBoxLayout(page)
        layout.addWidget(server)
        layout.addWidget(rules)
        layout.addStretch(1)
        return page

    def enroll(self):
        from ui.sync_page import EnrollDialog

        dialog = EnrollDialog(self.env.ctx, self, server_url=self.server_edit.text().strip())
        dialog.enrolled.connect(lambda _township: self.env.bus.changed.emit(Changes(sync=True)))
        dialog.enrolled.connect(lambda _township: self._on_enrolled())
        dialog.open()
        self.enroll_dialog = dialog
        return dialog

    def _on_enrolled(self) -> None:
        status = sync_status(self.env.ctx)
        self.server_edit.setText(status.server_url)
        self.server_edit.setReadOnly(True)

    # ------------------------------------------------------------------ periods
    def _periods_tab(self) -> QWidget:
        page = QWidget(self)
        rows = posting_defaults()
        self.periods_table = QTableWidget(len(rows), 4, page)
        self.periods_table.setHorizontalHeaderLabels([_("公开事项"), _("层级"), _("最短公示期"), _("周期")])
        self.periods_table.verticalHeader().setVisible(False)
        self.periods_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.periods_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        for r, p in enumerate(rows):
            period = _("{n} 个{unit}").format(n=p.min_days, unit=_(UNIT_LABELS.get(p.day_unit, p.day_unit)))
            cells = [_(p.name), _(p.level), period,
                     _(CADENCE_LABELS.get(p.cadence, p.cadence))]
            for c, text in enumerate(cells):
                self.periods_table.setItem(r, c, QTableWidgetItem(text))
        layout = QVBoxLayout(page)
        layout.addWidget(_note(_("公示期限由县里按公开事项标准目录统一设定，随同步更新。工作日的计算已扣除法定节假日并计入调休上班日。"),
                               page))
        layout.addWidget(self.periods_table)
        return page

    # ------------------------------------------------------------------ users
    def _users_tab(self) -> QWidget:
        page = QWidget(self)
        self.users_table = QTableWidget(0, 4, page)
        self.users_table.setHorizontalHeaderLabels([_("用户名"), _("姓名"), _("角色"), _("状态")])
        self.users_table.verticalHeader().setVisible(False)
        self.users_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.users_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.users_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        box = QGroupBox(_("新建用户"), page)
        self.new_username = QLineEdit(box)
        self.new_display_name = QLineEdit(box)
        self.new_role = QComboBox(box)
        for role in ROLES:
            self.new_role.addItem(_(ROLE_LABELS[role]), role)
        self.new_password = QLineEdit(box)
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_password.setPlaceholderText(_("至少 8 个字符"))
        self.new_password_again = QLineEdit(box)
        self.new_password_again.setEchoMode(QLineEdit.EchoMode.Password)
        self.create_user_button = QPushButton(_("创建用户"), box)
        self.create_user_button.clicked.connect(self.create_user)
        self.user_message = QLabel(box)
        self.user_message.setWordWrap(True)
        form = QFormLayout(box)
        form.addRow(_("用户名"), self.new_username)
        form.addRow(_("姓名"), self.new_display_name)
        form.addRow(_("角色"), self.new_role)
        form.addRow(_("密码"), self.new_password)
        form.addRow(_("再次输入密码"), self.new_password_again)
        row = QHBoxLayout()
        row.addWidget(self.user_message, 1)
        row.addWidget(self.create_user_button)
        form.addRow("", row)
        layout = QHBoxLayout(page)
        layout.addWidget(self.users_table, 3)
        layout.addWidget(box, 2)
        self._fill_users()
        return page

    def _fill_users(self) -> None:
        users = UserService(self.env.ctx).list()
        self.users_table.setRowCount(len(users))
        for r, u in enumerate(users):
            cells = [u.username, u.display_name, _(ROLE_LABELS.get(u.role, u.role)),
                     _("在用") if u.active else _("已停用")]
            for c, text in enumerate(cells):
                self.users_table.setItem(r, c, QTableWidgetItem(text))

    def create_user(self) -> bool:
        if self.new_password.text() != self.new_password_again.text():
            self._user_message(_("两次输入的密码不一致。"), error=True)
            return False
        try:
            user = UserService(self.env.ctx).create(
                self.new_username.text(), self.new_display_name.text(), self.new_role.currentData(),
                self.new_password.text(), by=self.env.user.id)
        except AppError as err:
            self._user_message(str(err), error=True)
            return False
        for edit in (self.new_username, self.new_display_name, self.new_password, self.new_password_again):
            edit.clear()
        self._fill_users()
        self._user_message(_("已创建用户 {username}（{role}）。").format(
            username=user.username, role=_(ROLE_LABELS[user.role])))
        self.env.bus.changed.emit(Changes(users=True))
        return True

    def _user_message(self, text: str, error: bool = False) -> None:
        self.user_message.setText(text)
        self.user_message.setStyleSheet(ERROR_STYLE if error else "")

    # ------------------------------------------------------------------ save
    def save(self) -> bool:
        ctx = self.env.ctx
        language = self.language_combo.currentData()
        changed_language = language != ui_language()
        try:
            if changed_language:
                set_ui_language(ctx, language)
            if self._font_choice is not _UNCHANGED:
                set_print_font(ctx, self._font_choice)
        except AppError as err:
            show_error(self, err)
            return False
        if changed_language:
            box = QMessageBox(QMessageBox.Icon.Information, _("设置"),
                              _("界面语言已改为“{language}”，重新启动程序后生效。").format(language=LANGUAGES[language]),
                              QMessageBox.StandardButton.Ok, self.parentWidget())
            box.open()
            self.language_notice = box
        self.accept()
        return True


# ---------------------------------------------------------------------------- backup
def backup_database(env: UiEnv, parent: QWidget, path: str | Path | None = None) -> BackgroundOp | None:
    """Ask where to save, then write a consistent backup off the GUI thread."""
    ctx = env.ctx
    if path is None:
        default = backup_folder(ctx) / default_backup_name(ctx)
        default.parent.mkdir(parents=True, exist_ok=True)
        path, _filter = QFileDialog.getSaveFileName(parent, _("备份数据库"), str(default),
                                                    _("数据库备份 (*.sqlite3)"))
    if not path:
        return None
    dest = Path(path) if Path(path).suffix else Path(path).with_suffix(".sqlite3")

    def done(info: BackupInfo) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, _("备份数据库"), _(
            "备份已保存并检查无误：\n{path}\n（{size}，{notices} 份公示）\n\n备份中有身份证号、账号等个人信息，请妥善保管，"
            "不要随意拷贝或外传。").format(path=info.path, size=_size_text(info.size), notices=info.notices),
            QMessageBox.StandardButton.Ok, parent)
        box.open()

    return (BackgroundOp(parent, lambda progress, cancel: backup_to(ctx, dest, env.user, progress, cancel))
            .with_progress(_("正在备份数据库……"))
            .on_success(done)
            .on_failure(lambda exc: show_error(parent, exc))
            .run())


# ---------------------------------------------------------------------------- restore
class RestoreConfirmDialog(QDialog):
    """The strong confirmation: what will be replaced, and the word to type."""

    def __init__(self, info: BackupInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("从备份恢复数据库"))
        self.setMinimumWidth(600)
        self.word = _("恢复")
        local = info.modified.astimezone().strftime("%Y-%m-%d %H:%M")
        facts = QFormLayout()
        facts.addRow(_("备份文件"), QLabel(info.path.name, self))
        facts.addRow(_("保存时间"), QLabel(local, self))
        facts.addRow(_("乡镇"), QLabel(info.township or _("（未设置）"), self))
        facts.addRow(_("内容"), QLabel(_("{notices} 份公示，{users} 个用户，{size}").format(
            notices=info.notices, users=info.users, size=_size_text(info.size)), self))
        warning = QLabel(_(
            "恢复会用这个备份替换本机现在的全部数据。备份之后所做的修改（包括尚未同步到县里的修改）将不再出现在本机。\n"
            "现在的数据库会先自动另存到备份文件夹，必要时可以再恢复回来。\n恢复后程序会重新启动，请先保存并关闭正在编辑的公示。"),
            self)
        warning.setWordWrap(True)
        warning.setStyleSheet(ERROR_STYLE)
        self.confirm_edit = QLineEdit(self)
        self.confirm_edit.setPlaceholderText(self.word)
        self.confirm_edit.textChanged.connect(self._on_confirm_edit_text_changed)
        self.buttons = QDialogButtonBox(self)
        self.ok_button = self.buttons.addButton(_("恢复数据库"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(facts)
        layout.addWidget(warning)
        layout.addWidget(QLabel(_("确认恢复，请输入“{word}”：").format(word=self.word), self))
        layout.addWidget(self.confirm_edit)
        layout.addWidget(self.buttons)

    def _on_confirm_edit_text_changed(self, text: str) -> None:
        self.ok_button.setEnabled(text.strip() == self.word)


def restart_application() -> None:
    """Start the app again and quit this instance (after a restore everything in memory is stale)."""
    from PySide6.QtCore import QProcess
    from PySide6.QtWidgets import QApplication

    QProcess.startDetached(sys.executable, sys.argv)
    QApplication.quit()


class RestoreFlow(QObject):
    """File → check (background) → strong confirmation → restore (background) → restart."""

    finished = Signal(object)  # RestoreResult, or None when the clerk stopped

    def __init__(self, env: UiEnv, parent: QWidget) -> None:
        super().__init__(parent)
        self.env = env
        self.parent_widget = parent
        self.inspect_op: BackgroundOp | None = None
        self.confirm_dialog: RestoreConfirmDialog | None = None
        self.restore_op: BackgroundOp | None = None
        self.restart_box: QMessageBox | None = None
        self.source: Path | None = None

    def start(self, path: str | Path | None = None) -> bool:
        try:
            UserService(self.env.ctx).require(self.env.user.id, "admin")
        except AppError as err:
            show_error(self.parent_widget, err)
            return False
        if path is None:
            path, _filter = QFileDialog.getOpenFileName(
                self.parent_widget, _("选择要恢复的备份"), str(backup_folder(self.env.ctx)),
                _("数据库备份 (*.sqlite3);;所有文件 (*)"))
        if not path:
            return False
        self.source = Path(path)
        source = self.source
        self.inspect_op = (BackgroundOp(self.parent_widget, lambda progress, cancel: inspect_backup(source))
                           .with_progress(_("正在检查备份文件……"))
                           .on_success(self._on_inspected)
                           .on_failure(self._on_failed)
                           .run())
        return True

    def _on_inspected(self, info: BackupInfo) -> None:
        self.confirm_dialog = RestoreConfirmDialog(info, self.parent_widget)
        self.confirm_dialog.accepted.connect(self._on_confirmed)
        self.confirm_dialog.rejected.connect(lambda: self.finished.emit(None))
        self.confirm_dialog.open()

    def _on_confirmed(self) -> None:
        ctx, user, source = self.env.ctx, self.env.user, self.source
        self.restore_op = (BackgroundOp(self.parent_widget, lambda progress, cancel: restore_from(ctx, source, user))
                           .with_progress(_("正在恢复数据库……"))
                           .on_success(self._on_restored)
                           .on_failure(self._on_failed)
                           .run())

    def _on_restored(self, result: RestoreResult) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, _("从备份恢复数据库"), _(
            "数据库已从“{file}”恢复。原来的数据库已另存为“{safety}”。\n程序现在需要重新启动。").format(
            file=result.source.name, safety=result.safety_backup.name),
            QMessageBox.StandardButton.Ok, self.parent_widget)
        box.button(QMessageBox.StandardButton.Ok).setText(_("重新启动"))
        box.finished.connect(lambda _code: restart_application())
        box.open()
        self.restart_box = box
        self.finished.emit(result)

    def _on_failed(self, exc: BaseException) -> None:
        show_error(self.parent_widget, exc)
        self.finished.emit(None)


def restore_database(env: UiEnv, parent: QWidget, path: str | Path | None = None) -> RestoreFlow:
    """Replace the database with a backup (administrators only), then restart the app."""
    flow = RestoreFlow(env, parent)
    flow.start(path)
    return flow
