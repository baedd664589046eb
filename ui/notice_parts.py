"""Two panels of the notice editor: the notice's content (header fields from the type's template)
and the review page (sign-offs, posting period and how it was computed, publication facts)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.context import CHINA
from app.errors import AppError
from app.i18n import _
from app.notices import HEADER_FIELDS, NoticeDetail
from app.periods import PostingPeriod, days_left
from ui.common import NOTE_STYLE


def header_labels() -> dict[str, str]:
    return {
        "title": _("标题"), "doc_number": _("文号"), "salutation": _("称呼"), "body": _("正文"),
        "legal_basis": _("公开依据"), "issuer": _("发布单位（落款）"), "contact_person": _("联系人"),
        "contact_phone": _("联系电话"), "supervision_phone": _("监督电话"),
    }


_MULTILINE = {"body": 9, "legal_basis": 2, "issuer": 2}

#: the figures the body template may use; filled in when the notice is printed
PLACEHOLDERS = (
    ("households", "户数（明细行数）"), ("quantity", "数量合计"), ("amount", "金额合计"),
    ("amount_words", "金额大写"), ("village", "村名"), ("township", "乡镇名"), ("program", "项目名称"),
    ("year", "年度"), ("rate", "标准"), ("legal_basis", "公开依据"), ("issuer", "发布单位"),
)


class HeaderForm(QWidget):
    """The notice's header fields; editable in drafts, saved explicitly."""

    save_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, QLineEdit | QPlainTextEdit] = {}
        self._saved: dict[str, str] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        labels = header_labels()
        for key in HEADER_FIELDS:
            if key in _MULTILINE:
                edit = QPlainTextEdit(self)
                edit.setTabChangesFocus(True)
                edit.setFixedHeight(self.fontMetrics().lineSpacing() * _MULTILINE[key] + 14)
                edit.textChanged.connect(self._on_field_changed)
            else:
                edit = QLineEdit(self)
                edit.textChanged.connect(self._on_field_changed)
            self.fields[key] = edit
            form.addRow(labels[key], edit)
        inner = QWidget(self)
        inner_layout = QVBoxLayout(inner)
        inner_layout.addLayout(form)
        inner_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inner)

        self.elements = QLabel(self)
        self.elements.setWordWrap(True)
        self.elements.setTextFormat(Qt.TextFormat.PlainText)
        self.elements.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        help_box = QGroupBox(_("本类公示应包含的内容"), self)
        help_layout = QVBoxLayout(help_box)
        help_layout.addWidget(self.elements)
        figures = QLabel("\n".join(f"{{{key}}}　{_(label)}" for key, label in PLACEHOLDERS), self)
        figures.setTextFormat(Qt.TextFormat.PlainText)
        figures_box = QGroupBox(_("正文中可自动填写的数字"), self)
        figures_layout = QVBoxLayout(figures_box)
        note = QLabel(_("打印时按明细自动计算填入："), self)
        note.setWordWrap(True)
        figures_layout.addWidget(note)
        figures_layout.addWidget(figures)
        side = QVBoxLayout()
        side.addWidget(help_box)
        side.addWidget(figures_box)
        side.addStretch(1)

        self.save_button = QPushButton(_("保存内容"), self)
        self.revert_button = QPushButton(_("放弃修改"), self)
        self.state_label = QLabel(self)
        self.state_label.setStyleSheet(NOTE_STYLE)
        buttons = QHBoxLayout()
        buttons.addWidget(self.state_label, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        self.save_button.clicked.connect(self.save_requested.emit)
        self.revert_button.clicked.connect(lambda: self.set_values(self._saved))

        left = QVBoxLayout()
        left.addWidget(scroll, 1)
        left.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(left, 3)
        layout.addLayout(side, 1)
        self._on_field_changed()

    def values(self) -> dict[str, str]:
        return {k: (w.toPlainText() if isinstance(w, QPlainTextEdit) else w.text()) for k, w in self.fields.items()}

    def changed_values(self) -> dict[str, str]:
        return {k: v for k, v in self.values().items() if v != self._saved.get(k, "")}

    def is_dirty(self) -> bool:
        return bool(self.changed_values())

    def set_values(self, header: dict[str, str]) -> None:
        self._saved = dict(header)
        for key, widget in self.fields.items():
            widget.blockSignals(True)
            if isinstance(widget, QPlainTextEdit):
                widget.setPlainText(header.get(key, ""))
            else:
                widget.setText(header.get(key, ""))
                widget.setCursorPosition(0)
            widget.blockSignals(False)
        self._on_field_changed()

    def show_detail(self, detail: NoticeDetail, edit_reason: str) -> None:
        if not self.is_dirty():
            self.set_values(detail.header)
        self.elements.setText("\n".join(f"· {_(e)}" for e in detail.content_elements) or _("（未规定）"))
        read_only = bool(edit_reason)
        for widget in self.fields.values():
            widget.setReadOnly(read_only)
        self.save_button.setVisible(not read_only)
        self.revert_button.setVisible(not read_only)
        self.state_label.setText(edit_reason)

    def _on_field_changed(self) -> None:
        dirty = self.is_dirty()
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)


def china_time(iso: str) -> str:
    """A stored UTC timestamp as China Standard Time, 'YYYY-MM-DD HH:MM' (what the clerk saw)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _kind_label(kind: str) -> str:
    return {"village_review": _("村级审核"), "township_approval": _("乡镇审批")}.get(kind, kind)


def days_text(days: int | None, unit: str | None) -> str:
    """'7个自然日' / '10个工作日'."""
    return (_("{days}个工作日") if unit == "working" else _("{days}个自然日")).format(days=days)


class ReviewPanel(QWidget):
    """Sign-offs, the posting window with its computation, and publication facts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sign_offs = self._label()
        self.period = self._label()
        self.explanation = self._label()
        self.explanation.setStyleSheet(NOTE_STYLE)
        self.publication = self._label()
        self.publication.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        for title, *widgets in ((_("签字记录"), self.sign_offs), (_("公示期"), self.period, self.explanation),
                                (_("发布与核验"), self.publication)):
            box = QGroupBox(title, self)
            box_layout = QVBoxLayout(box)
            for widget in widgets:
                box_layout.addWidget(widget)
            layout.addWidget(box)
        layout.addStretch(1)

    def _label(self) -> QLabel:
        label = QLabel(self)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        return label

    def show_detail(self, d: NoticeDetail, today: date, preview: PostingPeriod | AppError | None) -> None:
        lines = [
            _("{kind}：{body}　签字人：{names}　日期：{day}").format(
                kind=_kind_label(s.kind), body=s.body, names="、".join(s.names), day=s.signed_on.isoformat())
            for s in d.sign_offs
        ]
        if not any(s.kind == "village_review" for s in d.sign_offs) and d.village_id:
            lines.append(_("村级公示须先记录村两委或村务监督委员会的审核签字，才能审批。"))
        self.sign_offs.setText("\n".join(lines) or _("尚无签字记录。"))

        if d.posting_start and d.posting_end:
            text = _("{start} 至 {end}（{period}）").format(
                start=d.posting_start.isoformat(), end=d.posting_end.isoformat(),
                period=days_text(d.posting_days, d.posting_unit))
            if d.status == "published":
                left = days_left(d.posting_end, today)
                text += "　" + (_("剩余 {n} 天").format(n=left) if left >= 0 else _("已期满"))
            self.period.setText(text)
            self.explanation.setText("\n".join(d.posting_explanation))
        else:
            self.period.setText(_("发布时自动计算：不少于{period}。").format(
                period=days_text(d.notice_type.min_days, d.notice_type.day_unit)))
            if isinstance(preview, PostingPeriod):
                self.explanation.setText(_("如今天发布：") + "\n" + "\n".join(preview.explanation + preview.warnings))
            elif isinstance(preview, AppError):
                self.explanation.setText(str(preview))
            else:
                self.explanation.clear()

        facts = [_("第 {n} 版").format(n=d.edition)]
        if d.supersedes_id:
            facts.append(_("本公示为更正公示，发布后取代上一版。"))
        if d.published_at:
            facts.append(_("发布时间：{at}").format(at=china_time(d.published_at)))
        if d.fingerprint:
            facts.append(_("核验指纹：{fp}").format(fp=" ".join(d.fingerprint[i:i + 4] for i in range(0, 16, 4))))
        if d.status == "withdrawn" and d.withdraw_reason:
            facts.append(_("撤回原因：{reason}").format(reason=d.withdraw_reason))
        if d.status == "closed":
            facts.append(_("已结束公示，公示期满且无未答复异议，资金可以发放。") if d.funds_released
                         else _("已结束公示。"))
        self.publication.setText("\n".join(facts))
