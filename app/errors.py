"""Typed, expected failures.

``str(err)`` is text fit for a clerk: what happened and what to do next. ``err.details`` holds the
technical part. Neither may contain a full ID number, bank account or phone number.
"""

from __future__ import annotations


class AppError(Exception):
    """Base of every expected failure."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ValidationError(AppError):
    """Input that breaks a rule; nothing was changed."""


class PermissionDenied(AppError):
    """The acting user's role does not allow this action."""


class TransitionError(AppError):
    """The notice is not in a state that allows this action."""


class NotFound(AppError):
    """A referenced record does not exist."""


class CalendarError(AppError):
    """Dates cannot be computed (for example a year the holiday calendar does not cover)."""


class DatabaseError(AppError):
    """The database cannot be opened, migrated, backed up or restored."""


class Cancelled(AppError):
    """Long work stopped because the user asked it to."""


class SyncError(AppError):
    """The county server could not be reached or refused the sync; local data is untouched."""
