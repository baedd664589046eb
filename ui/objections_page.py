"""The objection inbox (异议): every objection to a notice, the one due soonest first.

Objections come by phone, visit or letter (recorded here) or through the county's verification page
(扫码反映, arriving by sync). The township answers within the county's time limit (the service sets
the due date); overdue objections are red. An answer that led to a correction offers to open the
notice so that the clerk can issue the corrected edition (更正公示).

The objector's contact is shown to the signed-in staff and never written to a log.
"""

from __future__ import annotations

import html
from datetime import datetime

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.context import CHINA
from app.i18n import _
from app.notices import STATUS_LABELS as NOTICE_STATUS_LABELS
from app.notices import NoticeService
from app.objections import (
    CHANNEL_LABELS,
    RECORDABLE_STATUSES,
    STATUS_LABELS,
    ObjectionInfo,
    ObjectionService,
)
from app.search import sort_key
from ui.common import GREY, RED, Changes, UiEnv, apply_change, ok_cancel_buttons


def _received_day(received_at: str) -> str:
    """The day an objection was received, in China time (portal objections carry a UTC timestamp)."""
    if len(received_at) <= 10:
        return received_at
    try:
        moment = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
    except ValueError:
        return received_at[:10]
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA)
    return moment.date().isoformat()


def _first_line(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ObjectionsPage(QWidget):
    """The inbox: record, investigate and answer objections."""

    def __init__(self, env: UiEnv, parent=None) -> None:
        super().__init__(parent)
        self._env = env
        self._service = ObjectionService(env.ctx)
        self._shown: list[ObjectionInfo] = []

        self.record_button = QPushButton(_("登记来电/来访/书面异议…"), self)
        self.record_button.clicked.connect(lambda: self.record_objection())
        self.investigate_button = QPushButton(_("开始核查"), self)
        self.investigate_button.clicked.connect(self.start_investigation)
        self.answer_button = QPushButton(_("答复…"), self)
        self.answer_button.clicked.connect(lambda: self.answer_selected())
        self.open_button = QPushButton(_("打开公示"), self)
        self.open_button.clicked.connect(self._open_selected_notice)
        self.show_answered = QCheckBox(_("显示已答复的"), self)
        self.show_answered.toggled.connect(lambda _on: self.refresh())
        top = QHBoxLayout()
        for w in (self.record_button, self.investigate_button, self.answer_button, self.open_button):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.show_answered)

        self.table = QTableWidget(0, 9, self)
        self.table.setHorizontalHeaderLabels([
            _("答复期限"), _("剩余天数"), _("状态"), _("反映方式"), _("收到日期"), _("编号"),
            _("所涉公示"), _("反映人及联系方式"), _("异议内容")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in ((0, 95), (1, 110), (2, 90), (3, 80), (4, 95), (5, 130), (6, 240), (7, 170)):
            self.table.setColumnWidth(column, width)
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.table.itemDoubleClicked.connect(lambda _item: self.answer_selected())

        self.detail = QTextBrowser(self)
        self.detail.setOpenLinks(False)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.summary = QLabel(self)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.summary)
        env.bus.changed.connect(self._on_bus_changed)
        self.refresh()

    # ------------------------------------------------------------------------- state
    def selected(self) -> ObjectionInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self._shown[rows[0].row()] if rows else None

    def select(self, objection_id: str) -> bool:
        for row, o in enumerate(self._shown):
            if o.id == objection_id:
                self.table.selectRow(row)
                return True
        return False

    def row_of(self, objection_id: str) -> int:
        return next(row for row, o in enumerate(self._shown) if o.id == objection_id)

    def refresh(self) -> None:
        keep = self.selected()
        everything = self._service.inbox(include_answered=True)
        unanswered = [o for o in everything if o.status != "answered"]
        shown = everything if self.show_answered.isChecked() else unanswered
        # unanswered first, the one due soonest on top; answered ones after, newest first
        answered = sorted((o for o in shown if o.status == "answered"), key=lambda o: o.due_date, reverse=True)
        self._shown = [o for o in shown if o.status != "answered"] + answered
        today = self._env.ctx.clock.today()
        self.table.setRowCount(len(self._shown))
        for row, o in enumerate(self._shown):
            left = (o.due_date - today).days
            if o.status == "answered":
                left_text = ""
            elif left < 0:
                left_text = _("逾期 {n} 天").format(n=-left)
            else:
                left_text = str(left)
            cells = [o.due_date.isoformat(), left_text, _(STATUS_LABELS.get(o.status, o.status)),
                     _(CHANNEL_LABELS.get(o.channel, o.channel)), _received_day(o.received_at), o.number,
                     o.notice_title, o.contact, _first_line(o.content)]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if o.overdue:
                    item.setForeground(QBrush(RED))
                    if column in (0, 1):
                        font = QFont(item.font())
                        font.setBold(True)
                        item.setFont(font)
                elif o.status == "answered":
                    item.setForeground(QBrush(GREY))
                self.table.setItem(row, column, item)
            self.table.item(row, 8).setToolTip(o.content)
            self.table.item(row, 6).setToolTip(o.notice_title)
        overdue = sum(o.overdue for o in unanswered)
        text = _("未答复 {n} 件").format(n=len(unanswered))
        if overdue:
            text += _("，其中 {m} 件已超过答复期限").format(m=overdue)
        self.summary.setText(text)
        self.table.blockSignals(True)
        self.table.clearSelection()
        if keep is not None:
            self.select(keep.id)
        self.table.blockSignals(False)
        self._on_table_item_selection_changed()

    def _on_table_item_selection_changed(self) -> None:
        o = self.selected()
        self.investigate_button.setEnabled(o is not None and o.status == "open")
        self.answer_button.setEnabled(o is not None)
        self.answer_button.setText(_("补充答复…") if o is not None and o.status == "answered" else _("答复…"))
        self.open_button.setEnabled(o is not None)
        self.detail.setHtml(self._detail_html(o) if o else
                            html.escape(_("选择一件异议可查看详情、开始核查或答复。")))

    def _detail_html(self, o: ObjectionInfo) -> str:
        e = html.escape
        lines = [
            f"<h3>{e(o.number)} · {e(_(STATUS_LABELS.get(o.status, o.status)))}</h3>",
            "<p>" + e(_("公示：{title}（{status}）").format(
                title=o.notice_title, status=_(NOTICE_STATUS_LABELS.get(o.notice_status, o.notice_status))))
            + "</p>",
            "<p>" + e(_("{channel} · 收到 {received} · 答复期限 {due}").format(
                channel=_(CHANNEL_LABELS.get(o.channel, o.channel)), received=_received_day(o.received_at),
                due=o.due_date.isoformat())) + "</p>",
            "<p>" + e(_("反映人及联系方式：{contact}").format(contact=o.contact or _("（未留）"))) + "</p>",
            "<p><b>" + e(_("异议内容")) + "</b><br>" + e(o.content).replace("\n", "<br>") + "</p>",
        ]
        answers = self._service.answers(o.id)
        if answers:
            lines.append("<p><b>" + e(_("答复")) + "</b></p>")
            for a in answers:
                mark = _("（已更正公示）") if a.led_to_correction else ""
                lines.append("<p>" + e(_("{who} {at}{mark}：").format(
                    who=a.answered_by, at=a.answered_at[:16].replace("T", " "), mark=mark))
                    + "<br>" + e(a.text).replace("\n", "<br>") + "</p>")
        return "\n".join(lines)

    # ------------------------------------------------------------------------ actions
    def record_objection(self, notice_id: str | None = None) -> RecordObjectionDialog:
        dialog = RecordObjectionDialog(self._env, notice_id, self)
        dialog.recorded.connect(self.select)
        dialog.open()
        return dialog

    def start_investigation(self) -> bool:
        o = self.selected()
        if o is None:
            return False
        done, _result = apply_change(self, self._env, Changes(objections=True),
                                     lambda: self._service.start_investigation(o.id, self._env.user.id))
        return done

    def answer_selected(self) -> AnswerObjectionDialog | None:
        o = self.selected()
        if o is None:
            return None
        dialog = AnswerObjectionDialog(self._env, o, self)
        dialog.open()
        return dialog

    def _open_selected_notice(self) -> None:
        o = self.selected()
        if o is not None:
            self._env.bus.notice_open_requested.emit(o.notice_id)

    def _on_bus_changed(self, changes: Changes) -> None:
        if changes.objections or changes.notices or changes.sync:
            self.refresh()


class RecordObjectionDialog(QDialog):
    """Record an objection received by phone, in person or in writing."""

    recorded = Signal(str)  # objection id

    def __init__(self, env: UiEnv, notice_id: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self._env = env
        self.setWindowTitle(_("登记异议"))
        self.resize(620, 440)
        self.notice = QComboBox(self)
        order = {status: n for n, status in enumerate(RECORDABLE_STATUSES)}
        notices = sorted((s for s in NoticeService(env.ctx).summaries() if s.status in order),
                         key=lambda s: (order[s.status], sort_key(s.title)))
        for s in notices:
            label = s.title if s.status == "published" else _("{title}（{status}）").format(
                title=s.title, status=_(NOTICE_STATUS_LABELS[s.status]))
            self.notice.addItem(label, s.id)
        self.notice.setMinimumContentsLength(30)
        if notice_id is not None:
            self.notice.setCurrentIndex(max(0, self.notice.findData(notice_id)))
        self.channel = QComboBox(self)
        for code in ("phone", "visit", "letter"):
            self.channel.addItem(_(CHANNEL_LABELS[code]), code)
        self.received = QDateEdit(self)
        self.received.setCalendarPopup(True)
        self.received.setDisplayFormat("yyyy-MM-dd")
        today = env.ctx.clock.today()
        self.received.setMaximumDate(QDate(today.year, today.month, today.day))
        self.received.setDate(QDate(today.year, today.month, today.day))
        self.contact = QLineEdit(self)
        self.contact.setMaxLength(200)
        self.contact.setPlaceholderText(_("姓名或称呼、联系电话（电话只保存部分号码）"))
        self.content = QPlainTextEdit(self)
        self.content.setPlaceholderText(_("群众反映的问题，例如：二组王某的补贴面积少算了 0.5 亩。"))
        form = QFormLayout()
        form.addRow(_("公示："), self.notice)
        form.addRow(_("反映方式："), self.channel)
        form.addRow(_("收到日期："), self.received)
        form.addRow(_("反映人："), self.contact)
        form.addRow(_("异议内容："), self.content)
        self.buttons = ok_cancel_buttons(self, _("登记"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self.notice.count() > 0)
        layout = QVBoxLayout(self)
        if self.notice.count() == 0:
            layout.addWidget(QLabel(_("没有已发布的公示，无法登记异议。"), self))
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        done, objection_id = apply_change(self, self._env, Changes(objections=True), lambda: ObjectionService(
            self._env.ctx).record(self.notice.currentData(), self._env.user.id, channel=self.channel.currentData(),
                                  content=self.content.toPlainText(), contact=self.contact.text(),
                                  received_on=self.received.date().toPython()))
        if done:
            self.recorded.emit(objection_id)
            self.accept()


class AnswerObjectionDialog(QDialog):
    """Answer an objection; say whether it led to a correction of the notice."""

    answered = Signal(str)  # objection id

    def __init__(self, env: UiEnv, objection: ObjectionInfo, parent=None) -> None:
        super().__init__(parent)
        self._env = env
        self._objection = objection
        self.setWindowTitle(_("答复异议 {number}").format(number=objection.number))
        self.resize(600, 440)
        question = QPlainTextEdit(self)
        question.setPlainText(objection.content)
        question.setReadOnly(True)
        question.setMaximumHeight(110)
        self.text = QPlainTextEdit(self)
        self.text.setPlaceholderText(_("核实情况和处理意见，例如：经村组核实，面积登记无误，已电话告知本人。"))
        self.correction = QCheckBox(_("经核实公示内容有误，需要出具更正公示"), self)
        self.buttons = ok_cancel_buttons(self, _("保存答复"))
        heading = QLabel(_("公示：{title}").format(title=objection.notice_title), self)
        heading.setTextFormat(Qt.TextFormat.PlainText)
        heading.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(QLabel(_("异议内容："), self))
        layout.addWidget(question)
        if objection.answers:
            earlier = QLabel(_("已有 {n} 条答复，本次答复将追加在后面。").format(n=len(objection.answers)), self)
            layout.addWidget(earlier)
        layout.addWidget(QLabel(_("答复："), self))
        layout.addWidget(self.text, 1)
        layout.addWidget(self.correction)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        o = self._objection
        correction = self.correction.isChecked()
        done, _result = apply_change(self, self._env, Changes(objections=True), lambda: ObjectionService(
            self._env.ctx).answer(o.id, self._env.user.id, self.text.toPlainText(), led_to_correction=correction))
        if not done:
            return
        self.answered.emit(o.id)
        self.accept()
        if correction and o.notice_status == "published":
            answer = QMessageBox.question(
                self.parentWidget(), _("更正公示"),
                _("答复已保存。公示内容需要更正：请打开该公示，出具更正公示并重新张贴。\n现在打开“{title}”吗？").format(
                    title=o.notice_title))
            if answer == QMessageBox.StandardButton.Yes:
                self._env.bus.notice_open_requested.emit(o.notice_id)
