"""Sign-in: username and password, checked by UserService; the dialog's ``user`` afterwards."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.context import Context
from app.errors import AppError
from app.i18n import _
from app.maintenance import workstation_state
from app.preferences import last_username, remember_username
from app.users import UserInfo, UserService
from ui.common import ERROR_STYLE


class LoginDialog(QDialog):
    def __init__(self, ctx: Context, parent: QWidget | None = None, username: str | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.user: UserInfo | None = None
        self.setWindowTitle(_("登录 — 公开栏"))
        self.setMinimumWidth(420)
        township = workstation_state().township_name
        self.heading = heading = QLabel(_("{township} 村务政务公开栏").format(township=township) if township
                         else _("村务政务公开栏"), self)
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        heading.setFont(font)
        self.username_edit = QLineEdit(username if username is not None else last_username(), self)
        self.password_edit = QLineEdit(self)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        form = QFormLayout()
        form.addRow(_("用户名"), self.username_edit)
        form.addRow(_("密码"), self.password_edit)
        self.buttons = QDialogButtonBox(self)
        self.login_button = self.buttons.addButton(_("登录"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.quit_button = self.buttons.addButton(_("退出"), QDialogButtonBox.ButtonRole.RejectRole)
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self.try_login)
        self.quit_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        (self.password_edit if self.username_edit.text() else self.username_edit).setFocus()

    def try_login(self) -> bool:
        """Check the credentials; on success remember the user and accept."""
        username = self.username_edit.text().strip()
        if not username or not self.password_edit.text():
            self.error_label.setText(_("请输入用户名和密码。"))
            return False
        try:
            self.user = UserService(self.ctx).authenticate(username, self.password_edit.text())
        except AppError as err:
            self.error_label.setText(str(err))
            self.password_edit.clear()
            self.password_edit.setFocus()
            return False
        remember_username(self.ctx, self.user.username)
        self.error_label.clear()
        self.accept()
        return True
