"""Layering: the core packages never load Qt (DESIGN §2, STYLE §1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_packages_do_not_import_pyside6():
    core = [p.relative_to(ROOT).with_suffix("") for d in ("app", "db", "printing", "sync")
            for p in (ROOT / d).rglob("*.py")]
    modules = [".".join(p.parts).removesuffix(".__init__") for p in core]
    assert "app.notices" in modules and "db.models" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_app_does_not_import_http_or_pdf_libraries():
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "app").rglob("*.py")]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'requests', 'reportlab', 'fastapi'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
