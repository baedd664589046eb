"""Row-level checks for roster (清册) cells: ID number, name, phone and amount.

Guarantees: every check returns :class:`Issue` values instead of raising; no ``Issue.message``
contains an ID or phone number or any part of one (messages are fixed text), so issues can be
logged, shown and exported freely. Only the amount message carries digits: the expected amount,
which is published anyway.

Issues are stored with their rows and travel to other workstations, so their messages are kept
in the source language (Chinese), whatever language the clerk works in; :func:`issue_text`
shows one in the current language.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from stdnum import numdb
from stdnum.cn import ric

from app.i18n import N_, _
from app.money import compute_amount_fen, format_yuan

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem in one cell. ``column`` is a logical key ('id_number', 'name', 'amount' …)."""

    column: str
    code: str
    message: str  # in the source language, with the values filled in
    severity: Severity = "error"
    template: str = ""  # for a message with values: the text before they were filled in …
    params: tuple[tuple[str, str], ...] = ()  # … and the values, so it can be shown translated

    @classmethod
    def filled(cls, column: str, code: str, template: str, severity: Severity = "error", **params: object) -> Issue:
        """An issue whose message has values: ``template`` (marked with ``N_``) and ``params``."""
        values = {k: str(v) for k, v in params.items()}
        return cls(column, code, template.format(**values), severity, template, tuple(sorted(values.items())))


def issue_text(issue: Issue | dict) -> str:
    """The message of an issue (or of a stored issue dict) in the current language."""
    if isinstance(issue, Issue):
        template, params, message = issue.template, dict(issue.params), issue.message
    else:
        template, params, message = issue.get("template", ""), issue.get("params") or {}, issue["message"]
    return _(template).format(**params) if template else _(message)


@dataclass(frozen=True)
class IdCheck:
    """Result of :func:`check_id_number`; ``birth_date`` is None when it cannot be read."""

    normalized: str
    issues: tuple[Issue, ...]
    birth_date: date | None
    legacy15: bool

    @property
    def has_errors(self) -> bool:
        return any(issue.severity == "error" for issue in self.issues)


def _issue(column: str, code: str, message: str, severity: Severity = "error") -> Issue:
    return Issue(column=column, code=code, message=message, severity=severity)


# ---------------------------------------------------------------- ID numbers (GB 11643)

_ID_SHAPE = re.compile(r"\d{17}[\dX]|\d{15}")
# Nobody born before this is on a current payment list; earlier "dates" are typing errors.
_EARLIEST_BIRTH_YEAR = 1900


def normalize_id_number(text: str) -> str:
    """Full-width digits and 'Ｘ' to ASCII, all whitespace removed, a trailing x upper-cased."""
    compact = "".join(unicodedata.normalize("NFKC", text).split())
    return compact[:-1] + "X" if compact.endswith("x") else compact


@functools.lru_cache(maxsize=65536)
def _birth_date(yyyymmdd: str) -> date | None:
    """The birth date digits as a date (cached: a roster repeats birth dates many times)."""
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None


@functools.lru_cache(maxsize=8192)
def _region_known(prefix: str, birth_year: int) -> bool:
    """Whether stdnum's code table knows the region prefix for someone born in ``birth_year``.

    Not ``ric.get_birth_place``: it rejects codes created after the birth year, yet cards take
    the code current when issued (everyone from 永安 born before 1989 carries the 1989 code
    350481). Only a code abolished before the holder was born is impossible. It also raises
    KeyError, not InvalidComponent, for an unknown county in a known province.
    """
    info = {k: v for _part, props in numdb.get("cn/loc").info(prefix) for k, v in props.items()}
    for county in info.get("county", "").split(","):
        if not county:
            continue
        if not county.startswith("["):
            return True
        end = county[1:].split("]", 1)[0].partition("-")[2]
        if not end or birth_year <= int(end):
            return True
    return False


def check_id_number(text: str, *, today: date, normalized: bool = False) -> IdCheck:
    """Check a 身份证号码: shape, check digit (18 digits), birth date and region code.

    A 15-digit legacy number is accepted with a warning. ``today`` (the caller's clock, never the
    wall clock) bounds the birth date.
    """
    number = text if normalized else normalize_id_number(text)
    issues, birth, shaped = _id_check(number, today)
    return IdCheck(number, issues, birth, shaped and len(number) == 15)


def id_number_issues(number: str, today: date) -> tuple[Issue, ...]:
    """The issues of :func:`check_id_number` for a normalised number; for checking many rows."""
    return _id_check(number, today)[0]


def _id_check(number: str, today: date) -> tuple[tuple[Issue, ...], date | None, bool]:
    """(issues, birth date, whether the number has the shape of an ID number)."""
    col = "id_number"
    if not number:
        return (_issue(col, "missing_value", N_("身份证号码未填写")),), None, False
    if not _ID_SHAPE.fullmatch(number):
        message = N_("身份证号码应为18位（最后一位可为X），或旧式15位数字，请核对位数和字符")
        return (_issue(col, "id_format", message),), None, False

    issues: list[Issue] = []
    if len(number) == 15:
        message = N_("这是旧式15位身份证号码，请向本人核实并改填18位号码")
        issues.append(_issue(col, "id_legacy15", message, "warning"))
        # GB 11643 upgrade: century 19 inserted after the region code; the check digit is a
        # placeholder because only the region and date are read from the result.
        id18 = number[:6] + "19" + number[6:] + "0"
    else:
        id18 = number
        if ric.calc_check_digit(number) != number[-1]:
            message = N_("身份证号码校验位不正确，请核对最后一位及其他各位数字")
            issues.append(_issue(col, "id_checksum", message))

    birth = _birth_date(id18[6:14])
    if birth is None:
        issues.append(_issue(col, "id_birth_date", N_("身份证号码中的出生日期不存在，请核对")))
    if birth is not None and (birth.year < _EARLIEST_BIRTH_YEAR or birth > today):
        birth = None
        issues.append(_issue(col, "id_birth_date", N_("身份证号码中的出生日期不可能，请核对")))

    if birth is not None and not _region_known(id18[:6], birth.year):
        message = N_("身份证号码前6位不是已知的行政区划代码，请核对（新设区划可能尚未收录）")
        issues.append(_issue(col, "id_region", message, "warning"))
    return tuple(issues), birth, True


# ---------------------------------------------------------------- names

_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# After NFKC, U+FF65 has become U+30FB and U+FF0E has become '.', so these cover every variant.
_DOTS = re.compile("[.\u2022\u2027\u30fb\u2219\u22c5]")
_SPACE_IN_CJK = re.compile(rf"(?<=[{_CJK}·])\s+(?=[{_CJK}·])")
_DOT_OR_SPACE = re.compile(r"[.\u2022\u2027\u30fb\u2219\u22c5\s]")
_NAME_CHARS = re.compile(rf"[{_CJK}·A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f ]+")


def normalize_name(text: str) -> str:
    """NFKC, one middle dot '·' (U+00B7) for every dot variant, no spaces next to Chinese text.

    Latin names keep single spaces between words ('Anna Maria').
    """
    if not _DOT_OR_SPACE.search(text) and unicodedata.is_normalized("NFKC", text):
        return text  # most names: nothing to change (checked in C, three times faster)
    name = _DOTS.sub("·", unicodedata.normalize("NFKC", text).strip())
    return " ".join(_SPACE_IN_CJK.sub("", name).split())


def check_name(text: str, *, normalized: bool = False) -> tuple[Issue, ...]:
    """missing_value when empty; bad_name for digits, stray symbols or a misplaced '·'."""
    name = text if normalized else normalize_name(text)
    if not name:
        return (_issue("name", "missing_value", N_("姓名未填写")),)
    if not _NAME_CHARS.fullmatch(name):  # (no character it allows is a digit)
        if any(c.isdigit() for c in name):
            return (_issue("name", "bad_name", N_("姓名中不能含有数字")),)
        return (_issue("name", "bad_name", N_("姓名中含有汉字、字母和间隔号“·”以外的字符")),)
    if name.startswith("·") or name.endswith("·") or "··" in name:
        return (_issue("name", "bad_name", N_("姓名中的间隔号“·”位置不正确")),)
    return ()


# ---------------------------------------------------------------- phone numbers

_MOBILE = re.compile(r"1[3-9]\d{9}")
# 010 and 02x are 3-digit area codes, all others 4 digits; local numbers have 7 or 8 digits.
_LANDLINE = re.compile(r"(0[12]\d|0[3-9]\d{2})-?([2-9]\d{6,7})")
_PHONE_DASHES = re.compile("[\u2010-\u2015\u2212]")


def normalize_phone(text: str) -> str:
    """'13812341234' for a mobile, '0915-5212830' for a landline; otherwise the compacted text."""
    compact = _PHONE_DASHES.sub("-", "".join(unicodedata.normalize("NFKC", text).split()))
    # '(0915)5212830' is the same number as '0915-5212830'.
    if compact.startswith("(") and ")" in compact:
        compact = compact[1:].replace(")", "", 1)
    digits = compact.replace("-", "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix) and _MOBILE.fullmatch(digits[len(prefix) :]):
            return digits[len(prefix) :]
    if _MOBILE.fullmatch(digits):
        return digits
    landline = _LANDLINE.fullmatch(compact)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    return compact


def check_phone(text: str) -> tuple[Issue, ...]:
    """Empty is fine (phone is optional); otherwise a mobile or a landline with area code."""
    phone = normalize_phone(text)
    if not phone or _MOBILE.fullmatch(phone) or _LANDLINE.fullmatch(phone):
        return ()
    message = N_("联系电话格式不正确：手机号码应为11位，固定电话须带区号")
    return (_issue("phone", "bad_phone", message),)


# ---------------------------------------------------------------- amounts


def check_amount(
    quantity: Decimal | None, rate_yuan: Decimal | None, amount_fen: int | None
) -> tuple[Issue, ...]:
    """bad_number for negative values; amount_mismatch when amount ≠ quantity × rate (half-up)."""
    issues: list[Issue] = []
    if quantity is not None and quantity < 0:
        issues.append(_issue("quantity", "bad_number", N_("数量不能为负数")))
    if rate_yuan is not None and rate_yuan < 0:
        issues.append(_issue("rate", "bad_number", N_("补助标准不能为负数")))
    if amount_fen is not None and amount_fen < 0:
        issues.append(_issue("amount", "bad_number", N_("金额不能为负数")))
    if issues or quantity is None or rate_yuan is None or amount_fen is None:
        return tuple(issues)
    expected = compute_amount_fen(quantity, rate_yuan)
    if amount_fen != expected:
        return (Issue.filled("amount", "amount_mismatch", N_('金额与"数量×标准"不符：应为 {expected} 元'),
                             expected=format_yuan(expected)),)
    return ()


def parts_issue(names: list[str], parts_fen: int, total_fen: int) -> Issue | None:
    """parts_mismatch when the parts of an amount (土地补偿费 + 安置补助费 + … of a 合计) do not
    add up to it; the message names both sums, which are published anyway."""
    if parts_fen == total_fen:
        return None
    return Issue.filled("amount", "parts_mismatch", N_("{parts} = {sum} 元，与合计 {total} 元不符"),
                        parts="+".join(names), sum=format_yuan(parts_fen), total=format_yuan(total_fen))
