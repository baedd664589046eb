"""The shape of every field a township may push, checked before anything touches the database:
a hostile or broken workstation gets a per-change refusal (``malformed``), never a server error.

The shapes come from the workstation's own models (:mod:`db.models`), so both sides agree on them:
text is a string without NUL characters, integers fit PostgreSQL's ``integer`` column the county
stores versions in, dates are ISO dates, exact decimals are decimal strings, JSON columns hold
lists or objects nested at most a few levels. Keys the models do not have are refused: a newer
workstation talks to a county that knows its columns (the protocol version says so).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from peewee import BooleanField, DateField, ForeignKeyField, IntegerField, TextField

from db.fields import DecimalText, JSONText
from db.models import ENTITY_MODELS

MAX_TEXT = 20_000  # characters in one text field (a notice's body is among the longest)
#: text fields that may be longer (bounded by the batch's size): the public view frozen at publish
LONG_TEXT = frozenset({"public_snapshot"})
MAX_INT = 2**31 - 1
MAX_JSON_DEPTH = 6
MAX_JSON_ITEMS = 2_000


_TEXT, _INT, _BOOL, _DATE, _DECIMAL, _JSON = range(6)


class _Shape:
    """What the value of each key of one entity's data must be."""

    def __init__(self, model) -> None:
        self.kinds: dict[str, int] = {}
        for field in model._meta.sorted_fields:
            if isinstance(field, JSONText):
                kind = _JSON
            elif isinstance(field, DecimalText):
                kind = _DECIMAL
            elif isinstance(field, (TextField, ForeignKeyField)):
                kind = _TEXT
            elif isinstance(field, BooleanField):
                kind = _BOOL
            elif isinstance(field, IntegerField):
                kind = _INT
            elif isinstance(field, DateField):
                kind = _DATE
            else:  # pragma: no cover - a column type the models do not use
                raise TypeError(f"{model.__name__}.{field.name}: {type(field).__name__}")
            self.kinds[field.column_name] = kind

    def problem(self, data: dict) -> str | None:
        # one pass over what was sent (a 100,000-row push checks every row of it)
        kinds = self.kinds
        for key, v in data.items():
            kind = kinds.get(key)
            if kind is None:
                return f"unknown field {str(key)[:40]!r}"
            if v is None:
                continue
            t = type(v)
            if kind == _TEXT:
                if (t is not str or "\x00" in v or (len(v) > MAX_TEXT and key not in LONG_TEXT)
                        or not (v.isascii() or unicode_text(v))):
                    return f"{key} must be text (at most {MAX_TEXT} characters, no NUL, no lone surrogate)"
            elif kind == _INT:
                if t is not int or not -MAX_INT <= v <= MAX_INT:
                    return f"{key} must be an integer within ±{MAX_INT}"
            elif kind == _BOOL:
                if t is not bool:
                    return f"{key} must be true or false"
            elif kind == _DATE:
                if not _is_date(v):
                    return f"{key} must be an ISO date"
            elif kind == _DECIMAL:
                if t is not str or len(v) > 40 or not _is_decimal(v):
                    return f"{key} must be a decimal number as text"
            elif t not in (list, dict) or not _plain_json(v, MAX_JSON_DEPTH):
                return f"{key} must be a list or object of plain values, nested at most {MAX_JSON_DEPTH} deep"
        return None


def _is_date(value: Any) -> bool:
    if type(value) is not str or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_decimal(value: str) -> bool:
    """A finite decimal as ``str(Decimal)`` writes it (``12.5``, ``1E+2``)."""
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


def unicode_text(value: str) -> bool:
    """Whether ``value`` is text the database can store: JSON's ``\\ud800`` escapes (and Python's
    decoder) let a lone surrogate through, which no UTF-8 column takes."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plain_json(value: Any, depth: int) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_TEXT and "\x00" not in value and (value.isascii() or unicode_text(value))
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**53) <= value <= 2**53
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    if depth <= 0 or len(value) > MAX_JSON_ITEMS:
        return False
    if isinstance(value, list):
        return all(_plain_json(v, depth - 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and len(k) <= 100 and unicode_text(k) and _plain_json(v, depth - 1)
                   for k, v in value.items())
    return False


_SHAPES = {entity: _Shape(model) for entity, model in ENTITY_MODELS.items()}


def data_problem(entity: str, data: dict) -> str | None:
    """Why ``data`` cannot be a row of ``entity`` (one line for logs and the refusal), or None."""
    shape = _SHAPES.get(entity)
    return shape.problem(data) if shape is not None else None
