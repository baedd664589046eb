"""Public pages a resident's phone opens from a notice's QR code (server-rendered, no JavaScript).

They are built only from the frozen public view a township published (``public_snapshot``): the
internal roster with its ID numbers, accounts and phones is never read here. "Check my row"
compares a keyed hash of the typed ID number and shows only that resident's own masked row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from datetime import date, datetime, timedelta
from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from app.context import CHINA, Clock
from app.masking import mask_free_text
from app.money import format_yuan
from app.settings import county_setting_id
from app.validation import check_id_number, normalize_id_number, normalize_name
from server import sync_service as svc
from server.db import database, write_transaction
from server.models import IdLookup, SyncRow
from server.page_cache import CACHE_CONTROL, PageCache, Rendered

log = logging.getLogger(__name__)
MAX_OBJECTION_CHARS = 2000
MAX_CONTACT_CHARS = 100

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]))
_env.filters["yuan"] = format_yuan


def _cn_date(value: str | None) -> str:
    if not value:
        return ""
    d = date.fromisoformat(value[:10])
    return f"{d.year}年{d.month}月{d.day}日"


_env.filters["cn_date"] = _cn_date


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a client address, a notice, the
    whole county), in this process, remembering at most ``keys`` keys (the least recently seen
    are forgotten first: memory stays bounded however many addresses a client rotates through).

    Behind several workers each keeps its own window; the reverse proxy's own limit is the outer
    bound (see the deployment notes).
    """

    def __init__(self, limit: int, window: float, keys: int = 50_000) -> None:
        self.limit, self.window, self.keys = limit, window, keys
        self._events: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._events.get(key)
            if q is None:
                q = self._events[key] = deque()
                if len(self._events) > self.keys:
                    self._events.popitem(last=False)
            else:
                self._events.move_to_end(key)
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                return False
            q.append(now)
            return True


class Limits:
    """Every limit one kind of request must pass: per client address, per notice, per county."""

    def __init__(self, per_client: tuple[int, float], per_notice: tuple[int, float], overall: tuple[int, float]):
        self.client, self.notice, self.overall = (RateLimiter(*per_client), RateLimiter(*per_notice),
                                                  RateLimiter(*overall, keys=1))

    def allow(self, client: str, notice_id: str) -> bool:
        return self.client.allow(client) and self.notice.allow(notice_id[:64]) and self.overall.allow("county")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _page(name: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status)


def _notice(notice_id: str) -> dict | None:
    if len(notice_id) > 64:
        return None
    row = SyncRow.get_or_none((SyncRow.entity == "notice") & (SyncRow.id == notice_id))
    if row is None or row.deleted:
        return None
    data = json.loads(row.data)
    if data.get("status") not in ("published", "closed", "superseded", "withdrawn") or not data.get("public_snapshot"):
        return None  # drafts are never public
    return data


def _newest_edition(notice_id: str) -> dict | None:
    """The published correction that superseded this notice, following the chain."""
    newest = None
    current = notice_id  # an id read from the database, never raw input
    start = SyncRow.get_or_none((SyncRow.entity == "notice") & (SyncRow.id == notice_id))
    township = start.township_id if start is not None else None
    for _ in range(20):
        found = None
        candidates = SyncRow.select(SyncRow.data).where(
            (SyncRow.entity == "notice") & (SyncRow.township_id == township) & SyncRow.data.contains(current))
        for row in candidates:
            data = json.loads(row.data)
            # only a published correction of the same township (a township cannot speak for another)
            if (data.get("supersedes_id") == current and data.get("public_snapshot")
                    and data.get("township_id") == township
                    and data.get("status") in ("published", "closed", "superseded")):
                found = data
                break
        if found is None:
            return newest
        newest, current = found, found["id"]
    return newest


def _state(data: dict, today: date) -> str:
    if data["status"] == "withdrawn":
        return "withdrawn"
    if data["status"] == "superseded":
        return "superseded"
    end = data.get("posting_end")
    if data["status"] == "closed" or (end and today > date.fromisoformat(end)):
        return "ended"
    return "posting"


def _own_row(notice_id: str, number: str, name: str, rows: list) -> list | None:
    """The public row of the resident with this ID number and name, or None — the same work, and
    the same answer, whether the number is not listed or the name does not go with it."""
    hit = IdLookup.get_or_none((IdLookup.notice_id == notice_id) & (IdLookup.id_hmac == svc.id_hmac(number))
                               & (~IdLookup.deleted))
    row = SyncRow.get_or_none((SyncRow.entity == "roster_row") & (SyncRow.id == (hit.row_id if hit else "")))
    listed = json.loads(row.data).get("name", "") if row is not None else ""
    if hit is None or not hmac.compare_digest(normalize_name(listed).encode(), name.encode()):
        return None
    position = IdLookup.select().where((IdLookup.notice_id == notice_id) & (~IdLookup.deleted)
                                       & (IdLookup.row_seq <= hit.row_seq)).count()
    return rows[position - 1] if 1 <= position <= len(rows) else None


def _not_posting() -> HTMLResponse:
    """Objections are taken online only while a notice is being posted."""
    return _page("message.html", 410, title="公示期已过或公示已不再有效",
                 text="这份公示现在不在公示期内，不再在线受理异议。如有意见，请直接到村委会、乡镇反映或拨打监督电话。")


def _taken_down(reason: str) -> HTMLResponse:
    """A page the county took down: why, and nothing of the notice."""
    text = "县级主管部门已暂停在网上公开这份公示。"
    if reason:
        text += f"原因：{reason}{'' if reason[-1:] in '。！？.!?' else '。'}"
    return _page("message.html", 410, title="本公示页面已暂停公开",
                 text=text + "纸质公示是否仍然有效，请向乡镇或监督电话核实。", bad=True)


def _csrf_token(secret: str, now: datetime) -> str:
    """``stamp.nonce.signature``; base64url parts, so a token never looks like a long number."""
    stamp = str(int(now.timestamp()))
    nonce = secrets.token_urlsafe(9)
    return f"{stamp}.{nonce}.{_sign(secret, stamp, nonce)}"


def _sign(secret: str, stamp: str, nonce: str) -> str:
    digest = hmac.new(secret.encode(), f"{stamp}.{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def _csrf_ok(secret: str, token: str, now: datetime, max_age: int = 3600) -> bool:
    try:
        stamp, nonce, sig = token.split(".")
        age = now.timestamp() - int(stamp)
    except ValueError:
        return False
    return 0 <= age <= max_age and hmac.compare_digest(sig, _sign(secret, stamp, nonce))


def _stamp(notice_id: str) -> tuple[int, int] | None:
    """The sequence numbers of the stored notice and of its take-down record (0: none), which fix
    its public page for a day; None when there is no such notice."""
    if len(notice_id) > 64:
        return None
    found = dict(SyncRow.select(SyncRow.entity, SyncRow.seq).where(
        SyncRow.entity.in_(("notice", "page_takedown")) & (SyncRow.id == notice_id)).tuples())
    return (found["notice"], found.get("page_takedown", 0)) if "notice" in found else None


def _matches(fingerprint: str | None, stored: str) -> bool | None:
    """Whether a printout's fingerprint (the QR's ``f``) is the notice's; None: none given."""
    if fingerprint is None:
        return None
    return bool(stored) and hmac.compare_digest(fingerprint[:12].encode(), stored[:12].encode())


def _cached(request: Request, page: Rendered) -> Response:
    """A cached page: 304 when the browser holds it already, else gzip when it takes it."""
    headers = {"ETag": page.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if page.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(page.gzipped, media_type="text/html; charset=utf-8",
                        headers=headers | {"Content-Encoding": "gzip"})
    return Response(page.body, media_type="text/html; charset=utf-8", headers=headers)


def create_public_router(clock: Clock, page_cache: int = 256) -> APIRouter:
    """The resident's pages; posting state, days left and objection due dates follow ``clock``.
    ``page_cache``: how many notices' pages are kept rendered (0: none)."""
    router = APIRouter(include_in_schema=False)
    pages = PageCache(page_cache)
    # "check my row": a resident tries a few times; guessing ID numbers needs thousands of tries
    check_limit = Limits(per_client=(10, 60), per_notice=(60, 60), overall=(600, 60))
    # objections: a few per resident, a bounded number per notice a day
    objection_limit = Limits(per_client=(5, 600), per_notice=(50, 86400), overall=(500, 3600))

    def view_context(notice_id: str, version: int, fingerprint: str | None) -> dict | None:
        try:
            return _view_context(notice_id, version, fingerprint)
        except (ValueError, TypeError, KeyError, AttributeError):
            # a row stored before pushes were checked field by field: not served, the page says so
            log.warning("public page: notice %s has data that cannot be shown", notice_id[:64])
            return None

    def _view_context(notice_id: str, version: int, fingerprint: str | None) -> dict | None:
        data = _notice(notice_id)
        if data is None or int(data.get("edition", 1)) != version:
            return None
        view = json.loads(data["public_snapshot"])
        if not isinstance(view, dict) or not isinstance(view.get("rows"), list):
            raise ValueError("public view")
        today = clock.today()
        takedown = svc.taken_down(notice_id)
        if takedown is not None:  # the county's word: nothing of the notice is shown
            return {"data": data, "view": view, "state": "taken_down", "match": None, "fingerprint": None,
                    "reason": mask_free_text(str(takedown.get("reason") or ""))[:300], "newest": None,
                    "days_left": None}
        state = _state(data, today)
        match = _matches(fingerprint, str(data.get("fingerprint") or ""))
        # a withdrawn notice says why (the township's words, masked like any public text)
        reason = mask_free_text(str(data.get("withdraw_reason") or ""))[:300] if state == "withdrawn" else ""
        return {"data": data, "view": view, "state": state, "match": match, "fingerprint": fingerprint,
                "reason": reason,
                "newest": _newest_edition(data["id"]) if state == "superseded" else None,
                "days_left": (date.fromisoformat(data["posting_end"]) - today).days if data.get("posting_end") else None}

    def cell(column: dict, value) -> str:
        if value is None or value == "":
            return ""
        return format_yuan(value) if column["kind"] == "money" else str(value)

    @router.get("/v/{notice_id}/{version}", response_class=HTMLResponse)
    async def verify_page(request: Request, notice_id: str, version: int, f: str | None = None) -> Response:
        # A page kept rendered is answered here, on the event loop: one short indexed query (a
        # few hundred microseconds), none of the hand-over to a request thread that costs more
        # than the query under a crowd. A page to render goes to a request thread.
        with database.connection_context():
            stamp = _stamp(notice_id)
        key = (notice_id, version, stamp, clock.today())
        entry = pages.get(key) if stamp is not None else None
        if entry is not None:
            page = entry.pages.get(_matches(f, entry.fingerprint))
            if page is not None:
                return _cached(request, page)
        return await run_in_threadpool(render_page, request, notice_id, version, f, stamp, key)

    def render_page(request: Request, notice_id: str, version: int, f: str | None, stamp, key) -> Response:
        with database.connection_context():
            ctx = view_context(notice_id, version, f)
        if ctx is None:
            return _page("not_found.html", 404)
        if ctx["state"] == "taken_down":
            return _taken_down(ctx["reason"])
        html = _env.get_template("notice.html").render(cell=cell, csrf=_csrf_token(svc_secret(), clock.now()), **ctx)
        if ctx["state"] == "superseded" or stamp is None:  # its link follows other notices: made each time
            return HTMLResponse(html)
        return _cached(request, pages.put(key, str(ctx["data"].get("fingerprint") or ""), ctx["match"], html))

    @router.post("/v/{notice_id}/{version}/check", response_class=HTMLResponse)
    def check_row(request: Request, notice_id: str, version: int, id_number: str = Form("", max_length=40),
                  name: str = Form("", max_length=40), csrf: str = Form("", max_length=100)) -> HTMLResponse:
        if not check_limit.allow(_client(request), notice_id):
            return _page("message.html", 429, title="请稍后再试", text="查询过于频繁，请一分钟后再试。")
        if not _csrf_ok(svc_secret(), csrf, clock.now()):
            return _page("message.html", 403, title="页面已过期", text="请返回公示页面重新查询。")
        with database.connection_context():
            ctx = view_context(notice_id, version, None)
            if ctx is None:
                return _page("not_found.html", 404)
            if ctx["state"] == "taken_down":
                return _taken_down(ctx["reason"])
            if ctx["state"] not in ("posting", "ended"):
                return _page("message.html", 410, title="本公示已不再有效",
                             text="本公示已撤回或已被更正，不再提供名单查询。请以乡镇的最新公示为准。")
            number, name = normalize_id_number(id_number), normalize_name(name)
            valid = bool(number and name) and not any(
                i.severity == "error" for i in check_id_number(number, today=clock.today()).issues)
            found = _own_row(notice_id, number, name, ctx["view"]["rows"]) if valid else None
        return _page("check.html", cell=cell, found=found, valid=valid, csrf=_csrf_token(svc_secret(), clock.now()),
                     **ctx)

    @router.get("/v/{notice_id}/{version}/objection", response_class=HTMLResponse)
    def objection_form(notice_id: str, version: int) -> HTMLResponse:
        with database.connection_context():
            ctx = view_context(notice_id, version, None)
        if ctx is None:
            return _page("not_found.html", 404)
        if ctx["state"] == "taken_down":
            return _taken_down(ctx["reason"])
        if ctx["state"] != "posting":
            return _not_posting()
        return _page("objection.html", csrf=_csrf_token(svc_secret(), clock.now()), error=None, typed={}, **ctx)

    @router.post("/v/{notice_id}/{version}/objection", response_class=HTMLResponse)
    def objection_submit(request: Request, notice_id: str, version: int,
                         content: str = Form("", max_length=MAX_OBJECTION_CHARS * 4),
                         contact: str = Form("", max_length=MAX_CONTACT_CHARS * 4),
                         row: str = Form("", max_length=10), csrf: str = Form("", max_length=100)) -> HTMLResponse:
        if not objection_limit.allow(_client(request), notice_id):
            return _page("message.html", 429, title="请稍后再试", text="提交过于频繁，请稍后再试，或直接到村委会、乡镇反映。")
        if not _csrf_ok(svc_secret(), csrf, clock.now()):
            return _page("message.html", 403, title="页面已过期", text="请返回公示页面重新填写。")
        with database.connection_context():
            ctx = view_context(notice_id, version, None)
            if ctx is None:
                return _page("not_found.html", 404)
            if ctx["state"] == "taken_down":
                return _taken_down(ctx["reason"])
            if ctx["state"] != "posting":
                return _not_posting()
            content, contact = content.strip(), contact.strip()
            error = None
            if not content:
                error = "请填写异议内容。"
            elif len(content) > MAX_OBJECTION_CHARS or len(contact) > MAX_CONTACT_CHARS:
                error = f"内容请不超过 {MAX_OBJECTION_CHARS} 字，联系方式不超过 {MAX_CONTACT_CHARS} 字。"
            elif row and (not row.isdigit() or not 1 <= int(row) <= len(ctx["view"]["rows"])):
                error = "序号不在本公示名单中。"
            if error:  # what the resident typed stays in the form
                return _page("objection.html", 422, csrf=_csrf_token(svc_secret(), clock.now()), error=error,
                             typed={"content": content, "contact": contact, "row": row}, **ctx)
            number = create_portal_objection(ctx["data"], content, contact, int(row) if row else None,
                                             clock.now())
        return _page("message.html", title="已收到您的反映",
                     text=f"登记编号 {number}。乡镇将在公示期内核实并答复，请留意村务公开栏。")

    return router


def svc_secret() -> str:
    """The key for form tokens, derived from the server secret (never the secret itself)."""
    with database.connection_context():
        key = svc.meta("id_hmac_key")
    return hmac.new(bytes.fromhex(key), b"csrf", hashlib.sha256).hexdigest()


def create_portal_objection(notice: dict, content: str, contact: str, row_position: int | None,
                            now: datetime) -> str:
    """Store a resident's objection, received at ``now``, as a server-owned row of the notice's
    township; it reaches the township with its next pull. Numbered by the server."""
    import uuid

    today = now.astimezone(CHINA).date()
    answer_days = 7
    setting = SyncRow.get_or_none((SyncRow.entity == "county_setting") & (SyncRow.id == county_setting_id("objection_answer_days")))
    if setting is not None:
        answer_days = int(json.loads(setting.data).get("value") or 7)
    roster_row_id = None
    if row_position is not None:
        rows = list(IdLookup.select(IdLookup.row_id).where((IdLookup.notice_id == notice["id"]) & (~IdLookup.deleted))
                    .order_by(IdLookup.row_seq).offset(row_position - 1).limit(1))
        roster_row_id = rows[0].row_id if rows else None
    with write_transaction():
        seq = svc.take_sequence(1)
        # numbered by the county's sequence: unique county-wide, whatever runs at the same time
        number = f"WS-{today:%Y%m%d}-{seq}"
        objection_id = str(uuid.uuid4())
        data = {"id": objection_id, "version": 1, "updated_at": svc.now_iso(), "deleted": False,
                "township_id": notice["township_id"], "notice_id": notice["id"], "roster_row_id": roster_row_id,
                "number": number, "origin": "portal", "channel": "portal", "received_at": now.isoformat(),
                "contact": contact, "content": content, "due_date": (today + timedelta(days=answer_days)).isoformat(),
                "status": "open", "recorded_by": None}
        SyncRow.insert(entity="objection", id=objection_id, township_id=notice["township_id"], version=1,
                       deleted=False, seq=seq, data=json.dumps(data, ensure_ascii=False, sort_keys=True),
                       updated_at=svc.now_iso()).execute()
    return number
