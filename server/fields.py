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


class _Shape:
    """The keys of one entity's data, grouped by what their values must be."""

    def __init__(self, model) -> None:
        self.known: set[str] = set()
        self.text, self.ints, self.bools, self.dates, self.decimals, self.json = [], [], [], [], [], []
        self.required_text: set[str] = set()
        for field in model._meta.sorted_fields:
            key = field.column_name
            self.known.add(key)
            if isinstance(field, JSONText):
                self.json.append(key)
            elif isinstance(field, DecimalText):
                self.decimals.append(key)
            elif isinstance(field, (TextField, ForeignKeyField)):
                self.text.append(key)
            elif isinstance(field, BooleanField):
                self.bools.append(key)
            elif isinstance(field, IntegerField):
                self.ints.append(key)
            elif isinstance(field, DateField):
                self.dates.append(key)
        self.known.update(("deleted", "township_id", "version", "updated_at", "id"))

    def problem(self, data: dict) -> str | None:
        for key in data:
            if key not in self.known:
                return f"unknown field {str(key)[:40]!r}"
        for key in self.text:
            v = data.get(key)
            if v is not None and (type(v) is not str or (len(v) > MAX_TEXT and key not in LONG_TEXT) or "\x00" in v):
                return f"{key} must be text (at most {MAX_TEXT} characters, no NUL)"
        for key in self.ints:
            v = data.get(key)
            if v is not None and (type(v) is not int or not -MAX_INT <= v <= MAX_INT):
                return f"{key} must be an integer within ±{MAX_INT}"
        for key in self.bools:
            v = data.get(key)
            if v is not None and type(v) is not bool:
                return f"{key} must be true or false"
        for key in self.dates:
            v = data.get(key)
            if v is not None and not _is_date(v):
                return f"{key} must be an ISO date"
        for key in self.decimals:
            v = data.get(key)
            if v is not None and not (type(v) is str and len(v) <= 40 and _is_decimal(v)):
                return f"{key} must be a decimal number as text"
        for key in self.json:
            v = data.get(key)
            if v is not None and (type(v) not in (list, dict) or not _plain_json(v, MAX_JSON_DEPTH)):
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


def _plain_json(value: Any, depth: int) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_TEXT and "\x00" not in value
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
        return all(isinstance(k, str) and len(k) <= 100 and _plain_json(v, depth - 1) for k, v in value.items())
    return False


_SHAPES = {entity: _Shape(model) for entity, model in ENTITY_MODELS.items()}


def data_problem(entity: str, data: dict) -> str | None:
    """Why ``data`` cannot be a row of ``entity`` (one line for logs and the refusal), or None."""
    shape = _SHAPES.get(entity)
    return shape.problem(data) if shape is not None else None
