"""One translation catalogue for domain code and widgets.

Simplified Chinese is the source language of user-facing text; an English catalogue can be
installed with :func:`set_language`. Import ``_`` explicitly — it is never a builtin.
"""

from __future__ import annotations

import gettext
from pathlib import Path

_LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_translation: gettext.NullTranslations = gettext.NullTranslations()


def set_language(code: str) -> None:
    """Switch the catalogue: ``zh_CN`` (source text) or ``en``."""
    global _translation
    if code.startswith("zh"):
        _translation = gettext.NullTranslations()
        return
    _translation = gettext.translation("gongkai", _LOCALE_DIR, languages=[code], fallback=True)


def _(message: str) -> str:
    return _translation.gettext(message)
