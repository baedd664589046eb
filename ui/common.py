"""What every widget of the desktop app shares: the environment it works in, the change bus and
the one way errors are shown."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QWidget

from app.context import Context
from app.errors import AppError
from app.i18n import _
from app.users import UserInfo

# The few colours that carry meaning in every screen.
RED = QColor("#b3261e")  # an error; overdue, invalid, must be taken down
AMBER = QColor("#8a5a00")  # a warning; due soon
GREEN = QColor("#2e7d32")  # done, saved
GREY = QColor("#6b6b6b")  # a note; no longer current


def text_style(colour: QColor) -> str:
    """The style sheet of a label written in one of the colours above."""
    return f"color: {colour.name()};"


ERROR_STYLE = text_style(RED)
WARNING_STYLE = text_style(AMBER)
SUCCESS_STYLE = text_style(GREEN)
NOTE_STYLE = text_style(GREY)


@dataclass(frozen=True)
class Changes:
    """What a mutation changed; views refresh what concerns them."""

    notices: bool = False
    rows: bool = False
    boards: bool = False
    objections: bool = False
    sync: bool = False
    reference: bool = False
    users: bool = False

    @classmethod
    def everything(cls) -> Changes:
        return cls(**{f.name: True for f in fields(cls)})


class ChangeBus(QObject):
    """The one signal that tells views what to refresh, and requests to open things. No widget
    calls another widget's ``refresh()``."""

    changed = Signal(object)  # Changes
    notice_open_requested = Signal(str)  # notice id
    region_selected = Signal(object)  # region id or None for the whole township


@dataclass(frozen=True)
class UiEnv:
    """Handed to every page: the services' context, the signed-in user and the change bus."""

    ctx: Context
    user: UserInfo
    bus: ChangeBus

    def can(self, *roles: str) -> bool:
        return self.user.role in roles


def show_error(parent: QWidget | None, err: BaseException, title: str | None = None) -> QMessageBox:
    """Show an error as a clerk should see it: what happened and what to do, with the technical
    details folded away (and copyable). Never a raw exception text as the message."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title or _("公开栏"))
    if isinstance(err, AppError):
        box.setText(str(err))
        if err.details:
            box.setDetailedText(err.details)
    else:
        box.setText(_("出现了意外错误，操作没有完成。已保存的数据是安全的。\n请把详细信息复制给县里的技术人员。"))
        box.setDetailedText("".join(traceback.format_exception(err)))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.open()
    return box


def apply_change(parent: QWidget, env: UiEnv, changes: Changes, action: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``action``, a quick service call that changes data: on success tell every view what
    changed and return (True, its result); on failure show the error to the clerk and return
    (False, None)."""
    try:
        result = action()
    except Exception as exc:  # noqa: BLE001 - every failure is shown to the clerk
        show_error(parent, exc)
        return False, None
    env.bus.changed.emit(changes)
    return True, result


def ok_cancel_buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    """OK (named ``ok_text``) and Cancel, wired to the dialog's ``submit`` and ``reject``."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("取消"))
    buttons.accepted.connect(dialog.submit)
    buttons.rejected.connect(dialog.reject)
    return buttons
