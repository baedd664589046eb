"""Small dialogs of the notice editor: a required comment or reason, the village review sign-off,
and creating a new notice. Each is opened with ``open()`` (never ``exec()``), so tests fill it in
and click its buttons like a clerk."""

from __future__ import annotations

import re
from datetime import date

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import AppError
from app.i18n import _
from app.notices import NoticeService
from app.reference import ReferenceService
from app.settings import local_township_id
from ui.common import NOTE_STYLE, Changes, UiEnv, show_error
from ui.notice_parts import days_text

_NAME_SEPARATORS = re.compile(r"[、,，;；\s]+")


def _qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


class TextPromptDialog(QDialog):
    """Asks for a text that may not be empty (a return comment, a withdrawal reason)."""

    text_accepted = Signal(str)

    def __init__(self, parent: QWidget, title: str, prompt: str, ok_text: str, placeholder: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        label = QLabel(prompt, self)
        label.setWordWrap(True)
        self.text_edit = QPlainTextEdit(self)
        self.text_edit.setPlaceholderText(placeholder)
        self.text_edit.setTabChangesFocus(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.text_edit.textChanged.connect(
            lambda: self.ok_button.setEnabled(bool(self.text_edit.toPlainText().strip())))
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.text_edit)
        layout.addWidget(self.buttons)

    def _on_buttons_accepted(self) -> None:
        self.text_accepted.emit(self.text_edit.toPlainText().strip())
        self.accept()


class VillageReviewDialog(QDialog):
    """Records the paper sign-off of the 村两委 / 村务监督委员会: body, signers and date."""

    review_entered = Signal(str, list, object)  # body, names, date

    def __init__(self, parent: QWidget, village: str, today: date) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("记录村级审核签字"))
        self.setMinimumWidth(500)
        intro = QLabel(_("村两委或村务监督委员会已在纸质公示稿上审核内容、时间和程序并签字后，在此记录。"
                         "签字信息将打印在公示上。"), self)
        intro.setWordWrap(True)
        self.body = QComboBox(self)
        self.body.setEditable(True)
        # the body's name is printed on the (Chinese) notice, so it is never translated
        for body in ("村务监督委员会", "村民委员会", "村两委"):
            self.body.addItem(f"{village}{body}")
        self.names = QLineEdit(self)
        self.names.setPlaceholderText(_("如：李德明、陈秀英"))
        self.signed_on = QDateEdit(self)
        self.signed_on.setCalendarPopup(True)
        self.signed_on.setDisplayFormat("yyyy-MM-dd")
        self.signed_on.setMaximumDate(_qdate(today))
        self.signed_on.setDate(_qdate(today))
        form = QFormLayout()
        form.addRow(_("审核机构"), self.body)
        form.addRow(_("签字人"), self.names)
        form.addRow(_("签字日期"), self.signed_on)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.addButton(_("记录签字"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setEnabled(False)
        self.names.textChanged.connect(lambda _text: self.ok_button.setEnabled(bool(self.signer_names())))
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def signer_names(self) -> list[str]:
        return [n for n in _NAME_SEPARATORS.split(self.names.text()) if n]

    def _on_buttons_accepted(self) -> None:
        d = self.signed_on.date()
        self.review_entered.emit(self.body.currentText().strip(), self.signer_names(),
                                 date(d.year(), d.month(), d.day()))
        self.accept()


class NewNoticeDialog(QDialog):
    """Create a draft notice: type (公开事项), program, village and title."""

    created = Signal(str)  # notice id

    def __init__(self, env: UiEnv, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._env = env
        self._notices = NoticeService(env.ctx)
        reference = ReferenceService(env.ctx)
        self._programs = reference.programs()
        township_id = local_township_id()
        self._villages = reference.regions("village", township_id) if township_id else []
        self.setWindowTitle(_("新建公示"))
        self.setMinimumWidth(560)

        self.notice_type = QComboBox(self)
        order = {"subsidy": 0, "poverty_fund": 1, "land": 2, "village_affairs": 3}
        for t in sorted(self._notices.notice_types(), key=lambda t: (order.get(t.category, 9), t.code)):
            self.notice_type.addItem(_(t.name), t)
        self.program = QComboBox(self)
        self.village = QComboBox(self)
        self.village.addItem(_("— 请选择 —"), None)
        self.village.addItem(_("全镇（乡镇级公示）"), "")
        for v in self._villages:
            self.village.addItem(v.name, v.id)
        self.title = QLineEdit(self)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(NOTE_STYLE)
        form = QFormLayout()
        form.addRow(_("公开事项"), self.notice_type)
        form.addRow(_("项目"), self.program)
        form.addRow(_("村"), self.village)
        form.addRow(_("标题"), self.title)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.create_button: QPushButton = self.buttons.addButton(_("创建草稿"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)

        self.notice_type.currentIndexChanged.connect(self._on_notice_type_current_index_changed)
        self.program.currentIndexChanged.connect(lambda _i: self._update())
        self.village.currentIndexChanged.connect(lambda _i: self._update())
        self._on_notice_type_current_index_changed(self.notice_type.currentIndex())
        if not env.can("preparer", "admin"):
            self.create_button.setEnabled(False)
            self.create_button.setToolTip(_("只有经办人可以新建公示。"))

    def _on_notice_type_current_index_changed(self, _index: int) -> None:
        chosen = self.notice_type.currentData()
        self.program.blockSignals(True)
        self.program.clear()
        for p in self._programs:
            if chosen is not None and p.notice_type_id == chosen.id:
                self.program.addItem(p.name, p.id)
        self.program.addItem(_("（不关联具体项目）"), "")
        self.program.blockSignals(False)
        self._update()

    def _choice(self) -> tuple[str | None, str | None]:
        program = self.program.currentData() or None
        village = self.village.currentData()
        return program, (village or None)

    def _update(self) -> None:
        chosen = self.notice_type.currentData()
        if chosen is None:
            self.create_button.setEnabled(False)
            return
        program, village = self._choice()
        self.title.setPlaceholderText(
            _("留空则使用：{title}").format(title=self._notices.suggest_title(chosen.id, program, village)))
        level = {"村": _("村级"), "乡": _("乡镇级"), "县": _("县级")}.get(chosen.level, chosen.level)
        self.hint.setText(_("公示期不少于{period}；公开层级：{level}。").format(
            period=days_text(chosen.min_days, chosen.day_unit), level=level))
        self.create_button.setEnabled(self.village.currentData() is not None and self._env.can("preparer", "admin"))

    def _on_buttons_accepted(self) -> None:
        chosen = self.notice_type.currentData()
        program, village = self._choice()
        header = {"title": self.title.text().strip()} if self.title.text().strip() else {}
        try:
            nid = self._notices.create(self._env.user.id, notice_type_id=chosen.id, program_id=program,
                                       village_id=village, **header)
        except AppError as err:
            show_error(self, err)
            return
        self._env.bus.changed.emit(Changes(notices=True))
        self.created.emit(nid)
        self.accept()
