"""The county's townships, villages and village groups (行政区划), which the CLI and the admin
pages share.

Regions are county-owned rows (SYNC.md): every workstation of the county pulls them. Townships and
villages come from the statistics bureau's division codes (统计用区划代码: 12 digits, the county's
6-digit prefix, then 3 for the township and 3 for the village); village groups (村民小组) have no
such code and are added by name under their village. A retired village or group is a tombstone
(``deleted``): workstations drop it from their lists and keep the row, so old notices still name
it; the county can restore it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from app.errors import AppError
from server import sync_service as svc
from server.county import COUNTY_ROW_ID
from server.db import write_transaction
from server.models import SyncRow, Township

#: a division file larger than this is refused before it is read (a province has ~700,000 rows)
MAX_DIVISION_BYTES = 8 * 1024 * 1024
MAX_NAME = 50

_CODE_HEADERS = ("统计用区划代码", "区划代码", "代码", "code", "divisioncode", "division_code")
_NAME_HEADERS = ("名称", "区划名称", "单位名称", "name")
_CLASS_HEADERS = ("城乡分类代码", "城乡分类", "urbanruralcode", "urban_rural")
_HEADER_ROWS = 10  # where the header is looked for


class DivisionError(AppError):
    """The division file cannot be used; nothing was changed. ``refused``: the rows at fault."""

    def __init__(self, message: str, refused: list[Refused] | None = None) -> None:
        super().__init__(message)
        self.refused = refused or []


@dataclass(frozen=True)
class Refused:
    row: int  # as the spreadsheet numbers it
    code: str
    reason: str


@dataclass
class DivisionReport:
    file: str
    added: int = 0
    renamed: int = 0
    unchanged: int = 0
    updated: int = 0  # the urban-rural class alone changed
    kept_retired: int = 0  # listed in the file but retired by the county: left retired
    refused: list[Refused] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"file": self.file, "applied": not self.refused, "added": self.added, "renamed": self.renamed,
                "unchanged": self.unchanged, "updated": self.updated, "kept_retired": self.kept_retired,
                "refused": [{"row": r.row, "code": r.code, "reason": r.reason} for r in self.refused]}

    def summary(self) -> str:
        text = f"{self.file}：新增 {self.added}，改名 {self.renamed}，未变 {self.unchanged}"
        if self.updated:
            text += f"，城乡分类更新 {self.updated}"
        if self.kept_retired:
            text += f"，已撤销未恢复 {self.kept_retired}"
        return text


@dataclass(frozen=True)
class _Entry:
    row: int
    code: str
    name: str
    urban_rural: str | None


# ------------------------------------------------------------------------------- reading
def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _key(header) -> str:
    return "".join(_text(header).split()).lower()


def _find_columns(rows: list[list]) -> tuple[int, dict[str, int]] | None:
    """(the header's row index, column of code/name/class), or None when there is no header."""
    for i, row in enumerate(rows[:_HEADER_ROWS]):
        keys = [_key(v) for v in row]
        found = {}
        for what, names in (("code", _CODE_HEADERS), ("name", _NAME_HEADERS), ("class", _CLASS_HEADERS)):
            col = next((c for c, k in enumerate(keys) if k in names), None)
            if col is not None:
                found[what] = col
        if "code" in found and "name" in found:
            return i, found
    return None


def read_divisions(path: Path) -> tuple[str, list[_Entry]]:
    """The entries of a division file (.xlsx/.xls/.ods/.csv in UTF-8 or GB18030), first sheet with
    a header (统计用区划代码/区划代码, 名称, optional 城乡分类代码), or, without a header, the
    statistics bureau's column order (code, [class], name). Blank rows are skipped."""
    from app.importing.sources import open_book

    book = open_book(Path(path), MAX_DIVISION_BYTES)
    for sheet in book.sheets:
        if sheet.empty:
            continue
        rows = sheet.load()
        found = _find_columns(rows)
        if found is None and rows and len(_text(rows[0][0] if rows[0] else "")) == 12:
            return book.file, [e for i, row in enumerate(rows) if (e := _headerless(i + 1, row))]
        if found is None:
            continue
        start, cols = found
        entries = []
        for i in range(start + 1, len(rows)):
            code, name, kind = (_cell(rows[i], cols.get(what)) for what in ("code", "name", "class"))
            if code or name:
                entries.append(_Entry(i + 1, "".join(code.split()), name, kind or None))
        return book.file, entries
    raise DivisionError(f"文件“{book.file}”中找不到区划表：表头应有“统计用区划代码”（或“区划代码”）和“名称”两列，"
                        "或第一列就是 12 位区划代码。未做任何更改。")


def _cell(row: list, col: int | None) -> str:
    return _text(row[col]) if col is not None and col < len(row) else ""


def _headerless(row_number: int, row: list) -> _Entry | None:
    cells = [_text(v) for v in row]
    cells = [c for c in cells if c] if any(cells) else []
    if not cells:
        return None
    if len(cells) >= 3 and len(cells[1]) == 3 and cells[1].isdigit():
        return _Entry(row_number, cells[0], cells[2], cells[1])
    return _Entry(row_number, cells[0], cells[1] if len(cells) > 1 else "", None)


# ------------------------------------------------------------------------------- importing
def county_code() -> str:
    row = SyncRow.get_or_none((SyncRow.entity == "region") & (SyncRow.id == COUNTY_ROW_ID))
    if row is None:
        raise DivisionError("县尚未初始化：请先运行 county init（12 位县级区划代码）。")
    return json.loads(row.data)["code"]


def _regions() -> dict[str, tuple[SyncRow, dict]]:
    """The county's region rows (retired ones too) by id."""
    return {r.id: (r, json.loads(r.data)) for r in SyncRow.select().where(SyncRow.entity == "region")}


def _check(entries: Iterable[_Entry], prefix: str, known_townships: set[str]) -> list[Refused]:
    refused = []
    seen: dict[str, int] = {}
    in_file = {e.code for e in entries if len(e.code) == 12 and e.code.isdigit() and e.code.endswith("000")}
    for e in entries:
        def no(reason: str, e=e) -> None:
            refused.append(Refused(e.row, e.code, reason))

        if not e.code:
            no("缺少区划代码")
        elif not e.code.isdigit():
            no(f"区划代码“{e.code}”含有数字以外的字符")
        elif len(e.code) != 12:
            no(f"区划代码应为 12 位数字（这里是 {len(e.code)} 位）")
        elif not e.code.startswith(prefix):
            no(f"区划代码 {e.code} 不属于本县（本县的代码以 {prefix} 开头）")
        elif not e.name:
            no("缺少名称")
        elif len(e.name) > MAX_NAME:
            no(f"名称超过 {MAX_NAME} 个字")
        elif e.urban_rural is not None and not (len(e.urban_rural) == 3 and e.urban_rural.isdigit()):
            no(f"城乡分类代码应为 3 位数字（这里是“{e.urban_rural}”）")
        elif e.code in seen:
            no(f"区划代码 {e.code} 与第 {seen[e.code]} 行重复")
        elif not e.code.endswith("000") and (town := e.code[:9] + "000") not in in_file | known_townships:
            no(f"所属乡镇 {town} 既不在文件中，也未在本县登记")
        if e.code and e.code not in seen:
            seen[e.code] = e.row
    return refused


def import_divisions(path: Path) -> DivisionReport:
    """Create or update the county's townships and villages from a division file, all or nothing:
    a file with any refused row changes nothing (raises :class:`DivisionError` with them).
    Entries already as listed stay as they are (no new version); a changed name is a new version
    of the same row. Rows of the county the file does not list are left alone."""
    file, entries = read_divisions(path)
    county = county_code()
    prefix = county[:6]
    entries = [e for e in entries if e.code != county]  # the county's own row, as the bureau lists it
    if not entries:
        raise DivisionError(f"文件“{file}”中没有区划代码。未做任何更改。")
    report = DivisionReport(file)
    with write_transaction():
        townships = {t.code: t for t in Township.select()}
        report.refused = _check(entries, prefix, set(townships))
        if report.refused:
            lines = "；".join(f"第 {r.row} 行：{r.reason}" for r in report.refused[:20])
            more = f"（另有 {len(report.refused) - 20} 行）" if len(report.refused) > 20 else ""
            raise DivisionError(f"文件“{file}”有 {len(report.refused)} 行不能导入，未做任何更改。{lines}{more}",
                                report.refused)
        regions = _regions()
        by_code = {d.get("code"): (r, d) for r, d in regions.values() if d.get("code")}
        order = sorted(entries, key=lambda e: not e.code.endswith("000"))  # townships first
        for e in order:
            if e.code.endswith("000"):
                _township(e, townships, by_code, report)
            else:
                _village(e, townships, by_code, report)
    return report


def _township(e: _Entry, townships: dict[str, Township], by_code, report: DivisionReport) -> None:
    existing = townships.get(e.code)
    if existing is None:
        township_id = str(uuid.uuid4())
        townships[e.code] = Township.create(id=township_id, code=e.code, name=e.name)
        svc.put_county_row("region", township_id, _region_data(e, "township", COUNTY_ROW_ID))
        report.added += 1
        return
    _update(existing.id, e, by_code.get(e.code), report, "township", COUNTY_ROW_ID)
    if existing.name != e.name:
        Township.update(name=e.name).where(Township.id == existing.id).execute()


def _village(e: _Entry, townships: dict[str, Township], by_code, report: DivisionReport) -> None:
    parent = townships[e.code[:9] + "000"].id
    found = by_code.get(e.code)
    if found is None:
        svc.put_county_row("region", str(uuid.uuid4()), _region_data(e, "village", parent))
        report.added += 1
        return
    if found[0].deleted:
        report.kept_retired += 1
        return
    _update(found[0].id, e, found, report, "village", parent)


def _update(row_id: str, e: _Entry, found, report: DivisionReport, level: str, parent: str) -> None:
    data = found[1] if found else {}
    wanted = {**data, **_region_data(e, level, parent)}
    if e.urban_rural is None:
        wanted["urban_rural"] = data.get("urban_rural")
    if found is not None and all(data.get(k) == wanted[k] for k in ("name", "level", "code", "parent_id",
                                                                     "urban_rural")):
        report.unchanged += 1
        return
    svc.put_county_row("region", row_id, _stored(wanted))
    if found is None:
        report.added += 1  # a township registered without its region row
    elif data.get("name") != e.name:
        report.renamed += 1
    else:
        report.updated += 1


def _region_data(e: _Entry, level: str, parent: str) -> dict:
    return {"name": e.name, "level": level, "code": e.code, "parent_id": parent, "sort_key": e.code,
            "urban_rural": e.urban_rural}


def _stored(data: dict) -> dict:
    """The fields the county writes (the row's bookkeeping is put_county_row's)."""
    return {k: v for k, v in data.items() if k not in ("id", "version", "township_id", "updated_at")}


# ------------------------------------------------------------------------------- one at a time
@dataclass(frozen=True)
class RegionView:
    id: str
    name: str
    code: str | None
    level: str
    retired: bool
    children: tuple[RegionView, ...] = ()


def tree() -> list[RegionView]:
    """Townships (by code), each with its villages (by code, retired ones marked) and their
    groups, for the 行政区划 page."""
    rows = _regions()
    children: dict[str, list[tuple[SyncRow, dict]]] = {}
    for r, d in rows.values():
        children.setdefault(d.get("parent_id") or "", []).append((r, d))

    def view(r: SyncRow, d: dict) -> RegionView:
        kids = sorted(children.get(r.id, []), key=lambda x: (x[1].get("sort_key") or "", x[1].get("name", "")))
        return RegionView(r.id, d.get("name", ""), d.get("code"), d.get("level", ""), bool(r.deleted),
                          tuple(view(*k) for k in kids if k[1].get("level") in ("village", "group")))

    out = []
    for t in Township.select().order_by(Township.code):
        found = rows.get(t.id)
        out.append(view(*found) if found else RegionView(t.id, t.name, t.code, "township", False))
    return out


def _region(region_id: str) -> tuple[SyncRow, dict]:
    row = SyncRow.get_or_none((SyncRow.entity == "region") & (SyncRow.id == region_id))
    if row is None:
        raise DivisionError("找不到这个区划。")
    return row, json.loads(row.data)


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise DivisionError(f"请填写名称（不超过 {MAX_NAME} 个字）。")
    return name


def add_village(township_id: str, name: str, code: str = "") -> str:
    """A village of a township; ``code`` (optional) must be a village code under the township's.
    Returns its id."""
    name, code = _name(name), code.strip()
    with write_transaction():
        township = Township.get_or_none(Township.id == township_id)
        if township is None:
            raise DivisionError("找不到这个乡镇。")
        if code:
            if len(code) != 12 or not code.isdigit() or code.endswith("000"):
                raise DivisionError(f"村级区划代码应为 12 位数字，后 3 位不全为 0（这里是“{code}”）。")
            if code[:9] != township.code[:9]:
                raise DivisionError(f"区划代码 {code} 不在{township.name}（{township.code}）之下。")
            if any(d.get("code") == code for _r, d in _regions().values()):
                raise DivisionError(f"区划代码 {code} 已经登记过。")
        region_id = str(uuid.uuid4())
        svc.put_county_row("region", region_id, {"name": name, "level": "village", "code": code or None,
                                                 "parent_id": township_id, "sort_key": code or name,
                                                 "urban_rural": None})
    return region_id


def add_group(village_id: str, name: str) -> str:
    """A village group (村民小组) of a village; the same name twice under one village is refused."""
    name = _name(name)
    with write_transaction():
        row, data = _region(village_id)
        if data.get("level") != "village" or row.deleted:
            raise DivisionError("只能给未撤销的村添加村民小组。")
        if any(d.get("parent_id") == village_id and d.get("name") == name and not r.deleted
               for r, d in _regions().values()):
            raise DivisionError(f"{data['name']}已有“{name}”。")
        region_id = str(uuid.uuid4())
        svc.put_county_row("region", region_id, {"name": name, "level": "group", "code": None,
                                                 "parent_id": village_id, "sort_key": name})
    return region_id


def _change(region_id: str, what: str, change) -> tuple[str, str]:
    """Apply ``change(data, deleted)`` -> new data to a village or group; returns (old, new) name."""
    with write_transaction():
        row, data = _region(region_id)
        if data.get("level") not in ("village", "group"):
            raise DivisionError(f"只能{what}村和村民小组；乡镇请在“乡镇与注册码”页管理。")
        new = change(dict(data), row.deleted)
        if new is not None:
            svc.put_county_row("region", region_id, _stored(new))
        return data.get("name", ""), (new or data).get("name", "")


def rename(region_id: str, name: str) -> tuple[str, str]:
    name = _name(name)
    return _change(region_id, "改名", lambda d, _deleted: None if d.get("name") == name else {**d, "name": name})


def retire(region_id: str, today: date) -> tuple[str, str]:
    """Retire a village or group (撤销): workstations drop it from their lists, old notices keep
    its name. A village's groups stay as they are, so that restoring it brings it back whole."""
    return _change(region_id, "撤销", lambda d, deleted: None if deleted else
                   {**d, "deleted": True, "retired_on": today.isoformat()})


def restore(region_id: str) -> tuple[str, str]:
    return _change(region_id, "恢复", lambda d, deleted: {**d, "deleted": False, "retired_on": None}
                   if deleted else None)
