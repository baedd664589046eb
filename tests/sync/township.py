"""One township with several workstations against the real county server in a subprocess,
prepared once and reset cheaply between tests (and between property-test examples).

Preparing: a county database that knows the demo township's villages and programs, the server
started on it behind a :class:`FaultProxy`, the demo workstation enrolled and synced, and further
workstations enrolled fresh and synced (each with the same clerk account ``zhangli``). Copies of
all these databases are kept as templates; :meth:`Township.reset` restores the county database
with SQLite's backup API (the server keeps running: it opens a connection per request) and copies
the workstations' folders, so each test starts from the same synced state in well under a second.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import requests

from app.context import Clock
from tests.faults import FaultProxy
from tests.live import county_server

TOWNSHIP_CODE = "539901101000"
CLERK = "zhangli"


def make_county_db(db_url: str, demo_db: Path) -> str:
    """A county database holding the demo township and the reference data it works with;
    returns the township id."""
    from server import sync_service as svc
    from server.county import add_township, init_county
    from server.db import database, open_server_database

    township_id = sqlite3.connect(demo_db).execute(
        "SELECT json_extract(value, '$') FROM local_setting WHERE key = 'township_id'").fetchone()[0]
    db = open_server_database(db_url)
    try:
        with db.connection_context():
            svc.create_schema()
            init_county("539901000000", "云岭县", "http://127.0.0.1:8765")
            add_township(TOWNSHIP_CODE, "石门镇", township_id=township_id)
            demo = sqlite3.connect(demo_db)
            for entity, payload in demo.execute(
                    "SELECT entity, payload FROM outbox WHERE entity IN ('region', 'program') ORDER BY seq"):
                data = json.loads(payload)
                if data["id"] != township_id and data.get("level") != "county":
                    svc.put_county_row(entity, data["id"], data)
            demo.close()
    finally:
        db.close()
        database.initialize(None)
    return township_id


def new_enroll_code(db_url: str) -> str:
    from server import sync_service as svc
    from server.db import database, open_server_database

    db = open_server_database(db_url)
    try:
        with db.connection_context():
            return svc.create_enroll_code(TOWNSHIP_CODE, Clock().now())  # for the server on the real clock
    finally:
        db.close()
        database.initialize(None)


def sqlite_copy(src: Path, dst: Path) -> None:
    """Copy one SQLite database into another (which may be open elsewhere) with the backup API."""
    source, target = sqlite3.connect(src), sqlite3.connect(dst, timeout=30)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


@dataclass
class Station:
    """One workstation: its data folder. Open it with :func:`opened` (one at a time per process)."""

    name: str
    data_dir: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / "gongkai.sqlite3"


@contextlib.contextmanager
def opened(station: Station, clock=None):
    """The station's database as the process-wide database; yields (ctx, clerk user id)."""
    from app.context import Clock, Context
    from db.connection import close_database, open_database
    from db.models import User

    ctx = Context(db=open_database(station.db_path), data_dir=station.data_dir, clock=clock or Clock())
    try:
        yield ctx, User.get(User.username == CLERK).id
    finally:
        close_database()


class NoKeepAlive(requests.Session):
    """Every request on a new connection, so the proxy's fault list counts requests."""

    def request(self, method, url, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Connection"] = "close"
        return super().request(method, url, headers=headers, **kwargs)


def sync_client(ctx, session: requests.Session | None = None):
    from sync.client import SyncClient

    return SyncClient(ctx, session=session or NoKeepAlive(), sleep=lambda seconds: None)


class Township:
    """See the module docstring. ``stations`` counts the demo workstation too."""

    def __init__(self, root: Path, demo_template: Path, stations: int = 2, claimed: bool = True) -> None:
        self.root = root
        self.template = root / "template"
        self.template.mkdir(parents=True)
        self.db_path = root / "county.sqlite3"
        self.db_url = f"sqlite:///{self.db_path}"
        demo = self.template / "ws0"
        shutil.copytree(demo_template, demo)
        self.township_id = make_county_db(self.db_url, demo / "gongkai.sqlite3")
        self._server = county_server(self.db_url)
        self.base = self._server.__enter__()
        self.proxy = FaultProxy(urlparse(self.base).port)
        try:
            self._prepare(stations)
            if not claimed:
                self._before_owners()
        except BaseException:
            self.close()
            raise

    def _prepare(self, count: int) -> None:
        from app.context import Context
        from app.users import UserService
        from db.connection import close_database, open_database
        from db.models import SyncState

        for i in range(count):
            data = self.template / f"ws{i}"
            ctx = Context(db=open_database(data / "gongkai.sqlite3"), data_dir=data)
            try:
                client = sync_client(ctx)
                client.enroll(self.base, new_enroll_code(self.db_url), f"工作站{i}")
                SyncState.update(server_url=self.proxy.url).where(SyncState.id == 1).execute()
                if i:  # the same clerk signs in here too
                    UserService(ctx).create(CLERK, "张丽", "preparer", "long enough 1")
                client.sync(confirm_deletes=True)
            finally:
                close_database()
        if count > 1:  # the demo workstation receives what the others sent (nothing but audit)
            with opened(Station("ws0", self.template / "ws0")) as (ctx, _clerk):
                sync_client(ctx).sync()
        sqlite_copy(self.db_path, self.template / "county.sqlite3")
        self.count = count

    def _before_owners(self) -> None:
        """Make the templates a township whose notices came from before notices had owners: every
        workstation may edit them, so two can change one row (a conflict) — as after an upgrade."""
        for path in [self.template / "county.sqlite3", *(self.template / f"ws{i}" / "gongkai.sqlite3"
                                                        for i in range(self.count))]:
            conn = sqlite3.connect(path)
            try:
                with conn:
                    if path.name == "county.sqlite3":
                        conn.execute("UPDATE sync_row SET data = json_remove(data, '$.owner_device') "
                                     "WHERE entity = 'notice'")
                    else:
                        conn.execute("UPDATE notice SET owner_device = NULL")
            finally:
                conn.close()

    def reset(self, target: Path) -> list[Station]:
        """Restore the county database and give fresh copies of every workstation under ``target``."""
        self.proxy.faults = []
        self.proxy.delay = 0.0
        sqlite_copy(self.template / "county.sqlite3", self.db_path)
        stations = []
        for i in range(self.count):
            data = target / f"ws{i}"
            if data.exists():
                shutil.rmtree(data)
            shutil.copytree(self.template / f"ws{i}", data)
            stations.append(Station(f"ws{i}", data))
        return stations

    def server(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path, timeout=30)

    def server_row(self, row_id: str) -> tuple[int, dict] | None:
        """(version, data) of a row on the county server."""
        conn = self.server()
        try:
            found = conn.execute("SELECT version, data FROM sync_row WHERE id = ?", (row_id,)).fetchone()
        finally:
            conn.close()
        return (found[0], json.loads(found[1])) if found else None

    def hand_over(self, notice_id: str, station: Station) -> None:
        """The county hands a notice over to ``station`` (as its administration page does)."""
        self._county(lambda svc: svc.hand_over(notice_id, device_id(station)))

    def hand_over_all(self, from_device: str, station: Station) -> int:
        """The county hands every notice of a former enrolment over to ``station``."""
        return self._county(lambda svc: svc.hand_over_all(from_device, device_id(station)))

    def _county(self, work):
        from server import sync_service as svc
        from server.db import database, open_server_database

        db = open_server_database(self.db_url)
        try:
            with db.connection_context():
                return work(svc)
        finally:
            db.close()
            database.initialize(None)

    def close(self) -> None:
        self.proxy.close()
        self._server.__exit__(None, None, None)


def device_id(station: Station) -> str:
    """The station's id at the county."""
    conn = sqlite3.connect(station.db_path)
    try:
        return conn.execute("SELECT device_id FROM sync_state").fetchone()[0]
    finally:
        conn.close()


@contextlib.contextmanager
def township(tmp_path_factory, demo_template: Path, stations: int, claimed: bool = True) -> Iterator[Township]:
    """See :class:`Township`; ``claimed=False``: see :meth:`Township._before_owners`."""
    t = Township(tmp_path_factory.mktemp("township"), demo_template, stations, claimed)
    try:
        yield t
    finally:
        t.close()


def subsidy_notice(ctx, clerk: str, title: str, rows: int, seed: int, *, approved: bool = False,
                   claimed: bool = True) -> str:
    """A new subsidy-payout notice of the township with ``rows`` demo households (from ``seed``);
    submitted and approved by the demo's reviewer when ``approved``; naming no owner unless
    ``claimed`` (as a notice from before owners, which any workstation may edit). Returns its id."""
    import random

    from app.demo import soil_subsidy_rows
    from app.notices import NoticeService
    from app.reference import ReferenceService
    from db.models import User

    notices = NoticeService(ctx)
    program = next(p for p in ReferenceService(ctx).programs() if p.notice_type_code == "subsidy_payout")
    nid = notices.create(clerk, notice_type_id=program.notice_type_id, program_id=program.id, title=title)
    notices.add_rows(nid, clerk, soil_subsidy_rows(random.Random(seed), rows))
    if not claimed:  # not yet sent: the queued notice names no owner either
        ctx.db.execute_sql("UPDATE notice SET owner_device = NULL WHERE id = ?", (nid,))
        ctx.db.execute_sql("UPDATE outbox SET payload = json_set(payload, '$.owner_device', json('null')) "
                           "WHERE entity_id = ?", (nid,))
    if approved:
        notices.submit(nid, clerk)
        notices.approve(nid, User.get(User.username == "wangqiang").id)
    return nid
