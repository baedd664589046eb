"""Finding the header of a roster table and mapping its columns to schema keys.

Clerks' files put a title and a date above the table, split the header over two rows with
merged cells, use traditional characters and name one column a dozen ways. The first
:data:`SCAN_ROWS` rows are scored, alone and as pairs of adjacent rows, by how many schema
columns their cells name; the best row (or pair) wins. A pair whose upper row has a parent cell
over several named cells below it (merged, or followed by blanks where the format keeps no
merges) is a two-row header even when the lower row adds no unit. Header text is matched after
NFKC, traditional→simplified and removal of whitespace and of bracketed parts; units are read
from anywhere in the text. Which of several money or area columns a row's amount and area are
is then decided by app.importing.choices.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from app.importing.model import ReportIssue

if TYPE_CHECKING:
    from app.importing.choices import PartsGroup

SCAN_ROWS = 30

# Traditional (and one Japanese) form → simplified, for the characters that occur in headers.
_TRAD = (
    "戶戸證碼補貼積標準額備註組別號種發電話賬銀聯係繫計稅農務項實際單價費償徵資規內說總頃畝萬"
    "應兌確權對領類數稱張機複縣鄉鎮區簽籤認屬擬審報製經辦負責無時間歲狀況幣據錢劃場產糧頭現給"
    "獎勵貧員們醫療險養殘細彙匯於為與請營業點歸預損災續繳納勞動齡長選舉監處條學歷職專門錄記憑"
)
_SIMP = (
    "户户证码补贴积标准额备注组别号种发电话账银联系系计税农务项实际单价费偿征资规内说总顷亩万"
    "应兑确权对领类数称张机复县乡镇区签签认属拟审报制经办负责无时间岁状况币据钱划场产粮头现给"
    "奖励贫员们医疗险养残细汇汇于为与请营业点归预损灾续缴纳劳动龄长选举监处条学历职专门录记凭"
)
T2S = str.maketrans(_TRAD, _SIMP)

# Other names of the core columns, as found on real rosters. Schema labels are added per schema.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "group": ("组", "组别", "组名", "村民小组", "小组", "村组", "村民组", "所在组", "社", "自然村",
              "被征地村民小组", "被征地村单位", "被征地单位"),
    "name": ("姓名", "户主姓名", "农户姓名", "户主", "户名", "户主名", "补贴对象", "补贴对象姓名",
             "农户", "承包户", "承包户姓名", "承包方", "承包方代表", "领款人", "领款人姓名", "收款人",
             "收款人姓名", "被补偿人", "补偿对象", "扶持对象", "权利人"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "公民身份证号码", "居民身份证号码",
                  "身份证", "身份证件号码", "证件号码", "证件号"),
    "quantity": ("面积", "补贴面积", "种植面积", "计税面积", "实际种植面积", "承包面积", "确权面积",
                 "核定面积", "合同面积", "征收面积", "拟征收面积", "被征收面积", "亩数", "补贴亩数",
                 "数量", "人数"),
    "rate": ("标准", "补贴标准", "补偿标准", "补助标准", "单价", "补贴单价", "每亩补贴", "亩均补贴",
             "每亩补贴标准"),
    "amount": ("金额", "补贴金额", "发放金额", "补偿金额", "补偿费用", "补偿费", "补助金额",
               "补贴资金", "应发金额", "实发金额", "兑付金额", "发放资金", "资金规模", "合计金额"),
    "bank_account": ("一卡通账号", "一卡通卡号", "一卡通帐号", "账号", "帐号", "银行账号",
                     "银行帐号", "银行卡号", "卡号", "社保卡号", "存折账号", "存折帐号", "账户",
                     "帐户", "收款账号"),
    "phone": ("电话", "联系电话", "电话号码", "手机", "手机号", "手机号码", "联系方式"),
    "remark": ("备注", "说明", "备考"),
    # the parts of a compensation (app.catalogue.COMPENSATION_PARTS)
    "x_land_fee": ("土地补偿费", "土地补偿款", "土地补偿金"),
    "x_resettlement_fee": ("安置补助费", "人员安置补助费", "安置补偿费", "安置费"),
    "x_crop_fee": ("青苗补偿费", "青苗费", "青苗及地上附着物补偿费", "青苗和地上附着物补偿费",
                   "地上附着物和青苗补偿费", "地上附着物及青苗补偿费", "青苗及附着物补偿费",
                   "地上附着物补偿费", "附着物补偿费"),
}
# Too general to match inside a longer header ('户主身份证号码' is an ID column).
_EXACT_ONLY = frozenset({"户主", "人数", "数量", "社"})

_BRACKETED = re.compile(r"[(\[【〔〈《<][^)\]】〕〉》>]*[)\]】〕〉》>]")
_EDGE = " */:、.-_#※·"
_UNIT_WORDS = ("万元", "元", "公顷", "亩")
_FIXED_RATE = re.compile(
    r"每(亩|公顷|人|户)(\d+(?:\.\d+)?)(万?元)|(\d+(?:\.\d+)?)(万?元)/(亩|公顷|人|户)"
)
_RATE_UNIT = re.compile(r"(万?元)(?:/|每)(亩|公顷|人|户)")
_NUMBERISH = re.compile(r"[\d.,+\-]+|.*\d{4,}.*")


def normalize_header(text: str) -> str:
    """NFKC, simplified characters, no whitespace: the text that units and rates are read from."""
    return "".join(unicodedata.normalize("NFKC", text).translate(T2S).split())


def header_core(norm: str) -> str:
    """The words of a normalised header that name the column: '补贴面积(亩)' → '补贴面积'."""
    core = _BRACKETED.sub("", norm).strip(_EDGE)
    for unit in _UNIT_WORDS:
        if core.endswith(unit) and len(core) > len(unit):
            core = core[: -len(unit)].removesuffix("单位").strip(_EDGE)
            break
    return core


def display_text(value: object) -> str:
    """A header cell as the clerk sees it, on one line."""
    if not isinstance(value, str):
        return ""
    return value.replace("\r", "").replace("\n", "").strip()


@dataclass(frozen=True, slots=True)
class Hit:
    """A header cell recognised as schema column ``key``; higher ``strength`` wins."""

    key: str
    strength: int  # 4 mapping override, 3 whole header, 2 header ends with it, 1 contains it
    length: int
    fixed_rate: tuple[Decimal, str] | None = None  # ('150', '元/亩') from '补贴金额每亩150元'


@dataclass(frozen=True, slots=True)
class HeaderCell:
    index: int
    text: str
    norm: str
    hit: Hit | None
    #: in a two-row header, the upper cell over this one (a merged parent) and the lower cell's
    #: own text; '' for a one-row header or a cell merged down over both rows
    parent: str = ""
    child: str = ""

    @property
    def name(self) -> str:
        """The cell's own name: the lower cell under a parent, else the whole header text."""
        return self.child or self.text


@dataclass(frozen=True)
class HeaderMatch:
    """The header found on one sheet. Row numbers are 0-based indexes into the sheet's rows."""

    first_row: int
    last_row: int
    columns: dict[str, int]
    texts: dict[str, str]
    units: dict[str, str]
    fixed_rate: tuple[Decimal, str] | None
    cells: tuple[HeaderCell, ...]
    score: tuple[int, int, int]
    #: the columns whose sum the amount column is (土地补偿费 … of a 合计), and whether they are
    #: kept as the schema's part columns (then app.rows checks the sum) or only read to check it
    parts: tuple[HeaderCell, ...] = ()
    parts_kept: bool = True
    #: how the columns were chosen where the header alone could not say (for the clerk)
    notes: tuple[str, ...] = ()
    #: choices the clerk should check: columns not kept, an area column that had to be guessed
    warnings: tuple[ReportIssue, ...] = ()


class HeaderMatcher:
    """Recognises the header cells of one schema, with the clerk's mapping overrides."""

    def __init__(self, schema: list[dict], override: dict[str, str] | None = None,
                 rate: Decimal | None = None) -> None:
        self.labels = {c["key"]: c["label"] for c in schema}
        #: the schema's columns that are parts of the amount (土地补偿费 …)
        self.part_keys = frozenset(c["key"] for c in schema if c.get("part_of") == "amount")
        #: the program's rate (元 per the quantity column's unit), to tell area columns apart
        self.rate = rate
        self.quantity_unit = next((c.get("unit") or "亩" for c in schema if c["key"] == "quantity"), "亩")
        self._exact: dict[str, str] = {}
        partial: list[tuple[str, str]] = []
        words = [(k, label) for k, label in self.labels.items()]
        words += [(k, syn) for k in self.labels for syn in SYNONYMS.get(k, ())]
        for key, word in words:
            core = header_core(normalize_header(word))
            if not core:
                continue
            self._exact.setdefault(core, key)
            if len(core) >= 2 and core not in _EXACT_ONLY:
                partial.append((core, key))
        self._partial = sorted(set(partial), key=lambda p: -len(p[0]))
        override = override or {}
        self.unmapped = frozenset(k for k, text in override.items() if not text)
        self._override = {
            normalize_header(text): key
            for key, text in override.items() if text and key in self.labels
        }
        self._has_rate = "rate" in self.labels
        self._cache: dict[str, Hit | None] = {}

    def classify(self, norm: str) -> Hit | None:
        """The schema column a normalised header names, or None."""
        if norm not in self._cache:
            hit = self._classify(norm)
            self._cache[norm] = hit if hit is None or hit.key not in self.unmapped else None
        return self._cache[norm]

    def overridden(self, norm: str) -> Hit | None:
        """A hit when the clerk mapped this exact header text to a column."""
        key = self._override.get(norm)
        return Hit(key, 4, len(norm)) if key is not None else None

    def _classify(self, norm: str) -> Hit | None:
        if not norm:
            return None
        if norm in self._override:
            return self.overridden(norm)
        if self._has_rate and (m := _FIXED_RATE.search(norm)):
            if m.group(1):
                money, per, number = m.group(3), m.group(1), m.group(2)
            else:
                money, per, number = m.group(5), m.group(6), m.group(4)
            return Hit("rate", 3, len(norm), (Decimal(number), f"{money}/{per}"))
        core = header_core(norm)
        if not core:
            return None
        if core in self._exact:
            return Hit(self._exact[core], 3, len(core))
        best: Hit | None = None
        for word, key in self._partial:
            if word in core:
                hit = Hit(key, 2 if core.endswith(word) else 1, len(word))
                if best is None or (hit.strength, hit.length) > (best.strength, best.length):
                    best = hit
        return best

    def assign(self, cells: list[HeaderCell]) -> dict[str, HeaderCell]:
        """Each schema key to its best cell; ties go to the leftmost column."""
        ranked = sorted(
            (c for c in cells if c.hit is not None),
            key=lambda c: (-c.hit.strength, -c.hit.length, c.index),  # type: ignore[union-attr]
        )
        taken: dict[str, HeaderCell] = {}
        for cell in ranked:
            taken.setdefault(cell.hit.key, cell)  # type: ignore[union-attr]
        return taken

    def minimum(self) -> int:
        """How many columns a header must name to count as one."""
        return min(2, len(self.labels))


def _named(matcher: HeaderMatcher,
           cells: list[HeaderCell]) -> tuple[list[HeaderCell], PartsGroup | None, dict[str, HeaderCell]]:
    """The cells with a total's parts regrouped (app.importing.choices), the group, and the cell
    each schema column is taken from."""
    from app.importing.choices import regroup

    cells, group = regroup(cells, matcher.part_keys)
    return cells, group, matcher.assign(cells)


def _score(taken: dict[str, HeaderCell]) -> tuple[int, int, int]:
    """Columns named, how surely, and how many units the header states."""
    return (len(taken), sum(c.hit.strength for c in taken.values()),  # type: ignore[union-attr]
            sum(1 for k, c in taken.items() if column_unit(k, c.norm)))


def _single(matcher: HeaderMatcher, texts: list[str]) -> list[HeaderCell]:
    cells = []
    for i, text in enumerate(texts):
        norm = normalize_header(text) if text else ""
        cells.append(HeaderCell(i, text, norm, matcher.classify(norm)))
    return cells


def _join(top: str, bottom: str) -> str:
    if not bottom:
        return top
    if not top or top == bottom:
        return bottom
    if bottom[0] in "(（":
        return top + bottom
    if normalize_header(bottom).strip("()") in _UNIT_WORDS:
        return f"{top}（{bottom}）"
    return f"{top}/{bottom}"


def _is_subheader(raw: list) -> bool:
    """Whether a row could be the second row of a header: text only, no figures."""
    for value in raw:
        if value == "" or value is None:
            continue
        if not isinstance(value, str) or _NUMBERISH.fullmatch(value.strip()):
            return False
    return True


def _pair(matcher: HeaderMatcher, top: list[str], bottom: list[str], row: int,
          merged: list | None) -> list[HeaderCell]:
    top = list(top)
    width = max(len(top), len(bottom))
    top += [""] * (width - len(top))
    bottom = list(bottom) + [""] * (width - len(bottom))
    if merged is not None:
        spans = [(c0, c1) for (r0, c0), (_r1, c1) in merged if r0 == row and c1 > c0]
        for c0, c1 in spans:
            for c in range(c0 + 1, min(c1, width - 1) + 1):
                top[c] = top[c] or top[c0]
    else:  # a merged top cell over sub-cells: calamine gives its text only to the first one
        for c in range(1, width):
            if not top[c] and bottom[c] and top[c - 1] and bottom[c - 1]:
                top[c] = top[c - 1]
    cells = []
    for i in range(width):
        text = _join(top[i], bottom[i])
        norm = normalize_header(top[i] + bottom[i])
        # the mapping override names the joined text; otherwise the lower cell is the more
        # specific one ('补贴情况' over '面积'), and the upper one names the column when the
        # lower one is only a unit ('补贴面积' over '（亩）')
        hit = matcher.overridden(normalize_header(text))
        if hit is None and bottom[i]:
            hit = matcher.classify(normalize_header(bottom[i]))
        if hit is None and top[i]:
            hit = matcher.classify(normalize_header(top[i]))
        named = bool(top[i] and bottom[i]) and text == f"{top[i]}/{bottom[i]}"  # not a unit below
        cells.append(HeaderCell(i, text, norm, hit, top[i] if named else "", bottom[i] if named else ""))
    return cells


def _has_parent(top: list[str], bottom: list[str], row: int, merged: list | None) -> bool:
    """Whether the upper row holds a parent cell over two or more named cells of the lower row —
    a range merged across one row, or (where the format keeps no merges, as in CSV and .ods) a
    cell followed by blanks that have names under them — while the lower row has nothing but
    units under the other headers (they are merged down). Such a pair is a two-row header
    whatever units it names; a data row has values under every header."""
    width = min(len(top), len(bottom))

    def named(c: int) -> bool:
        return bool(bottom[c]) and not _only_unit(bottom[c])

    spans = [(c0, min(c1, width - 1)) for (r0, c0), (r1, c1) in merged or () if r0 == r1 == row and c1 > c0]
    c = 0
    while c < width:
        end = c
        while top[c] and end + 1 < width and not top[end + 1] and named(end + 1):
            end += 1
        if end > c:
            spans.append((c, end))
        c = end + 1
    parents = [(c0, c1) for c0, c1 in spans if sum(named(c) for c in range(c0, c1 + 1)) >= 2]
    inside = {c for c0, c1 in parents for c in range(c0, c1 + 1)}
    return bool(parents) and all(not named(c) for c in range(width) if top[c] and c not in inside)


def _only_unit(text: str) -> bool:
    """'亩', '（元/亩）', '(万元)': a cell that only states the unit of the header above it."""
    core = header_core(normalize_header(text))
    return not core or core in _UNIT_WORDS


def find_header(rows: list[list], matcher: HeaderMatcher,
                merged: list | None = None) -> HeaderMatch | None:
    """The best header among the first rows of one sheet, or None when no row names enough
    schema columns. ``merged`` are the sheet's merged ranges when the format records them."""
    n = min(len(rows), SCAN_ROWS)
    texts = [[display_text(v) for v in rows[r]] for r in range(min(len(rows), n + 1))]
    singles = [_named(matcher, _single(matcher, texts[r])) for r in range(len(texts))]
    scores = [_score(taken) for _cells, _group, taken in singles]
    best: tuple[tuple[int, int, int], int, int, tuple] | None = None
    for r in range(n):
        options = [(scores[r], r, r, singles[r])]
        distinct_top = {t for t in texts[r] if t}
        if r + 1 < len(texts) and len(distinct_top) >= 2 and _is_subheader(rows[r + 1]):
            named = _named(matcher, _pair(matcher, texts[r], texts[r + 1], r, merged))
            score = _score(named[2])
            if score[0] >= scores[r][0] and score > scores[r + 1] and _has_parent(
                    texts[r], texts[r + 1], r, merged):
                # the lower row names the columns of a parent above them: it is no data row,
                # even where it names no more schema columns than the upper row alone
                options = [(score, r, r + 1, named)]
            elif score > max(scores[r], scores[r + 1]):
                options.append((score, r, r + 1, named))
        for option in options:
            if option[0][0] >= matcher.minimum() and (best is None or option[0] > best[0]):
                best = option
    if best is None:
        return None
    score, first, last, (cells, group, taken) = best
    return _match(matcher, rows, first, last, cells, group, taken, score)


def _title_units(rows: list[list], first: int) -> dict[str, str]:
    """'单位：万元、公顷' written above the table applies to columns whose header names no unit."""
    units: dict[str, str] = {}
    for r in range(first):
        for value in rows[r]:
            if isinstance(value, str) and "单位" in (text := normalize_header(value)):
                tail = text.split("单位", 1)[1]
                if "万元" in tail:
                    units["amount"] = "万元"
                if "公顷" in tail:
                    units["quantity"] = "公顷"
    return units


def column_unit(key: str, norm: str) -> str | None:
    """The unit a header names for column ``key``, or None."""
    if key == "quantity":
        return "公顷" if "公顷" in norm else "亩" if "亩" in norm else None
    if key == "amount":
        return "万元" if "万元" in norm else "元" if "元" in norm else None
    if key == "rate":
        if m := _RATE_UNIT.search(norm):
            return f"{m.group(1)}/{m.group(2)}"
        return "万元" if "万元" in norm else "元" if "元" in norm else None
    return None


def _match(matcher: HeaderMatcher, rows: list[list], first: int, last: int, cells: list[HeaderCell],
           group: PartsGroup | None, taken: dict[str, HeaderCell], score: tuple[int, int, int]) -> HeaderMatch:
    from app.importing.choices import choose_area, describe_parts

    title = _title_units(rows, first)
    parts, kept, notes, warnings = describe_parts(group, taken, matcher.part_keys, last + 1)
    if not kept:
        taken = {k: c for k, c in taken.items() if k not in matcher.part_keys}
    area = choose_area(matcher, cells, taken, rows, last + 1, title)
    if area is not None:
        taken = {**taken, "quantity": area.cell}
        notes += area.notes
        warnings += area.warnings
    columns = {k: c.index for k, c in taken.items()}
    texts = {k: c.text for k, c in taken.items()}
    units = {k: u for k, c in taken.items() if (u := column_unit(k, c.norm))}
    for key, unit in title.items():
        if key in columns and key not in units:
            units[key] = unit
    fixed = taken["rate"].hit.fixed_rate if "rate" in taken else None  # type: ignore[union-attr]
    if fixed is not None:
        units["rate"] = fixed[1]
        if "amount" in matcher.labels and "amount" not in taken and "amount" not in matcher.unmapped:
            # '补贴金额每亩150元' with no other amount column: the cells are the amounts
            columns["amount"] = columns["rate"]
            texts["amount"] = texts["rate"]
    ordered = sorted(columns, key=lambda k: columns[k])
    return HeaderMatch(
        first_row=first, last_row=last,
        columns={k: columns[k] for k in ordered}, texts={k: texts[k] for k in ordered},
        units=units, fixed_rate=fixed, cells=tuple(cells), score=score,
        parts=parts, parts_kept=kept, notes=notes, warnings=warnings,
    )
