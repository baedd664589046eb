"""The disclosure calendar (公开日历): what must be published this month or quarter — village finances
monthly, village affairs quarterly, program notices ended after their posting periods — grouped by
due date, with earlier overdue items on top in red and open work without a date at the bottom.
The rules live in app.disclosure_calendar; this page only shows them. Double-click an item with a
notice to open it."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.disclosure_calendar import (
    ACTION_LABELS,
    CalendarView,
    DisclosureCalendar,
    DueItem,
    month_bounds,
    quarter_bounds,
)
from app.i18n import _
from app.notices import STATUS_LABELS as NOTICE_STATUS_LABELS
from ui.common import AMBER, GREEN, NOTE_STYLE, RED, Changes, UiEnv

SOON_DAYS = 7  # pending items due within a week are shown in amber

_KEY = Qt.ItemDataRole.UserRole
_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def day_label(d: date) -> str:
    return _("{date}（{weekday}）").format(date=d.isoformat(), weekday=_(_WEEKDAYS[d.weekday()]))


def period_label(item: DueItem) -> str:
    if item.period_start is None or item.period_end is None:
        return ""
    if item.cadence == "monthly":
        return _("{year}年{month}月").format(year=item.period_start.year, month=item.period_start.month)
    if item.cadence == "quarterly":
        return _("{year}年第{quarter}季度").format(
            year=item.period_start.year, quarter=(item.period_start.month - 1) // 3 + 1)
    return _("{start}至{end}").format(start=f"{item.period_start:%m-%d}", end=f"{item.period_end:%m-%d}")


def status_text(item: DueItem) -> str:
    if item.status == "done":
        if item.late and item.done_on and item.due_date:
            return _("已完成（晚 {n} 天）").format(n=(item.done_on - item.due_date).days)
        return _("已结束公示") if item.action == "close" else _("已公开")
    if item.status == "overdue":
        return _("已逾期 {n} 天").format(n=-(item.days_left or 0))
    if item.action == "close":
        return _("公示期内") if item.days_left is not None and item.days_left > 0 else _("可结束公示")
    if item.action == "republish":
        return _("待重新公示")
    if item.action == "correct":
        return _("更正待发布")
    if item.days_left is not None:
        return _("待公开（还剩 {n} 天）").format(n=item.days_left)
    return _("待公开")


class CalendarPage(QWidget):
    """Month and quarter views of the disclosure calendar."""

    def __init__(self, env: UiEnv, parent=None) -> None:
        super().__init__(parent)
        self._env = env
        self._service = DisclosureCalendar(env.ctx)
        self._region: str | None = None
        self._items: dict[str, DueItem] = {}
        self.view: CalendarView | None = None
        today = env.ctx.clock.today()
        self._anchor = today.replace(day=1)

        self.mode = QComboBox(self)
        self.mode.addItem(_("按月"), "month")
        self.mode.addItem(_("按季度"), "quarter")
        self.mode.currentIndexChanged.connect(lambda _i: self._on_mode_current_index_changed())
        self.previous_button = QPushButton(_("◀ 上一期"), self)
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton(_("下一期 ▶"), self)
        self.next_button.clicked.connect(lambda: self.step(1))
        self.today_button = QPushButton(_("回到本期"), self)
        self.today_button.clicked.connect(self.go_today)
        self.period = QLabel(self)
        font = self.period.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.period.setFont(font)
        self.period.setMinimumWidth(220)
        self.period.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.open_only = QCheckBox(_("只看未完成"), self)
        self.open_only.toggled.connect(lambda _on: self._fill())
        self.open_button = QPushButton(_("打开公示"), self)
        self.open_button.clicked.connect(self.open_selected)
        top = QHBoxLayout()
        top.addWidget(self.mode)
        top.addWidget(self.previous_button)
        top.addWidget(self.period)
        top.addWidget(self.next_button)
        top.addWidget(self.today_button)
        top.addStretch(1)
        top.addWidget(self.open_only)
        top.addWidget(self.open_button)

        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels([_("事项"), _("村"), _("所属期间"), _("办理"), _("状态"), _("相关公示")])
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in ((0, 330), (1, 80), (2, 110), (3, 120), (4, 170)):
            self.tree.setColumnWidth(column, width)
        self.tree.itemActivated.connect(lambda _item, _column: self.open_selected())
        self.tree.itemSelectionChanged.connect(self._on_tree_item_selection_changed)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.legend = QLabel(_("依据《村民委员会组织法》第三十条：村务一般事项每季度至少公布一次，"
                               "集体财务往来较多的村每月公布一次财务收支情况。"), self)
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet(NOTE_STYLE)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.legend)
        env.bus.changed.connect(self._on_bus_changed)
        env.bus.region_selected.connect(self._on_bus_region_selected)
        self.refresh()

    # ---------------------------------------------------------------------- periods
    def bounds(self) -> tuple[date, date]:
        if self.mode.currentData() == "quarter":
            return quarter_bounds(self._anchor)
        return month_bounds(self._anchor)

    def set_mode(self, mode: str) -> None:
        self.mode.setCurrentIndex(self.mode.findData(mode))

    def _on_mode_current_index_changed(self) -> None:
        # keep today in view when the period shown contains it; otherwise start where it started
        today = self._env.ctx.clock.today()
        shown = self.view
        if shown is not None and shown.first <= today <= shown.last:
            self._anchor = today.replace(day=1)
        self._anchor = self.bounds()[0]
        self.refresh()

    def step(self, direction: int) -> None:
        months = 3 if self.mode.currentData() == "quarter" else 1
        index = self._anchor.year * 12 + self._anchor.month - 1 + direction * months
        self._anchor = date(index // 12, index % 12 + 1, 1)
        self.refresh()

    def go_today(self) -> None:
        self._anchor = self._env.ctx.clock.today().replace(day=1)
        self._anchor = self.bounds()[0]
        self.refresh()

    def _period_title(self) -> str:
        first, last = self.bounds()
        if self.mode.currentData() == "quarter":
            return _("{year}年第{quarter}季度（{first}月—{last}月）").format(
                year=first.year, quarter=(first.month - 1) // 3 + 1, first=first.month, last=last.month)
        return _("{year}年{month}月").format(year=first.year, month=first.month)

    # ---------------------------------------------------------------------- content
    def refresh(self) -> None:
        first, last = self.bounds()
        self.view = self._service.view(first, last, village_id=self._region)
        self.period.setText(self._period_title())
        self._fill()

    def _fill(self) -> None:
        view = self.view
        if view is None:
            return
        keep = self.selected_item()
        self.tree.clear()
        self._items = {}
        open_only = self.open_only.isChecked()
        today = self._env.ctx.clock.today()
        if view.backlog:
            self._group(_("以前各期逾期未办（{n} 项）").format(n=len(view.backlog)), list(view.backlog), RED)
        by_day: dict[date, list[DueItem]] = {}
        for item in view.items:
            if open_only and item.status == "done":
                continue
            by_day.setdefault(item.due_date, []).append(item)
        for day, items in by_day.items():
            left = (day - today).days
            if left < 0:
                when = _("已过 {n} 天").format(n=-left)
            elif left == 0:
                when = _("今天到期")
            else:
                when = _("还剩 {n} 天").format(n=left)
            open_count = sum(i.status != "done" for i in items)
            colour = RED if any(i.status == "overdue" for i in items) else None
            self._group(_("{day} 到期 · {when} · 未完成 {open} / 共 {n} 项").format(
                day=day_label(day), when=when, open=open_count, n=len(items)), items, colour)
        if view.undated:
            self._group(_("正在办理、没有固定期限的事项（{n} 项）").format(n=len(view.undated)), list(view.undated),
                        None)
        if self.tree.topLevelItemCount() == 0:
            empty = QTreeWidgetItem(self.tree, [_("本期没有应公开的事项。")])
            empty.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.tree.expandAll()
        if keep is not None:
            self.select_key(keep.key)
        self._summarise()
        self._on_tree_item_selection_changed()

    def _group(self, title: str, items: list[DueItem], colour: QColor | None) -> None:
        group = QTreeWidgetItem(self.tree, [title])
        group.setFirstColumnSpanned(True)
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = QFont(group.font(0))
        font.setBold(True)
        group.setFont(0, font)
        if colour is not None:
            group.setForeground(0, QBrush(colour))
        for item in items:
            self._row(group, item)

    def _row(self, parent: QTreeWidgetItem, item: DueItem) -> None:
        what = _(item.what) if item.kind == "periodic" else item.what
        notice = item.notice_title
        if notice and item.notice_status and item.status != "done":
            notice = _("{title}（{status}）").format(
                title=notice, status=_(NOTICE_STATUS_LABELS.get(item.notice_status, item.notice_status)))
        row = QTreeWidgetItem(parent, [what, item.village or _("全镇"), period_label(item),
                                       _(ACTION_LABELS.get(item.action, item.action)), status_text(item), notice])
        row.setData(0, _KEY, item.key)
        self._items[item.key] = item
        rule = _("公开时限：{rule}").format(rule=_(item.rule)) if item.rule else ""
        if item.basis:
            rule += ("\n" if rule else "") + _("依据：{basis}").format(basis=item.basis)
        for column in range(self.tree.columnCount()):
            row.setToolTip(column, rule)
        row.setToolTip(5, item.notice_title or _("还没有公示"))
        if item.status == "overdue":
            for column in range(self.tree.columnCount()):
                row.setForeground(column, QBrush(RED))
        elif item.status == "done":
            row.setForeground(4, QBrush(GREEN))
        elif item.days_left is not None and item.days_left <= SOON_DAYS:
            row.setForeground(4, QBrush(AMBER))

    def _summarise(self) -> None:
        view = self.view
        text = _("本期应办 {n} 项：已完成 {done}，待办 {pending}，已逾期 {overdue}。").format(
            n=len(view.items), done=view.count("done"), pending=view.count("pending"), overdue=view.count("overdue"))
        if view.backlog:
            text += _("以前各期还有 {n} 项逾期未办。").format(n=len(view.backlog))
        text += _("（自 {since} 起记录）").format(since=view.since.isoformat())
        self.summary.setText(text)

    # ---------------------------------------------------------------------- selection
    def rows(self) -> list[tuple[DueItem, QTreeWidgetItem]]:
        """Every item shown, with its row (for tests and keyboard navigation)."""
        out = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for c in range(group.childCount()):
                row = group.child(c)
                out.append((self._items[row.data(0, _KEY)], row))
        return out

    def selected_item(self) -> DueItem | None:
        row = self.tree.currentItem()
        key = row.data(0, _KEY) if row is not None else None
        return self._items.get(key) if key else None

    def select_key(self, key: str) -> bool:
        for item, row in self.rows():
            if item.key == key:
                self.tree.setCurrentItem(row)
                return True
        return False

    def open_selected(self) -> bool:
        item = self.selected_item()
        if item is None or item.notice_id is None:
            return False
        self._env.bus.notice_open_requested.emit(item.notice_id)
        return True

    def _on_tree_item_selection_changed(self) -> None:
        item = self.selected_item()
        self.open_button.setEnabled(item is not None and item.notice_id is not None)

    # ---------------------------------------------------------------------------- bus
    def _on_bus_region_selected(self, region: str | None) -> None:
        self._region = region
        self.refresh()

    def _on_bus_changed(self, changes: Changes) -> None:
        if changes.notices or changes.reference or changes.sync:
            self.refresh()
