"""Workstation accounts with roles (经办人 preparer / 审核人 reviewer / 管理员 admin)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from app.context import Context
from app.errors import NotFound, PermissionDenied, ValidationError
from app.i18n import _
from db.changes import new_id, utc_now
from db.models import User

ROLES = ("preparer", "reviewer", "admin")
ROLE_LABELS = {"preparer": "经办人", "reviewer": "审核人", "admin": "管理员"}

# scrypt cost: ~50 ms per check on the reference machine, 16 MiB memory
_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True)
class UserInfo:
    id: str
    username: str
    display_name: str
    role: str
    active: bool


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got, base64.b64decode(digest))


def _info(u: User) -> UserInfo:
    return UserInfo(u.id, u.username, u.display_name, u.role, u.active and not u.deleted)


class UserService:
    """Create accounts, sign in, and check roles. Safe to call from any thread."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def create(self, username: str, display_name: str, role: str, password: str,
               by: str | None = None) -> UserInfo:
        """Create an account. ``by`` is the acting user, who must be an administrator; without
        ``by`` (first run, demo, county scripts) nobody is checked."""
        from app.audit import record
        from app.settings import local_township_id

        actor = self.require(by, "admin") if by is not None else None
        username = username.strip()
        self.check_new(username, display_name, role, password)
        with self._ctx.write():
            if User.select().where(User.username == username).exists():
                raise ValidationError(_("用户名已存在。"), details=username)
            now = utc_now()
            user = User.create(
                id=new_id(), username=username, display_name=display_name.strip(), role=role,
                password_hash=hash_password(password), active=True, created_at=now, updated_at=now,
                township_id=local_township_id(),
            )
            record(self._ctx, actor, "user.create", "user", user.id, {"username": username, "role": role})
        return _info(user)

    def check_new(self, username: str, display_name: str, role: str, password: str) -> None:
        """Raise ValidationError if ``create`` would refuse these values (changes nothing)."""
        if role not in ROLES:
            raise ValidationError(_("未知的角色。"), details=role)
        if not username.strip() or not display_name.strip():
            raise ValidationError(_("用户名和姓名不能为空。"))
        if len(password) < 8:
            raise ValidationError(_("密码至少需要 8 个字符。"))
        if User.select().where(User.username == username.strip()).exists():
            raise ValidationError(_("用户名已存在。"), details=username.strip())

    def authenticate(self, username: str, password: str) -> UserInfo:
        user = User.get_or_none(User.username == username.strip())
        # check a dummy hash for unknown users so that timing does not reveal which names exist
        stored = user.password_hash if user else hash_password("")
        if not check_password(password, stored) or user is None or not user.active or user.deleted:
            raise PermissionDenied(_("用户名或密码不正确，或账户已停用。"))
        return _info(user)

    def get(self, user_id: str) -> UserInfo:
        user = User.get_or_none(User.id == user_id)
        if user is None:
            raise NotFound(_("找不到该用户。"), details=user_id)
        return _info(user)

    def list(self) -> list[UserInfo]:
        return [_info(u) for u in User.select().where(~User.deleted).order_by(User.username)]

    def require(self, user_id: str, *roles: str) -> UserInfo:
        """The active user ``user_id`` if its role is one of ``roles`` (admin always qualifies)."""
        user = self.get(user_id)
        if not user.active:
            raise PermissionDenied(_("账户已停用。"))
        if user.role != "admin" and user.role not in roles:
            wanted = "、".join(ROLE_LABELS[r] for r in roles)
            raise PermissionDenied(
                _("此操作需要以下角色：{roles}。").format(roles=wanted),
                details=f"{user.username} is {user.role}",
            )
        return user
