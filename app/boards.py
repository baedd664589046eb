"""Postings on boards (张贴记录) and their photo evidence, stored content-addressed (SHA-256)."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from app.audit import record
from app.context import Context
from app.errors import NotFound, TransitionError, ValidationError
from app.i18n import _
from app.periods import days_left
from app.users import UserService
from db.changes import new_id, save_change
from db.models import Board, EvidenceFile, Notice, Posting

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
            out.append(PostingInfo(
                p.id, p.board_id, p.board.name, p.notice_id, p.notice.title, p.posted_on, end,
                days_left(end, today) if end else None, p.taken_down_on,
                tuple(e.sha256 for e in p.evidence.where(~EvidenceFile.deleted))))
        return out
