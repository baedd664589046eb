"""Expected printing failures."""

from __future__ import annotations

from app.errors import AppError


class PrintError(AppError):
    """A notice could not be printed (no usable font, unwritable file …); nothing was changed."""
