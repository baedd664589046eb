"""What the settings dialog shows and stores: the workstation's own choices (language, print font)
and read-only views of what the county decides (masking pattern, posting periods).

Workstation choices are LocalSettings; county settings arrive through sync and are never edited
here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.context import Context
from app.errors import ValidationError
from app.i18n import LANGUAGES, _
from app.settings import CountySettings, get_local, set_local

LANGUAGE_KEY = "language"
#: the same key printing reads (printing.service.FONT_SETTING)
PRINT_FONT_KEY = "print_font_path"
#: a synthetic ID number (valid check digit) used only to show what the mask pattern does
SAMPLE_ID = "530102199001011231"


def ui_language() -> str:
    """The language chosen for the desktop app (``zh_CN`` unless the clerk chose English)."""
    value = get_local(LANGUAGE_KEY)
    return value if value in LANGUAGES else "zh_CN"


def set_ui_language(ctx: Context, code: str) -> None:
    """Store the UI language; it takes effect when the app is next started."""
    if code not in LANGUAGES:
        raise ValidationError(_("不支持的界面语言。"), details=code)
    with ctx.write():
        set_local(LANGUAGE_KEY, code)


def print_font() -> str | None:
    """The font file the clerk chose for printing, or None for automatic discovery."""
    return get_local(PRINT_FONT_KEY) or None


def set_print_font(ctx: Context, path: str | Path | None) -> None:
    """Store the print font file (already checked by printing.fonts.check_font_file), or None
    to go back to automatic discovery."""
    with ctx.write():
        set_local(PRINT_FONT_KEY, str(path) if path else None)


@dataclass(frozen=True)
class MaskingInfo:
    pattern: str
    example: str  # the sample ID as it would be printed
    show_id_column: bool


def masking_info(settings: CountySettings | None = None) -> MaskingInfo:
    """The county's ID masking pattern with an example of its effect."""
    from app.masking import MaskPolicy, mask_id

    s = settings or CountySettings.load()
    try:
        example = mask_id(SAMPLE_ID, MaskPolicy.from_pattern(str(s.id_mask_pattern)))
    except ValueError:
        example = mask_id(SAMPLE_ID)
    return MaskingInfo(str(s.id_mask_pattern), example, bool(s.show_id_column))


@dataclass(frozen=True)
class PostingDefault:
    """The minimum posting period of one notice type of the catalogue (公开事项目录)."""

    code: str
    name: str
    level: str
    min_days: int
    day_unit: str  # natural | working
    cadence: str


def posting_defaults() -> list[PostingDefault]:
    from db.models import NoticeType

    q = NoticeType.select().where(~NoticeType.deleted).order_by(NoticeType.category, NoticeType.code)
    return [PostingDefault(t.code, t.name, t.level, t.min_days, t.day_unit, t.cadence or "") for t in q]


LAST_USERNAME_KEY = "last_username"


def last_username() -> str:
    """Who signed in last on this workstation (pre-filled in the login dialog)."""
    return get_local(LAST_USERNAME_KEY) or ""


def remember_username(ctx: Context, username: str) -> None:
    with ctx.write():
        set_local(LAST_USERNAME_KEY, username)
