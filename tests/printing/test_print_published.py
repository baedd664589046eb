"""Batch printing of every notice being posted now, and the batch's notice choice."""

from __future__ import annotations

import threading

import pytest

from app.errors import Cancelled
from app.notices import NoticeService
from app.reference import ReferenceService
from printing.service import INDEX_TXT, PrintService
from tests.printing.pdfcheck import page_texts, squeeze


def test_every_published_notice_gets_its_own_file(demo_ctx, tmp_path):
    published = [s for s in NoticeService(demo_ctx).summaries() if s.status == "published"]
    calls = []
    files = PrintService(demo_ctx).print_published(tmp_path, progress=lambda *a: calls.append(a))
    assert len(files) == len(published) and all(f.exists() for f in files)
    by_title = {squeeze(s.title): s for s in published}
    printed = [next(t for t in by_title if t in squeeze("".join(page_texts(f)))) for f in files]
    assert sorted(printed) == sorted(by_title)
    township_first = [by_title[t].village_id is None for t in printed]
    assert township_first == sorted(township_first, reverse=True)
    index = (tmp_path / INDEX_TXT).read_text(encoding="utf-8").splitlines()
    assert len(index) == 2 + len(files) and all(any(line.startswith(f.name) for line in index) for f in files)
    assert calls[-1][:2] == (len(files), len(files))


def test_a_cancelled_batch_writes_no_list(demo_ctx, tmp_path):
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        PrintService(demo_ctx).print_published(tmp_path, progress=lambda *a: cancel.set(), cancel=cancel)
    assert len(list(tmp_path.glob("*.pdf"))) == 1 and not (tmp_path / INDEX_TXT).exists()


def test_batch_notices_are_the_ones_printed_by_village(demo_ctx, tmp_path):
    program = next(p for p in ReferenceService(demo_ctx).programs() if p.notice_type_code == "subsidy_payout")
    service = PrintService(demo_ctx)
    chosen = service.batch_notices(program.id)
    files = service.print_program_by_village(program.id, tmp_path)
    assert [f.name.split("-")[1] for f in files] == [s.village for s in chosen]
    assert {s.status for s in chosen} <= {"approved", "published"}
