"""Postings on boards (张贴记录) and their photo evidence, stored content-addressed (SHA-256)."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from peewee import JOIN

from app.audit import record
from app.context import Context
from app.errors import NotFound, TransitionError, ValidationError
from app.i18n import _
from app.periods import days_left
from app.settings import local_township_id
from app.users import UserService
from db.changes import new_id, save_change
from db.models import Board, EvidenceFile, Notice, Posting, Region

MAX_EVIDENCE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class PostingInfo:
    id: str
    board_id: str
    board: str
    notice_id: str
    title: str
    posted_on: date
    posting_end: date | None
    days_left: int | None
    taken_down_on: date | None
    evidence: tuple[str, ...]  # SHA-256 of each photo
    notice_status: str = ""
    #: still up although the posting period has ended or the notice was withdrawn or corrected
    take_down_due: bool = False


#: notice states whose postings must come down at once: a withdrawn notice, or an edition replaced
#: by a correction (更正公示) — the corrected edition is posted in its place
_TAKE_DOWN_STATUSES = ("withdrawn", "superseded")


@dataclass(frozen=True)
class EvidenceInfo:
    """One photo of a posting; the file is at ``evidence_path(ctx.evidence_dir, sha256)``."""

    sha256: str
    filename: str
    media_type: str
    size: int
    added_by: str
    added_at: str


@dataclass(frozen=True)
class PostableNotice:
    """A published notice that is not up on a given board yet."""

    id: str
    title: str
    village_id: str | None
    village: str
    posting_start: date | None
    posting_end: date | None
    #: for this board's village (or township-wide): where the notice belongs
    relevant: bool


def evidence_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def store_blob(root: Path, source: Path) -> tuple[str, int]:
    """Copy ``source`` into the content-addressed store; returns (sha256, size). Idempotent."""
    h = hashlib.sha256()
    size = 0
    with source.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
            if size > MAX_EVIDENCE_BYTES:
                raise ValidationError(_("照片文件过大（超过 50 MB）。"), details=source.name)
    digest = h.hexdigest()
    target = evidence_path(root, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    return digest, size


class BoardService:
    """What is posted where, with photo evidence. Safe to call from any thread."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._users = UserService(ctx)

    def post(self, notice_id: str, board_id: str, by: str, posted_on: date | None = None) -> str:
        user = self._users.require(by, "preparer", "reviewer")
        with self._ctx.write():
            n = Notice.get_or_none((Notice.id == notice_id) & (~Notice.deleted))
            b = Board.get_or_none((Board.id == board_id) & (~Board.deleted))
            if n is None or b is None:
                raise NotFound(_("找不到该公示或公开栏。"))
            if n.status != "published":
                raise TransitionError(_("只有已发布的公示可以张贴。"))
            if Posting.select().where((Posting.board == b.id) & (Posting.notice == n.id) & (~Posting.deleted)
                                      & Posting.taken_down_on.is_null()).exists():
                raise TransitionError(_("这份公示已经张贴在该公开栏上。"))
            p = Posting(id=new_id(), township_id=n.township_id, board=b.id, notice=n.id,
                        posted_on=posted_on or self._ctx.clock.today(), posted_by=user.display_name)
            save_change(p, created=True)
            record(self._ctx, user, "posting.create", "posting", p.id, {"notice": n.id, "board": b.id})
        return p.id

    def add_evidence(self, posting_id: str, by: str, photo: Path) -> str:
        user = self._users.require(by, "preparer", "reviewer")
        if not photo.is_file():
            raise ValidationError(_("找不到照片文件。"), details=photo.name)
        digest, size = store_blob(self._ctx.evidence_dir, photo)
        with self._ctx.write():
            p = Posting.get_or_none((Posting.id == posting_id) & (~Posting.deleted))
            if p is None:
                raise NotFound(_("找不到该张贴记录。"), details=posting_id)
            e = EvidenceFile(id=new_id(), township_id=p.township_id, posting=p.id, sha256=digest,
                             filename=photo.name[:200], size=size,
                             media_type=mimetypes.guess_type(photo.name)[0] or "application/octet-stream",
                             added_by=user.display_name, added_at=self._ctx.clock.now().isoformat())
            save_change(e, created=True)
            record(self._ctx, user, "posting.evidence", "posting", p.id, {"sha256": digest})
        return digest

    def take_down(self, posting_id: str, by: str, on: date | None = None) -> None:
        user = self._users.require(by, "preparer", "reviewer")
        with self._ctx.write():
            p = Posting.get_or_none((Posting.id == posting_id) & (~Posting.deleted))
            if p is None:
                raise NotFound(_("找不到该张贴记录。"), details=posting_id)
            if p.taken_down_on is not None:
                raise TransitionError(_("该公示已于 {day} 撤下。").format(day=p.taken_down_on.isoformat()))
            p.taken_down_on = on or self._ctx.clock.today()
            save_change(p)
            record(self._ctx, user, "posting.take_down", "posting", p.id, {})

    def postings(self, board_id: str | None = None) -> list[PostingInfo]:
        today = self._ctx.clock.today()
        q = (Posting.select(Posting, Notice, Board).join(Notice).switch(Posting).join(Board)
             .where(~Posting.deleted).order_by(Posting.posted_on.desc()))
        if board_id:
            q = q.where(Posting.board == board_id)
        out = []
        for p in q:
            end = p.notice.posting_end
            up = p.taken_down_on is None
            due = up and (p.notice.status in _TAKE_DOWN_STATUSES or (end is not None and end < today))
            out.append(PostingInfo(
                p.id, p.board_id, p.board.name, p.notice_id, p.notice.title, p.posted_on, end,
                days_left(end, today) if end else None, p.taken_down_on,
                tuple(e.sha256 for e in p.evidence.where(~EvidenceFile.deleted).order_by(EvidenceFile.added_at)),
                p.notice.status, due))
        return out

    def evidence(self, posting_id: str) -> list[EvidenceInfo]:
        """The photos of a posting, oldest first."""
        q = (EvidenceFile.select().where((EvidenceFile.posting == posting_id) & (~EvidenceFile.deleted))
             .order_by(EvidenceFile.added_at))
        return [EvidenceInfo(e.sha256, e.filename, e.media_type, e.size, e.added_by, e.added_at) for e in q]

    def postable_notices(self, board_id: str) -> list[PostableNotice]:
        """Published notices not up on ``board_id`` now: those for the board's village and the
        township-wide ones first (where they belong), then other villages' (e.g. for the township
        board, 村镇县三级公示)."""
        b = Board.get_or_none((Board.id == board_id) & (~Board.deleted))
        if b is None:
            raise NotFound(_("找不到该公开栏。"), details=board_id)
        up = (Posting.select(Posting.notice).where((Posting.board == b.id) & (~Posting.deleted)
                                                  & Posting.taken_down_on.is_null()))
        q = (Notice.select(Notice, Region).join(Region, on=(Notice.village == Region.id), join_type=JOIN.LEFT_OUTER)
             .where((Notice.status == "published") & (~Notice.deleted) & Notice.id.not_in(up)))
        out = []
        for n in q:
            village = n.village.name if n.village_id else ""
            relevant = n.village_id is None or b.village_id is None or n.village_id == b.village_id
            out.append(PostableNotice(n.id, n.title, n.village_id, village, n.posting_start, n.posting_end,
                                      relevant))
        out.sort(key=lambda x: (not x.relevant, x.posting_start or date.max, x.title))
        return out

    def add_board(self, name: str, village_id: str | None, by: str, location: str = "") -> str:
        """Register a physical board (公开栏) at a village, or at the township when ``village_id``
        is None; returns its id."""
        user = self._users.require(by, "preparer", "reviewer")
        name, location = name.strip(), location.strip()
        if not name:
            raise ValidationError(_("请填写公开栏名称。"))
        if len(name) > 100 or len(location) > 200:
            raise ValidationError(_("名称或位置过长。"))
        with self._ctx.write():
            if village_id is not None:
                v = Region.get_or_none((Region.id == village_id) & (~Region.deleted))
                if v is None or v.level != "village":
                    raise NotFound(_("找不到该行政村。"), details=village_id)
            if Board.select().where((Board.name == name) & (~Board.deleted)).exists():
                raise ValidationError(_("已有同名的公开栏“{name}”。").format(name=name))
            b = Board(id=new_id(), township_id=local_township_id(), name=name, village=village_id,
                      location=location)
            save_change(b, created=True)
            record(self._ctx, user, "board.create", "board", b.id, {"name": name})
        return b.id
