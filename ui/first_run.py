"""First run: a workstation without a township either gets the demo township (to try the program)
or is enrolled with the county server, gets a first administrator account and fetches the
township's reference data with a first sync. A workstation that has a township but nobody who
could sign in (e.g. enrolled from the command line) starts at the account page."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.context import Context
from app.errors import AppError
from app.i18n import _
from app.maintenance import workstation_state
from app.users import ROLE_LABELS, UserService
from sync.operations import default_device_name, enroll, normalise_server_url, run_sync
from sync.status import SyncRun, sync_status
from ui.background import BackgroundOp
from ui.common import ERROR_STYLE, show_error

CHOICE, DEMO, ENROL, ACCOUNT, FIRST_SYNC = range(5)


def _label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    return label


def _indented(text: str, parent: QWidget) -> QLabel:
    label = _label(text, parent)
    label.setContentsMargins(24, 0, 0, 0)
    return label


def _error_label(parent: QWidget) -> QLabel:
    label = _label("", parent)
    label.setStyleSheet(ERROR_STYLE)
    return label


class ChoicePage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(_("欢迎使用公开栏"))
        self.setSubTitle(_("这台电脑上还没有乡镇数据。请选择怎样开始。"))
        self.demo_radio = QRadioButton(_("创建演示数据（试用）"), self)
        self.enrol_radio = QRadioButton(_("注册到县级服务器（正式使用）"), self)
        self.enrol_radio.setChecked(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.enrol_radio)
        layout.addWidget(_indented(_("用县政务公开办提供的网址和一次性注册码注册本工作站，然后从县里接收本乡镇的村、项目、"
                                  "公示期限和节假日安排。需要联网（之后可以离线工作，用U盘同步）。"), self))
        layout.addSpacing(12)
        layout.addWidget(self.demo_radio)
        layout.addWidget(_indented(_("创建一个虚构的乡镇“云岭县石门镇”，含 9 个村、各种状态的公示、名单、公开栏和异议，"
                                  "用来熟悉软件。演示数据里的人员都是虚构的。正式使用请换一个数据文件夹。"), self))
        layout.addStretch(1)

    def nextId(self) -> int:  # noqa: N802 (Qt override)
        return DEMO if self.demo_radio.isChecked() else ENROL


class _WorkPage(QWizardPage):
    """A last page that runs one long task as soon as it is shown, with its progress, and
    offers Finish once the task has ended."""

    def __init__(self, ctx: Context, title: str, subtitle: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.op: BackgroundOp | None = None
        self.done = False
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.message = _label("", self)
        self.page_layout = QVBoxLayout(self)
        self.page_layout.addWidget(self.progress)
        self.page_layout.addWidget(self.message)

    def work(self, progress, cancel):
        """The task, run by the one background helper."""
        raise NotImplementedError

    def initializePage(self) -> None:  # noqa: N802 (Qt override)
        if self.done or self.op is not None:
            return
        self.op = (BackgroundOp(self, self.work)
                   .on_progress(self._on_op_progressed)
                   .on_success(self._on_op_succeeded)
                   .on_failure(self._on_op_failed)
                   .run())

    def _on_op_progressed(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(min(done, total) if total else 0)
        if message:
            self.message.setText(message)

    def _finish(self, done: bool) -> None:
        self.op = None
        self.done = done
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if done else 0)
        self.completeChanged.emit()

    def _on_op_succeeded(self, result) -> None:
        raise NotImplementedError

    def _on_op_failed(self, exc: BaseException) -> None:
        raise NotImplementedError

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return self.done

    def nextId(self) -> int:  # noqa: N802 (Qt override)
        return -1


class DemoPage(_WorkPage):
    """Creates the demo township as soon as it is shown; Finish becomes available afterwards."""

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, _("创建演示数据"), _("正在创建演示乡镇，大约需要几秒钟。"), parent)
        self.summary = None
        self.accounts = _label("", self)
        self.accounts.setTextFormat(Qt.TextFormat.RichText)
        self.page_layout.addWidget(self.accounts)
        self.page_layout.addStretch(1)

    def work(self, progress, cancel):
        from app.demo import create_demo

        return create_demo(self.ctx, progress=progress, cancel=cancel)

    def _on_op_succeeded(self, summary) -> None:
        from app.demo import DEMO_PASSWORD

        self.summary = summary
        self.setSubTitle(_("演示数据已创建。"))
        self.message.setText("\n".join([_("演示乡镇已创建：{villages} 个村，{notices} 份公示，{rows} 行名单明细。").format(
            villages=summary.villages, notices=summary.notices, rows=summary.rows), *summary.notes]))
        names = {u.username: u.display_name for u in UserService(self.ctx).list()}
        lines = "".join(
            f"<tr><td><b>{username}</b></td><td>&nbsp;&nbsp;{_(ROLE_LABELS[role])}</td>"
            f"<td>&nbsp;&nbsp;{names.get(username, '')}</td></tr>"
            for username, role in summary.users.items())
        self.accounts.setText(
            _("请用下面的演示账户登录，密码都是 <b>{password}</b>：").format(password=DEMO_PASSWORD)
            + f"<table style='margin-top:8px'>{lines}</table>"
            + "<p>" + _("经办人负责录入和导入名单，审核人负责审核，管理员可以管理用户和备份。") + "</p>")
        self._finish(True)

    def _on_op_failed(self, exc: BaseException) -> None:
        self._finish(False)
        self.message.setText(_("演示数据没有创建成功。"))
        show_error(self, exc)


class EnrolPage(QWizardPage):
    """Server URL and one-time code; Next registers the workstation (off the GUI thread)."""

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.op: BackgroundOp | None = None
        self.enrolled_with: tuple[str, str] | None = None
        self.setTitle(_("注册到县级服务器"))
        self.setSubTitle(_("请填写县政务公开办提供的服务器网址和一次性注册码。"))
        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText(_("例如 https://gongkai.example.gov.cn"))
        self.code_edit = QLineEdit(self)
        self.code_edit.setPlaceholderText(_("例如 K7QF-9ZRM-2WXA"))
        self.name_edit = QLineEdit(default_device_name(), self)
        self.error_label = _error_label(self)
        form = QFormLayout()
        form.addRow(_("县级服务器网址"), self.url_edit)
        form.addRow(_("注册码"), self.code_edit)
        form.addRow(_("工作站名称"), self.name_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_label(_("注册码只能用一次，通常在 72 小时内有效。注册后本机只与本乡镇的数据同步。"), self))
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self.url_edit.textChanged.connect(self.completeChanged)
        self.code_edit.textChanged.connect(self.completeChanged)

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return bool(self.url_edit.text().strip() and self.code_edit.text().strip()) and self.op is None

    def validatePage(self) -> bool:  # noqa: N802 (Qt override)
        entered = (self.url_edit.text().strip(), self.code_edit.text().strip())
        if self.enrolled_with == entered:
            return True  # came back with Back: already registered with these
        try:
            normalise_server_url(entered[0])
        except AppError as err:
            self.error_label.setText(str(err))
            return False
        ctx, name = self.ctx, self.name_edit.text()
        self.error_label.setText(_("正在连接县级服务器……"))
        self.op = (BackgroundOp(self, lambda progress, cancel: enroll(ctx, entered[0], entered[1], name))
                   .on_success(lambda _township: self._on_enrolled(entered))
                   .on_failure(self._on_failed)
                   .run())
        self.completeChanged.emit()
        return False  # the wizard moves on when the county has answered

    def _on_enrolled(self, entered: tuple[str, str]) -> None:
        self.op = None
        self.enrolled_with = entered
        self.error_label.clear()
        self.completeChanged.emit()
        self.wizard().next()

    def _on_failed(self, exc: BaseException) -> None:
        self.op = None
        self.completeChanged.emit()
        if isinstance(exc, AppError):
            self.error_label.setText(str(exc))
        else:
            self.error_label.clear()
            show_error(self, exc)

    def nextId(self) -> int:  # noqa: N802 (Qt override)
        return ACCOUNT


class AccountPage(QWizardPage):
    """The first administrator of this workstation (accounts are local, not synced)."""

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.created = None
        self.setTitle(_("创建管理员账户"))
        self.setSubTitle(_("账户只保存在这台电脑上。管理员可以在“设置 → 用户”中为经办人和审核人创建账户。"))
        self.display_name_edit = QLineEdit(self)
        self.username_edit = QLineEdit("admin", self)
        self.password_edit = QLineEdit(self)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(_("至少 8 个字符"))
        self.password_again_edit = QLineEdit(self)
        self.password_again_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.error_label = _error_label(self)
        form = QFormLayout()
        form.addRow(_("姓名"), self.display_name_edit)
        form.addRow(_("用户名"), self.username_edit)
        form.addRow(_("密码"), self.password_edit)
        form.addRow(_("再次输入密码"), self.password_again_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)

    def validatePage(self) -> bool:  # noqa: N802 (Qt override)
        if self.created is not None:
            return True
        if self.password_edit.text() != self.password_again_edit.text():
            self.error_label.setText(_("两次输入的密码不一致。"))
            return False
        try:
            self.created = UserService(self.ctx).create(self.username_edit.text(), self.display_name_edit.text(),
                                                        "admin", self.password_edit.text())
        except AppError as err:
            self.error_label.setText(str(err))
            return False
        self.error_label.clear()
        return True

    def nextId(self) -> int:  # noqa: N802 (Qt override)
        return FIRST_SYNC if sync_status(self.ctx).enrolled else -1


class FirstSyncPage(_WorkPage):
    """The first sync after enrolment: the township's villages, programs and calendar arrive."""

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, _("第一次同步"), _("正在从县里接收本乡镇的数据……"), parent)
        self.run: SyncRun | None = None
        self.page_layout.addStretch(1)

    def work(self, progress, cancel):
        return run_sync(self.ctx, progress, cancel)

    def _on_op_succeeded(self, run: SyncRun) -> None:
        self.run = run
        self._finish(True)
        state = workstation_state()
        self.setSubTitle(_("设置完成。"))
        self.message.setText(_("已从县里接收 {n} 项数据（{township}）。请用刚才创建的管理员账户登录。").format(
            n=run.pulled, township=state.township_name or _("本乡镇")))

    def _on_op_failed(self, exc: BaseException) -> None:
        self._finish(True)  # enrolled all the same: the clerk may sign in and sync later
        self.setSubTitle(_("注册成功，但第一次同步没有完成。"))
        self.message.setText(_("{error}\n\n可以先登录，稍后在“同步”页点“立即同步”重试。").format(
            error=str(exc) if isinstance(exc, AppError) else _("出现了意外错误。")))
        self.message.setStyleSheet(ERROR_STYLE)


class FirstRunWizard(QWizard):
    """Shown at start-up while the workstation has no township, or nobody who can sign in."""

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("公开栏 — 首次设置"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setMinimumSize(720, 520)
        self.setButtonText(QWizard.WizardButton.NextButton, _("下一步"))
        self.setButtonText(QWizard.WizardButton.BackButton, _("上一步"))
        self.setButtonText(QWizard.WizardButton.FinishButton, _("完成"))
        self.setButtonText(QWizard.WizardButton.CancelButton, _("取消"))
        self.choice_page = ChoicePage(self)
        self.demo_page = DemoPage(ctx, self)
        self.enrol_page = EnrolPage(ctx, self)
        self.account_page = AccountPage(ctx, self)
        self.first_sync_page = FirstSyncPage(ctx, self)
        for page_id, page in ((CHOICE, self.choice_page), (DEMO, self.demo_page), (ENROL, self.enrol_page),
                              (ACCOUNT, self.account_page), (FIRST_SYNC, self.first_sync_page)):
            self.setPage(page_id, page)
        state = workstation_state()
        self.setStartId(ACCOUNT if state.has_township else CHOICE)

    @property
    def suggested_username(self) -> str:
        """Who is likely to sign in next (pre-filled in the login dialog)."""
        if self.account_page.created is not None:
            return self.account_page.created.username
        summary = self.demo_page.summary
        if summary is not None:
            return next((u for u, role in summary.users.items() if role == "preparer"), "")
        return ""

    def busy(self) -> bool:
        return any(p.op is not None for p in (self.demo_page, self.enrol_page, self.first_sync_page))

    def reject(self) -> None:
        if self.busy():
            return  # half-created data is worse than waiting a few seconds
        super().reject()
