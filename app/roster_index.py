"""Filtering a roster by what a clerk types, fast enough for 100,000 rows.

An SQL filter on pinyin initials has to call back into Python for every row (~100 ms for 100,000
rows on the reference machine). Instead the searchable text of a notice's roster (name, its
pinyin initials, village group, ID number, whether the row has problems) is read once into memory
and kept for the few notices filtered most recently. Each filter first checks in SQL that the
roster has not changed (row count and the sum of row versions: every change of a synced row bumps
its version), then scans the lists in Python: about 20 ms in all.

The index holds personal data (ID numbers) in this process's memory only, like the editor does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from peewee import Value, fn

from app.search import initials_fast
from db.models import RosterRow

#: notices whose index is kept (an open editor or two, and the one before)
KEEP = 4


@dataclass(frozen=True)
class _Index:
    marker: tuple[int, int]
    ids: list[str]
    names: list[str]
    lowered: list[str]
    initials: list[str]
    groups: list[str]
    id_numbers: list[str]
    problems: list[int]  # positions of rows with any error or warning


class RosterIndex:
    """Per-notice filter index. Thread-safe: filters run on worker threads."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._entries: OrderedDict[tuple[str, str], _Index] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[str, str], threading.Lock] = {}

    def row_ids(self, db, notice_id: str, words: list[str], only_issues: bool) -> list[str]:
        """Ids in ``seq`` order of the live rows matching every word (see NoticeService.row_ids)."""
        index = self._current(db, notice_id)
        positions = index.problems if only_issues else range(len(index.ids))
        for word in words:
            low = word.lower()
            if word.isascii() and word.isalpha():
                inits = index.initials
                positions = [i for i in positions if low in inits[i]]
            elif word.isascii():
                up, numbers, groups, lowered = word.upper(), index.id_numbers, index.groups, index.lowered
                positions = [i for i in positions if up in numbers[i] or word in groups[i] or low in lowered[i]]
            else:
                names, groups = index.names, index.groups
                positions = [i for i in positions if word in names[i] or word in groups[i]]
        ids = index.ids
        return [ids[i] for i in positions]

    def prepare(self, db, notice_id: str) -> None:
        """Build the index ahead of the first filter (on a worker thread)."""
        self._current(db, notice_id)

    def _current(self, db, notice_id: str) -> _Index:
        key = (str(db.database), notice_id)
        marker = _marker(db, notice_id)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.marker == marker:
                self._entries.move_to_end(key)
                return entry
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one build per notice at a time; a second caller waits and reuses it
            with self._lock:
                entry = self._entries.get(key)
            marker = _marker(db, notice_id)
            if entry is None or entry.marker != marker:
                entry = _build(db, notice_id, marker)
                with self._lock:
                    self._entries[key] = entry
                    self._entries.move_to_end(key)
                    while len(self._entries) > self._keep:
                        self._entries.popitem(last=False)
        return entry


def _marker(db, notice_id: str) -> tuple[int, int]:
    """Changes whenever a row of the notice is added, changed or deleted (tombstones included)."""
    q = RosterRow.select(fn.COUNT(RosterRow.id), fn.TOTAL(RosterRow.version)).where(RosterRow.notice == notice_id)
    count, versions = db.execute(q).fetchone()
    return int(count), int(versions)


def _build(db, notice_id: str, marker: tuple[int, int]) -> _Index:
    # read after the marker: a change in between only makes the next filter rebuild
    q = (RosterRow.select(RosterRow.id, RosterRow.name, RosterRow.group_name, RosterRow.id_number,
                          RosterRow.issues != Value("[]", converter=False))
         .where((RosterRow.notice == notice_id) & (~RosterRow.deleted)).order_by(RosterRow.seq))
    rows = db.execute(q).fetchall()  # plain tuples: no model instances for 100,000 rows
    names = [r[1] for r in rows]
    return _Index(
        marker=marker, ids=[r[0] for r in rows], names=names, lowered=[n.lower() for n in names],
        initials=[initials_fast(n) for n in names], groups=[r[2] for r in rows], id_numbers=[r[3] for r in rows],
        problems=[i for i, r in enumerate(rows) if r[4]],
    )


#: the one index of this process (notices are keyed by database file and id)
ROSTER_INDEX = RosterIndex()
