"""Reading roster files (.xlsx, .xls, .ods, .csv) into rows, without a database.

The one entry point is :func:`read_roster`; storing the rows is app.imports' job.
"""

from app.importing.model import ParsedRoster, ParsedRow, ReadError, ReportIssue
from app.importing.reader import MAX_BYTES, collector_paused, read_roster

__all__ = [
    "MAX_BYTES", "ParsedRoster", "ParsedRow", "ReadError", "ReportIssue", "collector_paused", "read_roster",
]
