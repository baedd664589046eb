"""One translation catalogue for domain code and widgets.

Simplified Chinese is the source language of user-facing text; English is available. The English
catalogue is kept as gettext ``.po`` files under ``app/locale/en/`` (one per area of the program, so
that the files stay short) and read with Babel when the language is switched. Import ``_``
explicitly — it is never a builtin. Use named placeholders: ``_("共 {n} 行").format(n=rows)``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
_messages: dict[str, str] = {}
_language = "zh_CN"


@cache
def _catalogue(code: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    messages: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / code).glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f):
                if message.id and message.string and not message.fuzzy:
                    messages[message.id] = message.string
    return messages


def set_language(code: str) -> None:
    """Switch the catalogue: ``zh_CN`` (source text) or ``en``. Widgets built afterwards use it."""
    global _messages, _language
    _language = "zh_CN" if code.startswith("zh") else code
    _messages = {} if _language == "zh_CN" else _catalogue(_language)


def language() -> str:
    return _language


def _(message: str) -> str:
    return _messages.get(message, message)


def N_(message: str) -> str:
    """Mark a string for translation where it is defined (module level); translate it with ``_``
    where it is shown."""
    return message
