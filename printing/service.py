"""Printing service: reads notices, settings and boards through the app services and hands the
renderers only the public view and plain data (never the internal roster).

Long work (batch printing) takes ``progress(done, total, message)`` and ``cancel`` and runs on
any thread; it must not touch widgets.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from app.boards import BoardService
from app.context import Context
from app.errors import Cancelled, NotFound
from app.i18n import _
from app.masking import mask_free_text
from app.money import format_yuan
from app.notices import STATUS_LABELS, NoticeService, NoticeSummary
from app.reference import ReferenceService
from app.settings import CountySettings, get_local
from printing.fonts import Measure, default_measure
from printing.notice import RenderInfo, render_notice
from printing.sheets import (
    BoardEntry,
    BoardSheet,
    IndexEntry,
    render_board_sheet,
    render_index,
    render_objection_slip,
)

Progress = Callable[[int, int, str], None]

#: local setting naming a font file chosen by the clerk (设置 → 打印字体)
FONT_SETTING = "print_font_path"
PUBLISHED = ("published", "closed")
#: not yet on the county server: printed as proofs without a verification QR code
UNPUBLISHED = ("draft", "in_review", "approved")
#: statuses printed by a batch: ready to post (approved) or posted (published)
BATCH_STATUSES = ("approved", "published")
INDEX_PDF = "00-打印清单.pdf"
INDEX_TXT = "00-打印清单.txt"
_WATERMARKS = {"withdrawn": "已撤回", "superseded": "已更正"}
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "notice"


class PrintService:
    """Print notices, batches, board sheets and objection slips to PDF. Safe to call from any thread."""

    def __init__(self, ctx: Context, font: str | Path | None = None) -> None:
        self._ctx = ctx
        self._font = font
        self._notices = NoticeService(ctx)

    def _measure(self) -> Measure:
        return default_measure(self._font or get_local(FONT_SETTING) or None)

    def print_notice(self, notice_id: str, out: Path | BinaryIO, paper: str = "auto",
                     landscape: bool | None = None) -> RenderInfo:
        """Render one notice. Anything not published or closed carries a large watermark
        (草稿, or 已撤回/已更正). Raises NotFound or PrintError."""
        measure = self._measure()
        view = self._notices.public_view(notice_id)
        n = self._notices.get(notice_id)
        draft = n.status not in PUBLISHED
        explanation = list(n.posting_explanation or [])
        if n.posting_unit != "working" and not any("顺延" in x or "尚无" in x for x in explanation):
            explanation = []  # a plain count of natural days needs no explanation
        return render_notice(
            view, out, public_url=CountySettings.load().public_url, draft=draft,
            unpublished=n.status in UNPUBLISHED, paper=paper,
            landscape=landscape, issued_on=n.posting_start or (self._ctx.clock.today() if draft else None),
            posting_explanation=explanation, watermark=_WATERMARKS.get(n.status), measure=measure)

    def batch_notices(self, program_id: str) -> list[NoticeSummary]:
        """The notices :meth:`print_program_by_village` prints: per village, the latest edition of
        the program's approved or published notice, in village order."""
        chosen: dict[str, NoticeSummary] = {}
        for s in self._notices.summaries():
            if s.status not in BATCH_STATUSES or not s.village_id:
                continue
            if self._notices.get(s.id).program_id != program_id:
                continue
            if s.village_id not in chosen or s.edition > chosen[s.village_id].edition:
                chosen[s.village_id] = s
        return self._in_village_order(chosen.values())

    def _in_village_order(self, summaries) -> list[NoticeSummary]:
        order = {v.id: i for i, v in enumerate(ReferenceService(self._ctx).regions("village"))}
        return sorted(summaries, key=lambda s: (s.village_id is not None, order.get(s.village_id, len(order)),
                                                s.village, s.title))

    def print_published(self, out_dir: Path, progress: Progress | None = None,
                        cancel: threading.Event | None = None) -> list[Path]:
        """Every notice being posted now (公示中), one PDF each: township-level notices first,
        then village by village; plus ``00-打印清单.txt`` listing them.

        Returns the PDFs in that order. Raises Cancelled when ``cancel`` is set; files finished
        before that stay, and no list is written.
        """
        report = progress or (lambda done, total, message: None)
        todo = self._in_village_order(s for s in self._notices.summaries() if s.status == "published")
        self._measure()  # fail on a missing font before writing anything
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)  # the folder the batch goes to may be new
        written: list[Path] = []
        lines = ["正在公示的公示打印清单",
                 "\t".join(("文件", "行政村", "状态", "明细行数", "金额合计（元）", "页数", "公示名称"))]
        for done, s in enumerate(todo):
            if cancel is not None and cancel.is_set():
                raise Cancelled(_("已取消批量打印；已完成 {done} 份公示的文件，未生成打印清单。").format(done=done))
            where = s.village or "乡镇级"
            report(done, len(todo), _("正在打印：{village} {title}").format(village=where, title=s.title))
            path = out_dir / f"{done + 1:02d}-{_safe(where)}-{_safe(s.title)[:40]}.pdf"
            info = self.print_notice(s.id, path)
            written.append(path)
            lines.append("\t".join((path.name, where, STATUS_LABELS[s.status], str(s.rows),
                                    format_yuan(s.total_fen, thousands=False), str(info.pages), s.title)))
        (out_dir / INDEX_TXT).write_text("\n".join(lines) + "\n", encoding="utf-8")
        report(len(todo), len(todo), _("批量打印完成：{count} 份公示").format(count=len(todo)))
        return written

    def print_program_by_village(self, program_id: str, out_dir: Path, progress: Progress | None = None,
                                 cancel: threading.Event | None = None) -> list[Path]:
        """One PDF per village that has an approved or published notice of the program (the
        latest edition), plus ``00-打印清单.pdf``/``.txt`` listing files, villages, rows and totals.

        Returns the village PDFs in village order. Raises Cancelled when ``cancel`` is set; files
        finished before that stay, and no index is written.
        """
        report = progress or (lambda done, total, message: None)
        program = ReferenceService(self._ctx).program(program_id)
        todo = self.batch_notices(program_id)
        self._measure()  # fail on a missing font before writing anything
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)  # the folder the batch goes to may be new
        written: list[Path] = []
        entries: list[IndexEntry] = []
        for done, s in enumerate(todo):
            if cancel is not None and cancel.is_set():
                raise Cancelled(_("已取消批量打印；已完成 {done} 个村的文件，未生成打印清单。").format(done=done))
            report(done, len(todo), _("正在打印：{village}").format(village=s.village))
            path = out_dir / f"{done + 1:02d}-{_safe(s.village)}-{_safe(program.name)}.pdf"
            info = self.print_notice(s.id, path)
            written.append(path)
            entries.append(IndexEntry(path.name, s.village, mask_free_text(s.title), STATUS_LABELS[s.status], s.rows,
                                      s.total_fen, info.pages))
        title = f"{program.name}公示打印清单"
        render_index(title, entries, out_dir / INDEX_PDF, measure=self._measure())
        lines = [title, "\t".join(("文件", "行政村", "状态", "明细行数", "金额合计（元）", "页数", "公示名称"))]
        lines += ["\t".join((e.file, e.village, e.status, str(e.rows), format_yuan(e.total_fen, thousands=False), str(e.pages), e.title))
                  for e in entries]
        (out_dir / INDEX_TXT).write_text("\n".join(lines) + "\n", encoding="utf-8")
        report(len(todo), len(todo), _("批量打印完成：{count} 个村").format(count=len(todo)))
        return written

    def print_board_sheet(self, board_id: str, out: Path | BinaryIO) -> RenderInfo:
        """One page listing what is posted on the board now, with days left as of today."""
        board = next((b for b in ReferenceService(self._ctx).boards() if b.id == board_id), None)
        if board is None:
            raise NotFound(_("找不到该公开栏。"), details=board_id)
        postings = [p for p in BoardService(self._ctx).postings(board_id) if p.taken_down_on is None]
        postings.sort(key=lambda p: (p.posting_end is None, p.posting_end, p.title))
        sheet = BoardSheet(board.name, board.location, self._ctx.clock.today(), tuple(
            BoardEntry(p.title, p.posted_on, p.posting_end, p.days_left) for p in postings))
        return render_board_sheet(sheet, out, measure=self._measure())

    def print_objection_slip(self, notice_id: str, out: Path | BinaryIO) -> RenderInfo:
        """异议登记表 whose QR code opens the county objection page for this notice version."""
        measure = self._measure()
        view = self._notices.public_view(notice_id)
        county = CountySettings.load()
        unpublished = self._notices.get(notice_id).status in UNPUBLISHED
        return render_objection_slip(view, out, public_url=county.public_url, unpublished=unpublished,
                                     answer_days=county.objection_answer_days, measure=measure)
