"""Periodic background sync and the sync text of the main window's status bar.

``SyncScheduler`` syncs every ``interval`` seconds through ``BackgroundOp`` (never on the GUI
thread, never two syncs at once: a sync the clerk started on the sync page is not doubled) and
emits ``status_changed(text, tooltip)`` whenever the sync state may have changed, e.g.
"已同步 10:42 · 待上传 3 项" or "离线 · 待上传 12 项 · 上次错误：…". Background failures are not
shown as dialogs: the status text says what happened and the next tick retries.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Signal

from app.context import CHINA
from app.errors import AppError, Cancelled
from app.i18n import _
from app.maintenance import log_crash
from sync.operations import SyncBusy, run_sync, sync_in_progress
from sync.status import SyncRun, SyncStatus, sync_status
from ui.background import BackgroundOp
from ui.common import Changes, UiEnv

DEFAULT_INTERVAL_S = 10 * 60
FIRST_SYNC_DELAY_MS = 5_000
ERROR_CHARS = 36


def format_time(moment: datetime, now: datetime) -> str:
    """'10:42' today, '11-24 10:42' this year, else '2025-11-24 10:42' (China time)."""
    local, today = moment.astimezone(CHINA), now.astimezone(CHINA)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def clock_warning_text(status: SyncStatus) -> str:
    minutes = max(1, round(abs(status.clock_skew or 0) / 60))
    if (status.clock_skew or 0) > 0:
        return _("本机时钟比县级服务器快约 {minutes} 分钟，请校准时间").format(minutes=minutes)
    return _("本机时钟比县级服务器慢约 {minutes} 分钟，请校准时间").format(minutes=minutes)


def status_text(status: SyncStatus, now: datetime, running: bool = False) -> tuple[str, str]:
    """The status-bar text and its tooltip (which holds the full error)."""
    if not status.enrolled:
        return _("未注册到县级服务器"), _("在“同步”页用县里提供的注册码注册本工作站后，才能与县里同步。")
    parts = []
    if running:
        parts.append(_("正在同步…"))
    elif status.last_error:
        parts.append(_("离线") if status.offline else _("同步失败"))
    elif status.last_success_at is not None:
        parts.append(_("已同步 {time}").format(time=format_time(status.last_success_at, now)))
    else:
        parts.append(_("尚未同步"))
    parts.append(_("待上传 {n} 项").format(n=status.queue))
    if status.open_problems:
        parts.append(_("{n} 项冲突待处理").format(n=status.open_problems))
    tooltip = [_("县级服务器：{url}").format(url=status.server_url)]
    if status.last_success_at is not None:
        tooltip.append(_("上次成功同步：{time}").format(time=format_time(status.last_success_at, now)))
    if status.last_error and not running:
        short = status.last_error if len(status.last_error) <= ERROR_CHARS else status.last_error[:ERROR_CHARS] + "…"
        parts.append(_("上次错误：{error}").format(error=short))
        tooltip.append(_("上次错误：{error}").format(error=status.last_error))
    if status.clock_warning:
        parts.append(clock_warning_text(status))
    return " · ".join(parts), "\n".join(tooltip)


def changes_after(run: SyncRun) -> Changes | None:
    """What a finished run changed for the views (None: nothing they show)."""
    if run.pulled:
        return Changes(notices=True, rows=True, boards=True, objections=True, sync=True, reference=True)
    if run.conflicts or run.rejected:
        return Changes(sync=True)
    return None


class SyncScheduler(QObject):
    """Background sync every ``interval`` seconds while the workstation is enrolled."""

    status_changed = Signal(str, str)  # text, tooltip
    run_finished = Signal(object)  # SyncRun, or the exception of a failed run

    def __init__(self, env: UiEnv, parent: QObject | None = None, interval: int = DEFAULT_INTERVAL_S) -> None:
        super().__init__(parent)
        self.env = env
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval * 1000))
        self._timer.timeout.connect(self.sync_once)
        self._first = QTimer(self)
        self._first.setSingleShot(True)
        self._first.timeout.connect(self.sync_once)
        self._wanted = False
        self._first_delay = FIRST_SYNC_DELAY_MS
        self._op: BackgroundOp | None = None
        self.text = ""
        self.tooltip = ""
        env.bus.changed.connect(self._on_bus_changed)

    # ------------------------------------------------------------------ control
    def start(self, first_delay_ms: int = FIRST_SYNC_DELAY_MS) -> None:
        """Sync periodically from now on; if the workstation is not enrolled yet, start as soon
        as it is (the enrolment on the sync page announces itself on the change bus)."""
        self._wanted = True
        self._first_delay = first_delay_ms
        if sync_status(self.env.ctx).enrolled:
            self._begin()
        self.refresh_status()

    def _begin(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
            self._first.start(self._first_delay)

    def stop(self) -> None:
        self._wanted = False
        self._timer.stop()
        self._first.stop()
        if self._op is not None:
            self._op.cancel_event.set()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    @property
    def running(self) -> bool:
        return self._op is not None

    def sync_once(self) -> BackgroundOp | None:
        """Start one background sync unless one is running (here or on the sync page)."""
        if self._op is not None or sync_in_progress() or not sync_status(self.env.ctx).enrolled:
            return None
        ctx = self.env.ctx
        self._op = (BackgroundOp(self, lambda progress, cancel: run_sync(ctx, progress, cancel))
                    .on_success(self._on_op_succeeded)
                    .on_failure(self._on_op_failed))
        self._op.run()
        self.refresh_status()
        return self._op

    # ------------------------------------------------------------------ status
    def refresh_status(self) -> None:
        status = sync_status(self.env.ctx)
        self.text, self.tooltip = status_text(status, self.env.ctx.clock.now(), running=self._op is not None)
        self.status_changed.emit(self.text, self.tooltip)

    def _on_op_succeeded(self, run: SyncRun) -> None:
        self._op = None
        self.refresh_status()
        changes = changes_after(run)
        if changes is not None:
            self.env.bus.changed.emit(changes)
        self.run_finished.emit(run)

    def _on_op_failed(self, exc: BaseException) -> None:
        self._op = None
        self.refresh_status()
        if not isinstance(exc, AppError):
            log_crash(type(exc), exc, exc.__traceback__)
        if not isinstance(exc, (Cancelled, SyncBusy)):
            self.run_finished.emit(exc)

    def _on_bus_changed(self, changes: Changes) -> None:
        if changes.sync and self._wanted and not self._timer.isActive() and sync_status(self.env.ctx).enrolled:
            self._begin()
        self.refresh_status()
