"""Calendar months, bounded by midnight in the support calendar's zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, bounded by midnight in the support calendar's zone."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """Read a month written as 2026-11."""
        m = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", text.strip())
        if m is None or not 1 <= int(m[2]) <= 12:
            raise ValueError(f"not a month: {text!r} (write it as 2026-11)")
        return cls(int(m[1]), int(m[2]))

    @classmethod
    def of(cls, t: datetime, zone: ZoneInfo) -> Month:
        """The month the instant ``t`` falls in, in ``zone``."""
        local = t.astimezone(zone)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """The month in words: "November 2026"."""
        return f"{_NAMES[self.month - 1]} {self.year}"

    @property
    def short(self) -> str:
        """The month for a chart's axis: "Nov 2026" on two lines."""
        return f"{_NAMES[self.month - 1][:3]}\n{self.year}"

    def shift(self, months: int) -> Month:
        """The month ``months`` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def first_day(self) -> date:
        """The month's first calendar day."""
        return date(self.year, self.month, 1)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The month as the instants [start, end) in ``zone``."""
        start = datetime.combine(self.first_day(), time(0), zone)
        return start, datetime.combine(self.shift(1).first_day(), time(0), zone)

    def holds(self, t: datetime, zone: ZoneInfo) -> bool:
        """Whether the instant ``t`` falls in this month."""
        start, end = self.bounds(zone)
        return start <= t < end
