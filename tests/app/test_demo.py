"""The demo township is written whole or not at all."""

from __future__ import annotations

import threading

import pytest

from app.demo import create_demo
from app.errors import Cancelled
from app.settings import local_township_id
from db.models import ALL_MODELS, Notice, Outbox, Region


def _row_counts() -> dict[str, int]:
    return {m._meta.table_name: m.select().count() for m in ALL_MODELS}


def test_a_cancelled_demo_leaves_the_database_as_empty_as_it_was(ctx):
    before = _row_counts()
    cancel = threading.Event()
    seen = []

    def progress(done, total, message):
        seen.append(done)
        if done == 3:
            cancel.set()  # the clerk presses Cancel while the fourth village is being made

    with pytest.raises(Cancelled):
        create_demo(ctx, progress=progress, cancel=cancel)
    assert seen == [0, 1, 2, 3]
    assert _row_counts() == before
    assert local_township_id() is None and Outbox.select().count() == 0


def test_a_demo_that_fails_half_way_leaves_nothing_behind(ctx, monkeypatch):
    import app.demo

    def broken(*args, **kwargs):
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(app.demo.ObjectionService, "record", broken)  # late in the demo
    with pytest.raises(RuntimeError):
        create_demo(ctx)
    assert Region.select().count() == 0 and Notice.select().count() == 0


def test_the_whole_demo_is_there_after_it_finishes(ctx):
    summary = create_demo(ctx)
    assert Notice.select().count() == summary.notices and summary.villages >= 8
    assert local_township_id() == summary.township_id
