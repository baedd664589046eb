"""Workstation settings and county settings, typed.

County settings (public URL for QR codes, ID mask pattern, objection answer days) are owned by
the county and arrive through sync; the demo and the county CLI can set them locally too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.models import CountySetting, LocalSetting

COUNTY_DEFAULTS: dict[str, Any] = {
    "public_url": "",
    "id_mask_pattern": "2+3",
    "show_id_column": False,
    "objection_answer_days": 7,
    "county_name": "",
    "holiday_complete_years": [],
}


def county_setting_id(key: str) -> str:
    """The id of a county setting row: the same on the county server and every workstation."""
    return f"county-setting:{key}"


def get_local(key: str, default: Any = None) -> Any:
    row = LocalSetting.get_or_none(LocalSetting.key == key)
    return default if row is None else row.value


def set_local(key: str, value: Any) -> None:
    LocalSetting.insert(key=key, value=value).on_conflict_replace().execute()


def workstation_id() -> str:
    """This workstation's own id (its audit chain), made on first use."""
    value = get_local("workstation_id")
    if value is None:
        import uuid

        value = uuid.uuid4().hex
        set_local("workstation_id", value)
    return value


def local_township_id() -> str | None:
    return get_local("township_id")


def get_county(key: str) -> Any:
    row = CountySetting.get_or_none((CountySetting.key == key) & (CountySetting.deleted == False))  # noqa: E712
    return COUNTY_DEFAULTS.get(key) if row is None else row.value


@dataclass(frozen=True)
class CountySettings:
    public_url: str
    id_mask_pattern: str
    show_id_column: bool
    objection_answer_days: int
    county_name: str
    holiday_complete_years: list

    @classmethod
    def load(cls) -> CountySettings:
        return cls(**{k: get_county(k) for k in COUNTY_DEFAULTS})
