"""County administration pages (server-rendered): townships and enrolment codes, devices,
programs and standards, notice types and posting periods, the holiday calendar, the masking
policy and public URL, and a compliance dashboard per township and village."""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from collections import defaultdict
from datetime import UTC, date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.catalogue import DEFAULT_NOTICE_TYPES
from app.context import Clock
from app.errors import AppError
from app.masking import MaskPolicy
from app.reference import catalogue_id
from app.settings import county_setting_id
from app.users import check_password, hash_password
from server import county as county_admin
from server import divisions
from server import sync_service as svc
from server.db import database
from server.models import (
    Admin,
    AdminAudit,
    AdminSession,
    Device,
    HandoverRequest,
    SyncRow,
    Township,
)
from server.public import CHINA, RateLimiter, _client, _env
from sync.bundle import BundleError

SECTIONS = [("/admin", "合规概览"), ("/admin/townships", "乡镇与注册码"), ("/admin/devices", "工作站"),
            ("/admin/handover", "公示移交"), ("/admin/pages", "公示页面"),
            ("/admin/divisions", "行政区划"), ("/admin/programs", "项目与标准"), ("/admin/notice-types", "公开事项与公示期"),
            ("/admin/holidays", "节假日安排"), ("/admin/settings", "脱敏与公开网址"),
            ("/admin/bundles", "U盘同步文件")]


def seed_catalogue() -> None:
    """County copies of the shipped notice types, under the ids every workstation uses."""
    for spec in DEFAULT_NOTICE_TYPES:
        row_id = catalogue_id(spec["code"])
        if SyncRow.get_or_none((SyncRow.entity == "notice_type") & (SyncRow.id == row_id)) is None:
            svc.put_county_row("notice_type", row_id, dict(spec))


def _rows(entity: str, township_id: str | None = None) -> list[dict]:
    q = SyncRow.select().where((SyncRow.entity == entity) & (~SyncRow.deleted))
    if township_id:
        q = q.where(SyncRow.township_id == township_id)
    return [json.loads(r.data) for r in q]


def _notice_type(code: str) -> dict | None:
    return next((t for t in _rows("notice_type") if t["code"] == code), None)


def _setting(key: str, default=None):
    row = SyncRow.get_or_none((SyncRow.entity == "county_setting") & (SyncRow.id == county_setting_id(key)))
    return json.loads(row.data).get("value") if row else default


#: notices still taken through their lifecycle: those a county may hand over to another workstation
_IN_HAND = ("draft", "in_review", "approved", "published")
_STATUS_NAMES = {"draft": "草稿", "in_review": "待审核", "approved": "已审批", "published": "公示中"}
_PAGE_ERRORS = {404: "找不到这份已发布的公示。", 409: "这份公示的页面没有被暂停公开。",
                422: "请填写暂停公开的原因（不超过 300 字），乡镇和县里的记录都会保留它。"}
_HANDOVER_ERRORS = {404: "找不到这份公示。", 422: "该工作站不属于这份公示的乡镇，或已被停用。"}


def _notices_in_hand() -> list[dict]:
    """Notices in hand, each with its township's name, its owner's name and the workstations it
    may be handed to (active ones of its township)."""
    townships = {t.id: t.name for t in Township.select()}
    devices = list(Device.select().order_by(Device.name))
    names = {d.id: d.name for d in devices}
    asked = defaultdict(list)  # notice id -> the workstations that asked for it, earliest first
    for r in HandoverRequest.select().where(HandoverRequest.done_at.is_null()).order_by(HandoverRequest.created_at):
        asked[r.notice_id].append(r.device_id)
    out = []
    for n in sorted(_rows("notice"), key=lambda d: (townships.get(d.get("township_id"), ""), str(d.get("title", "")))):
        if n.get("status") not in _IN_HAND:
            continue
        owner = n.get("owner_device")
        out.append({"id": n["id"], "title": n.get("title", ""), "status": _STATUS_NAMES[n["status"]],
                    "township": townships.get(n["township_id"], "?"),
                    "owner": names.get(owner, "（未认领）" if owner is None else "（未知工作站）"),
                    "asked": [names.get(d, "?") for d in asked.get(n["id"], [])],
                    "targets": sorted((d for d in devices if d.township_id == n["township_id"]
                                       and d.revoked_at is None and d.id != owner),
                                      key=lambda d: d.id not in asked.get(n["id"], []))})
    # those a workstation asked for first
    out.sort(key=lambda n: not n["asked"])
    return out


_PAGE_STATUS_NAMES = {"published": "公示中", "closed": "已结束", "superseded": "已被更正", "withdrawn": "已撤回"}
_AUDIT_ACTIONS = {"take_down": "暂停公开公示页面", "put_back": "恢复公开公示页面", "hand_over": "移交公示",
                  "hand_over_all": "移交工作站的全部公示", "revoke": "停用工作站",
                  "import_divisions": "导入行政区划", "add_village": "添加村", "add_group": "添加村民小组",
                  "rename_region": "区划改名", "retire_region": "撤销区划", "restore_region": "恢复区划"}


def _public_pages(notices: list[dict]) -> list[dict]:
    """Those of ``notices`` with a public page, newest first, with their township and whether
    the county has taken the page down (and why)."""
    townships = {t.id: t.name for t in Township.select()}
    down = {r["id"]: r for r in _rows("page_takedown") if r.get("active")}
    out = []
    for n in notices:
        if n.get("status") not in svc.PUBLIC_STATUSES or not n.get("public_snapshot"):
            continue
        out.append({"id": n["id"], "edition": n.get("edition", 1), "title": str(n.get("title", "")),
                    "township": townships.get(n.get("township_id"), "?"),
                    "status": _PAGE_STATUS_NAMES[n["status"]], "start": str(n.get("posting_start") or ""),
                    "down": down.get(n["id"]),
                    "down_at": _local(down[n["id"]].get("taken_down_at", "")) if n["id"] in down else ""})
    out.sort(key=lambda n: n["start"], reverse=True)
    out.sort(key=lambda n: n["down"] is None)  # those taken down first
    return out


def _local(at: str) -> str:
    """A stored UTC moment as the county reads it (China time, to the minute)."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError):
        return str(at)[:16]


def _audit_entries(notices: list[dict], limit: int = 100) -> list[dict]:
    """The newest entries of the county's record, each naming the notice (one of ``notices``),
    workstation or region it concerns."""
    titles = {n["id"]: str(n.get("title", "")) for n in notices}
    devices = {d.id: d.name for d in Device.select()}
    regions = _region_names()
    return [{"at": _local(e.at), "username": e.username, "action": _AUDIT_ACTIONS.get(e.action, e.action),
             "target": titles.get(e.target) or devices.get(e.target) or regions.get(e.target) or e.target,
             "detail": e.detail}
            for e in AdminAudit.select().order_by(AdminAudit.at.desc(), AdminAudit.id.desc()).limit(limit)]


def _day(value) -> date | None:
    """An ISO date from a stored row; None for none, or for what a broken workstation sent before
    pushes were checked field by field (one bad row must not take the dashboard down)."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _region_names() -> dict[str, str]:
    """Every region's name by id, a retired one marked as such (old notices still name it)."""
    return {r.id: json.loads(r.data).get("name", "") + ("（已撤销）" if r.deleted else "")
            for r in SyncRow.select(SyncRow.id, SyncRow.data, SyncRow.deleted).where(SyncRow.entity == "region")}


def compliance(today: date) -> list[dict]:
    """Per township and village on ``today``: notices published, windows running/ended, objections
    open and overdue, published notices without posting evidence. Every township and every village
    the county lists has its line (a village with nothing published shows zeros); a township's own
    notices are on its 乡镇级 line, a village's on the village's, a retired village's too."""
    villages = {}  # id -> (name, sort key) of every village, retired ones too
    listed = []  # (township id, village id) of the villages in force
    for r in SyncRow.select(SyncRow.id, SyncRow.data, SyncRow.deleted).where(SyncRow.entity == "region"):
        d = json.loads(r.data)
        if d.get("level") == "village":
            villages[r.id] = (d.get("name", "") + ("（已撤销）" if r.deleted else ""), d.get("sort_key") or "")
            if not r.deleted:
                listed.append((d.get("parent_id"), r.id))
    postings = defaultdict(set)
    for p in _rows("posting"):
        postings[p["notice_id"]].add(p["id"])
    with_photo = {e["posting_id"] for e in _rows("evidence_file")}
    stats: dict[tuple, dict] = {}
    townships = {t.id: (t.name, t.code) for t in Township.select()}

    def entry(township_id, village_id):
        key = (township_id, village_id)
        if key not in stats:
            name, code = townships.get(township_id, ("?", ""))
            village, order = villages.get(village_id, ("未登记的村", "")) if village_id else ("乡镇级", "")
            stats[key] = {"township": name, "village": village, "published": 0, "running": 0, "ended": 0,
                          "open": 0, "overdue": 0, "no_evidence": 0, "_order": (code, name, bool(village_id), order)}
        return stats[key]

    for township_id in townships:
        entry(township_id, None)
    for township_id, village_id in listed:
        if township_id in townships:
            entry(township_id, village_id)
    notices = {}
    for n in _rows("notice"):
        notices[n["id"]] = n
        if n.get("status") not in ("published", "closed"):
            continue
        s = entry(n["township_id"], n.get("village_id"))
        s["published"] += 1
        end = _day(n.get("posting_end"))
        if n["status"] == "published" and end and end >= today:
            s["running"] += 1
        else:
            s["ended"] += 1
        if not any(p in with_photo for p in postings.get(n["id"], ())):
            s["no_evidence"] += 1
    for o in _rows("objection"):
        if o.get("status") == "answered" or o.get("notice_id") not in notices:
            continue
        n = notices[o["notice_id"]]
        s = entry(n["township_id"], n.get("village_id"))
        s["open"] += 1
        due = _day(o.get("due_date"))
        if due and due < today:
            s["overdue"] += 1
    rows = sorted(stats.values(), key=lambda s: (s["_order"], s["village"]))
    for s in rows:
        del s["_order"]
    return rows


SESSION_HOURS = timedelta(hours=8)
#: one answer for every refused sign-in: wrong name, wrong password, or a locked account
LOGIN_REFUSED = "用户名或密码不正确。连续输错多次的账户会暂时锁定，请稍后再试。"
LOCK_AFTER = 5  # wrong passwords in a row; then locked for 1, 2, 4 … up to 60 minutes
#: checked when no such administrator exists, so that an unknown name takes as long as a known one
_NOBODY = hash_password(secrets.token_urlsafe(16))


def _check_login(username: str, password: str, now) -> bool:
    """Whether this administrator may sign in with this password now; counts failures and locks
    the account after LOCK_AFTER of them in a row (always the same work, known name or not)."""
    admin = Admin.get_or_none(Admin.username == username)
    good = check_password(password, admin.password_hash if admin is not None else _NOBODY)
    if admin is None:
        return False
    stamp = now.astimezone(UTC).isoformat()
    if admin.locked_until and admin.locked_until > stamp:
        return False
    if good:
        Admin.update(failed_logins=None, locked_until=None).where(Admin.username == username).execute()
        return True
    failures = (admin.failed_logins or 0) + 1
    locked = None
    if failures >= LOCK_AFTER:
        locked = (now + timedelta(minutes=min(60, 2 ** (failures - LOCK_AFTER)))).astimezone(UTC).isoformat()
    Admin.update(failed_logins=failures, locked_until=locked).where(Admin.username == username).execute()
    return False


def create_admin_router(clock: Clock) -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)
    login_limit = RateLimiter(limit=10, window=300)

    def session(request: Request) -> AdminSession | None:
        """The signed-in administrator's live session (one the server has not ended), read once
        per request: the guard, the page's user name and its form token all ask."""
        if hasattr(request.state, "admin_session"):
            return request.state.admin_session
        found = None
        sid = request.session.get("sid")
        if isinstance(sid, str):
            with database.connection_context():
                found = AdminSession.get_or_none((AdminSession.id == sid) & AdminSession.ended_at.is_null())
            if found is not None and found.created_at < (clock.now() - SESSION_HOURS).astimezone(UTC).isoformat():
                found = None
        request.state.admin_session = found
        return found

    def user(request: Request) -> str | None:
        found = session(request)
        return found.username if found is not None else None

    def form_token(request: Request) -> str:
        """The token this browser's forms carry: the session's, or, before signing in, one kept
        in the (signed) cookie; never one a public page handed out."""
        found = session(request)
        if found is not None:
            return found.csrf
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = request.session["csrf"] = secrets.token_urlsafe(24)
        return token

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        html = _env.get_template(name).render(sections=SECTIONS, path=request.url.path, admin=user(request),
                                              csrf=form_token(request), **context)
        return HTMLResponse(html, status_code=status)

    def guard(request: Request, csrf: str | None = None):
        if user(request) is None:
            return RedirectResponse("/admin/login", status_code=303)
        if csrf is not None and not hmac.compare_digest(csrf.encode(), form_token(request).encode()):
            return HTMLResponse("页面已过期，请返回重试。", status_code=403)
        return None

    def back(path: str, message: str = "") -> RedirectResponse:
        from urllib.parse import quote

        return RedirectResponse(f"{path}?msg={quote(message)}" if message else path, status_code=303)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request):
        return page(request, "admin_login.html", error=None)

    @router.post("/login", response_class=HTMLResponse)
    def login(request: Request, username: str = Form("", max_length=100), password: str = Form("", max_length=200),
              csrf: str = Form("", max_length=100)):
        if not login_limit.allow(_client(request)):
            return page(request, "admin_login.html", 429, error="登录尝试过于频繁，请五分钟后再试。")
        expected = request.session.get("csrf")
        if not isinstance(expected, str) or not hmac.compare_digest(csrf.encode(), expected.encode()):
            return page(request, "admin_login.html", 403, error="页面已过期，请重试。")
        with database.connection_context():
            ok = _check_login(username, password, clock.now())
            if not ok:
                return page(request, "admin_login.html", 401, error=LOGIN_REFUSED)
            sid = secrets.token_urlsafe(24)
            AdminSession.create(id=sid, username=username, csrf=secrets.token_urlsafe(24),
                                created_at=clock.now().astimezone(UTC).isoformat())
        request.session.clear()  # a new session id on every sign-in
        request.session["sid"] = sid
        return RedirectResponse("/admin", status_code=303)

    @router.post("/logout")
    def logout(request: Request, csrf: str = Form("", max_length=100)):
        found = session(request)
        if found is not None and hmac.compare_digest(csrf.encode(), found.csrf.encode()):
            with database.connection_context():
                AdminSession.update(ended_at=clock.now().astimezone(UTC).isoformat()).where(
                    AdminSession.id == found.id).execute()
        request.session.clear()
        return RedirectResponse("/admin/login", status_code=303)

    @router.get("", response_class=HTMLResponse)
    def dashboard(request: Request):
        if (r := guard(request)) is not None:
            return r
        with database.connection_context():
            rows = compliance(clock.today())
        return page(request, "admin_dashboard.html", rows=rows)

    @router.get("/townships", response_class=HTMLResponse)
    def townships(request: Request, msg: str = "", code: str = ""):
        if (r := guard(request)) is not None:
            return r
        with database.connection_context():
            items = list(Township.select().order_by(Township.code))
        return page(request, "admin_townships.html", townships=items, msg=msg, new_code=code)

    @router.post("/townships")
    def add_township(request: Request, code: str = Form("", max_length=20), name: str = Form("", max_length=50),
                     csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        try:
            with database.connection_context():
                county_admin.add_township(code.strip(), name.strip())
        except Exception as exc:  # AppError / SyncError: shown to the officer
            return back("/admin/townships", f"未添加：{exc}")
        return back("/admin/townships", f"已添加 {name}")

    @router.post("/townships/{code}/enroll-code")
    def enroll_code(request: Request, code: str, csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        with database.connection_context():
            one_time = svc.create_enroll_code(code, clock.now())
        from urllib.parse import quote

        return RedirectResponse(f"/admin/townships?code={quote(one_time)}", status_code=303)

    def divisions_page(request: Request, status: int = 200, **context) -> HTMLResponse:
        with database.connection_context():
            items = divisions.tree()
        return page(request, "admin_divisions.html", status, townships=items,
                    max_mb=divisions.MAX_DIVISION_BYTES // (1024 * 1024), **{"msg": "", "report": None,
                                                                            "error": None, **context})

    @router.get("/divisions", response_class=HTMLResponse)
    def division_list(request: Request, msg: str = ""):
        if (r := guard(request)) is not None:
            return r
        return divisions_page(request, msg=msg)

    @router.post("/divisions/import", response_class=HTMLResponse)
    def import_divisions(request: Request, file: Annotated[UploadFile, File()], csrf: str = Form("", max_length=100)):
        """Create or update townships and villages from an uploaded division file, all or nothing."""
        if (r := guard(request, csrf)) is not None:
            return r
        try:
            with database.connection_context():
                report = apply_uploaded_divisions(file)
                svc.audit(user(request), "import_divisions", report.file, report.summary(), clock.now())
        except divisions.DivisionError as err:
            text = str(err).split("。")[0] + "。" if err.refused else str(err)  # the rows: in a table
            return divisions_page(request, 422, error=text, refused=err.refused)
        except AppError as err:  # the file cannot be read at all
            return divisions_page(request, 422, error=str(err), refused=[])
        return divisions_page(request, report=report)

    @router.post("/divisions/villages")
    def add_village(request: Request, township_id: str = Form("", max_length=64), code: str = Form("", max_length=20),
                    name: str = Form("", max_length=100), csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        try:
            with database.connection_context():
                region_id = divisions.add_village(township_id, name, code)
                svc.audit(user(request), "add_village", region_id, f"{name.strip()} {code.strip()}".strip(),
                          clock.now())
        except AppError as err:
            return back("/admin/divisions", f"未添加：{err}")
        return back("/admin/divisions", f"已添加 {name.strip()}；各工作站下次同步后可选。")

    @router.post("/divisions/{region_id}/groups")
    def add_group(request: Request, region_id: str, name: str = Form("", max_length=100),
                  csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        try:
            with database.connection_context():
                group_id = divisions.add_group(region_id, name)
                svc.audit(user(request), "add_group", group_id, name.strip(), clock.now())
        except AppError as err:
            return back("/admin/divisions", f"未添加：{err}")
        return back("/admin/divisions", f"已添加村民小组 {name.strip()}")

    @router.post("/divisions/{region_id}/{action}")
    def change_region(request: Request, region_id: str, action: str, name: str = Form("", max_length=100),
                      csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        done = {"rename": "已改名", "retire": "已撤销", "restore": "已恢复"}
        if action not in done:
            return HTMLResponse("没有这个操作。", status_code=404)
        try:
            with database.connection_context():
                if action == "rename":
                    old, new = divisions.rename(region_id, name)
                elif action == "retire":
                    old, new = divisions.retire(region_id, clock.today())
                else:
                    old, new = divisions.restore(region_id)
                svc.audit(user(request), f"{action}_region", region_id, old if old == new else f"{old} → {new}",
                          clock.now())
        except AppError as err:
            return back("/admin/divisions", f"未能完成：{err}")
        return back("/admin/divisions", f"{done[action]}：{new}。各工作站下次同步后生效；已有的公示仍显示原名。"
                    if action == "retire" else f"{done[action]}：{new}。各工作站下次同步后生效。")

    @router.get("/devices", response_class=HTMLResponse)
    def devices(request: Request, msg: str = ""):
        if (r := guard(request)) is not None:
            return r
        with database.connection_context():
            names = {t.id: t.name for t in Township.select()}
            devices = list(Device.select().order_by(Device.created_at.desc()))
            in_hand = defaultdict(int)
            for n in _rows("notice"):
                if n.get("status") in _IN_HAND and n.get("owner_device"):
                    in_hand[n["owner_device"]] += 1
            items = [(d, names.get(d.township_id, "?"), in_hand[d.id],
                      [o for o in devices if o.township_id == d.township_id and o.revoked_at is None and o.id != d.id])
                     for d in devices]
        return page(request, "admin_devices.html", devices=items, msg=msg)

    @router.post("/devices/{device_id}/hand-over")
    def hand_over_all(request: Request, device_id: str, to_device: str = Form("", max_length=64),
                      csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        with database.connection_context():
            target = Device.get_or_none(Device.id == to_device)
            source = Device.get_or_none(Device.id == device_id)
            if target is None or source is None or target.township_id != source.township_id or target.revoked_at:
                return back("/admin/devices", "未能移交：目标工作站不属于同一乡镇，或已被停用。")
            moved = svc.hand_over_all(device_id, to_device)
            svc.audit(user(request), "hand_over_all", device_id, f"{moved} 份公示移交给“{target.name}”", clock.now())
        return back("/admin/devices", f"已把工作站“{source.name}”办理的 {moved} 份公示移交给“{target.name}”。"
                                      "两台电脑各同步一次后生效。")

    @router.post("/devices/{device_id}/revoke")
    def revoke(request: Request, device_id: str, csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        with database.connection_context():
            svc.revoke(device_id)
            svc.audit(user(request), "revoke", device_id, "", clock.now())
        return back("/admin/devices", "已停用该工作站，其令牌不再有效。")

    @router.get("/handover", response_class=HTMLResponse)
    def handover(request: Request, msg: str = ""):
        if (r := guard(request)) is not None:
            return r
        with database.connection_context():
            return page(request, "admin_handover.html", notices=_notices_in_hand(), msg=msg)

    @router.post("/handover/{notice_id}")
    def hand_over(request: Request, notice_id: str, device_id: str = Form("", max_length=64),
                  csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        with database.connection_context():
            try:
                svc.hand_over(notice_id, device_id)
            except svc.SyncError as err:
                return back("/admin/handover", f"未能移交：{_HANDOVER_ERRORS.get(err.status, err.message)}")
            device = Device.get_by_id(device_id)
            svc.audit(user(request), "hand_over", notice_id, f"移交给“{device.name}”", clock.now())
            title = json.loads(SyncRow.get((SyncRow.entity == "notice") & (SyncRow.id == notice_id)).data)["title"]
        return back("/admin/handover", f"已把“{title}”移交给工作站“{device.name}”。两台电脑各同步一次后生效；"
                                       "原工作站尚未上传的修改不会被接受，会在它的同步页上列出。")

    @router.get("/pages", response_class=HTMLResponse)
    def pages(request: Request, msg: str = ""):
        if (r := guard(request)) is not None:
            return r
        with database.connection_context():
            notices = _rows("notice")
            return page(request, "admin_pages.html", pages=_public_pages(notices), audit=_audit_entries(notices),
                        msg=msg, max_reason=svc.MAX_TAKEDOWN_REASON)

    @router.post("/pages/{notice_id}/take-down")
    def take_down(request: Request, notice_id: str, reason: str = Form("", max_length=2000),
                  csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        with database.connection_context():
            try:
                svc.take_down(notice_id, reason, user(request), clock.now())
            except svc.SyncError as err:
                return back("/admin/pages", _PAGE_ERRORS.get(err.status, "未能暂停公开。"))
        return back("/admin/pages", "已暂停公开这份公示的网上页面：扫码只显示暂停原因。乡镇下次同步后会在这份公示上看到。")

    @router.post("/pages/{notice_id}/put-back")
    def put_back(request: Request, notice_id: str, csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        with database.connection_context():
            try:
                svc.put_back(notice_id, user(request), clock.now())
            except svc.SyncError as err:
                return back("/admin/pages", _PAGE_ERRORS.get(err.status, "未能恢复公开。"))
        return back("/admin/pages", "已恢复公开这份公示的网上页面。")

    @router.get("/programs", response_class=HTMLResponse)
    def programs(request: Request, msg: str = ""):
        if (r := guard(request)) is not None:
            return r
        with database.connection_context():
            items = [p for p in _rows("program") if p.get("township_id") is None]
            types = sorted(_rows("notice_type"), key=lambda t: t["code"])
        return page(request, "admin_programs.html", programs=items, types=types, msg=msg)

    @router.post("/programs")
    def add_program(request: Request, name: str = Form("", max_length=100), year: int = Form(2026, ge=2000, le=2100),
                    notice_type: str = Form("", max_length=60), unit: str = Form("", max_length=10),
                    rate: str = Form("", max_length=20), csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        try:
            value = str(Decimal(rate)) if rate.strip() else None
            if value is not None and Decimal(value) < 0:
                raise InvalidOperation
        except InvalidOperation:
            return back("/admin/programs", "补贴标准应为不小于 0 的数字。")
        with database.connection_context():
            spec = _notice_type(notice_type)
            if spec is None or not name.strip():
                return back("/admin/programs", "请填写项目名称并选择公开事项。")
            svc.put_county_row("program", str(uuid.uuid4()), {
                "name": name.strip(), "category": spec["category"], "year": year, "unit": unit.strip(),
                "rate": value, "funding_source": "", "legal_basis": "", "notice_type_id": spec["id"]})
        return back("/admin/programs", f"已发布项目：{name}")

    @router.get("/notice-types", response_class=HTMLResponse)
    def notice_types(request: Request, msg: str = ""):
        if (r := guard(request)) is not None:
            return r
        with database.connection_context():
            items = sorted(_rows("notice_type"), key=lambda t: t["code"])
        return page(request, "admin_notice_types.html", types=items, msg=msg)

    @router.post("/notice-types/{code}")
    def set_period(request: Request, code: str, min_days: int = Form(..., ge=1, le=365),
                   day_unit: str = Form(..., pattern="^(natural|working)$"), csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        with database.connection_context():
            spec = _notice_type(code)
            if spec is None:
                return back("/admin/notice-types", "没有这个公开事项。")
            svc.put_county_row("notice_type", spec["id"], {**spec, "min_days": min_days, "day_unit": day_unit})
        return back("/admin/notice-types", f"已更新“{spec['name']}”的公示期：{min_days} 个{'工作日' if day_unit == 'working' else '自然日'}")

    @router.get("/holidays", response_class=HTMLResponse)
    def holidays(request: Request, msg: str = ""):
        if (r := guard(request)) is not None:
            return r
        with database.connection_context():
            items = sorted(_rows("holiday_override"), key=lambda h: h["day"])
            years = _setting("holiday_complete_years", [])
        return page(request, "admin_holidays.html", holidays=items, years=years, msg=msg)

    @router.post("/holidays")
    def add_holiday(request: Request, day: date = Form(...), kind: str = Form(..., pattern="^(holiday|workday)$"),
                    name: str = Form("", max_length=30), complete_year: bool = Form(False),
                    csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        with database.connection_context():
            row_id = f"holiday:{day.isoformat()}"
            svc.put_county_row("holiday_override", row_id, {"day": day.isoformat(), "is_workday": kind == "workday",
                                                            "name": name.strip() or ("调休上班" if kind == "workday" else "节假日")})
            if complete_year:
                years = sorted(set(_setting("holiday_complete_years", []) or []) | {day.year})
                county_admin.set_county_setting("holiday_complete_years", years)
        return back("/admin/holidays", f"已登记 {day.isoformat()}")

    @router.get("/settings", response_class=HTMLResponse)
    def settings_page(request: Request, msg: str = ""):
        if (r := guard(request)) is not None:
            return r
        with database.connection_context():
            values = {k: _setting(k, d) for k, d in (("public_url", ""), ("id_mask_pattern", "2+3"),
                                                     ("show_id_column", False), ("objection_answer_days", 7))}
        return page(request, "admin_settings.html", values=values, msg=msg)

    @router.post("/settings")
    def save_settings(request: Request, public_url: str = Form("", max_length=200),
                      id_mask_pattern: str = Form("2+3", max_length=30), show_id_column: bool = Form(False),
                      objection_answer_days: int = Form(7, ge=1, le=60), csrf: str = Form("", max_length=100)):
        if (r := guard(request, csrf)) is not None:
            return r
        if not public_url.startswith(("http://", "https://")):
            return back("/admin/settings", "公开网址须以 http:// 或 https:// 开头。")
        try:
            MaskPolicy.from_pattern(id_mask_pattern)
        except ValueError as exc:
            return back("/admin/settings", f"脱敏规则无效：{exc}")
        with database.connection_context():
            for key, value in (("public_url", public_url.rstrip("/")), ("id_mask_pattern", id_mask_pattern),
                               ("show_id_column", show_id_column), ("objection_answer_days", objection_answer_days)):
                if _setting(key) != value:
                    county_admin.set_county_setting(key, value)
        return back("/admin/settings", "已保存；各乡镇下次同步后生效。")

    @router.get("/bundles", response_class=HTMLResponse)
    def bundles(request: Request):
        if (r := guard(request)) is not None:
            return r
        return page(request, "admin_bundles.html", error=None)

    @router.post("/bundles")
    def import_bundle_upload(request: Request, bundle: Annotated[UploadFile, File()],
                             csrf: str = Form("", max_length=100)):
        """Apply an uploaded USB bundle exactly like a push and hand back the reply bundle as a
        download; a refused bundle changes nothing and shows why."""
        if (r := guard(request, csrf)) is not None:
            return r
        try:
            reply, summary = apply_uploaded_bundle(bundle, clock.now())
        except (BundleError, svc.SyncError) as exc:
            message = exc.message if isinstance(exc, svc.SyncError) else str(exc)
            return page(request, "admin_bundles.html", 422, error=message)
        stamp = clock.now().astimezone(CHINA).strftime("%Y%m%d-%H%M")
        return Response(reply, media_type="application/octet-stream", headers={
            "Content-Disposition": f'attachment; filename="gongkai-reply-{stamp}.gkb"',
            "X-Gongkai-Accepted": str(summary["accepted"]), "X-Gongkai-Already-Applied": str(summary["already_applied"]),
            "X-Gongkai-Pulled": str(summary["pulled"])})

    return router


def apply_uploaded_divisions(upload: UploadFile) -> divisions.DivisionReport:
    """Import an uploaded division file (server.divisions.import_divisions) under its own name,
    so that messages name the file the officer chose; a file over the limit is refused unread."""
    import re
    import tempfile
    from pathlib import Path

    name = re.sub(r"[^\w.\-]", "_", Path(upload.filename or "").name)[:80] or "divisions.csv"
    with tempfile.TemporaryDirectory(prefix="gongkai-divisions-") as tmp:
        source = Path(tmp) / name
        size = 0
        with open(source, "wb") as out:
            while chunk := upload.file.read(1 << 20):
                size += len(chunk)
                if size > divisions.MAX_DIVISION_BYTES:
                    raise divisions.DivisionError(f"文件“{name}”过大，未做任何更改。")
                out.write(chunk)
        return divisions.import_divisions(source)


def apply_uploaded_bundle(upload: UploadFile, now) -> tuple[bytes, dict]:
    """Import an uploaded request bundle (server.bundle.import_bundle); returns the reply file's
    bytes and the summary. The upload is kept under its own name, so that messages about it name
    the file the officer chose."""
    import re
    import tempfile
    from pathlib import Path

    from server.bundle import import_bundle
    from sync.bundle import MAX_BUNDLE_BYTES

    name = re.sub(r"[^\w.\-]", "_", Path(upload.filename or "").name)[:80] or "bundle.gkb"
    with tempfile.TemporaryDirectory(prefix="gongkai-bundle-") as tmp:
        source = Path(tmp) / name
        size = 0
        with open(source, "wb") as out:
            while chunk := upload.file.read(1 << 20):
                size += len(chunk)
                if size > MAX_BUNDLE_BYTES:
                    raise BundleError(f"同步文件“{name}”过大，未做任何更改。")
                out.write(chunk)
        reply = Path(tmp) / "reply.gkb"
        summary = import_bundle(source, reply, now)
        return reply.read_bytes(), summary
