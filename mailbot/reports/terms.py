"""School terms by name (autumn-2026, spring-2027) from the SLA calendar's half-terms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailbot.errors import MailbotError
from mailbot.rules.loader import Rules

# A term is the half-terms that start in its months: autumn from August to
# December, spring from January to March, summer from April to July.
SEASONS = {"autumn": range(8, 13), "spring": range(1, 4), "summer": range(4, 8)}
_ORDER = ("spring", "summer", "autumn")
_NAME = re.compile(r"(autumn|spring|summer)-(\d{4})")


@dataclass(frozen=True)
class Term:
    """One term: its name, its first and last days, and its instants [start, end)."""

    name: str
    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        """ "Autumn term 2026"."""
        season, year = self.name.split("-")
        return f"{season.capitalize()} term {year}"


def previous_name(name: str) -> str:
    """The term before ``name``: autumn-2026 -> summer-2026, spring-2027 -> autumn-2026."""
    season, year = _parse(name)
    i = _ORDER.index(season)
    return f"{_ORDER[i - 1]}-{year - 1 if i == 0 else year}"


def _parse(name: str) -> tuple[str, int]:
    found = _NAME.fullmatch(name.strip().lower())
    if found is None:
        raise MailbotError(f"--term: {name!r} is not a term such as autumn-2026")
    return found[1], int(found[2])


def term(rules: Rules, name: str) -> Term | None:
    """The term called ``name`` from sla.toml's half-terms, or None when it has none there."""
    season, year = _parse(name)
    months = SEASONS[season]
    halves = [
        (first, last)
        for first, last in rules.calendar.terms
        if first.year == year and first.month in months
    ]
    if not halves:
        return None
    first = min(f for f, _ in halves)
    last = max(last for _, last in halves)
    zone: ZoneInfo = rules.calendar.zone
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    return Term(f"{season}-{year}", first, last, start, end)
