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
from app.settings import county_setting_id, local_township_id
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
        raise ValidationError(_("乡镇区划代码的后 3 位应为 0，后 6 位不能全为 0。"), details=code)


def catalogue_id(code: str) -> str:
    """The id of a shipped catalogue entry: the same on every workstation and on the county
    server, so that a county override arrives as a new version of the row the township has."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"gongkai:notice_type:{code}"))


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
                save_change(NoticeType(id=catalogue_id(spec["code"]), township_id=None, **spec), created=True)
                added += 1
        return added

    #: what a county may change in a shipped notice type
    OVERRIDABLE = ("name", "legal_basis", "time_limit", "publishing_body", "channels", "audience", "level",
                   "min_days", "day_unit", "cadence", "roster_schema", "title_template", "body_template",
                   "objection_clause", "supervision_phone", "content_elements")

    def override_notice_type(self, code: str, **fields) -> NoticeType:
        """County override of a catalogue entry, e.g. a 5-day subsidy posting period."""
        unknown = set(fields) - set(self.OVERRIDABLE)
        if unknown:
            raise ValidationError(_("不能修改这些字段。"), details=", ".join(sorted(unknown)))
        if "min_days" in fields and (not isinstance(fields["min_days"], int) or not 1 <= fields["min_days"] <= 365):
            raise ValidationError(_("公示期应为 1 到 365 天。"))
        if "day_unit" in fields and fields["day_unit"] not in ("natural", "working"):
            raise ValidationError(_("公示期单位应为自然日或工作日。"))
        with self._ctx.write():
            nt = self.notice_type(code)
            for k, v in fields.items():
                setattr(nt, k, v)
            save_change(nt)
        return nt

    def set_holidays(self, entries: list[tuple], complete_years: list[int] = ()) -> None:
        """Install a county holiday arrangement: ``(date, is_workday, name)`` entries."""
        from db.models import CountySetting, HolidayOverride

        with self._ctx.write():
            for day, is_workday, name in entries:
                h = HolidayOverride.get_or_none(HolidayOverride.day == day)
                if h is None:
                    save_change(HolidayOverride(id=new_id(), day=day, is_workday=is_workday, name=name), created=True)
                else:
                    h.is_workday, h.name, h.deleted = is_workday, name, False
                    save_change(h)
            if complete_years:
                s = CountySetting.get_or_none(CountySetting.key == "holiday_complete_years")
                years = sorted(set((s.value if s else []) + list(complete_years)))
                if s is None:
                    save_change(CountySetting(id=county_setting_id("holiday_complete_years"),
                                              key="holiday_complete_years", value=years), created=True)
                else:
                    s.value = years
                    save_change(s)

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
