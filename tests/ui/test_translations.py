"""English is available: every text the desktop app shows through ``_()`` — in the widgets, and in
the domain layers (app/, db/, sync/, printing/) whose messages they show — has an English
translation, with the same named placeholders, and the catalogue files are valid."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from app.catalogue import DEFAULT_NOTICE_TYPES
from app.i18n import LOCALE_DIR, _catalogue
from app.notices import STATUS_LABELS
from app.users import ROLE_LABELS

ROOT = Path(__file__).resolve().parents[2]
# Packages whose ``_()`` texts reach the clerk: the widgets, and the domain layers whose errors,
# progress messages and validation issues the widgets show.
UI_PACKAGES = ("ui",)
DOMAIN_PACKAGES = ("app", "db", "sync", "printing")


def _messages(*packages: str) -> dict[str, str]:
    """Every string literal passed to ``_()`` or marked with ``N_()`` in the given packages, with
    where it is."""
    found: dict[str, str] = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                        and node.args and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                    found.setdefault(node.args[0].value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _untranslated(messages: dict[str, str]) -> dict[str, str]:
    english = _catalogue("en")
    return {m: where for m, where in messages.items()
            if m not in english and re.search(r"[\u4e00-\u9fff]", m)}


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_every_ui_text_has_an_english_translation():
    messages = _messages(*UI_PACKAGES)
    assert len(messages) > 50
    assert _untranslated(messages) == {}


def test_every_domain_message_has_an_english_translation():
    """Errors, progress messages and validation issues raised by app/, db/, sync/ and printing/ are
    shown to the clerk in dialogs, so they need English too (scripts/i18n_missing.py lists them)."""
    messages = _messages(*DOMAIN_PACKAGES)
    assert len(messages) > 50
    assert {Path(where).parts[0] for where in messages.values()} == set(DOMAIN_PACKAGES)
    assert _untranslated(messages) == {}


def test_domain_labels_the_ui_shows_are_translated():
    english = _catalogue("en")
    labels = [*STATUS_LABELS.values(), *ROLE_LABELS.values(), *(t["name"] for t in DEFAULT_NOTICE_TYPES)]
    assert [label for label in labels if label not in english] == []


def test_translations_keep_the_placeholders():
    english = _catalogue("en")
    wrong = {m: t for m, t in english.items() if _placeholders(m) != _placeholders(t)}
    assert wrong == {}


def test_catalogue_files_parse_and_hold_no_duplicates():
    from babel.messages.pofile import read_po

    seen: dict[str, str] = {}
    clashes = []
    for path in sorted((LOCALE_DIR / "en").glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f):
                if not message.id:
                    continue
                if message.id in seen and seen[message.id] != message.string:
                    clashes.append((message.id, seen[message.id], message.string))
                seen[message.id] = message.string
    assert seen and clashes == []
