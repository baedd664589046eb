"""Expected printing failures."""

from __future__ import annotations

from app.errors import AppError
from app.i18n import _

#: characters either side of the one that cannot be printed, when quoting a long text
_CONTEXT = 10


class PrintError(AppError):
    """A notice could not be printed (no usable font, unwritable file …); nothing was changed."""


class UnprintableCharacter(PrintError):
    """A character of the notice that no installed font can draw: printing stopped rather than
    leave a blank where a name or a number should be."""


def unprintable(where: str, text: str, char: str) -> UnprintableCharacter:
    """The error for ``char`` in ``text``, found in ``where`` (第 12 行 户主姓名, 标题 …)."""
    at = text.find(char)
    if len(text) > 2 * _CONTEXT + 1:
        start, end = max(at - _CONTEXT, 0), at + _CONTEXT + 1
        text = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    code = f"U+{ord(char):04X}"
    return UnprintableCharacter(
        _("{where}“{text}”中的字“{char}”（{code}）没有任何已安装的字体能打印，为免印成空白，没有打印。"
          "请核对这个字是否录入有误；确需此字的，请安装含有它的字体（如 Windows 的 SimSun-ExtB，"
          "Linux 的花园明朝 fonts-hanazono）后再打印。").format(where=where, text=text, char=char, code=code),
        details=f"{code} in {where}")
