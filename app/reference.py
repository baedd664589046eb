"""Reference data: regions, notice types and programs (county-owned, with township programs).

County rows arrive through sync; :func:`install_defaults` seeds the shipped catalogue so that a
workstation is useful before its first sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.audit import record
from app.catalogue import DEFAULT_NOTICE_TYPES
from app.context import Context
from app.errors import NotFound, ValidationError
from app.i18n import _
from app.settings import local_township_id
from db.changes import new_id, save_change
from db.models import Board, NoticeType, Program, Region

LEVELS = ("county", "township", "village", "group")


@dataclass(frozen=True)
class RegionInfo:
    id: str
    name: str
    level: str
    code: str | None
    parent_id: str | None


@dataclass(frozen=True)
class ProgramInfo:
    id: str
    name: str
    category: str
    year: int
    unit: str
    rate: Decimal | None
    notice_type_id: str
    notice_type_code: str
    local: bool


@dataclass(frozen=True)
class BoardInfo:
    id: str
    name: str
    village_id: str | None
    location: str


def _region(r: Region) -> RegionInfo:
    return RegionInfo(r.id, r.name, r.level, r.code, r.parent_id)


def check_division_code(code: str | None, level: str) -> None:
    """统计用区划代码: 12 digits; county ends in 000000, township in 000, village does not."""
    if code is None:
        return
    if len(code) != 12 or not code.isdigit():
        raise ValidationError(_("区划代码应为 12 位数字。"), details=code)
    if level == "county" and not code.endswith("000000"):
        raise ValidationError(_("县级区划代码的后 6 位应为 0。"), details=code)
    if level == "township" and (code.endswith("000000") or not code.endswith("000")):
        raise ValidationError(_("乡镇区划代码的后 3 位应为 0。"), details=code)


class ReferenceService:
    """Regions, notice types, programs and boards. Safe to call from any thread."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def add_region(self, name: str, level: str, code: str | None = None, parent_id: str | None = None,
                   *, county_owned: bool = True) -> RegionInfo:
        if level not in LEVELS:
            raise ValidationError(_("未知的区划层级。"), details=level)
        check_division_code(code, level)
        with self._ctx.write():
            r = Region(id=new_id(), name=name, level=level, code=code, parent=parent_id,
                       sort_key=code or name, township_id=None if county_owned else local_township_id())
            save_change(r, created=True)
        return _region(r)

    def regions(self, level: str, parent_id: str | None = None) -> list[RegionInfo]:
        q = Region.select().where((Region.level == level) & (~Region.deleted))
        if parent_id:
            q = q.where(Region.parent == parent_id)
        return [_region(r) for r in q.order_by(Region.sort_key, Region.name)]

    def region(self, region_id: str) -> RegionInfo:
        r = Region.get_or_none(Region.id == region_id)
        if r is None:
            raise NotFound(_("找不到该区划。"), details=region_id)
        return _region(r)

    def install_defaults(self) -> int:
        """Add the shipped notice types that are missing (matched by code); returns how many."""
        added = 0
        with self._ctx.write():
            have = {t.code for t in NoticeType.select(NoticeType.code)}
            for spec in DEFAULT_NOTICE_TYPES:
                if spec["code"] in have:
                    continue
                save_change(NoticeType(id=new_id(), township_id=None, **spec), created=True)
                added += 1
        return added

    def notice_types(self) -> list[NoticeType]:
        return list(NoticeType.select().where(~NoticeType.deleted).order_by(NoticeType.code))

    def notice_type(self, code: str) -> NoticeType:
        t = NoticeType.get_or_none((NoticeType.code == code) & (~NoticeType.deleted))
        if t is None:
            raise NotFound(_("找不到该公开事项类型。"), details=code)
        return t

    def add_program(self, *, name: str, year: int, notice_type_code: str, unit: str = "",
                    rate: Decimal | None = None, funding_source: str = "", legal_basis: str = "",
                    local: bool = False, by=None) -> ProgramInfo:
        nt = self.notice_type(notice_type_code)
        if not name.strip():
            raise ValidationError(_("项目名称不能为空。"))
        if rate is not None and rate < 0:
            raise ValidationError(_("补贴标准不能为负数。"))
        with self._ctx.write():
            p = Program(id=new_id(), name=name.strip(), category=nt.category, year=year, unit=unit,
                        rate=rate, funding_source=funding_source, legal_basis=legal_basis,
                        notice_type=nt.id, township_id=local_township_id() if local else None)
            save_change(p, created=True)
            if by is not None:
                record(self._ctx, by, "program.create", "program", p.id, {"name": p.name})
        return self.program(p.id)

    def program(self, program_id: str) -> ProgramInfo:
        p = Program.get_or_none(Program.id == program_id)
        if p is None:
            raise NotFound(_("找不到该项目。"), details=program_id)
        return ProgramInfo(p.id, p.name, p.category, p.year, p.unit, p.rate, p.notice_type_id,
                           p.notice_type.code, p.township_id is not None)

    def programs(self) -> list[ProgramInfo]:
        return [self.program(p.id) for p in
                Program.select(Program.id).where(~Program.deleted).order_by(Program.year.desc(), Program.name)]

    def add_board(self, name: str, village_id: str | None, location: str = "") -> BoardInfo:
        with self._ctx.write():
            b = Board(id=new_id(), township_id=local_township_id(), name=name, village=village_id,
                      location=location)
            save_change(b, created=True)
        return BoardInfo(b.id, b.name, b.village_id, b.location)

    def boards(self) -> list[BoardInfo]:
        return [BoardInfo(b.id, b.name, b.village_id, b.location)
                for b in Board.select().where(~Board.deleted).order_by(Board.name)]
