"""The workstation half of SYNC.md: enrolment, push of the outbox, pull with checkpoints.

Push sends the outbox in bounded, gzip-compressed batches whose ids are derived from their
content (the same entries always form the same batch), so a retry after a lost answer is applied
once. Pull applies each page in one transaction together with the new checkpoint. A pulled change
for a row with unsent local changes is a conflict kept for the clerk; nothing is overwritten.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from app.context import Context
from app.errors import Cancelled, SyncError
from app.i18n import _
from app.settings import get_local, set_local
from db.changes import utc_now
from db.models import ENTITY_MODELS, Outbox, SyncProblem, SyncState
from sync.protocol import COUNTY_ENTITIES, MAX_BATCH_CHANGES, PROTOCOL_HEADER, PROTOCOL_VERSION

Progress = Callable[[int, int, str], None]
TIMEOUT = (10, 60)  # connect, read (seconds)
RETRIES = 5


@dataclass(frozen=True)
class SyncReport:
    pushed: int
    duplicates: int
    conflicts: int
    rejected: int
    pulled: int
    requests: int


def _status_message(status: int, body: str) -> str:
    try:
        detail = json.loads(body).get("error", "")
    except (ValueError, AttributeError):
        detail = ""
    if status == 401:
        return _("本机的同步授权无效或已被县里停用，请联系县里重新获取注册码。")
    if status == 426:
        return _("县级服务器要求更新本软件后才能同步。")
    if status == 403:
        return _("县级服务器拒绝了本次同步：{detail}").format(detail=detail or status)
    return _("县级服务器返回错误（{status}）：{detail}").format(status=status, detail=detail or "")


class SyncClient:
    """Talks to the county server. Runs on a worker thread; takes ``progress`` and ``cancel``."""

    def __init__(self, ctx: Context, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._ctx = ctx
        self._http = session or requests.Session()
        self._sleep = sleep
        self.requests = 0

    # ------------------------------------------------------------------ transport
    def _request(self, method: str, url: str, *, token: str | None = None, body: Any = None,
                 params: dict | None = None, raw: bytes | None = None, content_type: str = "application/octet-stream",
                 retries: int = RETRIES, unreachable: str | None = None) -> requests.Response:
        """One HTTP exchange with the county, retried with exponential backoff and jitter on
        network errors and on 408/429/502/503/504; any other 4xx is final. ``body`` travels as
        gzip-compressed JSON, ``raw`` as it is."""
        headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
        data = raw
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = gzip.compress(json.dumps(body, ensure_ascii=False).encode("utf-8"), compresslevel=6)
            headers.update({"Content-Type": "application/json", "Content-Encoding": "gzip"})
        elif raw is not None:
            headers["Content-Type"] = content_type
        delay = 1.0
        for attempt in range(retries + 1):
            try:
                self.requests += 1
                response = self._http.request(method, url, headers=headers, data=data, params=params,
                                              timeout=TIMEOUT)
            except requests.RequestException as exc:
                failure = SyncError(unreachable or _("无法连接县级服务器，已保存的数据不受影响，稍后会自动重试。"),
                                    details=type(exc).__name__)
            else:
                if response.status_code < 400:
                    return response
                failure = SyncError(_status_message(response.status_code, response.text),
                                    details=f"HTTP {response.status_code}")
                if response.status_code not in (408, 429, 502, 503, 504):
                    raise failure
            if attempt == retries:
                raise failure
            self._sleep(random.uniform(0, delay))  # full jitter
            delay = min(delay * 2, 30)
        raise AssertionError("unreachable")

    def _state(self) -> SyncState:
        state = SyncState.get_or_none(SyncState.id == 1)
        if state is None or not state.token:
            raise SyncError(_("本机尚未注册到县级服务器，请先用注册码注册。"))
        return state

    # ------------------------------------------------------------------ USB bundles
    def export_bundle(self, path) -> int:
        """Write everything queued (and the photos it refers to) to ``path``; returns the count.

        Whatever the county has not yet receipted is written again in every new bundle.
        """
        import base64
        from pathlib import Path

        from app.boards import evidence_path
        from sync.bundle import bundle_key, token_hash, write_bundle

        state = self._state()
        self._drop_county_entries()
        entries = list(Outbox.select().order_by(Outbox.seq))
        batches = [_batch(state, entries[i:i + MAX_BATCH_CHANGES])
                   for i in range(0, len(entries), MAX_BATCH_CHANGES)]
        blobs = {}
        for e in entries:
            if e.entity == "evidence_file" and e.payload.get("sha256"):
                photo = evidence_path(self._ctx.evidence_dir, e.payload["sha256"])
                if photo.is_file():
                    blobs[e.payload["sha256"]] = base64.b64encode(photo.read_bytes()).decode()
        body = {"manifest": {"device_id": state.device_id, "last_pulled_seq": state.last_pulled_seq,
                             "epoch": state.server_epoch, "changes": len(entries), "created_at": utc_now()},
                "batches": batches, "blobs": blobs}
        write_bundle(Path(path), "request", state.device_id, bundle_key(token_hash(state.token)), body)
        return len(entries)

    def import_reply(self, path) -> SyncReport:
        """Complete a USB cycle with the county's reply: settle what it received, apply what it sent.
        Importing the same reply again changes nothing."""
        from pathlib import Path

        from sync.bundle import BundleError, bundle_key, read_bundle, token_hash

        state = self._state()
        key = bundle_key(token_hash(state.token))
        _device, body = read_bundle(Path(path), "reply", lambda d: key if d == state.device_id else None)
        if body["manifest"].get("epoch") not in (None, state.server_epoch) and state.last_pulled_seq:
            raise BundleError(_("县级服务器已从备份恢复，请联网同步一次后再使用U盘同步。"))
        totals = [0, 0, 0, 0]
        for item in body["results"]:
            entries = list(Outbox.select().where(Outbox.seq.between(item["first_seq"], item["last_seq"]))
                           .order_by(Outbox.seq))
            result = item["result"]
            self._settle(entries, result)
            for i, k in enumerate(("accepted", "duplicates", "conflicts", "rejected")):
                totals[i] += len(result.get(k, []))
        pulled = 0
        for page in body["pages"]:
            self._apply_page(page)
            pulled += len(page["changes"])
        self._check_references()
        return SyncReport(totals[0], totals[1], totals[2], totals[3], pulled, 0)

    # ------------------------------------------------------------------ enrolment
    def enroll(self, server_url: str, code: str, device_name: str) -> str:
        """Exchange a one-time code for this workstation's identity; returns the township id."""
        server_url = server_url.rstrip("/")
        answer = self._enroll_call(server_url, code, device_name)
        township_id = answer["township_id"]
        current = get_local("township_id")
        if current is not None and current != township_id:
            raise SyncError(_("注册码属于另一个乡镇，本机数据属于其他乡镇，未做任何更改。"))
        with self._ctx.write():
            SyncState.insert(id=1, device_id=answer["device_id"], token=answer["token"], server_url=server_url,
                             last_pulled_seq=0, server_epoch=answer["epoch"]).on_conflict_replace().execute()
            set_local("township_id", township_id)
        return township_id

    def _enroll_call(self, server_url: str, code: str, device_name: str) -> dict:
        try:
            response = self._request("POST", f"{server_url}/api/v1/enroll", raw=json.dumps(
                {"code": code, "device_name": device_name}).encode(), content_type="application/json", retries=0,
                unreachable=_("无法连接县级服务器，请检查网址和网络。"))
        except SyncError as err:
            if err.details == "HTTP 403":
                raise SyncError(_("注册码无效、已使用或已过期，请向县里重新获取。")) from err
            raise
        return response.json()

    # ------------------------------------------------------------------ sync
    def sync(self, progress: Progress | None = None, cancel: threading.Event | None = None) -> SyncReport:
        """Push everything queued, then pull everything new. Safe to repeat at any time."""
        report = progress or (lambda done, total, message: None)
        self.requests = 0
        state = self._state()
        try:
            pushed = self._push(state, report, cancel)
            pulled = self._pull(state, report, cancel)
        except SyncError as err:
            with self._ctx.write():
                SyncState.update(last_error=str(err), last_error_at=utc_now()).where(SyncState.id == 1).execute()
            raise
        with self._ctx.write():
            SyncState.update(last_success_at=utc_now(), last_error=None).where(SyncState.id == 1).execute()
        return SyncReport(pushed[0], pushed[1], pushed[2], pushed[3], pulled, self.requests)

    def _push(self, state: SyncState, report: Progress, cancel) -> tuple[int, int, int, int]:
        totals = [0, 0, 0, 0]
        self._drop_county_entries()
        total = Outbox.select().count()
        done = 0
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled(_("同步已取消；已发送的部分已保存在县里。"))
            entries = list(Outbox.select().order_by(Outbox.seq).limit(MAX_BATCH_CHANGES))
            if not entries:
                return tuple(totals)
            self._upload_photos(state, entries)
            body = _batch(state, entries)
            result = self._request("POST", f"{state.server_url}/api/v1/sync/push", token=state.token,
                                   body=body).json()
            self._settle(entries, result)
            totals[0] += len(result["accepted"])
            totals[1] += len(result.get("duplicates", []))
            totals[2] += len(result["conflicts"])
            totals[3] += len(result["rejected"])
            done += len(entries)
            report(done, max(total, done), _("已上传 {done}/{total} 项更改").format(done=done, total=total))

    def _upload_photos(self, state: SyncState, entries: list[Outbox]) -> None:
        """Send the photos a batch refers to before the batch itself (content-addressed, idempotent)."""
        from app.boards import evidence_path

        for e in entries:
            digest = e.payload.get("sha256") if e.entity == "evidence_file" else None
            if not digest:
                continue
            photo = evidence_path(self._ctx.evidence_dir, digest)
            if photo.is_file():
                self._send_blob(state, digest, photo.read_bytes())

    def _send_blob(self, state: SyncState, digest: str, data: bytes) -> None:
        self._request("PUT", f"{state.server_url}/api/v1/blobs/{digest}", token=state.token, raw=data)

    def fetch_photo(self, digest: str) -> bool:
        """Fetch a posting photo this workstation does not have yet (photos come on demand)."""
        from app.boards import evidence_path

        state = self._state()
        target = evidence_path(self._ctx.evidence_dir, digest)
        if target.is_file():
            return False
        response = self._request("GET", f"{state.server_url}/api/v1/blobs/{digest}", token=state.token,
                                 unreachable=_("无法连接县级服务器，请稍后再试。"))
        if hashlib.sha256(response.content).hexdigest() != digest:
            raise SyncError(_("收到的照片与其校验值不符，已丢弃。"))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(response.content)
        tmp.replace(target)
        return True

    def _drop_county_entries(self) -> None:
        """County rows edited locally (e.g. the shipped catalogue) are the county's to send."""
        with self._ctx.write():
            Outbox.delete().where(Outbox.entity.in_([e for e in COUNTY_ENTITIES if e != "program"])).execute()
            Outbox.delete().where((Outbox.entity == "program") & (Outbox.payload.contains('"township_id":null'))).execute()

    def _settle(self, entries: list[Outbox], result: dict) -> None:
        """Remove what the county holds now; keep conflicts and refusals for the clerk."""
        by_id: dict[str, list[Outbox]] = {}
        for e in entries:
            by_id.setdefault(e.entity_id, []).append(e)
        with self._ctx.write():
            done = [e.seq for a in (*result["accepted"], *result.get("duplicates", []))
                    for e in by_id.get(a["id"], []) if e.version <= a["version"]]
            for c in result["conflicts"]:
                mine = by_id.get(c["id"], [])
                local = mine[-1] if mine else None
                SyncProblem.create(kind="conflict", entity=c.get("entity") or (local.entity if local else ""),
                                   entity_id=c["id"], local_version=local.version if local else None,
                                   server_version=c.get("server_version"), local_data=local.payload if local else None,
                                   server_data=c.get("server_data"), reason=_("县里已有另一台电脑的修改"),
                                   created_at=utc_now())
                done += [e.seq for e in mine]  # kept in sync_problem until the clerk decides
            for r in result["rejected"]:
                mine = by_id.get(r["id"], [])
                local = mine[-1] if mine else None
                SyncProblem.create(kind="rejected", entity=local.entity if local else "", entity_id=r["id"],
                                   local_version=local.version if local else None,
                                   local_data=local.payload if local else None, reason=r["reason"][:500],
                                   created_at=utc_now())
                done += [e.seq for e in mine]
            if done:
                Outbox.delete().where(Outbox.seq.in_(done)).execute()

    def _pull(self, state: SyncState, report: Progress, cancel) -> int:
        since = state.last_pulled_seq
        pulled = 0
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled(_("同步已取消；已接收的部分已保存。"))
            page = self._request("GET", f"{state.server_url}/api/v1/sync/pull", token=state.token,
                                 params={"since": since, "limit": 500}).json()
            self._apply_page(page)
            pulled += len(page["changes"])
            since = page["next"]
            report(pulled, pulled + (500 if page["more"] else 0), _("已接收 {n} 项更新").format(n=pulled))
            if not page["more"]:
                self._check_references()
                return pulled

    def _check_references(self) -> None:
        """After a complete pull every reference must resolve (Anki's check after sync)."""
        broken = self._ctx.db.execute_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            with self._ctx.write():
                SyncProblem.create(kind="integrity", entity=broken[0][0], entity_id=str(broken[0][1]),
                                   reason=f"{len(broken)} rows refer to rows the county has not sent",
                                   created_at=utc_now())

    def _apply_page(self, page: dict) -> None:
        """Apply one page and move the checkpoint, in one transaction.

        The change feed orders rows by their latest change, so a child can arrive a page before its
        parent's newest version: references are checked when the whole pull is done, not per page.
        """
        self._ctx.db.execute_sql("PRAGMA foreign_keys = OFF")  # only takes effect outside a transaction
        try:
            self._apply_page_rows(page)
        finally:
            self._ctx.db.execute_sql("PRAGMA foreign_keys = ON")

    def _apply_page_rows(self, page: dict) -> None:
        with self._ctx.write():
            pending = {e.entity_id for e in Outbox.select(Outbox.entity_id)}
            for change in page["changes"]:
                model = ENTITY_MODELS.get(change["entity"])
                if model is None:
                    continue  # an entity this version does not know yet
                local = model.get_or_none(model.id == change["id"])
                county_row = change["entity"] in COUNTY_ENTITIES and change["data"].get("township_id") is None
                if county_row:
                    _upsert(model, change["data"])  # the county's reference data: its copy is the truth
                    continue
                if local is not None and local.version >= change["version"]:
                    continue  # our own change coming back, or older news
                if change["id"] in pending:
                    SyncProblem.create(kind="conflict", entity=change["entity"], entity_id=change["id"],
                                       local_version=local.version if local else None,
                                       server_version=change["version"], server_data=change["data"],
                                       local_data=None, reason=_("本机有尚未上传的修改"), created_at=utc_now())
                    continue
                _upsert(model, change["data"])
            # never backwards: a USB reply imported twice, or late, carries an older checkpoint
            current = SyncState.get_by_id(1).last_pulled_seq
            SyncState.update(last_pulled_seq=max(current, page["next"]), server_epoch=page.get("epoch")).where(
                SyncState.id == 1).execute()


def _batch(state: SyncState, entries: list[Outbox]) -> dict:
    """A push batch. Its id is derived from the entries, so the same entries always form the same
    batch, whether they travel over the network or on a USB stick."""
    batch_id = hashlib.sha256(f"{state.device_id}:{entries[0].seq}:{entries[-1].seq}".encode()).hexdigest()[:32]
    return {"protocol": PROTOCOL_VERSION, "device_id": state.device_id, "batch_id": batch_id,
            "first_seq": entries[0].seq, "last_seq": entries[-1].seq,
            "changes": [{"entity": e.entity, "id": e.entity_id, "version": e.version,
                         "base_version": e.base_version, "deleted": bool(e.payload.get("deleted")),
                         "data": e.payload} for e in entries]}


def _upsert(model, data: dict) -> None:
    """Write a pulled row as the county sent it (no outbox entry: it is not our change)."""
    columns = model._meta.columns
    values = {}
    for column, value in data.items():
        field = columns.get(column)
        if field is not None:
            values[field] = value
    # an upsert, never INSERT OR REPLACE: replacing deletes first, which would cascade to children
    model.insert(values).on_conflict(conflict_target=[model.id],
                                     preserve=[f for f in values if f is not model.id]).execute()


# ---------------------------------------------------------------------- resolving conflicts
@dataclass(frozen=True)
class ProblemInfo:
    id: int
    kind: str
    entity: str
    entity_id: str
    reason: str
    local_data: dict | None
    server_data: dict | None


class ConflictService:
    """What the county refused or found in conflict, and the clerk's decisions about it.

    "Keep mine" re-bases the local row on the county's version and queues it again; "take theirs"
    applies the county's copy. Either way nothing is silently lost: the losing version stays in
    the problem record.
    """

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def open_problems(self) -> list[ProblemInfo]:
        q = SyncProblem.select().where(SyncProblem.resolved_at.is_null()).order_by(SyncProblem.id)
        return [ProblemInfo(p.id, p.kind, p.entity, p.entity_id, p.reason, p.local_data, p.server_data) for p in q]

    def _open(self, problem_id: int) -> tuple[SyncProblem, Any]:
        from app.errors import NotFound, ValidationError

        problem = SyncProblem.get_or_none((SyncProblem.id == problem_id) & SyncProblem.resolved_at.is_null())
        if problem is None:
            raise NotFound(_("找不到该同步问题，或已处理。"))
        model = ENTITY_MODELS.get(problem.entity)
        if model is None or problem.kind != "conflict" or problem.server_data is None:
            raise ValidationError(_("这一项不是可以二选一的冲突。"))
        return problem, model

    def keep_mine(self, problem_id: int, by) -> None:
        from app.audit import record
        from db.changes import payload_of

        with self._ctx.write():
            problem, model = self._open(problem_id)
            row = model.get_or_none(model.id == problem.entity_id)
            if row is None:
                raise SyncError(_("本机已没有这一行，无法保留本机版本。"))
            server_version = int(problem.server_data.get("version") or problem.server_version or 0)
            Outbox.delete().where(Outbox.entity_id == row.id).execute()
            row.version = server_version + 1
            row.updated_at = utc_now()
            row.save()
            Outbox.create(entity=model.entity, entity_id=row.id, version=row.version, base_version=server_version,
                          payload=payload_of(row), created_at=row.updated_at)
            self._resolve(problem, "keep_mine")
            record(self._ctx, by, "sync.keep_mine", problem.entity, problem.entity_id, {"over": server_version})

    def take_theirs(self, problem_id: int, by) -> None:
        from app.audit import record

        with self._ctx.write():
            problem, model = self._open(problem_id)
            Outbox.delete().where(Outbox.entity_id == problem.entity_id).execute()
            _upsert(model, problem.server_data)
            self._resolve(problem, "take_theirs")
            record(self._ctx, by, "sync.take_theirs", problem.entity, problem.entity_id,
                   {"version": problem.server_data.get("version")})

    def _resolve(self, problem: SyncProblem, how: str) -> None:
        # every open record of the same row is settled by the one decision
        SyncProblem.update(resolved_at=utc_now(), resolution=how).where(
            (SyncProblem.entity_id == problem.entity_id) & SyncProblem.resolved_at.is_null()).execute()
