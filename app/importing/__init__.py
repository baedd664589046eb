"""Reading roster files (.xlsx, .xls, .ods, .csv) into rows, without a database.

The entry point is :func:`read_roster` (or :func:`open_roster`, to convert the rows a batch at a
time); storing the rows is app.imports' job.
"""

from app.importing.model import ParsedRoster, ParsedRow, ReadError, ReportIssue
from app.importing.reader import (
    MAX_BYTES,
    RosterReading,
    collector_paused,
    open_roster,
    read_roster,
)

__all__ = [
    "MAX_BYTES", "ParsedRoster", "ParsedRow", "ReadError", "ReportIssue", "RosterReading", "collector_paused",
    "open_roster", "read_roster",
]
