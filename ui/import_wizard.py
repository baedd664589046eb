"""导入清册: the import wizard. File and program → sheet → header and column mapping → validation
report → import into a new or an existing draft.

Reading, checking and storing run on a worker thread through BackgroundOp; nothing is stored
before the last page, and a failed or cancelled import stores nothing (the services guarantee
it). The rows a clerk sees are numbered as in Excel, and columns named by the file's headers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.errors import AppError
from app.i18n import _
from app.import_preview import (
    FilePreview,
    MappingPreview,
    append_to_draft,
    applicable_mapping,
    column_letter,
    drafts_for_program,
    preview_file,
    preview_mapping,
    program_choices,
    remembered_mapping,
)
from app.imports import ImportResult, ImportService, write_validation_report
from app.money import format_yuan
from app.reference import ReferenceService
from ui.background import BackgroundOp
from ui.common import AMBER, ERROR_STYLE, NOTE_STYLE, RED, WARNING_STYLE, Changes, UiEnv, show_error

FILE_FILTER = "*.xlsx *.xls *.ods *.csv"
_MAPPED_COLOR = QColor("#e6f2e6")
_TOWNSHIP = "__township__"
_ROOT = QModelIndex()


def _table(rows: int = 0, columns: int = 0) -> QTableWidget:
    table = QTableWidget(rows, columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(24)
    return table


def _hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class _Page(QWizardPage):
    """A page that cannot be left while the wizard runs background work."""

    def wiz(self) -> ImportWizard:
        return self.wizard()  # type: ignore[return-value]

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        wizard = self.wiz()
        return wizard is not None and not wizard.busy and self.ready()

    def ready(self) -> bool:
        return True


# ------------------------------------------------------------------------------------ 1. file
class FilePage(_Page):
    def __init__(self, env: UiEnv) -> None:
        super().__init__()
        self.env = env
        self.setTitle(_("选择清册文件"))
        self.setSubTitle(_("支持 Excel（.xlsx、.xls）、WPS 或 LibreOffice（.ods）和 CSV 文件。"
                           "导入前会先检查，确认无误后才会保存。"))
        self.path = QLineEdit()
        self.path.setPlaceholderText(_("点击“浏览…”选择文件，或把文件路径粘贴到这里"))
        self.browse = QPushButton(_("浏览…"))
        self.browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        self.program = QComboBox()
        self.programs = program_choices(env.ctx)
        for p in self.programs:
            self.program.addItem(p.name, p.id)
        self.notice_type = QLabel()
        self.remembered = _hint()
        form = QFormLayout()
        form.addRow(_("清册文件："), row)
        form.addRow(_("所属项目："), self.program)
        form.addRow(_("公开事项："), self.notice_type)
        steps = _hint(_("导入分五步：选择文件和项目 → 选择工作表 → 核对表头与列对应 → 查看检查结果 → "
                        "导入到草稿。原文件不会被修改；最后一步之前不会保存任何内容。"))
        steps.setStyleSheet(NOTE_STYLE)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(steps)
        layout.addWidget(self.remembered)
        if not env.can("preparer", "admin"):
            warning = _hint(_("注意：导入清册需要“经办人”角色，您当前的账户只能查看检查结果，不能保存。"))
            warning.setStyleSheet(WARNING_STYLE)
            layout.addWidget(warning)
        layout.addStretch(1)
        self.path.textChanged.connect(self.completeChanged)
        self.program.currentIndexChanged.connect(self._on_program_changed)
        self._on_program_changed()

    def program_id(self) -> str:
        return self.program.currentData() or ""

    def file_path(self) -> Path:
        return Path(self.path.text().strip().strip('"'))

    def ready(self) -> bool:
        return bool(self.path.text().strip()) and bool(self.program_id())

    def _on_browse_clicked(self) -> None:
        start = str(self.file_path().parent) if self.path.text().strip() else str(Path.home())
        name, _selected = QFileDialog.getOpenFileName(
            self, _("选择清册文件"), start,
            _("表格文件 ({patterns})").format(patterns=FILE_FILTER) + ";;" + _("所有文件 (*)"))
        if name:
            self.path.setText(name)

    def _on_program_changed(self) -> None:
        choice = next((p for p in self.programs if p.id == self.program_id()), None)
        self.notice_type.setText(_(choice.notice_type_name) if choice else "")
        if choice and remembered_mapping(choice.id):
            self.remembered.setText(_("上次导入该项目时调整过的列对应已记住，这次会自动沿用。"))
        else:
            self.remembered.setText("")
        self.completeChanged.emit()

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        w = self.wiz()
        path, program_id = self.file_path(), self.program_id()
        key = (str(path), program_id)
        if w.preview is not None and w.preview_key == key:
            return True
        ctx = self.env.ctx

        def done(preview: FilePreview) -> None:
            w.preview, w.preview_key = preview, key
            w.sheet, w.mapping, w.override, w.result = None, None, {}, None
            w.next()

        w.run(lambda progress, cancel: preview_file(ctx, path, program_id),
              _("正在打开 {file}……").format(file=path.name), done)
        return False


# ----------------------------------------------------------------------------------- 2. sheet
class SheetPage(_Page):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(_("选择工作表"))
        self.intro = _hint()
        self.sheets = QListWidget()
        self.sheets.setMaximumWidth(260)
        self.sheets.currentItemChanged.connect(self._on_sheets_current_item_changed)
        self.rows = _table()
        split = QSplitter()
        split.addWidget(self.sheets)
        split.addWidget(self.rows)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(split, 1)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        preview = self.wiz().preview
        assert preview is not None
        self.setSubTitle(_("文件：{file}").format(file=preview.file))
        self.sheets.clear()
        if preview.is_csv:
            self.intro.setText(_("CSV 文件只有一张表，右侧是它的前几行。"))
        else:
            self.intro.setText(_("文件中有 {n} 个工作表。已选中最像清册的一个；如不对请改选。右侧是它的前几行。")
                               .format(n=len(preview.sheets)))
        for sheet in preview.sheets:
            name = sheet.name or _("（CSV 表格）")
            if sheet.empty:
                text = _("{name}（空）").format(name=name)
            elif sheet.matched:
                text = _("{name}（识别出 {n} 列）").format(name=name, n=sheet.matched)
            else:
                text = _("{name}（未找到表头）").format(name=name)
            if not sheet.visible:
                text += _("〔隐藏〕")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, sheet.name)
            if sheet.empty:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.sheets.addItem(item)
        wanted = self.wiz().sheet if self.wiz().sheet is not None else preview.suggested
        target = next((i for i in range(self.sheets.count())
                       if self.sheets.item(i).data(Qt.ItemDataRole.UserRole) == wanted), None)
        if target is None:
            target = next((i for i, s in enumerate(preview.sheets) if not s.empty), 0)
        self.sheets.setCurrentRow(target)

    def selected_sheet(self) -> str | None:
        item = self.sheets.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def ready(self) -> bool:
        return self.selected_sheet() is not None

    def _on_sheets_current_item_changed(self, *_args) -> None:
        preview, name = self.wiz().preview, self.selected_sheet()
        self.rows.clear()
        if preview is None or name is None:
            return
        rows = preview.sheet(name).text_rows(16)
        width = max((len(r) for r in rows), default=0)
        self.rows.setRowCount(len(rows))
        self.rows.setColumnCount(width)
        self.rows.setHorizontalHeaderLabels([column_letter(c) for c in range(width)])
        self.rows.setVerticalHeaderLabels([str(r + 1) for r in range(len(rows))])
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                self.rows.setItem(r, c, QTableWidgetItem(value))
        self.rows.resizeColumnsToContents()
        for c in range(width):
            self.rows.setColumnWidth(c, min(self.rows.columnWidth(c), 220))
        self.completeChanged.emit()

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        w = self.wiz()
        assert w.preview is not None
        name = self.selected_sheet() or ""
        try:
            if name != w.sheet:
                w.override = applicable_mapping(w.preview, name, remembered_mapping(w.preview.program_id))
            w.mapping = preview_mapping(w.preview, name, w.override)
        except AppError as err:
            show_error(self, err)
            return False
        w.sheet = name
        return True


# --------------------------------------------------------------------------------- 3. mapping
class MappingPage(_Page):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(_("表头与列对应"))
        self.setSubTitle(_("已按表头自动对应各列；如有不对，请在“文件中的列”一栏改选。改选会被记住，"
                           "下次导入同一项目时自动沿用。"))
        self.where = _hint()
        self.columns = _table(0, 3)
        self.columns.setHorizontalHeaderLabels([_("清册项目"), _("文件中的列"), _("前几行的内容")])
        self.columns.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.columns.verticalHeader().setVisible(False)
        self.columns.verticalHeader().setDefaultSectionSize(28)
        self.problems = _hint()
        self.problems.setStyleSheet(ERROR_STYLE)
        self.notes = _hint()  # how the amount and area columns were chosen
        self.rows = _table()
        self.rows_label = QLabel(_("文件中表头下面的几行："))
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addWidget(self.columns, 3)
        layout.addWidget(self.notes)
        layout.addWidget(self.problems)
        layout.addWidget(self.rows_label)
        layout.addWidget(self.rows, 2)
        self.combos: dict[str, QComboBox] = {}

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self._show()

    def _show(self) -> None:
        w = self.wiz()
        preview, mapping = w.preview, w.mapping
        assert preview is not None and mapping is not None
        columns = preview.columns()
        sheet = _("工作表“{sheet}”").format(sheet=mapping.sheet) if mapping.sheet else _("CSV 文件")
        if mapping.header_first == mapping.header_last:
            self.where.setText(_("表头位于{sheet}第 {row} 行。").format(sheet=sheet, row=mapping.header_last))
        else:
            self.where.setText(_("表头位于{sheet}第 {first}—{last} 行（两行表头）。").format(
                sheet=sheet, first=mapping.header_first, last=mapping.header_last))
        self.columns.setRowCount(len(columns))
        self.combos = {}
        index_of = {h.text: h.index for h in mapping.headers}
        for r, col in enumerate(columns):
            label = QTableWidgetItem(_(col.label) + (" *" if col.required else ""))
            if col.required:
                label.setToolTip(_("必填项"))
            self.columns.setItem(r, 0, label)
            combo = QComboBox()
            combo.addItem(_("（不导入）"), "")
            for h in mapping.headers:
                combo.addItem(_("{letter} 列：{text}").format(letter=h.letter, text=h.text), h.text)
            chosen = mapping.mapping.get(col.key, "")
            combo.setCurrentIndex(max(combo.findData(chosen), 0))
            combo.currentIndexChanged.connect(lambda _i, key=col.key, box=combo: self._on_combo_changed(key, box))
            self.columns.setCellWidget(r, 1, combo)
            self.combos[col.key] = combo
            sample = ""
            if chosen in index_of:
                c = index_of[chosen]
                values = [v[c] for _row, v in mapping.rows if c < len(v) and v[c]]
                sample = "、".join(values[:4])
            self.columns.setItem(r, 2, QTableWidgetItem(sample))
        self.columns.resizeColumnToContents(0)
        self.columns.setColumnWidth(1, 300)
        missing = mapping.missing_required(columns)
        self.problems.setText(_("下列必填项没有对应的列，导入后这些行都会标为错误：{labels}").format(
            labels="、".join(_(c.label) for c in missing)) if missing else "")
        self.notes.setText("\n".join(mapping.notes))
        self.notes.setVisible(bool(mapping.notes))
        self._show_rows(mapping)

    def _show_rows(self, mapping: MappingPreview) -> None:
        width = max([h.index + 1 for h in mapping.headers] + [len(v) for _r, v in mapping.rows] or [0])
        mapped = {h.index for h in mapping.headers if h.text in mapping.mapping.values()}
        header_text = {h.index: h.text for h in mapping.headers}
        self.rows.setRowCount(len(mapping.rows))
        self.rows.setColumnCount(width)
        self.rows.setHorizontalHeaderLabels(
            [f"{column_letter(c)}\n{header_text.get(c, '')}" for c in range(width)])
        self.rows.setVerticalHeaderLabels([str(row) for row, _v in mapping.rows])
        for r, (_row, values) in enumerate(mapping.rows):
            for c in range(width):
                item = QTableWidgetItem(values[c] if c < len(values) else "")
                if c in mapped:
                    item.setBackground(QBrush(_MAPPED_COLOR))
                self.rows.setItem(r, c, item)
        self.rows.resizeColumnsToContents()
        for c in range(width):
            self.rows.setColumnWidth(c, min(max(self.rows.columnWidth(c), 60), 200))

    def _on_combo_changed(self, key: str, box: QComboBox) -> None:
        w = self.wiz()
        assert w.preview is not None and w.sheet is not None
        override = dict(w.override)
        override[key] = box.currentData() or ""
        try:
            w.mapping = preview_mapping(w.preview, w.sheet, override)
        except AppError as err:
            show_error(self, err)
        else:
            w.override = override
        self._show()

    def choose(self, key: str, header: str) -> None:
        """Map schema column ``key`` to the file's column ``header`` ('' for not imported)."""
        box = self.combos[key]
        index = box.findData(header)
        if index < 0:
            raise KeyError(header)
        box.setCurrentIndex(index)

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        w = self.wiz()
        assert w.preview is not None
        path, program_id, override = w.preview.path, w.preview.program_id, dict(w.override)
        sheet = w.sheet or None
        key = (str(path), program_id, sheet, tuple(sorted(override.items())))
        if w.result is not None and w.result_key == key:
            return True
        ctx, by = w.env.ctx, w.env.user.id

        def work(progress, cancel) -> ImportResult:
            return ImportService(ctx).import_file(path, program_id=program_id, by=by, sheet=sheet,
                                                  mapping_override=override, dry_run=True,
                                                  progress=progress, cancel=cancel)

        def done(result: ImportResult) -> None:
            w.result, w.result_key = result, key
            w.next()

        w.run(work, _("正在检查清册……"), done)
        return False


# ---------------------------------------------------------------------------------- 4. report
class IssueModel(QAbstractTableModel):
    """Every problem of the checked file, by Excel row (a file may have thousands)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._issues: list = []
        self._headers = [_("Excel 行号"), _("列"), _("类别"), _("说明")]

    def set_result(self, result: ImportResult | None) -> None:
        self.beginResetModel()
        issues = [*result.invalid_rows, *result.warnings] if result else []
        self._issues = sorted(issues, key=lambda i: (i.row, i.severity != "error", i.column))
        self.endResetModel()

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self._issues)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else 4

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headers[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        issue = self._issues[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            kind = _("错误") if issue.severity == "error" else _("提醒")
            message = _(issue.template).format(**dict(issue.params)) if issue.template else _(issue.message)
            return (str(issue.row), issue.column, kind, message)[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 2:
            return QBrush(RED if issue.severity == "error" else AMBER)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ReportPage(_Page):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(_("检查结果"))
        self.setSubTitle(_("每个问题都按 Excel 中的行号和表头列出，便于在原文件中找到。此时还没有保存任何内容。"))
        self.summary = _hint()
        self.advice = _hint()
        self.model = IssueModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.export = QPushButton(_("导出检查报告（Excel）…"))
        self.export.clicked.connect(self._on_export_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.advice, 1)
        buttons.addWidget(self.export)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        result = self.wiz().result
        assert result is not None
        self.model.set_result(result)
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(2)
        self.table.setColumnWidth(1, 170)
        errors = result.data_rows - result.valid_rows
        where = _("工作表“{sheet}”").format(sheet=result.sheet) if result.sheet else _("CSV 文件")
        lines = [_("{file}，{where}，表头在第 {row} 行。").format(file=result.file, where=where, row=result.header_row),
                 _("共 {rows} 行明细：{ok} 行无误，{bad} 行有错误。").format(
                     rows=result.data_rows, ok=result.valid_rows, bad=errors)]
        if result.warnings:
            lines.append(_("另有 {n} 条提醒，请核对，但不影响导入。").format(n=len(result.warnings)))
        # how the columns were chosen, and which rows (小计, 合计, signatures, blanks) were left out
        lines.extend(result.notes)
        lines.append(_("金额合计 {total} 元，其中无误的行 {ok} 元。").format(
            total=format_yuan(result.amount_fen), ok=format_yuan(result.valid_amount_fen)))
        self.summary.setText("\n".join(lines))
        if result.data_rows == 0:
            self.advice.setText(_("文件中没有可导入的明细行。请检查是否选对了工作表和表头。"))
        elif errors:
            self.advice.setText(_("有错误的行也会导入草稿并标出，可在公示编辑器中改正；改正之前不能提交审核。"
                                  "也可以导出检查报告，在 Excel 中改好后重新导入。"))
        else:
            self.advice.setText(_("全部明细检查通过。"))
        self.export.setEnabled(bool(result.invalid_rows or result.warnings))
        self.completeChanged.emit()

    def ready(self) -> bool:
        result = self.wiz().result
        return result is not None and result.data_rows > 0

    def export_report(self, path: Path) -> Path:
        """Write the checked file's problems to ``path`` (.xlsx)."""
        result = self.wiz().result
        assert result is not None
        return write_validation_report(result, Path(path))

    def _on_export_clicked(self) -> None:
        result = self.wiz().result
        assert result is not None
        preview = self.wiz().preview
        assert preview is not None
        start = preview.path.with_name(_("{name}-检查报告.xlsx").format(name=Path(result.file).stem))
        name, _selected = QFileDialog.getSaveFileName(self, _("导出检查报告"), str(start),
                                                      _("Excel 文件 (*.xlsx)"))
        if not name:
            return
        if not name.lower().endswith(".xlsx"):
            name += ".xlsx"
        try:
            self.export_report(Path(name))
        except OSError as err:
            show_error(self, AppError(_("无法写入文件“{file}”。请确认文件没有在 Excel 中打开，并且有写入权限。")
                                      .format(file=Path(name).name), details=repr(err)))
            return
        QMessageBox.information(self, _("导出检查报告"), _("检查报告已保存到：\n{path}").format(path=name))


# ---------------------------------------------------------------------------------- 5. target
class TargetPage(_Page):
    def __init__(self, env: UiEnv) -> None:
        super().__init__()
        self.env = env
        self.setTitle(_("导入到草稿"))
        self.setSubTitle(_("明细会导入成一份草稿公示，之后可在编辑器中修改、核对和提交审核。"))
        self.new = QRadioButton(_("新建一份草稿"))
        self.existing = QRadioButton(_("加入已有的草稿（追加在原有明细后面）"))
        group = QButtonGroup(self)
        group.addButton(self.new)
        group.addButton(self.existing)
        self.program = QLabel()
        self.village = QComboBox()
        self.drafts = QComboBox()
        self.no_drafts = _hint(_("该项目目前没有草稿。"))
        self.guessed = _hint()
        self.guessed.setStyleSheet(NOTE_STYLE)
        self.summary = _hint()
        new_form = QFormLayout()
        new_form.addRow(_("项目："), self.program)
        new_form.addRow(_("公示范围："), self.village)
        new_form.addRow("", self.guessed)
        new_box = QWidget()
        new_box.setLayout(new_form)
        new_form.setContentsMargins(24, 0, 0, 0)
        existing_form = QFormLayout()
        existing_form.addRow(_("草稿："), self.drafts)
        existing_form.addRow("", self.no_drafts)
        existing_form.setContentsMargins(24, 0, 0, 0)
        existing_box = QWidget()
        existing_box.setLayout(existing_form)
        layout = QVBoxLayout(self)
        layout.addWidget(self.new)
        layout.addWidget(new_box)
        layout.addSpacing(8)
        layout.addWidget(self.existing)
        layout.addWidget(existing_box)
        layout.addSpacing(12)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        self.new.toggled.connect(self._on_mode_toggled)
        self.village.currentIndexChanged.connect(self.completeChanged)
        self.drafts.currentIndexChanged.connect(self.completeChanged)
        self.villages = ReferenceService(env.ctx).regions("village")

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        w = self.wiz()
        preview, result = w.preview, w.result
        assert preview is not None and result is not None
        choice = next(p for p in w.file_page.programs if p.id == preview.program_id)
        self.program.setText(_("{program}（{kind}）").format(program=choice.name, kind=_(choice.notice_type_name)))
        self.village.blockSignals(True)
        self.village.clear()
        self.village.addItem(_("（请选择）"), "")
        self.village.addItem(_("乡镇级公示（不属于某个村）"), _TOWNSHIP)
        for v in self.villages:
            self.village.addItem(v.name, v.id)
        guess = self._guess_village(preview)
        self.guessed.setText("")
        if guess:
            self.village.setCurrentIndex(self.village.findData(guess))
            self.guessed.setText(_("已按文件名或表格标题选择了“{village}”，请核对。").format(
                village=self.village.currentText()))
        elif choice.level != "村":
            self.village.setCurrentIndex(1)
        self.village.blockSignals(False)
        self.drafts.clear()
        for s in drafts_for_program(self.env.ctx, preview.program_id):
            label = _("{title}（{village}，{rows} 行）").format(
                title=s.title, village=s.village or _("乡镇级"), rows=s.rows)
            self.drafts.addItem(label, s.id)
        has_drafts = self.drafts.count() > 0
        self.existing.setEnabled(has_drafts)
        self.drafts.setVisible(has_drafts)
        self.no_drafts.setVisible(not has_drafts)
        self.new.setChecked(True)
        self._on_mode_toggled()
        errors = result.data_rows - result.valid_rows
        self.summary.setText(_("将导入 {rows} 行明细，其中 {bad} 行有错误（导入后在草稿中标出）。").format(
            rows=result.data_rows, bad=errors))

    def _guess_village(self, preview: FilePreview) -> str | None:
        """A village named in the file name, the sheet name or the title rows above the header."""
        w = self.wiz()
        texts = [Path(preview.file).stem, w.sheet or ""]
        if w.mapping is not None and w.sheet is not None:
            head = preview.sheet(w.sheet).text_rows(w.mapping.header_first - 1)
            texts += [" ".join(r) for r in head]
        found = [v for v in self.villages if any(v.name in t for t in texts)]
        return found[0].id if len(found) == 1 else None

    def _on_mode_toggled(self, *_args) -> None:
        self.village.setEnabled(self.new.isChecked())
        self.drafts.setEnabled(self.existing.isChecked())
        self.completeChanged.emit()

    def ready(self) -> bool:
        if self.new.isChecked():
            return bool(self.village.currentData())
        return self.existing.isChecked() and bool(self.drafts.currentData())

    def choose_village(self, name: str) -> None:
        self.new.setChecked(True)
        index = self.village.findText(name)
        if index < 0:
            raise KeyError(name)
        self.village.setCurrentIndex(index)

    def choose_draft(self, notice_id: str) -> None:
        self.existing.setChecked(True)
        index = self.drafts.findData(notice_id)
        if index < 0:
            raise KeyError(notice_id)
        self.drafts.setCurrentIndex(index)

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        w = self.wiz()
        if w.notice_id is not None:
            return True
        assert w.preview is not None
        ctx, by = self.env.ctx, self.env.user.id
        path, program_id, override = w.preview.path, w.preview.program_id, dict(w.override)
        sheet = w.sheet or None
        if self.new.isChecked():
            village = self.village.currentData()
            village_id = None if village == _TOWNSHIP else village

            def work(progress, cancel) -> str:
                result = ImportService(ctx).import_file(
                    path, program_id=program_id, by=by, village_id=village_id, sheet=sheet,
                    mapping_override=override, progress=progress, cancel=cancel)
                return result.notice_id  # type: ignore[return-value]
        else:
            notice_id = self.drafts.currentData()

            def work(progress, cancel) -> str:
                append_to_draft(ctx, notice_id, path, by=by, sheet=sheet, mapping_override=override,
                                progress=progress, cancel=cancel)
                return notice_id

        w.run(work, _("正在导入清册……"), w.finish_import)
        return False


# ---------------------------------------------------------------------------------- wizard
class ImportWizard(QWizard):
    """导入清册. Emits ``imported(notice_id)`` once the rows are stored in a draft."""

    imported = Signal(str)

    FILE, SHEET, MAPPING, REPORT, TARGET = range(5)

    def __init__(self, env: UiEnv, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.env = env
        self.busy = False
        self.op: BackgroundOp | None = None
        self.preview: FilePreview | None = None
        self.preview_key: tuple | None = None
        self.sheet: str | None = None
        self.mapping: MappingPreview | None = None
        self.override: dict[str, str] = {}
        self.result: ImportResult | None = None
        self.result_key: tuple | None = None
        self.notice_id: str | None = None
        self.setWindowTitle(_("导入清册"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.BackButton, _("< 上一步"))
        self.setButtonText(QWizard.WizardButton.NextButton, _("下一步 >"))
        self.setButtonText(QWizard.WizardButton.FinishButton, _("开始导入"))
        self.setButtonText(QWizard.WizardButton.CancelButton, _("取消"))
        self.file_page = FilePage(env)
        self.sheet_page = SheetPage()
        self.mapping_page = MappingPage()
        self.report_page = ReportPage()
        self.target_page = TargetPage(env)
        for page_id, page in enumerate((self.file_page, self.sheet_page, self.mapping_page,
                                        self.report_page, self.target_page)):
            self.setPage(page_id, page)
        self.resize(1000, 680)

    def run(self, work, label: str, on_success) -> BackgroundOp:
        """Run ``work`` in the background with progress and cancel; the pages wait meanwhile."""
        self._set_busy(True)

        def succeeded(result) -> None:
            self._set_busy(False)
            on_success(result)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            show_error(self, exc)

        self.op = BackgroundOp(self, work).on_success(succeeded).on_failure(failed).with_progress(label).run()
        return self.op

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        page = self.currentPage()
        if page is not None:
            page.completeChanged.emit()
        self.button(QWizard.WizardButton.BackButton).setEnabled(not busy and self.currentId() != self.FILE)

    def finish_import(self, notice_id: str) -> None:
        self.notice_id = notice_id
        self.env.bus.changed.emit(Changes(notices=True, rows=True))
        self.imported.emit(notice_id)
        self.accept()

    def reject(self) -> None:
        if self.busy and self.op is not None:
            self.op.cancel_event.set()  # the work stops at its next check and changes nothing
            return
        super().reject()
