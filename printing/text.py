"""Line breaking for Chinese text: any character may break, except that closing punctuation
never starts a line (it hangs into the margin) and opening punctuation never ends one (避头尾);
runs of Latin letters and digits stay together unless longer than a whole line."""

from __future__ import annotations

import re

from printing.fonts import Measure

_CLOSING = set("，。、；：？！）》」』”’〕】〉…%‰,.;:?!)]}·—")
_OPENING = set("（《「『“‘〔【〈([{")
# a date such as 2026年12月1日 stays on one line; so does a run of Latin letters and digits
_TOKEN = re.compile(r"(?:\d{4}年)?\d{1,2}月\d{1,2}日|[A-Za-z0-9][A-Za-z0-9.,:/%+\-_@#&=?]*|\s+|.", re.S)
EPSILON = 1e-6  # a width computed to fit exactly must not wrap through rounding


def wrap(text: str, measure: Measure, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points (hanging punctuation aside).

    Explicit newlines start new lines; an empty text gives one empty line.
    """
    lines: list[str] = []
    for para in text.split("\n"):
        lines.extend(_wrap_para(para, measure, size, width))
    return lines


def _wrap_para(text: str, measure: Measure, size: float, width: float) -> list[str]:
    if measure.width(text, size) <= width + EPSILON:
        return [text]
    limit = width / size + EPSILON  # in em
    em = measure.em
    lines: list[str] = []
    line: list[str] = []
    used = 0.0
    for token in _TOKEN.findall(text):
        w = em(token)
        if used + w <= limit or not line and w <= limit:
            line.append(token)
            used += w
            continue
        if token in _CLOSING and len(token) == 1:
            line.append(token)  # hangs into the margin
            lines.append("".join(line))
            line, used = [], 0.0
            continue
        if w > limit:  # a run longer than a line: break it by characters
            for ch in token:
                cw = em(ch)
                if used + cw > limit and line:
                    lines.append("".join(line))
                    line, used = [], 0.0
                line.append(ch)
                used += cw
            continue
        carry: list[str] = []
        while line and len(line[-1]) == 1 and line[-1] in _OPENING:
            carry.insert(0, line.pop())
        if line:
            lines.append("".join(line).rstrip())
        line = carry + ([] if token.isspace() else [token])
        used = sum(em(t) for t in line)
    if line:
        lines.append("".join(line).rstrip())
    return lines or [""]




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
