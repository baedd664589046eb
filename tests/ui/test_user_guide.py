"""The user guide's screenshots come from the real application: the script that takes them runs,
and every image the guide shows is one it takes and is in the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "用户指南.md"


def _shown() -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(images/([^)]+)\.png\)", GUIDE.read_text(encoding="utf-8"))


def test_every_image_of_the_guide_is_taken_by_the_script_and_present():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from screenshots import IMAGES
    finally:
        sys.path.pop(0)
    shown = _shown()
    assert shown and set(shown) <= set(IMAGES)
    assert [name for name in shown if not (ROOT / "docs" / "images" / f"{name}.png").is_file()] == []


def test_the_screenshot_script_takes_every_screen(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    taken = sorted(p.stem for p in tmp_path.glob("*.png"))
    assert set(_shown()) <= set(taken)
    from PySide6.QtGui import QImage

    main = QImage(str(tmp_path / "main.png"))
    assert (main.width(), main.height()) == (1366, 768)
