"""Exporting a notice's roster to .xlsx: the public view (masked, as printed), the internal roster
(清册, full data — an explicit, audited action) and the 一卡通 payment-upload layout.

The payment file is what the bank pays from, so it is made only once the money may be released
(DESIGN §4): the notice was closed after its posting period, no objection on it is waiting for an
answer, and no row of it is in error. :meth:`ExportService.payment_blocker` says why not, in the
words the editor's menu and the command line show.

ID numbers and accounts are written as text cells so Excel never turns them into numbers, and
amounts as exact text with two decimals unless a layout asks for numbers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.audit import record
from app.context import Context
from app.errors import AppError, TransitionError, ValidationError
from app.i18n import _
from app.money import format_quantity, format_yuan
from app.notices import STATUS_LABELS, NoticeService, RosterTotals
from app.settings import get_county
from app.users import UserService
from db.models import Notice, Objection

VIEWS = ("public", "internal", "payment")

#: default 一卡通 upload layout; a county can set ``payment_layout`` to its bank's own columns
DEFAULT_PAYMENT_LAYOUT: list[dict[str, str]] = [
    {"header": "序号", "field": "seq"},
    {"header": "姓名", "field": "name"},
    {"header": "身份证号码", "field": "id_number"},
    {"header": "一卡通账号", "field": "bank_account"},
    {"header": "发放金额（元）", "field": "amount"},
    {"header": "补贴项目", "field": "program"},
    {"header": "备注", "field": "remark"},
]


class ExportError(AppError):
    """The file could not be written; nothing was left half-written."""


class PaymentRefused(TransitionError):
    """The notice's money may not be released (yet): no payment file was written."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    view: str


def row_cell_text(row, key: str, *, thousands: bool = False) -> str:
    """One roster cell as text: amounts in 元 with two decimals, quantities exactly as entered,
    extra columns as text. The editor and the exports show the same figures."""
    if key == "seq":
        return str(row.seq)
    if key == "group":
        return row.group_name
    if key == "quantity":
        return "" if row.quantity is None else format_quantity(row.quantity)
    if key == "rate":
        return "" if row.rate is None else format_quantity(row.rate)
    if key == "amount":
        return "" if row.amount_fen is None else format_yuan(row.amount_fen, thousands=thousands)
    if key in ("name", "id_number", "bank_account", "phone", "remark"):
        return getattr(row, key)
    value = row.extra.get(key, "")
    return "" if value is None else str(value)


def cell_text(column: dict, row) -> str:
    return row_cell_text(row, column["key"])


def _write_xlsx(path: Path, sheet: str, title: str, headers: list[str], rows: list[list[Any]],
                footer: list[str], private: bool = False) -> None:
    """Write one sheet atomically (temporary file, then rename); ``private`` (personal data: the
    internal roster, the payment file): readable by the clerk's own account only."""
    import xlsxwriter
    import xlsxwriter.exceptions

    tmp = path.with_name(path.name + ".part")
    try:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False, "strings_to_formulas": False,
                                              "strings_to_urls": False})
        ws = book.add_worksheet(sheet[:31])
        bold = book.add_format({"bold": True, "font_size": 14})
        head = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True})
        text = book.add_format({"num_format": "@", "border": 1})
        ws.write(0, 0, title, bold)
        ws.write_row(2, 0, headers, head)
        for r, values in enumerate(rows, start=3):
            for c, value in enumerate(values):
                if isinstance(value, str):
                    ws.write_string(r, c, value, text)
                else:
                    ws.write_number(r, c, value, text)
        for i, line in enumerate(footer, start=len(rows) + 4):
            ws.write_string(i, 0, line)
        for c, h in enumerate(headers):
            ws.set_column(c, c, max(8, min(40, len(h) * 2 + 2)))
        ws.freeze_panes(3, 0)
        book.close()
        if private:
            os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except (OSError, xlsxwriter.exceptions.FileCreateError) as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(_("无法写入文件，请检查保存位置。"), details=str(exc)) from exc


class ExportService:
    """Exports of one notice. Safe to call from any thread."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._notices = NoticeService(ctx)
        self._users = UserService(ctx)

    def export(self, notice_id: str, view: str, path: Path, by: str,
               progress: Callable[[int, int, str], None] | None = None) -> ExportResult:
        if view not in VIEWS:
            raise ValidationError(_("未知的导出形式。"), details=view)
        if view == "public":
            return self._public(notice_id, path)
        user = self._users.require(by, "preparer", "reviewer")
        if view == "payment":
            return self._payment(notice_id, path, user)
        n = self._notices.get(notice_id)
        rows = self._notices.rows(notice_id)
        schema = n.notice_type.roster_schema
        headers = ["序号", *(c["label"] for c in schema)]
        data = [[str(i), *(cell_text(c, r) for c in schema)] for i, r in enumerate(rows, start=1)]
        title = f"{n.title}（内部清册，含个人信息，请妥善保管）"
        _write_xlsx(path, "清册", title, headers, data, [f"导出人：{user.display_name}"], private=True)
        with self._ctx.write():
            record(self._ctx, user, f"export.{view}", "notice", notice_id, {"rows": len(rows), "file": path.name})
        return ExportResult(path, len(rows), view)

    def payment_blocker(self, notice_id: str, totals: RosterTotals | None = None) -> str:
        """Why the notice's 一卡通 payment file may not be made now, in words for the clerk with
        what to do about it; "" when it may (closed after its period, the close-out recorded that
        money may be released, no objection waiting for an answer, no row in error). ``totals``,
        when the caller has just read them, spares a second pass over the roster."""
        n = self._notices.get(notice_id)
        if n.status in ("draft", "in_review", "approved"):
            return _("这份公示还没有发布（当前状态：{status}），不能据此发放资金。一卡通发放文件要在公示期满、"
                     "异议全部答复并结束公示后导出。").format(status=_(STATUS_LABELS[n.status]))
        if n.status == "published":
            if self._ctx.clock.today() <= n.posting_end:
                return _("公示尚未结束（公示期至 {end}）。期满、异议全部答复并由审核人结束公示后，"
                         "才能导出一卡通发放文件。").format(end=n.posting_end.isoformat())
            return _("公示期已满，但还没有结束公示。请审核人在异议全部答复后“结束公示”，再导出一卡通发放文件。")
        if n.status == "withdrawn":
            return _("这份公示已撤回，不能据此发放资金。需要发放的，请重新办理公示。")
        if n.status == "superseded":
            newer = (Notice.select(Notice.title)
                     .where((Notice.supersedes == n.id) & ~Notice.deleted & (Notice.status != "withdrawn"))
                     .order_by(Notice.edition.desc()).first())
            return _("这份公示已被更正公示“{title}”取代，不能据此发放资金。请在更正公示结束后从它导出一卡通发放文件。"
                     ).format(title=newer.title if newer else _("（更正公示）"))
        if not n.funds_released:
            return _("这份公示结束时没有记录资金可以发放（不涉及补贴、衔接资金或征地补偿），不能导出一卡通发放文件。")
        unanswered = Objection.select().where(
            (Objection.notice == n.id) & ~Objection.deleted & (Objection.status != "answered")).count()
        if unanswered:
            return _("还有 {count} 条异议未办结。请在“异议”页核实并答复后，再导出一卡通发放文件。").format(count=unanswered)
        errors = (totals or self._notices.totals(n.id)).error_rows
        if errors:
            return _("名单中有 {count} 行有错误，不能据此发放资金。请在“明细（清册）”页勾选“只看有问题的行”核实；"
                     "这些行须改正并重新公示后才能发放。").format(count=errors)
        return ""

    def _payment(self, notice_id: str, path: Path, user) -> ExportResult:
        """The 一卡通 upload file, only when the money may be released; audited with the number
        of payments and their total. Refused: nothing is written."""
        with self._ctx.db.atomic():  # one snapshot: the rows paid are the rows the checks passed
            reason = self.payment_blocker(notice_id)
            if reason:
                raise PaymentRefused(reason, details=f"notice {notice_id}")
            n = self._notices.get(notice_id)
            rows = self._notices.rows(notice_id)
        layout = get_county("payment_layout") or DEFAULT_PAYMENT_LAYOUT
        program = n.program.name if n.program_id else n.title
        headers = [c["header"] for c in layout]
        data = []
        for i, r in enumerate(rows, start=1):
            values = {"seq": str(i), "program": program, "amount": format_yuan(r.amount_fen or 0, thousands=False)}
            data.append([values[c["field"]] if c["field"] in values else cell_text({"key": c["field"]}, r)
                         for c in layout])
        total_fen = sum(r.amount_fen or 0 for r in rows)
        total = format_yuan(total_fen, thousands=False)
        _write_xlsx(path, "一卡通发放", f"{program} 发放明细", headers, data, [f"合计金额：{total} 元，共 {len(rows)} 笔"],
                    private=True)
        try:
            with self._ctx.write():
                record(self._ctx, user, "export.payment", "notice", notice_id,
                       {"payments": len(rows), "total_fen": total_fen, "file": path.name})
        except BaseException:
            path.unlink(missing_ok=True)  # no payment file that the audit log does not know of
            raise
        return ExportResult(path, len(rows), "payment")

    def _public(self, notice_id: str, path: Path) -> ExportResult:
        view = self._notices.public_view(notice_id)
        headers = [c.label for c in view.columns]
        data = [view.display_row(r) for r in view.rows]
        footer = [f"合计：{format_yuan(view.total_amount_fen)} 元（大写：{view.amount_in_words}）"]
        if view.withheld:
            footer.append("为保护个人信息，本表未公开：" + "、".join(view.withheld))
        _write_xlsx(path, "公示名单", view.title, headers, data, footer)
        return ExportResult(path, len(data), "public")
