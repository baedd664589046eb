"""No business decision reads the wall clock: today's date and the current time come from the
injected ``Clock`` (``app.context``), so that the township, the county server and the tests agree
on what today is, and a test can fix it.

The check reads every module of the application (AST, not grep: aliases and attribute chains
count) and names each wall-clock read outside the few places allowed below.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "db", "server", "sync", "printing", "ui")

# (module, enclosing function): why it may read the wall clock
ALLOWED = {
    ("app/context.py", "Clock"): "the clock itself",
    ("db/changes.py", "new_ids"): "time-ordered ids (UUIDv7) for index locality; no decision reads the time",
    ("db/changes.py", "utc_now"): "record stamp (when a row was written); no decision reads it",
    ("server/sync_service.py", "now_iso"): "record stamp on the county's rows; no decision reads it",
    ("db/migrations.py", "migrate"): "names the backup file written before a migration, below any context",
}

# callables that read the wall clock, by the dotted name they are called through
_WALL = {
    "datetime.now", "datetime.utcnow", "datetime.today", "date.today",
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today", "datetime.date.today",
    "time.time", "time.time_ns", "time.localtime", "time.gmtime", "time.ctime", "time.asctime",
    "QDate.currentDate", "QDateTime.currentDateTime", "QDateTime.currentDateTimeUtc",
    "QDateTime.currentMSecsSinceEpoch", "QDateTime.currentSecsSinceEpoch", "QTime.currentTime",
}
# these read the wall clock only when called without a time argument
_WALL_WITHOUT_ARGS = {"time.localtime", "time.gmtime", "time.ctime", "time.asctime"}


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def wall_clock_reads(source: str) -> list[tuple[int, str, str]]:
    """(line, enclosing function or class, call) for every wall-clock read in ``source``."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> canonical dotted name
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time", "PySide6.QtCore"):
            for a in node.names:
                prefix = "" if node.module == "PySide6.QtCore" else f"{node.module}."
                canonical = a.name if node.module == "PySide6.QtCore" else f"{prefix}{a.name}"
                # `from datetime import datetime` -> datetime.datetime; say it as `datetime`
                aliases[a.asname or a.name] = canonical.removeprefix("datetime.") \
                    if canonical in ("datetime.datetime", "datetime.date") else canonical
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in ("datetime", "time"):
                    aliases[a.asname or a.name] = a.name
    found: list[tuple[int, str, str]] = []

    def visit(node: ast.AST, owner: str) -> None:
        for child in ast.iter_child_nodes(node):
            if owner == "<module>" and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                visit(child, child.name)  # reads are placed by their top-level function or class
                continue
            if isinstance(child, ast.Call) and (name := _dotted(child.func)):
                head, _, rest = name.partition(".")
                canonical = f"{aliases.get(head, head)}.{rest}" if rest else aliases.get(head, head)
                if canonical in _WALL and not (canonical in _WALL_WITHOUT_ARGS and child.args):
                    found.append((child.lineno, owner, canonical))
            visit(child, owner)

    visit(tree, "<module>")
    return found


def _modules() -> list[Path]:
    files = [ROOT / "main.py"]
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def test_the_detector_sees_every_way_of_reading_the_clock():
    source = (
        "import datetime as dt\nimport time\nfrom datetime import date, datetime\n"
        "from PySide6.QtCore import QDate\n"
        "def a():\n    return date.today()\n"  # wall-clock ok: source text for the detector
        "def b():\n    return datetime.now()\n"  # wall-clock ok: source text for the detector
        "def c():\n    return dt.datetime.now(dt.UTC)\n"  # wall-clock ok: source text for the detector
        "def d():\n    return time.time()\n"  # wall-clock ok: source text for the detector
        "def e():\n    return QDate.currentDate()\n"  # wall-clock ok: source text for the detector
        "def f():\n    return time.localtime()\n"  # wall-clock ok: source text for the detector
        "def fine():\n    return time.localtime(0), time.monotonic(), datetime.fromisoformat('2026-01-01')\n"
    )
    assert [(owner, call) for _line, owner, call in wall_clock_reads(source)] == [
        ("a", "date.today"), ("b", "datetime.now"), ("c", "datetime.datetime.now"), ("d", "time.time"),
        ("e", "QDate.currentDate"), ("f", "time.localtime")]


def test_no_module_reads_the_wall_clock_for_a_decision():
    offenders, used = [], set()
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        for line, owner, call in wall_clock_reads(path.read_text(encoding="utf-8")):
            if (rel, owner) in ALLOWED:
                used.add((rel, owner))
            else:
                offenders.append(f"{rel}:{line} in {owner}: {call}() — take today/now from the context's Clock")
    assert offenders == []
    # an allowance nothing needs any more is removed, not kept "just in case"
    assert used == set(ALLOWED), f"no longer needed: {sorted(set(ALLOWED) - used)}"
