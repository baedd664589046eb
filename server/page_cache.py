"""The public notice pages, rendered once and served from memory while they cannot change.

A crowd scanning the QR code of one posted notice asks for the same page again and again. The
page of a notice is fixed by the stored versions of the notice row and of its take-down record
(their sequence numbers), by the county's day (the posting state and the days left) and by
whether the printout's fingerprint matches; so it is kept under those, and found again after one
small query for the two sequence numbers. Any push, take-down or new day gives a new key: a
changed notice is never served from an older render.

Each entry keeps the page as sent (UTF-8) and gzip-compressed, and its ``ETag``; the form token
inside a page is renewed by rendering again after ``max_age`` seconds, well within the token's own
lifetime. Memory is bounded: at most ``entries`` notices, the least recently used dropped first.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

#: the answer headers of a cached page: any cache may keep it, but must ask again each time
#: (a 304 when nothing changed), so a withdrawal or a take-down shows at the next scan
CACHE_CONTROL = "public, no-cache"


@dataclass(frozen=True)
class Rendered:
    body: bytes
    gzipped: bytes
    etag: str

    @classmethod
    def of(cls, html: str) -> Rendered:
        body = html.encode("utf-8")
        return cls(body, gzip.compress(body, compresslevel=6, mtime=0),
                   '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')


@dataclass
class Entry:
    """The renders of one notice at one stored version on one day."""

    fingerprint: str  # the notice's, to tell a matching printout from another
    made: float
    pages: dict[bool | None, Rendered] = field(default_factory=dict)  # by fingerprint match


class PageCache:
    def __init__(self, entries: int = 256, max_age: float = 600.0) -> None:
        self.entries = entries
        self.max_age = max_age
        self._items: OrderedDict[tuple, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Entry | None:
        if self.entries <= 0:
            return None
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry.made > self.max_age:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return entry

    def put(self, key: tuple, fingerprint: str, match: bool | None, html: str) -> Rendered:
        page = Rendered.of(html)
        if self.entries <= 0:
            return page
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                entry = self._items[key] = Entry(fingerprint, time.monotonic())
                # a notice's older versions are no use once it has a newer one
                for old in [k for k in self._items if k[0] == key[0] and k != key]:
                    del self._items[old]
                while len(self._items) > self.entries:
                    self._items.popitem(last=False)
            entry.pages[match] = page
        return page
