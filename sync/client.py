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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import peewee
import requests
from peewee import fn

from app.context import Context
from app.errors import Cancelled, SyncError
from app.i18n import N_, _
from app.settings import get_local, set_local, workstation_id
from db.changes import json_values, utc_now
from db.models import ENTITY_MODELS, LocalSetting, Outbox, SyncProblem, SyncState
from sync.integrity import (
    LOCAL_DB_ERRORS,
    EpochChanged,
    IntegrityMixin,
    local_database_error,
    new_epoch_of,
)
from sync.protocol import (
    COUNTY_COPY_REFUSALS,
    COUNTY_ENTITIES,
    COUNTY_TIME_HEADER,
    FROZEN_NOTICE_STATUSES,
    MAX_BATCH_CHANGES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
)

Progress = Callable[[int, int, str], None]
TIMEOUT = (10, 60)  # connect, read (seconds)
RETRIES = 5
PULL_PAGE = 500  # changes per pull page


@dataclass(frozen=True)
class SyncReport:
    pushed: int
    duplicates: int
    conflicts: int
    rejected: int
    pulled: int
    requests: int
    held: int = 0  # queued changes of rows in an open conflict: sent once the clerk decides
    checked: bool = False  # the check after sync ran (see sync.integrity)
    integrity: tuple[str, ...] = ()  # entities whose counts or digests differed from the county's
    repaired: bool = False  # ... and agreed again after the full re-sync they triggered
    restored: bool = False  # the county had been restored from a backup; what it lacked was re-sent


#: a push or pull that would delete more than this stops and asks (SYNC.md "Deletes are careful"):
#: more than DELETE_LIMIT rows in one sync, or more than DELETE_SHARE of one notice's roster rows
#: when that is at least DELETE_SHARE_MIN rows (a few rows of a small draft need no confirmation)
DELETE_LIMIT = 50
DELETE_SHARE = 0.2
DELETE_SHARE_MIN = 10
FIRST_PULL_KEY = "sync_first_full_pull_at"
#: USB bundle keys (sync.bundle), in the local database only: this workstation's Ed25519 private
#: key (hex; its public half is at the county), and the county's public key, which its replies
#: must verify with. No county key: a workstation enrolled before these keys (or with a county
#: from before them), which signs with its token's HMAC until its next online sync registers a key.
SIGNING_KEY = "bundle_signing_key"
COUNTY_KEY = "county_bundle_key"


def _fresh() -> bool:
    """Whether this workstation has yet to receive everything the county holds (by network or
    by a bundle's reply): until then it sends no deletions."""
    return get_local(FIRST_PULL_KEY) is None


class LargeDeletion(SyncError):
    """The sync stopped before deleting many rows; run it again with ``confirm_deletes=True``
    once a person has confirmed. ``direction`` is 'push' (this workstation's deletions, nothing was
    sent) or 'pull' (the county's, nothing of that page was applied); ``count`` rows in all;
    ``notices`` maps a notice id to (rows to delete, rows it has)."""

    def __init__(self, direction: str, count: int, notices: dict[str, tuple[int, int]]) -> None:
        if direction == "push":
            text = _("本机有 {count} 行删除要上传到县里，数量较大，同步已暂停，什么也没有发送；请确认这些删除无误后再同步。")
        else:
            text = _("县里发来 {count} 行删除，数量较大，同步已暂停，本机数据未改动；请确认后再同步。")
        super().__init__(text.format(count=count), details=f"{direction}: {count} deletions; by notice: {notices}")
        self.direction = direction
        self.count = count
        self.notices = notices


def _too_many(count: int, notices: dict[str, tuple[int, int]]) -> bool:
    return count > DELETE_LIMIT or any(
        gone >= DELETE_SHARE_MIN and gone > DELETE_SHARE * total for gone, total in notices.values())


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


# What the clerk reads for each refusal code of the county (sync.protocol.REFUSAL_CODES)
_REFUSALS = {
    "malformed": N_("这项修改的格式不对，县里无法接收，请联系技术支持。"),
    "county_row": N_("这是县里管理的数据，工作站不能修改。"),
    "unknown_entity": N_("县级服务器不认识这类数据，请更新本软件后再同步。"),
    "other_township": N_("这一行属于另一个乡镇，本机不能修改。"),
    "county_program": N_("这是县里设立的项目，由县里管理，本机不能修改。"),
    "published_notice": N_("公示“{title}”已经发布，内容不能再改。如需更改，请做更正公示。"),
    "published_notice_part": N_("公示“{title}”已经发布，它的名单和签字不能再增加、修改或删除。如需更改，请做更正公示。"),
    "resident_objection": N_("群众提交的异议按原样保存，不能修改；请在答复中说明。"),
    "not_owner": N_("公示“{title}”由工作站“{owner}”办理，只有它能修改这份公示和它的名单、签字。"
                    "如需由本机接手，请两台电脑都同步后，请县里把它移交给本机。"),
    "public_view": N_("公示“{title}”发布时生成的公开内容，与县里按已收到的名单和县里的设置（例如脱敏规则）"
                      "重新生成的不一致，县里没有接受。请先同步一次，再重新发布；已打印张贴的请撤下，"
                      "按重新发布的版本打印。"),
    "implausible_date": N_("公示“{title}”上的日期（{date}）与县里收到它的日期（{county_date}）对不上，县里没有接受："
                           "本机电脑的日期可能不准。请核对电脑的日期和时间，同步一次后重新发布或结束公示；"
                           "已按错误日期打印张贴的公示请撤下。"),
}


def refusal_text(refusal: dict) -> str:
    """The county's refusal of one change, as the clerk reads it (in the clerk's language); a
    refusal this version does not know keeps the county's own words."""
    from app.notices import workstation_name
    from db.models import Notice

    text = _REFUSALS.get(refusal.get("code") or "")
    if text is None:
        return _("县里没有接受这项修改：{detail}").format(detail=str(refusal.get("reason", ""))[:300])
    notice = Notice.get_or_none(Notice.id == refusal.get("notice_id")) if refusal.get("notice_id") else None
    owner = refusal.get("owner_device")
    return _(text).format(title=notice.title if notice else _("（本机没有这份公示）"),
                          owner=workstation_name(owner if isinstance(owner, str) else None),
                          date=str(refusal.get("date", "?"))[:40], county_date=str(refusal.get("county_date", "?"))[:40])


class SyncClient(IntegrityMixin):
    """Talks to the county server. Runs on a worker thread; takes ``progress`` and ``cancel``."""

    def __init__(self, ctx: Context, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._ctx = ctx
        self._http = session or requests.Session()
        self._sleep = sleep
        self.requests = 0
        self._pull_tally: _DeletionTally | None = None  # set per sync unless deletions are confirmed
        self._county_clock: dict | None = None  # what the last answer taught about this clock

    # ------------------------------------------------------------------ transport
    def _request(self, method: str, url: str, *, token: str | None = None, body: Any = None,
                 params: dict | None = None, raw: bytes | None = None, content_type: str = "application/octet-stream",
                 retries: int = RETRIES, unreachable: str | None = None,
                 gzipped: bytes | None = None) -> requests.Response:
        """One HTTP exchange with the county, retried with exponential backoff and jitter on
        network errors and on 408/429/502/503/504; any other 4xx is final. ``body`` travels as
        gzip-compressed JSON (``gzipped``: already compressed), ``raw`` as it is."""
        headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
        data = raw
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:  # an object, or JSON text already made
            gzipped = _gzipped(body if isinstance(body, str) else json.dumps(body, ensure_ascii=False))
        if gzipped is not None:
            data = gzipped
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
                    if _framed(response):
                        self._learn_time(response)
                        return response
                    # the connection broke inside the answer's headers: "200 OK" and nothing else;
                    # what the county did is unknown, so ask again (pushes are idempotent)
                    failure = SyncError(unreachable or _("无法连接县级服务器，已保存的数据不受影响，稍后会自动重试。"),
                                        details="answer cut in its headers")
                else:
                    if response.status_code == 409 and (moved := new_epoch_of(response)):
                        raise EpochChanged(moved)  # the county was restored from a backup
                    failure = SyncError(_status_message(response.status_code, response.text),
                                        details=f"HTTP {response.status_code}")
                    if response.status_code not in (408, 429, 502, 503, 504):
                        raise failure
            if attempt == retries:
                raise failure
            self._sleep(random.uniform(0, delay))  # full jitter
            delay = min(delay * 2, 30)
        raise AssertionError("unreachable")

    def _learn_time(self, response: requests.Response) -> None:
        """Note the county's time an answer carries against this workstation's clock (stored with
        the sync's outcome, see :mod:`app.legal_time`)."""
        from app.legal_time import aware_moment, learn

        county = aware_moment(response.headers.get(COUNTY_TIME_HEADER))
        if county is not None:
            self._county_clock = learn(county, self._ctx.clock.now(), "sync")

    def _remember_time(self) -> None:
        """Store what the answers of this contact taught about the clock. Call inside a write."""
        from app.legal_time import COUNTY_CLOCK_KEY

        if self._county_clock is not None:
            set_local(COUNTY_CLOCK_KEY, self._county_clock)

    def _bundle_keys(self, state: SyncState):
        """(the key this workstation signs its bundles with, the key the county's replies must
        verify with): its own and the county's once registered, else the token's HMAC both ways."""
        from sync.bundle import LegacyKey

        keys = _registered_keys()
        if keys is None:
            legacy = LegacyKey.of_token(state.token)
            return legacy, legacy
        return keys

    def _register_bundle_key(self, state: SyncState, *, again: bool = False) -> None:
        """A workstation without a registered key (enrolled before USB bundles were signed) makes
        one and sends its public half over its authenticated connection; the county refuses its
        HMAC bundles from then on. ``again``: send it even so (the county was restored from a
        backup that may predate it). A county from before these keys (404) leaves things as
        they are."""
        from sync.bundle import (
            new_signing_key,
            private_key_from_text,
            private_key_text,
            public_key_text,
        )

        if not again and _registered_keys() is not None:
            return
        try:
            key = private_key_from_text(get_local(SIGNING_KEY))
        except ValueError:
            key = new_signing_key()
            with self._ctx.write():  # before it is sent: an answer lost on the way sends the same again
                set_local(SIGNING_KEY, private_key_text(key))
        try:
            response = self._request("POST", f"{state.server_url}/api/v1/sync/bundle-key", token=state.token,
                                     raw=json.dumps({"bundle_public_key": public_key_text(key)}).encode(),
                                     content_type="application/json")
        except SyncError as err:
            if err.details == "HTTP 404":
                return
            raise
        county = _county_key_of(response.json())
        if county is None:
            raise SyncError(_("县级服务器的回答无法识别，本机数据未改动，请稍后再试。"), details="county_bundle_key")
        with self._ctx.write():
            set_local(COUNTY_KEY, county)

    def _state(self) -> SyncState:
        state = SyncState.get_or_none(SyncState.id == 1)
        if state is None or not state.token:
            raise SyncError(_("本机尚未注册到县级服务器，请先用注册码注册。"))
        return state

    # ------------------------------------------------------------------ USB bundles
    def export_bundle(self, path, confirm_deletes: bool = False) -> int:
        """Write everything queued (and the photos it refers to) to ``path``; returns the count.

        Whatever the county has not yet receipted is written again in every new bundle. Like a
        sync, a bundle that would delete many rows on the county raises :class:`LargeDeletion`
        (and writes nothing) unless ``confirm_deletes``.
        """
        import base64
        from pathlib import Path

        from app.boards import evidence_path
        from sync.bundle import write_bundle

        state = self._state()
        self._drop_county_entries()
        # as online, the deletions of a fresh workstation wait for the first bundle after a full reply
        fresh = _fresh()
        if not confirm_deletes and not fresh:
            self._check_push_deletions()
        # rows in an open conflict wait for the clerk
        entries = _Entry.read(_queued(hold_deletes=fresh).order_by(Outbox.seq))
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
        write_bundle(Path(path), "request", state.device_id, self._bundle_keys(state)[0], body)
        return len(entries)

    def import_reply(self, path) -> SyncReport:
        """Complete a USB cycle with the county's reply: settle what it received, apply what it sent.
        Importing the same reply again changes nothing."""
        from pathlib import Path

        from sync.bundle import BundleError, read_bundle

        state = self._state()
        key = self._bundle_keys(state)[1]
        _device, body = read_bundle(Path(path), "reply", lambda d: key if d == state.device_id else None)
        if body["manifest"].get("epoch") not in (None, state.server_epoch) and state.last_pulled_seq:
            raise BundleError(_("县级服务器已从备份恢复，请联网同步一次后再使用U盘同步。"))
        # A reply carries the county's rows up to a point of its change feed; this workstation has
        # reached a later point (a newer reply, or an online sync): the older reply would put back
        # settings, programs and rows the county has changed since, and its receipts are in the
        # newer reply too.
        reached = body["pages"][-1]["next"] if body["pages"] else None
        if reached is not None and reached < state.last_pulled_seq:
            raise BundleError(_("这是一份较早的县里回复，本机已有更新的县级数据（来自更新的回复或联网同步），"
                                "未做任何更改。请导入最近一次的回复，或联网同步。"))
        totals = [0, 0, 0, 0]
        for item in body["results"]:
            entries = list(Outbox.select().where(Outbox.seq.between(item["first_seq"], item["last_seq"]))
                           .order_by(Outbox.seq))
            result = item["result"]
            problems = self._settle(entries, result)
            totals[0] += len(result.get("accepted", []))
            totals[1] += len(result.get("duplicates", []))
            totals[2] += problems[0]
            totals[3] += problems[1]
        pulled = 0
        for page in body["pages"]:
            self._apply_page(page)
            pulled += len(page["changes"])
        self._check_references()
        if body["pages"] and not body["pages"][-1].get("more") and _fresh():
            with self._ctx.write():
                set_local(FIRST_PULL_KEY, utc_now())  # everything the county had: deletions may go now
        self._learn_reply_time(body["manifest"].get("county_now"))
        return SyncReport(totals[0], totals[1], totals[2], totals[3], pulled, 0)

    def _learn_reply_time(self, stamp) -> None:
        """A reply says when the county made it: a clock behind that is behind for sure (the stick
        only ever arrives later), and is corrected by it; see :func:`app.legal_time.learn`."""
        from app.legal_time import COUNTY_CLOCK_KEY, aware_moment, learn

        county = aware_moment(stamp)
        if county is None:
            return
        with self._ctx.write():
            set_local(COUNTY_CLOCK_KEY, learn(county, self._ctx.clock.now(), "usb"))

    # ------------------------------------------------------------------ enrolment
    def enroll(self, server_url: str, code: str, device_name: str) -> str:
        """Exchange a one-time code for this workstation's identity; returns the township id.
        Each enrolment makes a new key pair for USB bundles: the county gets the public half, this
        workstation keeps the private half and the county's public key."""
        from sync.bundle import new_signing_key, private_key_text, public_key_text

        server_url = server_url.rstrip("/")
        signing = new_signing_key()
        answer = self._enroll_call(server_url, code, device_name, public_key_text(signing))
        township_id = answer["township_id"]
        current = get_local("township_id")
        if current is not None and current != township_id:
            raise SyncError(_("注册码属于另一个乡镇，本机数据属于其他乡镇，未做任何更改。"))
        county = _county_key_of(answer)
        if county is None and "county_bundle_key" in answer:
            raise SyncError(_("县级服务器的回答无法识别，本机数据未改动，请稍后再试。"), details="county_bundle_key")
        with self._ctx.write():
            first = SyncState.get_or_none(SyncState.id == 1) is None
            SyncState.insert(id=1, device_id=answer["device_id"], token=answer["token"], server_url=server_url,
                             last_pulled_seq=0, server_epoch=answer["epoch"]).on_conflict_replace().execute()
            set_local(SIGNING_KEY, private_key_text(signing))
            set_local(COUNTY_KEY, county)  # None: a county from before signed bundles
            if first:  # every notice here was made here: this workstation takes them through their lifecycle
                from app.notices import claim_unowned

                claim_unowned(answer["device_id"])
            set_local("township_id", township_id)
            LocalSetting.delete().where(LocalSetting.key == FIRST_PULL_KEY).execute()  # a fresh start
            self._remember_time()
        return township_id

    def request_handover(self, notice_id: str) -> None:
        """Ask the county to hand over to this workstation a notice another one handles (the county
        officer decides; the notice is this workstation's after the next sync that follows)."""
        state = self._state()  # not enrolled: says so
        try:
            self._request("POST", f"{state.server_url}/api/v1/notices/{notice_id}/handover-request",
                          token=state.token, retries=2)
        except SyncError as err:
            if err.details == "HTTP 409":
                raise SyncError(_("县里记录这份公示已由本机办理，同步一次即可。")) from err
            if err.details == "HTTP 404":
                raise SyncError(_("县里还没有这份公示，请等办理它的工作站同步后再申请。")) from err
            raise

    def _enroll_call(self, server_url: str, code: str, device_name: str, bundle_public_key: str) -> dict:
        try:
            response = self._request("POST", f"{server_url}/api/v1/enroll", raw=json.dumps(
                {"code": code, "device_name": device_name, "bundle_public_key": bundle_public_key}).encode(),
                content_type="application/json", retries=0,
                unreachable=_("无法连接县级服务器，请检查网址和网络。"))
        except SyncError as err:
            if err.details == "HTTP 403":
                raise SyncError(_("注册码无效、已使用或已过期，请向县里重新获取。")) from err
            raise
        return response.json()

    # ------------------------------------------------------------------ sync
    def sync(self, progress: Progress | None = None, cancel: threading.Event | None = None, *,
             confirm_deletes: bool = False, check: bool | None = None) -> SyncReport:
        """Push everything queued, then pull everything new. Safe to repeat at any time.

        Deletes are careful: a workstation that has not yet completed a full pull sends its
        deletions only after one, and a sync that would delete many rows (see ``DELETE_LIMIT``)
        raises :class:`LargeDeletion` before deleting anything, unless ``confirm_deletes``.
        Changes of a row in an open conflict wait for the clerk's decision (``report.held``).

        A county restored from a backup is noticed by its new epoch: what it lacks is re-sent and
        everything pulled again (``report.restored``). Then the check after sync compares counts
        and digests with the county (``check``: None when due, True always, False never); a
        difference is recorded and repaired by a full re-sync (``report.integrity``,
        ``report.repaired``). See :mod:`sync.integrity`. A full disk or another failure to write
        the local database ends the sync with a :class:`SyncError`; every page applied before it
        stays applied, with its checkpoint.
        """
        report = progress or (lambda done, total, message: None)
        self.requests = 0
        state = self._state()
        self._pull_tally = None if confirm_deletes else _DeletionTally()
        restored = False
        try:
            try:
                try:
                    self._register_bundle_key(state)  # enrolled before USB bundles were signed
                    self._drop_county_entries()
                    if not confirm_deletes:
                        self._check_push_deletions()
                    fresh = _fresh()
                    pushed = self._push(state, report, cancel, hold_deletes=fresh)
                    pulled = self._pull(state, report, cancel)
                    if fresh:
                        with self._ctx.write():
                            set_local(FIRST_PULL_KEY, utc_now())
                        if _queued().exists():  # the deletions held back until now
                            later = self._push(state, report, cancel)
                            pushed = tuple(a + b for a, b in zip(pushed, later, strict=True))
                except EpochChanged as change:
                    # Re-sent deletions were confirmed once already (the county lost them), so
                    # they are not held back or asked about again.
                    # the backup may predate this workstation's key (before the new epoch is
                    # recorded: if this fails, the next sync comes here again)
                    self._register_bundle_key(state, again=True)
                    self._recover_from_restore(change.epoch, report, cancel)
                    restored = True
                    state = self._state()
                    pushed = self._push(state, report, cancel)
                    pulled = self._pull(state, report, cancel, own=True)
                with self._ctx.write():
                    SyncState.update(last_success_at=utc_now(), last_error=None).where(SyncState.id == 1).execute()
                    self._remember_time()
                due = check if check is not None else self._check_due(restored or any(pushed) or pulled > 0)
                checked, differ, repaired = self._check_after_sync(report, cancel) if due else (False, (), False)
            except LOCAL_DB_ERRORS as exc:  # e.g. the disk is full: a message, not a raw sqlite error
                raise local_database_error(exc) from exc
        except SyncError as err:
            try:
                with self._ctx.write():
                    SyncState.update(last_error=str(err), last_error_at=utc_now()).where(SyncState.id == 1).execute()
            except LOCAL_DB_ERRORS:
                pass  # still no room to note it: the clerk sees the message all the same
            raise
        held = Outbox.select().where(Outbox.entity_id.in_(_open_conflicts())).count()
        return SyncReport(pushed[0], pushed[1], pushed[2], pushed[3], pulled, self.requests, held,
                          checked=checked, integrity=differ, repaired=repaired, restored=restored)

    def _check_push_deletions(self) -> None:
        """Raise :class:`LargeDeletion` when the queue would delete many rows on the county."""
        deleted = fn.coalesce(fn.json_extract(Outbox.payload, "$.deleted"), 0) != 0
        gone: dict[str, str | None] = {}
        for entity, entity_id, notice_id in (
                _queued().select(Outbox.entity, Outbox.entity_id, fn.json_extract(Outbox.payload, "$.notice_id"))
                .where(deleted).tuples()):
            gone[entity_id] = notice_id if entity == "roster_row" else None
        if not gone:
            return
        per_notice: dict[str, int] = {}
        for notice_id in gone.values():
            if notice_id:
                per_notice[notice_id] = per_notice.get(notice_id, 0) + 1
        from db.models import RosterRow

        notices = {nid: (n, n + RosterRow.select().where((RosterRow.notice == nid) & ~RosterRow.deleted).count())
                   for nid, n in per_notice.items()}
        if _too_many(len(gone), notices):
            raise LargeDeletion("push", len(gone), notices)

    def _push(self, state: SyncState, report: Progress, cancel, hold_deletes: bool = False) -> tuple[int, int, int, int]:
        """Send the queue batch by batch, in order; each answer is settled before the next batch
        leaves. The next batch is read and built while the county works on the one in flight."""
        totals = [0, 0, 0, 0]
        self._drop_county_entries()
        total = _queued(hold_deletes).count()
        done = 0
        url = f"{state.server_url}/api/v1/sync/push"

        def prepared(after: int) -> tuple[list[_Entry], bytes | None]:
            entries = _Entry.read(_queued(hold_deletes).where(Outbox.seq > after).order_by(Outbox.seq)
                                  .limit(MAX_BATCH_CHANGES))
            return entries, (_gzipped(_batch_text(state, entries)) if entries else None)

        with ThreadPoolExecutor(1, thread_name_prefix="gongkai-push") as pool:
            entries, body = prepared(0)
            while entries:
                if cancel is not None and cancel.is_set():
                    raise Cancelled(_("同步已取消；已发送的部分已保存在县里。"))
                self._upload_photos(state, entries)
                sent = pool.submit(self._request, "POST", url, token=state.token, gzipped=body)
                following = prepared(entries[-1].seq)
                result = sent.result().json()
                problems = self._settle(entries, result)
                totals[0] += len(result["accepted"])
                totals[1] += len(result.get("duplicates", []))
                totals[2] += problems[0]
                totals[3] += problems[1]
                done += len(entries)
                report(done, max(total, done), _("已上传 {done}/{total} 项更改").format(done=done, total=total))
                if not following[0] or (problems[0] and {e.entity_id for e in following[0]}
                                        & {p.entity_id for p in _open_conflicts()}):
                    # read again: what the clerk queued while the batch was out, and a row now in
                    # conflict waits for the clerk
                    following = prepared(entries[-1].seq)
                entries, body = following
        return tuple(totals)

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

    def _settle(self, entries: list[Outbox], result: dict) -> tuple[int, int]:
        """Remove what the county holds now; keep conflicts and refusals for the clerk. Returns
        how many rows are now in conflict and how many were refused (one problem per row)."""
        by_id: dict[str, list[Outbox]] = {}
        for e in entries:
            by_id.setdefault(e.entity_id, []).append(e)
        # The newest version of each row the county now holds as ours. An older change of such a
        # row reported in conflict or refused is a step of our own history that the county has
        # moved past (e.g. the same changes sent again, once by USB and once online): no problem.
        confirmed: dict[str, int] = {}
        for a in (*result["accepted"], *result.get("duplicates", [])):
            confirmed[a["id"]] = max(confirmed.get(a["id"], 0), a["version"])
        # Rows with a newer change of ours still queued behind this batch (its changes were cut
        # into batches differently before, e.g. by a USB bundle): that change will tell, as a
        # duplicate of what the county holds, or as a conflict or refusal the clerk then sees.
        disputed = {x["id"] for x in (*result["conflicts"], *result["rejected"])}
        later = _queued_after(disputed, entries[-1].seq) if disputed else set()

        def moot(row_id: str) -> bool:
            mine = by_id.get(row_id, [])
            return row_id in later or (bool(mine) and confirmed.get(row_id, 0) >= mine[-1].version)

        with self._ctx.write():
            done = [e.seq for a in (*result["accepted"], *result.get("duplicates", []))
                    for e in by_id.get(a["id"], []) if e.version <= a["version"]]
            recorded: set = set()  # one problem per row, however many of its changes failed
            done += [e.seq for row_id in later for e in by_id.get(row_id, [])]
            for c in result["conflicts"]:
                mine = by_id.get(c["id"], [])
                if moot(c["id"]) or c["id"] in recorded:
                    continue
                recorded.add(c["id"])
                local = mine[-1] if mine else None
                SyncProblem.create(kind="conflict", entity=c.get("entity") or (local.entity if local else ""),
                                   entity_id=c["id"], local_version=local.version if local else None,
                                   server_version=c.get("server_version"), local_data=local.payload if local else None,
                                   server_data=c.get("server_data"), reason=_("县里已有另一台电脑的修改"),
                                   local_fields=_mine_fields(c["id"]), created_at=utc_now())
                done += [e.seq for e in mine]  # kept in sync_problem until the clerk decides
            for r in result["rejected"]:
                mine = by_id.get(r["id"], [])
                if moot(r["id"]) or (r["id"], "rejected") in recorded:
                    continue
                recorded.add((r["id"], "rejected"))
                local = mine[-1] if mine else None
                entity = local.entity if local else ""
                if r.get("code") in COUNTY_COPY_REFUSALS and entity in ENTITY_MODELS:
                    # the county's copy is the truth (a published notice, a resident's objection):
                    # take it now, so this workstation prints and pays what was posted
                    from sync.conflicts import replaced_reason

                    rival = r.get("code") == "published_notice" and local.payload.get("status") in FROZEN_NOTICE_STATUSES
                    reason = (replaced_reason(entity, local.payload, r.get("server_data")) if rival else
                              refusal_text(r) + _("本机已改用县里的版本，本机的版本保存在这条记录中。"))
                    _take_county_copy(entity, r["id"], r.get("server_data"), r.get("code"))
                    SyncProblem.create(kind="replaced", entity=entity, entity_id=r["id"],
                                       local_version=local.version, local_data=local.payload,
                                       server_version=r.get("server_version"), server_data=r.get("server_data"),
                                       reason=reason[:500], created_at=utc_now())
                else:
                    SyncProblem.create(kind="rejected", entity=entity, entity_id=r["id"],
                                       local_version=local.version if local else None,
                                       local_data=local.payload if local else None, reason=refusal_text(r)[:500],
                                       created_at=utc_now())
                done += [e.seq for e in mine]
            for i in range(0, len(done), 900):  # plain SQL: building it with peewee cost more than running it
                chunk = done[i:i + 900]
                self._ctx.db.execute_sql(f'DELETE FROM "outbox" WHERE "seq" IN ({",".join("?" * len(chunk))})', chunk)
        return (sum(1 for k in recorded if isinstance(k, str)), sum(1 for k in recorded if isinstance(k, tuple)))

    def _pull(self, state: SyncState, report: Progress, cancel, *, own: bool = False) -> int:
        """Pull everything new since the checkpoint. The county leaves out what this workstation
        wrote itself (this chain), unless ``own``: a full re-pull after a repair or a restore takes
        everything the county holds."""
        since = state.last_pulled_seq
        pulled = 0
        params = {"limit": PULL_PAGE} if own else {"limit": PULL_PAGE, "skip": workstation_id()}
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled(_("同步已取消；已接收的部分已保存。"))
            page = self._request("GET", f"{state.server_url}/api/v1/sync/pull", token=state.token,
                                 params={"since": since, **params}).json()
            if state.server_epoch and page.get("epoch") and page["epoch"] != state.server_epoch:
                raise EpochChanged(page["epoch"])  # our checkpoint means nothing on a restored county
            self._apply_page(page)
            pulled += len(page["changes"])
            since = page["next"]
            report(pulled, pulled + (PULL_PAGE if page["more"] else 0), _("已接收 {n} 项更新").format(n=pulled))
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

    def _check_pull_deletions(self, page: dict, keep: set[str], tally: _DeletionTally) -> None:
        """Raise :class:`LargeDeletion` before a page whose deletions, with those already pulled in
        this sync, exceed the threshold. Only rows alive here count; rows with local changes
        become conflicts, not deletions."""
        wanted: dict[str, dict[str, dict]] = {}
        for change in page["changes"]:
            if change.get("deleted") and change["entity"] in ENTITY_MODELS and change["id"] not in keep:
                wanted.setdefault(change["entity"], {})[change["id"]] = change
        if not wanted:
            return
        page_notices: dict[str, int] = {}
        count = 0
        for entity, changes in wanted.items():
            model = ENTITY_MODELS[entity]
            ids = list(changes)
            for i in range(0, len(ids), 500):
                for row_id, version, deleted in (model.select(model.id, model.version, model.deleted)
                                                 .where(model.id.in_(ids[i:i + 500])).tuples()):
                    if deleted or version >= changes[row_id]["version"]:
                        continue
                    count += 1
                    notice_id = changes[row_id]["data"].get("notice_id") if entity == "roster_row" else None
                    if notice_id:
                        page_notices[notice_id] = page_notices.get(notice_id, 0) + 1
        if not count:
            return
        from db.models import RosterRow

        notices = {}
        for nid, n in page_notices.items():
            before = tally.notices.get(nid, 0)  # deleted by earlier pages: no longer alive here
            alive = RosterRow.select().where((RosterRow.notice == nid) & ~RosterRow.deleted).count()
            notices[nid] = (before + n, before + alive)
        if _too_many(tally.count + count, notices):
            raise LargeDeletion("pull", tally.count + count, notices)
        tally.count += count
        for nid, n in page_notices.items():
            tally.notices[nid] = tally.notices.get(nid, 0) + n

    def _apply_page_rows(self, page: dict) -> None:
        from db.changes import payload_of

        with self._ctx.write():
            pending = {e.entity_id for e in Outbox.select(Outbox.entity_id)}
            # a row in an open conflict keeps the clerk's version until the clerk decides; the
            # conflict record follows the county's newest version, so "take theirs" takes that
            in_conflict = {p.entity_id for p in _open_conflicts()}
            if getattr(self, "_pull_tally", None) is not None:
                self._check_pull_deletions(page, pending | in_conflict, self._pull_tally)
            versions = _local_versions(page["changes"])  # one query per entity, not one per row
            for change in page["changes"]:
                model = ENTITY_MODELS.get(change["entity"])
                if model is None:
                    continue  # an entity this version does not know yet
                version = versions.get((change["entity"], change["id"]))
                county_row = change["entity"] in COUNTY_ENTITIES and change["data"].get("township_id") is None
                if county_row:
                    _upsert(model, change["data"])  # the county's reference data: its copy is the truth
                    continue
                if version is not None and version >= change["version"]:
                    continue  # our own change coming back, or older news
                if change["id"] in in_conflict:
                    SyncProblem.update(server_version=change["version"], server_data=change["data"]).where(
                        (SyncProblem.entity_id == change["id"]) & (SyncProblem.kind == "conflict")
                        & SyncProblem.resolved_at.is_null()).execute()
                    continue
                if change["id"] in pending:
                    local = model.get_or_none(model.id == change["id"])
                    SyncProblem.create(kind="conflict", entity=change["entity"], entity_id=change["id"],
                                       local_version=local.version if local else None,
                                       server_version=change["version"], server_data=change["data"],
                                       local_data=payload_of(local) if local else None,
                                       local_fields=_mine_fields(change["id"]),
                                       reason=_("本机有尚未上传的修改"), created_at=utc_now())
                    in_conflict.add(change["id"])
                    continue
                _upsert(model, change["data"])
            # never backwards: a USB reply imported twice, or late, carries an older checkpoint
            current = SyncState.get_by_id(1).last_pulled_seq
            SyncState.update(last_pulled_seq=max(current, page["next"]), server_epoch=page.get("epoch")).where(
                SyncState.id == 1).execute()


def _registered_keys():
    """(this workstation's signing key, the county's public key) once both are known, else None."""
    from sync.bundle import private_key_from_text, public_key_from_text

    try:
        return private_key_from_text(get_local(SIGNING_KEY)), public_key_from_text(get_local(COUNTY_KEY))
    except ValueError:
        return None


def _county_key_of(answer: Any) -> str | None:
    """The county's public key in an answer, if it is one."""
    from sync.bundle import public_key_from_text

    county = answer.get("county_bundle_key") if isinstance(answer, dict) else None
    try:
        public_key_from_text(county)
    except ValueError:
        return None
    return county


def _take_county_copy(entity: str, row_id: str, server_data: dict | None, code: str | None = None) -> None:
    """Make this workstation's row what the county holds: its copy, or no row where the county
    has none (a row added here that it refused). A notice published here with dates the county
    cannot accept, and that the county has not had before, goes back to approved instead, to be
    published again with the right date. Call inside the write transaction."""
    model = ENTITY_MODELS[entity]
    if server_data is not None:
        _upsert(model, server_data)
        return
    if code in ("implausible_date", "public_view") and entity == "notice":
        from app.notices import unpublish_unreceived

        unpublish_unreceived(row_id)
        return
    try:
        with model._meta.database.atomic():  # a savepoint: a row something refers to stays
            model.delete().where(model.id == row_id).execute()
    except peewee.IntegrityError:
        model.update(deleted=True).where(model.id == row_id).execute()


def _mine_fields(row_id: str, nothing: list[str] | None = None) -> list[str] | None:
    """The columns this workstation changed in its queued changes of a row; None for the whole
    row (a new row, a change recorded before columns were); ``nothing`` when nothing is queued."""
    found: set[str] = set()
    entries = 0
    for (fields,) in Outbox.select(Outbox.fields).where(Outbox.entity_id == row_id).tuples():
        entries += 1
        if fields is None:
            return None
        found.update(fields)
    return sorted(found) if entries else nothing


def merged_keeping_mine(local: dict, server: dict, mine: list[str] | None) -> dict:
    """What "keep mine" makes of a row: the county's version with the columns this workstation
    changed taken from its own (the whole local row when ``mine`` is None, or when the county
    deleted a row this workstation still edits)."""
    if mine is None or (server.get("deleted") and not local.get("deleted")):
        return dict(local)
    return {**local, **server, **{f: local[f] for f in mine if f in local}}


def _open_conflicts():
    """Ids of rows in a conflict the clerk has not decided yet."""
    return SyncProblem.select(SyncProblem.entity_id).where(
        (SyncProblem.kind == "conflict") & SyncProblem.resolved_at.is_null())


def _queued_after(row_ids: set[str], seq: int) -> set[str]:
    """Those of ``row_ids`` with an outbox entry after ``seq``."""
    return {rid for (rid,) in Outbox.select(Outbox.entity_id).distinct().where(
        (Outbox.seq > seq) & Outbox.entity_id.in_(json_values(sorted(row_ids)))).tuples()}


def _queued(hold_deletes: bool = False):
    """Outbox entries to send now. Not those of a row in an open conflict: they build on a
    version the county does not have, and wait for the clerk's decision (which re-queues or drops
    them). Before the first full pull, no deletions."""
    q = Outbox.select().where(Outbox.entity_id.not_in(_open_conflicts()))
    if hold_deletes:
        q = q.where(fn.coalesce(fn.json_extract(Outbox.payload, "$.deleted"), 0) == 0)
    return q


def _gzipped(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), compresslevel=6)


def _framed(response: requests.Response) -> bool:
    """Whether the answer says how long it is (every answer of the county does): one that does not
    was cut before its headers ended."""
    headers = response.headers
    return "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()


class _DeletionTally:
    """Rows a pull has deleted so far in one sync, in all and per notice."""

    def __init__(self) -> None:
        self.count = 0
        self.notices: dict[str, int] = {}


class _Entry:
    """An outbox entry as the push needs it: its payload stays JSON text (spliced into the batch
    as it is) and is decoded only when asked for (a photo's hash, a problem record)."""

    __slots__ = ("seq", "entity", "entity_id", "version", "base_version", "deleted", "payload_text", "_payload")

    def __init__(self, seq, entity, entity_id, version, base_version, deleted, payload_text) -> None:
        self.seq, self.entity, self.entity_id, self.version = seq, entity, entity_id, version
        self.base_version, self.deleted, self.payload_text = base_version, bool(deleted), payload_text
        self._payload = None

    @property
    def payload(self) -> dict:
        if self._payload is None:
            self._payload = json.loads(self.payload_text)
        return self._payload

    @classmethod
    def read(cls, query) -> list[_Entry]:
        """The entries ``query`` (an Outbox query) selects, read without peewee's per-row work."""
        query = query.select(Outbox.seq, Outbox.entity, Outbox.entity_id, Outbox.version, Outbox.base_version,
                             fn.coalesce(fn.json_extract(Outbox.payload, "$.deleted"), 0), Outbox.payload)
        sql, params = query.sql()
        return [cls(*row) for row in Outbox._meta.database.execute_sql(sql, params)]


def _batch_text(state: SyncState, entries: list[_Entry]) -> str:
    """A push batch as JSON text, each payload spliced in as stored (no decoding, no encoding):
    for a big push that is most of the client's work.

    Its id is derived from the device, the county's epoch, this workstation's chain, the outbox
    range and a digest of the content, so the same entries always form the same batch (a retry,
    or the same batch on a USB stick, gets the county's stored answer), while different content
    never takes an earlier batch's id — as a workstation restored from a backup would, counting
    its outbox again from the backup's numbers."""
    content = hashlib.sha256()
    for e in entries:
        content.update(f"{e.entity}\x1f{e.entity_id}\x1f{e.version}\x1f{e.base_version}\x1f".encode())
        content.update(e.payload_text.encode())
        content.update(b"\x1e")
    first, last = entries[0].seq, entries[-1].seq
    chain = workstation_id()  # a new one after each restore (app.maintenance.restore_from)
    batch_id = hashlib.sha256(
        f"{state.device_id}:{state.server_epoch}:{chain}:{first}:{last}:{content.hexdigest()}".encode()
    ).hexdigest()[:32]
    # the epoch: a county restored from a backup refuses the batch and names its new epoch
    # the chain: the county marks what this batch writes as this workstation's, so its pulls
    # skip it (the county's copy is exactly what was sent)
    head = {"protocol": PROTOCOL_VERSION, "device_id": state.device_id, "batch_id": batch_id,
            "epoch": state.server_epoch, "first_seq": first, "last_seq": last, "chain": chain}
    dumps = json.dumps
    changes = ",".join(
        f'{{"entity":{dumps(e.entity)},"id":{dumps(e.entity_id)},"version":{e.version},'
        f'"base_version":{"null" if e.base_version is None else e.base_version},'
        f'"deleted":{"true" if e.deleted else "false"},"data":{e.payload_text}}}' for e in entries)
    return dumps(head, ensure_ascii=False)[:-1] + f', "changes": [{changes}]}}'


def _batch(state: SyncState, entries: list[_Entry]) -> dict:
    """:func:`_batch_text` decoded: the batch as a USB bundle carries it."""
    return json.loads(_batch_text(state, entries))


def _local_versions(changes: list[dict]) -> dict[tuple[str, str], int]:
    """(entity, id) → version of the rows of ``changes`` that exist here."""
    wanted: dict[str, list[str]] = {}
    for change in changes:
        if change["entity"] in ENTITY_MODELS:
            wanted.setdefault(change["entity"], []).append(change["id"])
    found = {}
    for entity, ids in wanted.items():
        model = ENTITY_MODELS[entity]
        for i in range(0, len(ids), 500):
            for row_id, version in model.select(model.id, model.version).where(model.id.in_(ids[i:i + 500])).tuples():
                found[(entity, row_id)] = version
    return found


_UPSERTS: dict[tuple[type, tuple[str, ...]], tuple[str, list, list]] = {}


def _upsert(model, data: dict) -> None:
    """Write a pulled row as the county sent it (no outbox entry: it is not our change).

    The statement is built once per model and set of columns (building a peewee query per pulled
    row cost more than the write itself). As with peewee's insert, values go through each field's
    ``db_value`` and a new row takes the defaults of the fields the county did not send; an
    existing row keeps them."""
    columns = model._meta.columns
    key = (model, tuple(c for c in data if c in columns))
    cached = _UPSERTS.get(key)
    if cached is None:
        fields = [columns[c] for c in key[1]]
        defaulted = [f for f in model._meta.sorted_fields if f.column_name not in key[1] and f.default is not None]
        names = ", ".join(f'"{f.column_name}"' for f in fields + defaulted)
        updates = ", ".join(f'"{f.column_name}" = excluded."{f.column_name}"' for f in fields if f is not model.id)
        # an upsert, never INSERT OR REPLACE: replacing deletes first, which would cascade to children
        sql = (f'INSERT INTO "{model._meta.table_name}" ({names}) '
               f'VALUES ({", ".join("?" for _ in fields + defaulted)}) '
               f'ON CONFLICT ("{model.id.column_name}") DO ' + (f"UPDATE SET {updates}" if updates else "NOTHING"))
        cached = _UPSERTS[key] = (sql, fields, defaulted)
    sql, fields, defaulted = cached
    params = [f.db_value(data[f.column_name]) for f in fields]
    params += [f.db_value(f.default() if callable(f.default) else f.default) for f in defaulted]
    model._meta.database.execute_sql(sql, params)


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
    kept_fields: tuple[str, ...] | None = None  # what "keep mine" keeps of this workstation's (None: all)


def _kept_fields(problem: SyncProblem) -> list[str] | None:
    """The columns of a conflict's row this workstation changed: those found with the conflict,
    and those of the edits held back since (None: the whole row)."""
    if problem.local_fields is None:
        return None
    held = _mine_fields(problem.entity_id, nothing=[])
    return None if held is None else sorted(set(problem.local_fields) | set(held))


class ConflictService:
    """What the county refused or found in conflict, and the clerk's decisions about it.

    "Keep mine" keeps the columns this workstation changed, takes every other column from the
    county's version (so another workstation's edit of a different field survives), and queues
    the result on top of the county's version; "take theirs" applies the county's copy. Either
    way nothing is silently lost: the losing version stays in the problem record.
    """

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def open_problems(self) -> list[ProblemInfo]:
        q = SyncProblem.select().where(SyncProblem.resolved_at.is_null()).order_by(SyncProblem.id)
        out = []
        for p in q:
            kept = _kept_fields(p) if p.kind == "conflict" else None
            out.append(ProblemInfo(p.id, p.kind, p.entity, p.entity_id, p.reason, p.local_data, p.server_data,
                                   tuple(kept) if kept is not None else None))
        return out

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
            mine = _kept_fields(problem)
            merged = merged_keeping_mine(payload_of(row), problem.server_data, mine)
            Outbox.delete().where(Outbox.entity_id == row.id).execute()
            merged.update(version=server_version + 1, updated_at=utc_now())
            _upsert(model, merged)
            row = model.get_by_id(row.id)
            Outbox.create(entity=model.entity, entity_id=row.id, version=row.version, base_version=server_version,
                          payload=payload_of(row), created_at=row.updated_at, fields=mine)
            self._resolve(problem, "keep_mine")
            record(self._ctx, by, "sync.keep_mine", problem.entity, problem.entity_id,
                   {"over": server_version, "fields": mine})

    def kept_fields(self, problem_id: int) -> list[str] | None:
        """The columns "keep mine" would keep from this workstation (None: the whole row)."""
        problem = SyncProblem.get_by_id(problem_id)
        return _kept_fields(problem)

    def take_theirs(self, problem_id: int, by) -> None:
        from app.audit import record

        with self._ctx.write():
            problem, model = self._open(problem_id)
            Outbox.delete().where(Outbox.entity_id == problem.entity_id).execute()
            _upsert(model, problem.server_data)
            self._resolve(problem, "take_theirs")
            record(self._ctx, by, "sync.take_theirs", problem.entity, problem.entity_id,
                   {"version": problem.server_data.get("version")})

    def acknowledge(self, problem_id: int, by) -> None:
        """The clerk has read that the county's copy was taken in place of a refused change: the
        record leaves the list of open problems and stays in the sync record. Conflicts need a
        decision instead, and other refusals a correction."""
        from app.audit import record
        from app.errors import NotFound, ValidationError

        with self._ctx.write():
            problem = SyncProblem.get_or_none((SyncProblem.id == problem_id) & SyncProblem.resolved_at.is_null())
            if problem is None:
                raise NotFound(_("找不到该同步问题，或已处理。"))
            if problem.kind != "replaced":
                raise ValidationError(_("这一项还需要处理（选择保留哪个版本，或按县里的答复修改），不能只标为已读。"))
            SyncProblem.update(resolved_at=utc_now(), resolution="acknowledged").where(
                SyncProblem.id == problem.id).execute()
            record(self._ctx, by, "sync.acknowledge", problem.entity, problem.entity_id, {"kind": problem.kind})

    def _resolve(self, problem: SyncProblem, how: str) -> None:
        # every open record of the same row is settled by the one decision
        SyncProblem.update(resolved_at=utc_now(), resolution=how).where(
            (SyncProblem.entity_id == problem.entity_id) & SyncProblem.resolved_at.is_null()).execute()
