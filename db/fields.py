"""Field types that keep money, quantities and structured values exact in SQLite."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from peewee import TextField


class DecimalText(TextField):
    """An exact decimal stored as text.

    SQLite's NUMERIC affinity would turn '12.35' into a binary float; text keeps every digit.
    """

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("quantities are exact decimals, never floats")
        return str(Decimal(value))

    def python_value(self, value: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


def dumps_json(value: Any) -> str:
    """The stored form of a JSON column: compact, key-sorted, UTF-8."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class JSONText(TextField):
    """A JSON document stored as compact, key-sorted UTF-8 text."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else dumps_json(value)

    def python_value(self, value: Any) -> Any:
        return None if value is None else json.loads(value)
