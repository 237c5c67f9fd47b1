"""Availability arithmetic: a service's outage minutes within the SLA's availability hours."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from mailbot.sla.calendar import SupportCalendar, parse_hours

Interval = tuple[datetime, datetime]
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Figure:
    """One service's availability over a period: minutes of availability hours and of outage."""

    hours_minutes: int
    down_minutes: int

    @property
    def percent(self) -> float:
        """Share of the availability hours the service was up (100 when there were none)."""
        if self.hours_minutes == 0:
            return 100.0
        return 100.0 * (self.hours_minutes - self.down_minutes) / self.hours_minutes


def availability_calendar(support: SupportCalendar, term: str, holiday: str) -> SupportCalendar:
    """The SLA's availability hours on the support calendar's term dates and bank holidays.

    The network's hours (08:00-18:00 in term, 09:00-16:00 in the holidays)
    are not the team's; the team's own closure days do not stop the network,
    so they are left out.
    """
    return replace(
        support,
        term_hours=parse_hours(term),
        holiday_hours=parse_hours(holiday),
        closures=frozenset(),
    )


def _utc(t: datetime) -> datetime:
    if t.utcoffset() is None:
        raise ValueError(f"{t.isoformat()} has no time zone")
    return t.astimezone(UTC)


def _merged(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of intervals as sorted, disjoint ones (empty ones dropped)."""
    ordered = sorted((_utc(a), _utc(b)) for a, b in intervals if _utc(b) > _utc(a))
    merged: list[Interval] = []
    for a, b in ordered:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _minus(keep: list[Interval], cut: list[Interval]) -> list[Interval]:
    """``keep`` without ``cut`` (both sorted and disjoint), in one forward pass over each."""
    out: list[Interval] = []
    j = 0
    for a, b in keep:
        start = a
        while j < len(cut) and cut[j][1] <= start:
            j += 1
        k = j
        while k < len(cut) and cut[k][0] < b:
            if cut[k][0] > start:
                out.append((start, cut[k][0]))
            start = max(start, cut[k][1])
            k += 1
        if start < b:
            out.append((start, b))
    return out


def _hours(cal: SupportCalendar, first: datetime, last: datetime) -> list[Interval]:
    """The calendar's intervals clipped to [first, last)."""
    spans: list[Interval] = []
    day = cal.local_date(first)
    while day <= cal.local_date(last):
        span = cal.span_on(day)
        if span is not None:
            a, b = max(span[0], first), min(span[1], last)
            if a < b:
                spans.append((a, b))
        day += timedelta(days=1)
    return spans


def _length(intervals: Iterable[Interval]) -> timedelta:
    return sum((b - a for a, b in intervals), timedelta())


def figure(
    cal: SupportCalendar,
    period: Interval,
    outages: Sequence[Interval],
    planned: Sequence[Interval] = (),
) -> Figure:
    """Availability over ``period`` = [start, end): outages, less planned work, in the hours.

    Overlapping outages count once; planned outages are agreed, so neither
    their minutes of outage nor their minutes of availability hours count.
    Minutes are whole: the seconds of each total are dropped.
    """
    first, last = _utc(period[0]), _utc(period[1])
    agreed = _merged(planned)
    hours = _minus(_hours(cal, first, last), agreed)
    down = _minus(_merged(outages), agreed)
    within = _minus(hours, _minus(hours, down))
    return Figure(_length(hours) // _MINUTE, _length(within) // _MINUTE)
