"""Sync operations as the desktop app runs them: one at a time per process, each recorded in the
sync log, with the county server's clock checked on the way.

``run_sync``, ``export_bundle``, ``import_reply`` and ``enroll`` wrap the public API of
:class:`sync.client.SyncClient`. They run on a worker thread, take ``progress``/``cancel`` where
the client does, and raise ``SyncBusy`` instead of starting a second sync while one is running.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path

import requests

from app.context import Clock, Context
from app.errors import AppError, Cancelled, SyncError, ValidationError
from app.i18n import _
from db.changes import utc_now
from sync.client import SyncClient
from sync.status import SyncRun, record_run

Progress = Callable[[int, int, str], None]

# One sync of the one workstation database at a time, whoever starts it (the clerk or the timer).
_running = threading.Lock()


class SyncBusy(SyncError):
    """Another sync of this workstation is running."""


def sync_in_progress() -> bool:
    return _running.locked()


@contextmanager
def _exclusive() -> Iterator[None]:
    if not _running.acquire(blocking=False):
        raise SyncBusy(_("正在同步，请等这一次完成后再试。"))
    try:
        yield
    finally:
        _running.release()


class ClockWatch:
    """Reads the county server's time from the HTTP ``Date`` header of every answer and compares
    it with the workstation clock. Ordering never depends on it; it only feeds a warning."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.skew: float | None = None

    def session(self) -> requests.Session:
        s = requests.Session()
        s.hooks["response"].append(self._on_response)
        return s

    def _on_response(self, response: requests.Response, *args, **kwargs) -> None:
        header = response.headers.get("Date")
        if not header:
            return
        try:
            server = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        if server.tzinfo is not None:
            self.skew = (self._clock.now() - server).total_seconds()


def _is_offline(err: SyncError) -> bool:
    # the client's network failures carry the exception class, refusals carry "HTTP nnn"
    return bool(err.details) and not err.details.startswith("HTTP")


def _failed(kind: str, started: float, err: BaseException, skew: float | None = None, file: str = "") -> SyncRun:
    if isinstance(err, AppError):
        text = str(err)
    else:
        text = _("出现了意外错误，同步没有完成。已保存的数据是安全的。")
    return SyncRun(at=utc_now(), kind=kind, ok=False, seconds=round(time.monotonic() - started, 2),
                   error=text[:300], offline=isinstance(err, SyncError) and _is_offline(err),
                   cancelled=isinstance(err, Cancelled), clock_skew=skew, file=file)


def run_sync(ctx: Context, progress: Progress | None = None, cancel: threading.Event | None = None,
             confirm_deletes: bool = False) -> SyncRun:
    """Push everything queued, pull everything new, and log the run. Raises SyncBusy, SyncError
    (``LargeDeletion`` when many rows would be deleted and ``confirm_deletes`` is false),
    Cancelled (each logged, except SyncBusy)."""
    with _exclusive():
        watch = ClockWatch(ctx.clock)
        started = time.monotonic()
        try:
            r = SyncClient(ctx, session=watch.session()).sync(progress, cancel, confirm_deletes=confirm_deletes)
        except Exception as err:
            record_run(ctx, _failed("sync", started, err, watch.skew))
            raise
        run = SyncRun(at=utc_now(), kind="sync", ok=True, pushed=r.pushed, duplicates=r.duplicates,
                      conflicts=r.conflicts, rejected=r.rejected, pulled=r.pulled, requests=r.requests,
                      seconds=round(time.monotonic() - started, 2), clock_skew=watch.skew)
        record_run(ctx, run)
        return run


def export_bundle(ctx: Context, path: Path, progress: Progress | None = None,
                  cancel: threading.Event | None = None, confirm_deletes: bool = False) -> SyncRun:
    """Write the USB bundle (written, flushed, renamed and verified by the client)."""
    path = Path(path)
    with _exclusive():
        started = time.monotonic()
        if progress:
            progress(0, 0, _("正在写入同步包……"))
        try:
            count = SyncClient(ctx).export_bundle(path, confirm_deletes=confirm_deletes)
        except Exception as err:
            record_run(ctx, _failed("bundle_export", started, err, file=path.name))
            raise
        run = SyncRun(at=utc_now(), kind="bundle_export", ok=True, pushed=count,
                      seconds=round(time.monotonic() - started, 2), file=path.name)
        record_run(ctx, run)
        return run


def import_reply(ctx: Context, path: Path, progress: Progress | None = None,
                 cancel: threading.Event | None = None) -> SyncRun:
    """Apply the county's reply bundle; importing the same reply twice changes nothing."""
    path = Path(path)
    with _exclusive():
        started = time.monotonic()
        if progress:
            progress(0, 0, _("正在导入回执包……"))
        try:
            r = SyncClient(ctx).import_reply(path)
        except Exception as err:
            record_run(ctx, _failed("bundle_import", started, err, file=path.name))
            raise
        run = SyncRun(at=utc_now(), kind="bundle_import", ok=True, pushed=r.pushed, duplicates=r.duplicates,
                      conflicts=r.conflicts, rejected=r.rejected, pulled=r.pulled,
                      seconds=round(time.monotonic() - started, 2), file=path.name)
        record_run(ctx, run)
        return run


def default_device_name() -> str:
    return socket.gethostname() or "workstation"


def normalise_server_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.lower().startswith(("http://", "https://")) or len(url) < len("http://x"):
        raise ValidationError(_("县级服务器网址应以 http:// 或 https:// 开头，例如 https://gongkai.example.gov.cn"))
    return url


def enroll(ctx: Context, server_url: str, code: str, device_name: str = "") -> str:
    """Register this workstation with the county (one-time code); returns the township id."""
    url = normalise_server_url(server_url)
    code = code.strip()
    if not code:
        raise ValidationError(_("请输入县里提供的注册码。"))
    with _exclusive():
        started = time.monotonic()
        try:
            township_id = SyncClient(ctx).enroll(url, code, device_name.strip() or default_device_name())
        except Exception as err:
            record_run(ctx, _failed("enroll", started, err))
            raise
        record_run(ctx, SyncRun(at=utc_now(), kind="enroll", ok=True, seconds=round(time.monotonic() - started, 2)))
        return township_id
