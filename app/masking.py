"""The county's masking (脱敏) policy for ID and phone numbers on published notices, and the one
function that masks personal numbers in free text (:func:`mask_free_text`).

Guarantees: a policy can never leave fewer than 8 characters of an 18-digit ID, or 4 digits of
an 11-digit mobile number, hidden, whether it comes from a pattern or the constructor; masking
keeps the length of the value so printed columns stay aligned. The default is the 永安 format
(DOMAIN.md §3): ID ``35*************123``, mobile ``138****1234``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from stdnum.cn import ric

from app.i18n import _
from app.validation import normalize_phone

MASK = "*"
ID_LENGTH = 18
MIN_ID_MASKED = 8
MOBILE_LENGTH = 11
MIN_PHONE_MASKED = 4

_SHORT_PATTERN = re.compile(r"(\d{1,2})\+(\d{1,2})")
_FULL_PATTERN = re.compile(r"([0-9X#]*)(\*+)([0-9X#]*)")
_MOBILE = re.compile(r"1\d{10}")
_LANDLINE = re.compile(r"(0\d{2,3}-)(\d{7,8})")


@dataclass(frozen=True)
class MaskPolicy:
    """How many leading and trailing characters stay visible; the rest become '*'."""

    id_keep_head: int = 2
    id_keep_tail: int = 3
    phone_keep_head: int = 3
    phone_keep_tail: int = 4
    show_id_column: bool = False

    def __post_init__(self) -> None:
        kept = (self.id_keep_head, self.id_keep_tail, self.phone_keep_head, self.phone_keep_tail)
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in kept):
            raise ValueError(_("脱敏规则中保留的位数必须是非负整数"))
        if ID_LENGTH - self.id_keep_head - self.id_keep_tail < MIN_ID_MASKED:
            raise ValueError(
                _("脱敏规则显示的身份证号码位数过多：18位中至少要隐去 {count} 位").format(
                    count=MIN_ID_MASKED
                )
            )
        if MOBILE_LENGTH - self.phone_keep_head - self.phone_keep_tail < MIN_PHONE_MASKED:
            raise ValueError(
                _("脱敏规则显示的手机号码位数过多：11位中至少要隐去 {count} 位").format(
                    count=MIN_PHONE_MASKED
                )
            )

    @classmethod
    def from_pattern(
        cls,
        pattern: str,
        *,
        phone_keep_head: int = 3,
        phone_keep_tail: int = 4,
        show_id_column: bool = False,
    ) -> MaskPolicy:
        """Build a policy from a county's ID pattern.

        Accepts the full form ``22*************123`` (18 characters: kept digits, one run of '*',
        kept digits; 'X' or '#' may stand for a kept digit) or the short form ``2+3`` / ``6+4``.
        Phone settings and ``show_id_column`` are passed as keywords. Raises ValueError for a
        malformed pattern or one that hides fewer than 8 of 18 characters.
        """
        text = "".join(unicodedata.normalize("NFKC", pattern).split()).upper()
        short = _SHORT_PATTERN.fullmatch(text)
        full = _FULL_PATTERN.fullmatch(text)
        if short:
            head, tail = int(short.group(1)), int(short.group(2))
        elif full and len(text) == ID_LENGTH:
            head, tail = len(full.group(1)), len(full.group(3))
        else:
            raise ValueError(_("无法识别身份证号码脱敏格式，应写成“22*************123”或“2+3”"))
        return cls(head, tail, phone_keep_head, phone_keep_tail, show_id_column)


def county_policy(id_mask_pattern: str, show_id_column: bool = False) -> MaskPolicy:
    """The policy of a county's settings (its ID pattern, and whether masked IDs are shown)."""
    policy = MaskPolicy.from_pattern(id_mask_pattern)
    return MaskPolicy(**{**policy.__dict__, "show_id_column": True}) if show_id_column else policy


def _mask_middle(text: str, head: int, tail: int, min_masked: int) -> str:
    """Keep ``head`` and ``tail`` characters, hiding at least ``min_masked`` (or all of a short
    value). Too short a value gives up its head first: the tail is what lets a villager find
    their own row."""
    hidden = min(min_masked, len(text))
    head = max(0, min(head, len(text) - tail - hidden))
    tail = max(0, min(tail, len(text) - head - hidden))
    return text[:head] + MASK * (len(text) - head - tail) + text[len(text) - tail :]


DEFAULT_POLICY = MaskPolicy()


def mask_id(id_number: str, policy: MaskPolicy = DEFAULT_POLICY) -> str:
    """'35*************123' under the default policy; same length as the input, '' for ''.

    Pass the normalised number (see ``validation.normalize_id_number``): characters are
    masked by position. A 15-digit or malformed value still has at least 8 characters hidden.
    """
    return _mask_middle(id_number, policy.id_keep_head, policy.id_keep_tail, MIN_ID_MASKED)


def mask_phone(phone: str, policy: MaskPolicy = DEFAULT_POLICY) -> str:
    """'138****1234' for a mobile; a landline keeps its area code and up to the policy's tail
    (3 of 7, 4 of 8 digits by default), always hiding at least 4 digits.

    Anything unrecognised has every digit hidden rather than guessed at.
    """
    number = normalize_phone(phone)
    if _MOBILE.fullmatch(number):
        return _mask_middle(
            number, policy.phone_keep_head, policy.phone_keep_tail, MIN_PHONE_MASKED
        )
    landline = _LANDLINE.fullmatch(number)
    if landline:
        area, local = landline.groups()
        keep = max(0, min(policy.phone_keep_tail, len(local) - MIN_PHONE_MASKED))
        return area + _mask_middle(local, 0, keep, MIN_PHONE_MASKED)
    return re.sub(r"\d", MASK, number)


# Fields never published in full (DOMAIN.md §3), key → label; a notice prints the labels of
# those it withheld. 'id_number' may appear only masked. Labels are source text for ``_``.
PERSONAL_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "id_number": "身份证号码",
        "bank_account": "银行/一卡通账号",
        "phone": "联系电话",
        "address": "详细住址",
    }
)


# ------------------------------------------------------------------------------ free text
#: characters a clerk's keyboard gives for a dash, a space or a plus between digits
_DASHES = frozenset("-‐‑‒–—―－﹣−")


def _fold(text: str) -> str:
    """``text`` with every decimal digit as an ASCII digit (full-width ``５`` and the like), every
    dash, space and plus as ``-``, `` `` and ``+``, and a full-width X as ``X``: one character for
    one, so a match in the folded text is a span of the original."""
    if text.isascii():
        return text
    out = []
    for c in text:
        if c.isascii():
            out.append(c)
        elif c.isdecimal():
            out.append(str(unicodedata.decimal(c)))
        elif c in _DASHES:
            out.append("-")
        elif c.isspace():
            out.append(" ")
        else:
            out.append({"＋": "+", "Ｘ": "X", "ｘ": "x"}.get(c, c))
    return "".join(out)


_S = "[ -]?"  # one optional separator between groups of digits, as people write numbers
#: a date, as in a period written 2026-11-25—2026-12-01 or 20261125-20261201 (not a card number)
_DATE = rf"(?:19|20)[0-9]{{2}}{_S}(?:0[1-9]|1[0-2]){_S}(?:0[1-9]|[12][0-9]|3[01])"
_PERSONAL_NUMBER = re.compile(
    "(?<![0-9])(?:"
    # ID numbers, 18 (or 17 and X) and 15 digits, whole or grouped 6-8-4 / 6-6-3
    rf"(?P<id>[0-9]{{17}}[0-9Xx]|[0-9]{{6}}{_S}[0-9]{{8}}{_S}[0-9]{{3}}[0-9Xx]|[0-9]{{15}}"
    rf"|[0-9]{{6}}{_S}[0-9]{{6}}{_S}[0-9]{{3}})(?![0-9Xx])"
    # bank and 一卡通 card numbers, 16 to 19 digits split any way: from where a run of digits
    # starts, 16 to 19 of them with at most one space or dash between any two (an 18th that is X:
    # an ID number); inside a run, whole or in groups of four (or 6 + the rest). Not a period
    # of two dates.
    rf"|(?!{_DATE}{_S}{_DATE}(?![0-9]))"
    rf"(?P<card>(?<![0-9][ -])[0-9](?:{_S}[0-9]){{14,17}}{_S}[0-9Xx]|[0-9]{{16,19}}"
    rf"|[0-9]{{4}}(?:{_S}[0-9]{{4}}){{3}}(?:{_S}[0-9]{{1,3}})?|[0-9]{{6}}{_S}[0-9]{{10,13}})(?![0-9])"
    # mobiles, with or without +86 / 86 / 0086, whole or grouped 3-4-4
    rf"|(?P<mobile>(?:(?:\+|00)?86{_S})?1[3-9][0-9]{_S}[0-9]{{4}}{_S}[0-9]{{4}})(?![0-9])"
    ")"
)
ACCOUNT_WITHHELD = "（账号已隐去）"


def mask_free_text(text: str, policy: MaskPolicy = DEFAULT_POLICY) -> str:
    """Free text (a remark, a 代领人 column, a title, an objection's contact) with every personal
    number in it masked: ID numbers as :func:`mask_id`, mobiles as :func:`mask_phone`, bank card
    numbers withheld whole — however they were typed (full-width digits, spaces or dashes between
    groups, +86). Landline numbers, amounts and dates stay as they are."""
    if not text:
        return text
    folded = _fold(text)
    out, last = [], 0
    for m in _PERSONAL_NUMBER.finditer(folded):
        digits = re.sub(r"[^0-9Xx]", "", m.group(0))
        if m.group("id") or _is_id_number(digits):  # an ID number split oddly reads as a card
            masked = mask_id(digits.upper(), policy)
        elif m.group("card"):
            masked = ACCOUNT_WITHHELD
        else:
            masked = mask_phone(digits[-MOBILE_LENGTH:], policy)
        out += [text[last:m.start()], masked]
        last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _is_id_number(digits: str) -> bool:
    """Whether ``digits`` (no separators) are an 18-character ID number with a valid check digit."""
    return (len(digits) == ID_LENGTH and digits[:-1].isdigit()
            and ric.calc_check_digit(digits) == digits[-1].upper())


def has_personal_number(text: str) -> bool:
    """Whether :func:`mask_free_text` would change ``text``."""
    return bool(text) and _PERSONAL_NUMBER.search(_fold(text)) is not None
