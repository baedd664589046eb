"""The notice editor: one notice in a tab of the main window.

At the top the title, state and lifecycle buttons (each enabled only when the service says the
signed-in user may take that step now; the service still decides); below, three pages: the
roster (清册) with inline validation marks, filter and running totals; the notice's content
(header fields from the type's template); and the review page (sign-offs, posting period and how
it was computed, fingerprint). Lifecycle steps run on a worker thread: publishing a 100,000-row
roster fingerprints all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import AppError
from app.exports import ExportService
from app.i18n import _
from app.money import format_yuan
from app.notices import MONEY_CATEGORIES, STATUS_LABELS, NoticeDetail, NoticeService
from ui.background import BackgroundOp
from ui.common import NOTE_STYLE, SUCCESS_STYLE, Changes, UiEnv, show_error
from ui.notice_dialogs import NewNoticeDialog, TextPromptDialog, VillageReviewDialog
from ui.notice_parts import HeaderForm, ReviewPanel, days_text
from ui.roster_panel import RosterPanel

__all__ = ["NewNoticeDialog", "NoticeEditor"]

STATUS_COLORS = {
    "draft": "#5f6368", "in_review": "#b06000", "approved": "#1a73e8", "published": "#188038",
    "closed": "#3c4043", "withdrawn": "#c5221f", "superseded": "#7b1fa2",
}
_YES, _NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


def _button_texts() -> dict[str, tuple[str, str]]:
    """Lifecycle buttons: text and what the step does (tooltip when enabled)."""
    return {
        "submit": (_("提交审核"), _("把草稿交给审核人审核；提交后不能再修改，除非被退回。")),
        "return": (_("退回修改…"), _("把公示退回经办人修改，须填写修改意见。")),
        "village_review": (_("村级审核签字…"), _("记录村两委或村务监督委员会对内容、时间和程序的审核签字。")),
        "approve": (_("审批通过"), _("以乡镇名义审批，签字记录将打印在公示上。")),
        "publish": (_("发布公示…"), _("冻结内容和名单，开始计算公示期。")),
        "correct": (_("更正公示…"), _("新建一版更正公示；原公示在更正发布前继续有效。")),
        "withdraw": (_("撤回…"), _("撤回已审批或公示中的公示，须填写原因。")),
        "close": (_("结束公示…"), _("公示期满且异议均已答复后，结束公示并归档。")),
    }


class NoticeEditor(QWidget):
    """One notice: content, roster, review and lifecycle."""

    #: a lifecycle step or save finished (its name: submit, publish, save …)
    action_done = Signal(str)
    action_failed = Signal(str)

    def __init__(self, env: UiEnv, notice_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._env = env
        self._service = NoticeService(env.ctx)
        self.notice_id = notice_id
        self.detail: NoticeDetail = self._service.detail(notice_id)
        self.actions: dict[str, str] = {}
        self.last_op: BackgroundOp | None = None
        self._busy = False
        self._notifying = False

        self.title_label = QLabel(self)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setWordWrap(True)
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label = QLabel(self)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.info_label = QLabel(self)
        self.info_label.setTextFormat(Qt.TextFormat.PlainText)
        self.info_label.setStyleSheet(NOTE_STYLE)
        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setStyleSheet("background: #fff3cd; border: 1px solid #e0c46c; padding: 6px;")
        # one writer per notice: on another workstation's notice, ask the county to hand it over
        self.request_button = QPushButton(_("申请由本机接手…"), self)
        self.request_button.setToolTip(_("请县里把这份公示移交给本机办理（需要联网）。"))
        self.request_button.clicked.connect(self.request_handover)
        self.notice_message = QLabel(self)
        self.notice_message.setStyleSheet(SUCCESS_STYLE)

        self.buttons: dict[str, QPushButton] = {}
        actions_row = QHBoxLayout()
        actions_row.setSpacing(6)
        handlers: dict[str, Callable[[], Any]] = {
            "submit": self.submit, "return": self.return_for_changes, "village_review": self.record_village_review,
            "approve": self.approve, "publish": self.publish, "correct": self.correct, "withdraw": self.withdraw,
            "close": self.close_notice,
        }
        for action, (text, _tip) in _button_texts().items():
            button = QPushButton(text, self)
            button.clicked.connect(lambda _checked=False, fn=handlers[action]: fn())
            self.buttons[action] = button
            actions_row.addWidget(button)
        self.notice_message.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        actions_row.addWidget(self.notice_message, 1)
        actions_row.addSpacing(12)
        self.print_button = QPushButton(_("打印预览…"), self)
        self.print_button.clicked.connect(self.open_print_preview)
        self.export_button = QToolButton(self)
        self.export_button.setText(_("导出"))
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.setToolTipsVisible(True)  # the payment entry says why it is disabled
        self.export_actions: dict[str, QAction] = {}
        for view, text in (("public", _("公示名单（已隐去个人信息）…")), ("internal", _("内部清册（含个人信息）…")),
                           ("payment", _("一卡通发放表（含个人信息）…"))):
            act = menu.addAction(text)
            act.triggered.connect(lambda _checked=False, v=view: self.export(v))
            self.export_actions[view] = act
        self.export_button.setMenu(menu)
        actions_row.addWidget(self.print_button)
        actions_row.addWidget(self.export_button)

        title_row = QHBoxLayout()
        title_row.addWidget(self.title_label, 1)
        title_row.addWidget(self.status_label, 0, Qt.AlignmentFlag.AlignTop)

        self.roster = RosterPanel(env, notice_id, self.detail.roster_schema, self)
        self.header_form = HeaderForm(self)
        self.review = ReviewPanel(self)
        self.pages = QTabWidget(self)
        self.pages.addTab(self.roster, _("明细（清册）"))
        self.pages.addTab(self.header_form, _("公示内容"))
        self.pages.addTab(self.review, _("审核与公示期"))

        layout = QVBoxLayout(self)
        layout.addLayout(title_row)
        layout.addWidget(self.info_label)
        banner_row = QHBoxLayout()
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.request_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(banner_row)
        layout.addLayout(actions_row)
        layout.addWidget(self.pages, 1)

        self.roster.rows_changed.connect(self._on_roster_rows_changed)
        self.roster.totals_changed.connect(lambda _totals: self._show_totals_in_pages())
        self.header_form.save_requested.connect(self.save_header)
        env.bus.changed.connect(self._on_bus_changed)
        self.refresh()
        self._show_totals_in_pages()

    # ---------------------------------------------------------------------------- view
    def tab_title(self) -> str:
        title = self.detail.title
        return title if len(title) <= 18 else title[:17] + "…"

    def refresh(self) -> None:
        """Read the notice again and show it; unsaved content edits are kept."""
        d = self.detail = self._service.detail(self.notice_id)
        self.actions = self._service.actions(self.notice_id, self._env.user.id, self.roster.totals)
        self.title_label.setText(d.title)
        color = STATUS_COLORS.get(d.status, "#5f6368")
        self.status_label.setText(_(STATUS_LABELS[d.status]))
        self.status_label.setStyleSheet(
            f"color: white; background: {color}; border-radius: 4px; padding: 3px 10px; font-weight: bold;")
        parts = [_(d.notice_type.name), d.village or _("全镇"), d.program, _("第 {n} 版").format(n=d.edition),
                 _("办理：{owner}").format(owner=d.owner) if d.owner else ""]
        if d.posting_start and d.posting_end:
            parts.append(_("公示期 {start} 至 {end}").format(start=d.posting_start.isoformat(),
                                                         end=d.posting_end.isoformat()))
        self.info_label.setText(" · ".join(p for p in parts if p))
        self._show_banner(d)
        self._update_buttons()
        self._update_payment_entry()
        self.roster.set_editable(self.actions["edit"])
        self.header_form.show_detail(d, self.actions["edit"])
        preview = None
        if d.posting_start is None and d.status in ("draft", "in_review", "approved"):
            try:
                preview = self._service.preview_period(self.notice_id)
            except AppError as err:
                preview = err
        self.review.show_detail(d, self._env.ctx.clock.today(), preview)
        self._update_tab_text()

    def _show_banner(self, d: NoticeDetail) -> None:
        text = ""
        if d.read_only:  # another workstation takes it through its lifecycle
            text = d.read_only
        elif d.status == "draft" and d.return_comment:
            text = _("审核人退回意见：{comment}").format(comment=d.return_comment)
        elif d.status == "withdrawn":
            text = _("本公示已撤回。原因：{reason}").format(reason=d.withdraw_reason)
        elif d.status == "superseded":
            text = _("本公示已被更正公示取代，请查看新的一版。")
        elif d.status == "published":
            text = _("本公示已发布，内容和名单已冻结；如需改动，请发布更正公示。")
        if d.page_down:  # the county's word comes first
            text = d.page_down + ("\n" + text if text else "")
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self.request_button.setVisible(bool(d.read_only))

    def _update_buttons(self) -> None:
        texts = _button_texts()
        for action, button in self.buttons.items():
            reason = self.actions.get(action, "")
            button.setEnabled(not reason and not self._busy)
            button.setToolTip(reason or texts[action][1])
        self.request_button.setEnabled(not self._busy)

    def _update_payment_entry(self) -> None:
        """The 一卡通 entry only once the money may be released; until then it says why, in the
        words the service refuses with."""
        reason = ExportService(self._env.ctx).payment_blocker(self.notice_id, self.roster.totals)
        entry = self.export_actions["payment"]
        entry.setEnabled(not reason)
        tip = reason or _("公示已结束，没有未办结的异议，名单没有错误：可以导出交银行发放。导出会记入操作记录。")
        entry.setToolTip(tip)
        entry.setStatusTip(tip)

    def _show_totals_in_pages(self) -> None:
        t = self.roster.totals
        if t is not None:
            label = _("明细（清册）{rows} 行").format(rows=t.rows)
            if t.error_rows:
                label += " ⚠"
            self.pages.setTabText(0, label)

    def _update_tab_text(self) -> None:
        # the main window shows this editor in a tab named after the notice
        tabs = self.parentWidget().parentWidget() if self.parentWidget() else None
        if isinstance(tabs, QTabWidget) and tabs.indexOf(self) >= 0:
            tabs.setTabText(tabs.indexOf(self), self.tab_title())

    def can_close(self) -> bool:
        """False when the clerk chose to keep the tab open (unsaved content)."""
        if not self.header_form.is_dirty():
            return True
        answer = QMessageBox.question(
            self, _("未保存的修改"), _("公示内容有未保存的修改。要保存吗？"),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save_header()
        return answer == QMessageBox.StandardButton.Discard

    # ------------------------------------------------------------------------- content
    def save_header(self) -> bool:
        changed = self.header_form.changed_values()
        if not changed:
            return True
        try:
            self._service.update_header(self.notice_id, self._env.user.id, **changed)
        except AppError as err:
            show_error(self, err)
            self.action_failed.emit("save")
            return False
        self.header_form.set_values({**self.header_form.values()})
        self._after("save", _("内容已保存。"))
        return True

    # ----------------------------------------------------------------------- lifecycle
    def _run(self, action: str, progress_label: str, work: Callable[[], Any], done_message: str,
             then: Callable[[Any], None] | None = None) -> BackgroundOp:
        """Run one lifecycle step on a worker thread with buttons disabled meanwhile."""
        self._busy = True
        self._update_buttons()
        op = BackgroundOp(self, lambda _progress, _cancel: work()).with_progress(progress_label)

        def succeeded(result: Any) -> None:
            self._busy = False
            self._after(action, done_message)
            if then is not None:
                then(result)

        def failed(exc: BaseException) -> None:
            self._busy = False
            self.refresh()
            show_error(self, exc)
            self.action_failed.emit(action)

        op.on_success(succeeded).on_failure(failed)
        op.finished.connect(op.deleteLater)
        self.last_op = op
        return op.run()

    def request_handover(self) -> BackgroundOp:
        """Ask the county, over the network, to hand this notice over to this workstation."""
        from sync.client import SyncClient

        ctx, notice_id = self._env.ctx, self.notice_id
        return self._run("request_handover", _("正在向县里申请……"),
                         lambda: SyncClient(ctx).request_handover(notice_id),
                         _("已向县里申请接手。县里移交后，同步一次即可在本机办理。"))

    def _after(self, action: str, message: str) -> None:
        self.refresh()
        self.notice_message.setText(message)
        self._notify(Changes(notices=True))
        self.action_done.emit(action)

    def _notify(self, changes: Changes) -> None:
        self._notifying = True
        try:
            self._env.bus.changed.emit(changes)
        finally:
            self._notifying = False

    def _confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text, _YES | _NO, _NO) == _YES

    def _user(self) -> str:
        return self._env.user.id

    def submit(self) -> BackgroundOp | None:
        if self.header_form.is_dirty() and not self.save_header():
            return None
        return self._run("submit", _("正在提交审核……"), lambda: self._service.submit(self.notice_id, self._user()),
                         _("已提交审核。"))

    def return_for_changes(self) -> TextPromptDialog:
        dialog = TextPromptDialog(self, _("退回修改"), _("请填写修改意见，经办人将看到这些意见："), _("退回"),
                                  _("如：二组王某某的面积与台账不符，请核实。"))
        dialog.text_accepted.connect(lambda comment: self._run(
            "return", _("正在退回……"),
            lambda: self._service.return_for_changes(self.notice_id, self._user(), comment), _("已退回经办人修改。")))
        dialog.open()
        return dialog

    def record_village_review(self) -> VillageReviewDialog:
        dialog = VillageReviewDialog(self, self.detail.village, self._env.ctx.clock.today())
        dialog.review_entered.connect(lambda body, names, day: self._run(
            "village_review", _("正在记录签字……"),
            lambda: self._service.record_village_review(self.notice_id, self._user(), body=body, names=names,
                                                        signed_on=day),
            _("已记录村级审核签字。")))
        dialog.open()
        return dialog

    def approve(self) -> BackgroundOp:
        return self._run("approve", _("正在审批……"), lambda: self._service.approve(self.notice_id, self._user()),
                         _("已审批通过，可以发布。"))

    def publish(self) -> BackgroundOp | None:
        try:
            period = self._service.preview_period(self.notice_id)
        except AppError as err:
            show_error(self, err)
            return None
        t = self.roster.totals or self._service.totals(self.notice_id)
        text = _(
            "发布后，本公示即被冻结：\n"
            "· 公示内容（标题、正文、联系人等）不能再修改；\n"
            "· 明细名单（共 {rows} 行，金额合计 {amount} 元）不能再修改；\n"
            "· 系统为公开版本生成核验指纹，打印件上的二维码核验的就是这一版。\n"
            "发布后如需改动，只能另行发布更正公示（新的一版）。\n\n"
            "公示期：{start} 起{period}，至 {end} 止。\n\n确定发布吗？"
        ).format(rows=t.rows, amount=format_yuan(t.total_fen), start=period.start.isoformat(),
                 period=days_text(period.days, period.unit), end=period.end.isoformat())
        if not self._confirm(_("发布公示"), text):
            return None
        return self._run("publish", _("正在发布：冻结内容并生成核验指纹……"),
                         lambda: self._service.publish(self.notice_id, self._user()),
                         _("已发布，请打印张贴。"))

    def correct(self) -> BackgroundOp | None:
        text = _("将以本公示为底稿新建一份更正公示（第 {edition} 版）草稿。原公示在更正公示发布前继续有效，"
                 "更正公示发布后原公示标记为“已更正”。\n\n确定开始更正吗？").format(edition=self.detail.edition + 1)
        if not self._confirm(_("更正公示"), text):
            return None
        return self._run("correct", _("正在新建更正公示……"),
                         lambda: self._service.correct(self.notice_id, self._user()),
                         _("已新建更正公示草稿。"), then=self._env.bus.notice_open_requested.emit)

    def withdraw(self) -> TextPromptDialog:
        dialog = TextPromptDialog(self, _("撤回公示"), _("请填写撤回原因（将记入操作记录，并同步到县里）："), _("撤回"),
                                  _("如：补贴面积统计口径有误，核实后重新公示。"))
        dialog.text_accepted.connect(lambda reason: self._run(
            "withdraw", _("正在撤回……"), lambda: self._service.withdraw(self.notice_id, self._user(), reason),
            _("已撤回。")))
        dialog.open()
        return dialog

    def close_notice(self) -> BackgroundOp | None:
        money = self.detail.notice_type.category in MONEY_CATEGORIES
        text = (_("结束公示后，本公示归档，不能再更正或撤回。\n本公示涉及资金：结束即记录公示期满且无未答复异议，"
                  "资金可以发放。\n\n确定结束公示吗？") if money
                else _("结束公示后，本公示归档，不能再更正或撤回。\n\n确定结束公示吗？"))
        if not self._confirm(_("结束公示"), text):
            return None
        return self._run("close", _("正在结束公示……"), lambda: self._service.close(self.notice_id, self._user()),
                         _("已结束公示。"))

    # ------------------------------------------------------------------ print and export
    def open_print_preview(self):
        try:
            from ui.print_preview import PrintPreviewDialog
        except ModuleNotFoundError as err:
            if err.name != "ui.print_preview":
                raise
            QMessageBox.information(self, _("打印预览"), _("本版本尚未安装打印预览。"))
            return None
        dialog = PrintPreviewDialog(self._env, self.notice_id, self)
        dialog.open()
        return dialog

    def export(self, view: str) -> BackgroundOp | None:
        """Ask where to save, then export; the internal views carry personal data and say so."""
        if view != "public" and not self._confirm(
                _("导出个人信息"),
                _("此文件含完整的身份证号码、银行账号和联系电话，仅供内部核对和发放使用。导出会记入操作记录；"
                  "请妥善保管，不要张贴或外传。\n\n确定导出吗？")):
            return None
        names = {"public": _("公示名单"), "internal": _("内部清册"), "payment": _("一卡通发放表")}
        suggested = f"{self.detail.title[:40]}-{names[view]}.xlsx"
        path, _filter = QFileDialog.getSaveFileName(self, _("导出到 Excel"), suggested, _("Excel 工作簿 (*.xlsx)"))
        if not path:
            return None
        return self.export_to(view, Path(path))

    def export_to(self, view: str, path: Path) -> BackgroundOp:
        service, notice_id, user = ExportService(self._env.ctx), self.notice_id, self._user()
        op = (BackgroundOp(self, lambda progress, _cancel: service.export(notice_id, view, path, user, progress))
              .with_progress(_("正在导出……"))
              .on_success(lambda result: self.notice_message.setText(
                  _("已导出 {rows} 行到 {file}").format(rows=result.rows, file=result.path.name)))
              .on_failure(lambda exc: show_error(self, exc)))
        op.finished.connect(op.deleteLater)
        self.last_op = op
        return op.run()

    # ----------------------------------------------------------------------------- bus
    def _on_roster_rows_changed(self) -> None:
        self.actions = self._service.actions(self.notice_id, self._env.user.id, self.roster.totals)
        self._update_buttons()
        self._notify(Changes(rows=True))

    def _on_bus_changed(self, changes: Changes) -> None:
        if self._notifying:
            return
        if changes.rows or changes.sync:
            self.roster.reload()
        if changes.notices or changes.rows or changes.objections or changes.sync:
            try:
                self.refresh()
            except AppError:
                pass  # the notice went away (sync); the tab shows its last state
