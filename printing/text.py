"""Line breaking for Chinese text: any character may break, except that closing punctuation
never starts a line and opening punctuation never ends one (避头尾); dates (2026年11月,
11月24日, 2026年11月24日) and runs of Latin letters and digits stay together unless longer than a
whole line; a paragraph's last line keeps at least three characters when the line above can
spare them.

Closing punctuation that does not fit may hang into the margin (``hang=True``, for body
paragraphs only); everywhere else (table cells, boxes, titles) the unit before it goes down to the
next line with it, so that nothing extends beyond the width.
"""

from __future__ import annotations

import re

from printing.fonts import Measure

_CLOSING = set("，。、；：？！）》」』”’〕】〉…%‰,.;:?!)]}·—")
_OPENING = set("（《「『“‘〔【〈([{")
_DATE = r"\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?|\d{1,2}月(?:\d{1,2}日)?"
# a date (2026年12月1日, 2026年12月, 12月1日) stays on one line; so does a run of Latin letters and digits
_TOKEN = re.compile(_DATE + r"|[A-Za-z0-9][A-Za-z0-9.,:/%+\-_@#&=?]*|\s+|.", re.S)
_DATE_PART = re.compile(r"\d+[年月日]")
EPSILON = 1e-6  # a width computed to fit exactly must not wrap through rounding
#: a paragraph's last line should hold at least this many characters (no 孤字 like "见。")
MIN_LAST_LINE = 3


def wrap(text: str, measure: Measure, size: float, width: float, *, hang: bool = False) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points.

    Explicit newlines start new lines; an empty text gives one empty line. With ``hang`` a
    closing punctuation mark that does not fit hangs into the margin, as in body paragraphs;
    without it no line is wider than ``width`` (unless one character is), as a table cell or
    any other box needs.
    """
    lines: list[str] = []
    for para in text.split("\n"):
        lines.extend(_wrap_para(para, measure, size, width, hang))
    return lines


def _closing(token: str) -> bool:
    return len(token) == 1 and token in _CLOSING


def _opening(token: str) -> bool:
    return len(token) == 1 and token in _OPENING


def _date_parts(token: str) -> list[str]:
    """A date unit in its parts (2026年 11月 24日); one part for anything else."""
    parts = _DATE_PART.findall(token)
    return parts if len(parts) > 1 and "".join(parts) == token else [token]


def _wrap_para(text: str, measure: Measure, size: float, width: float, hang: bool) -> list[str]:
    if measure.width(text, size) <= width + EPSILON:
        return [text]
    limit = width / size + EPSILON  # in em
    em = measure.em
    lines: list[list[str]] = []
    line: list[str] = []
    used = 0.0
    stack = _TOKEN.findall(text)
    stack.reverse()  # tokens still to place, next one last
    while stack:
        token = stack.pop()
        w = em(token)
        if used + w <= limit or not line and w <= limit:
            line.append(token)
            used += w
            continue
        if w > limit and len(token) > 1:
            # a unit longer than a whole line: a date breaks after 年/月, anything else anywhere
            parts = _date_parts(token)
            stack.extend(reversed(parts if len(parts) > 1 else list(token)))
            continue
        if not line:  # a single character wider than the line
            line.append(token)
            used += w
            continue
        if _closing(token):
            if hang and not (stack and _closing(stack[-1])):
                line.append(token)  # hangs into the margin
                lines.append(line)
                line, used = [], 0.0
                continue
            down = _take_down(line, em, limit - w)
            if down is not None:  # the unit before the mark goes down with it (避头)
                lines.append(line)
                line = down + [token]
                used = em("".join(line))
                continue
            # nothing can go down with it: the mark has to start the next line
        carry: list[str] = []
        while line and _opening(line[-1]):  # opening marks go down with what follows them (避尾)
            carry.insert(0, line.pop())
        if carry and (not line or em("".join(carry)) + w > limit):
            line.extend(carry)
            carry = []
        if line:
            lines.append(line)
        line = carry + ([] if token.isspace() else [token])
        used = em("".join(line))
    if line:
        lines.append(line)
    if len(lines) > 1:
        _fill_last_line(lines, em, limit, hang)
    return ["".join(x).rstrip() for x in lines] or [""]


def _take_down(line: list[str], em, room: float) -> list[str] | None:
    """Take from the end of ``line`` what must go to the next line with a closing mark that does
    not fit: the last unit, the closing marks after it and the opening marks before it (a date
    alone on the line gives up only its last part). None, and ``line`` unchanged, when that
    would empty the line or not fit in ``room`` em."""
    k = len(line)
    while k and (_closing(line[k - 1]) or line[k - 1].isspace()):
        k -= 1
    if not k:
        return None
    head, carry = line[:k - 1], line[k - 1:]
    if not "".join(head).strip():
        parts = _date_parts(carry[0])
        if len(parts) < 2:
            return None
        head, carry = head + parts[:-1], parts[-1:] + carry[1:]
    while head and _opening(head[-1]):
        carry.insert(0, head.pop())
    if not "".join(head).strip() or em("".join(carry)) > room:
        return None
    line[:] = head
    return carry


def _chars(tokens: list[str]) -> int:
    return sum(len(t) for t in tokens if not t.isspace())


def _fill_last_line(lines: list[list[str]], em, limit: float, hang: bool) -> None:
    """Pull whole units down from the line above until the last line holds ``MIN_LAST_LINE``
    characters, as long as both lines stay legal and within the width; otherwise leave them."""
    prev, last = lines[-2], lines[-1]
    if _chars(last) >= MIN_LAST_LINE:
        return
    while _chars(last) < MIN_LAST_LINE:
        k = len(prev)
        while k and (_closing(prev[k - 1]) or prev[k - 1].isspace()):
            k -= 1
        if not k:
            return
        k -= 1
        while k and _opening(prev[k - 1]):
            k -= 1
        prev, last = prev[:k], prev[k:] + last
        if _chars(prev) < max(MIN_LAST_LINE, _chars(last)):
            return
        body = last[:-1] if hang and _closing(last[-1]) else last
        if em("".join(body)) > limit:
            return
    lines[-2], lines[-1] = prev, last


def _good_break(text: str, i: int) -> bool:
    """Whether a title may break before ``text[i]``: after a year (2026年), after a closing
    bracket, before 关于, or after a place name (…村/镇/县) that a year follows."""
    before, after = text[i - 1], text[i]
    if text.startswith("关于", i) or before in "）〕】":
        return True
    if before == "年" and text[i - 2].isdigit():
        return True
    return before in "村镇县" and after.isdigit()


def balanced(text: str, measure: Measure, size: float, width: float) -> list[str]:
    """Lines of similar length for a centred title, broken where a reader pauses.

    Two-line titles break after a place name, a year or a closing bracket when that keeps both
    lines within ``width``; otherwise lines are evened out by narrowing the wrap width.
    """
    lines = wrap(text, measure, size, width)
    if len(lines) < 2:
        return lines
    if len(lines) == 2 and "\n" not in text:
        best: tuple[float, list[str]] | None = None
        for i in range(2, len(text) - 1):
            if not _good_break(text, i):
                continue
            parts = [text[:i], text[i:]]
            widest = max(measure.width(p, size) for p in parts)
            if widest <= width and (best is None or widest < best[0]):
                best = (widest, parts)
        if best is not None:
            return best[1]
    total = measure.width(text, size)
    lo, hi = total / len(lines), width
    best_lines = lines
    for _ in range(12):  # narrowest width that still gives the same number of lines
        mid = (lo + hi) / 2
        trial = wrap(text, measure, size, mid)
        if len(trial) <= len(lines):
            best_lines, hi = trial, mid
        else:
            lo = mid
    return best_lines


def fit(text: str, measure: Measure, size: float, width: float) -> str:
    """``text`` cut with an ellipsis so that it fits on one line of ``width``."""
    if measure.width(text, size) <= width:
        return text
    limit = width / size - measure.em("…")
    used = 0.0
    for i, ch in enumerate(text):
        used += measure.em(ch)
        if used > limit:
            return text[:i] + "…"
    return text
