"""`python main.py demo` works whatever the date, as a new user would run it: the whole process on a
clock set by libfaketime (scripts/at-date) to the days where dates go wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# UTC moments: 24 December, New Year's Eve 23:30 China time, 1 January, mid-year, a year far past
# the calendar package's
MOMENTS = ["2026-12-24T02:00:00", "2026-12-31T15:30:00", "2027-01-01T02:00:00", "2027-07-01T02:00:00",
           "2030-02-15T02:00:00"]
CHINA_DAY = {"2026-12-31T15:30:00": date(2026, 12, 31)}


def _at(moment: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "scripts" / "at-date"), moment, sys.executable, "main.py", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("moment", MOMENTS)
def test_the_demo_command_works_on_any_date(moment, tmp_path):
    today = CHINA_DAY.get(moment, date.fromisoformat(moment[:10]))
    made = _at(moment, "demo", "--data-dir", str(tmp_path / "demo"), "--json")
    assert made.returncode == 0, made.stderr[-2000:]
    summary = json.loads(made.stdout)
    assert summary["notices"] >= 10 and summary["villages"] == 9
    # a stand-in holiday arrangement is made only for a year the calendar package does not know
    assert all(str(today.year) in note or str(today.year + 1) in note for note in summary["notes"])

    listed = _at(moment, "notices", "--data-dir", str(tmp_path / "demo"), "--json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    notices = json.loads(listed.stdout)
    # made on the faked date: this year's programs, and every published notice running today
    assert any(f"{today.year}年耕地地力保护补贴" in n["title"] for n in notices)
    running = [n for n in notices if n["status"] == "published"]
    assert len(running) >= 5
    for n in running:
        assert date.fromisoformat(n["posting_start"]) <= today <= date.fromisoformat(n["posting_end"]), n
