"""Layering: the core packages never load Qt, and app/ loads no HTTP or PDF library (DESIGN §2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules(*packages: str) -> list[str]:
    paths = [p.relative_to(ROOT).with_suffix("") for d in packages for p in (ROOT / d).rglob("*.py")]
    return [".".join(p.parts).removesuffix(".__init__") for p in paths]


def _loaded_after_import(modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    """Import ``modules`` in a fresh interpreter; return the forbidden top-level packages it loaded."""
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_core_packages_do_not_import_pyside6():
    modules = _modules("app", "db", "printing", "sync")
    assert "app.notices" in modules and "db.models" in modules
    assert _loaded_after_import(modules, ("PySide6", "shiboken6")) == []


def test_app_does_not_import_http_or_pdf_libraries():
    modules = _modules("app")
    assert _loaded_after_import(modules, ("PySide6", "requests", "reportlab", "fastapi")) == []


def _imports(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_ui_calls_services_and_never_touches_the_database_or_network_itself():
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & {"db", "peewee", "sqlite3", "requests"})
                 for p in (ROOT / "ui").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_ui_runs_long_work_only_through_background_op():
    import re

    pattern = re.compile(r"\bQThread\b|threading\.Thread\b|QtConcurrent")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "ui").rglob("*.py")
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
