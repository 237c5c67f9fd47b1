"""Bank holidays read from the library are kept on disk, and the next process reads them there."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import holidays
from support import SHIPPED_RULES

from mailbot.sla import holidaycache
from mailbot.sla.calendar import DEFAULT_REGION

# A fresh process: which weekdays of 2026 the shipped calendar is closed on
# (bank holidays, and the rules' own closures), and whether it imported the
# holidays library to know.
_PROBE = """
import json, sys
from datetime import date, timedelta
from pathlib import Path
from mailbot.rules.loader import load_rules
from mailbot.sla import holidaycache
holidaycache.keep_in(Path(sys.argv[1]))
calendar = load_rules(Path(sys.argv[2])).calendar
days = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
closed = [d.isoformat() for d in days if d.weekday() < 5 and calendar.span_on(d) is None]
print(json.dumps([closed, "holidays" in sys.modules]))
"""


def _probe(folder: Path) -> tuple[list[str], bool]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(folder), str(SHIPPED_RULES)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    closed, imported = json.loads(done.stdout.splitlines()[-1])
    return closed, imported


def _library(year: int) -> list[str]:
    country, subdiv = DEFAULT_REGION
    return sorted(d.isoformat() for d in holidays.country_holidays(country, subdiv, years=year))


def test_the_second_process_reads_the_kept_holidays_without_the_library(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    closed, imported = _probe(folder)
    weekdays = [d for d in _library(2026) if date.fromisoformat(d).weekday() < 5]
    assert imported and set(weekdays) <= set(closed)
    assert len(list(folder.glob("bank-holidays-GB-ENG-2026-*.json"))) == 1
    # The same days closed, and the library was not loaded to know them.
    assert _probe(folder) == (closed, False)


def test_a_folder_others_may_write_to_is_not_trusted(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    asked: list[int] = []

    def ask(region: tuple[str, str], year: int) -> list[date]:
        asked.append(year)
        return [date(year, 12, 25)]

    holidaycache.keep_in(folder)
    try:
        for _ in range(2):
            assert holidaycache.bank_holidays(DEFAULT_REGION, 2031, ask) == {date(2031, 12, 25)}
    finally:
        holidaycache.keep_in(None)
    # Asked each time, and nothing was left where anyone could change it.
    assert asked == [2031, 2031] and list(folder.iterdir()) == []


def test_a_damaged_file_is_read_again_from_the_library(tmp_path: Path) -> None:
    holidaycache.keep_in(tmp_path)
    try:
        first = holidaycache.bank_holidays(DEFAULT_REGION, 2032, lambda _r, y: [date(y, 1, 1)])
        [kept] = tmp_path.glob("bank-holidays-GB-ENG-2032-*.json")
        kept.write_text("[not json")
        again = holidaycache.bank_holidays(DEFAULT_REGION, 2032, lambda _r, y: [date(y, 1, 1)])
    finally:
        holidaycache.keep_in(None)
    assert first == again == {date(2032, 1, 1)}
    assert json.loads(kept.read_text()) == ["2032-01-01"]
