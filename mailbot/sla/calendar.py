"""Support-time calendar and SLA deadline arithmetic, as pure functions over rule data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailbot.sla import holidaycache

Hours = tuple[time, time]
Span = tuple[datetime, datetime]

# England's bank holidays, the region every calendar uses unless told otherwise.
DEFAULT_REGION = ("GB", "ENG")
_ONE_DAY = timedelta(days=1)
_ONE_MINUTE = timedelta(minutes=1)
_HOURS = re.compile(r"([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})")
_TARGET = re.compile(r"([0-9]+)\s*(hour|day|week)s?", re.IGNORECASE)
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class SupportCalendar:
    """When the team gives support: weekday hours that depend on term, less days off.

    Hours are wall-clock times in `zone`. Each support day contributes one interval,
    held as UTC instants, so arithmetic across a daylight-saving change counts the
    minutes that really elapse. Every function here takes and returns aware datetimes:
    an aware input names one instant even in the repeated autumn hour, and a naive one
    is refused rather than guessed at. A wall time the spring change skips is read with
    the offset in force before the change (zoneinfo's fold=0); support hours never touch
    01:00-02:00 in practice, so that only matters for odd rule data.
    """

    zone: ZoneInfo
    term_hours: Hours
    holiday_hours: Hours
    terms: tuple[tuple[date, date], ...]
    closures: frozenset[date]
    bank_holiday_region: tuple[str, str] = DEFAULT_REGION
    # Caches, filled on first use. They are derived from the fields above, so they take no
    # part in equality or hashing; a race between threads only repeats a computation.
    _days: dict[date, tuple[Hours, Span] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _bank_holidays: dict[int, frozenset[date]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name, (opens, closes) in (("term", self.term_hours), ("holiday", self.holiday_hours)):
            if not opens < closes:
                raise ValueError(f"{name} hours must open before they close, not {opens}-{closes}")
        for first, last in self.terms:
            if first > last:
                raise ValueError(f"term {first} to {last} ends before it starts")
        # The default region is known to the library (a test says so), so it
        # is not looked up on every rules load: the first lookup imports the
        # holidays library's module for every country, which a command that
        # never asks about a bank holiday (`calls list`) need not pay for.
        if self.bank_holiday_region != DEFAULT_REGION:
            _region_holidays(self.bank_holiday_region)

    def hours_on(self, day: date) -> Hours | None:
        """The support hours on `day`, or None when there is no support that day."""
        entry = self._day(day)
        return None if entry is None else entry[0]

    def span_on(self, day: date) -> Span | None:
        """The support interval on `day` as UTC instants [open, close), or None."""
        entry = self._day(day)
        return None if entry is None else entry[1]

    def is_support_time(self, t: datetime) -> bool:
        """Whether the instant `t` falls within support hours (the closing instant does not)."""
        u = _utc(t)
        span = self.span_on(self.local_date(u))
        return span is not None and span[0] <= u < span[1]

    def local_date(self, t: datetime) -> date:
        """The calendar date of the instant `t` in this calendar's zone."""
        return _utc(t).astimezone(self.zone).date()

    def _day(self, day: date) -> tuple[Hours, Span] | None:
        if day in self._days:
            return self._days[day]
        hours = self._hours_uncached(day)
        entry = None
        if hours is not None:
            opens, closes = (_utc(datetime.combine(day, h, self.zone)) for h in hours)
            entry = (hours, (opens, closes))
        self._days[day] = entry
        return entry

    def _hours_uncached(self, day: date) -> Hours | None:
        if day.weekday() >= 5 or day in self.closures or day in self._holidays_in(day.year):
            return None
        in_term = any(first <= day <= last for first, last in self.terms)
        return self.term_hours if in_term else self.holiday_hours

    def _holidays_in(self, year: int) -> frozenset[date]:
        found = self._bank_holidays.get(year)
        if found is None:
            found = holidaycache.bank_holidays(self.bank_holiday_region, year, _region_holidays)
            self._bank_holidays[year] = found
        return found


def _region_holidays(region: tuple[str, str], year: int | None = None) -> Iterable[date]:
    """The bank holidays of ``region`` (country, subdivision) in ``year``; ValueError if unknown."""
    # Imported on first use: the library loads slowly (see SupportCalendar).
    import holidays

    country, subdiv = region
    try:
        found: Iterable[date] = holidays.country_holidays(country, subdiv=subdiv, years=year)
    except NotImplementedError as exc:
        raise ValueError(f"unknown bank holiday region {country}/{subdiv}: {exc}") from None
    return found


def parse_hours(text: str) -> Hours:
    """Read support hours written as "08:00-17:00"."""
    m = _HOURS.fullmatch(text.strip())
    if m is None:
        raise ValueError(
            f"cannot read support hours {text!r}: expected HH:MM-HH:MM, e.g. 08:00-17:00"
        )
    try:
        return time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
    except ValueError:
        raise ValueError(f"support hours {text!r} are not real times of day") from None


def calendar_from_rules(
    zone: str,
    term_hours: str,
    holiday_hours: str,
    terms: Sequence[tuple[date, date]],
    closures: Iterable[date],
) -> SupportCalendar:
    """Build a calendar from rule values as they are written in the rules files."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r}") from None
    return SupportCalendar(
        zone=tz,
        term_hours=parse_hours(term_hours),
        holiday_hours=parse_hours(holiday_hours),
        terms=tuple((first, last) for first, last in terms),
        closures=frozenset(closures),
    )


def _utc(t: datetime) -> datetime:
    """The instant `t` in UTC; naive datetimes are refused, since their instant is unknown."""
    if t.utcoffset() is None:
        raise ValueError(f"{t.isoformat()} has no time zone; support time needs real instants")
    return t.astimezone(UTC)


def _spans_from(cal: SupportCalendar, u: datetime) -> Iterator[Span]:
    """Support intervals from the UTC instant `u` onwards, the first one clipped to `u`."""
    day = cal.local_date(u)
    while True:
        span = cal.span_on(day)
        if span is not None and u < span[1]:
            yield max(u, span[0]), span[1]
        day += _ONE_DAY


def clock_start(cal: SupportCalendar, logged: datetime) -> datetime:
    """The first support instant at or after `logged`: when an SLA clock starts."""
    begin, _ = next(_spans_from(cal, _utc(logged)))
    return begin.astimezone(cal.zone)


def add_support_minutes(cal: SupportCalendar, start: datetime, minutes: int) -> datetime:
    """The earliest instant by which `minutes` of support time have passed since `start`.

    For a positive count the answer lies in support hours or is a day's closing instant
    (work finished at 17:00 on Friday is due then, not at 08:00 on Monday).
    """
    if minutes < 0:
        raise ValueError(f"cannot add a negative number of support minutes ({minutes})")
    u = _utc(start)
    left = minutes * _ONE_MINUTE
    if not left:
        return u.astimezone(cal.zone)
    for begin, end in _spans_from(cal, u):
        if left <= end - begin:
            return (begin + left).astimezone(cal.zone)
        left -= end - begin
    raise AssertionError("unreachable: support intervals never run out")


def _nth_support_day(cal: SupportCalendar, after: date, n: int) -> tuple[date, Hours]:
    day = after
    while True:
        day += _ONE_DAY
        hours = cal.hours_on(day)
        if hours is not None:
            n -= 1
            if n == 0:
                return day, hours


def add_support_days(cal: SupportCalendar, start: datetime, days: int) -> datetime:
    """The same wall time on the `days`-th support day after `start`'s day, kept within hours.

    A time before that day's opening moves to the opening and one after its closing
    moves to the closing. Callers normally pass a clock start, which is in support time.
    """
    if days < 0:
        raise ValueError(f"cannot add a negative number of support days ({days})")
    local = _utc(start).astimezone(cal.zone)
    if days == 0:
        return local
    day, (opens, closes) = _nth_support_day(cal, local.date(), days)
    wall = min(max(local.time().replace(fold=0), opens), closes)
    return _utc(datetime.combine(day, wall, cal.zone)).astimezone(cal.zone)


def support_minutes_between(cal: SupportCalendar, a: datetime, b: datetime) -> int:
    """Whole minutes of support time from `a` to `b`; 0 when `b` is not after `a`."""
    ua, ub = _utc(a), _utc(b)
    total = timedelta()
    for begin, end in _spans_from(cal, ua):
        if begin >= ub:
            break
        total += min(end, ub) - begin
    return total // _ONE_MINUTE


@dataclass(frozen=True)
class Target:
    """A response or fix target: a whole number of support hours or support days."""

    amount: int
    unit: Literal["hours", "days"]

    def __post_init__(self) -> None:
        if self.unit not in ("hours", "days"):
            raise ValueError(f"target unit must be hours or days, not {self.unit!r}")
        if self.amount < 1:
            raise ValueError(f"a target must be at least one {self.unit[:-1]}, not {self.amount}")

    @classmethod
    def parse(cls, text: str) -> Target:
        """Read "1 hour", "2 days", "1 week" (five support days) and the like."""
        m = _TARGET.fullmatch(text.strip())
        if m is None:
            raise ValueError(
                f"cannot read target {text!r}: expected a whole number of hours, days or "
                "weeks, such as '1 hour', '2 days' or '1 week'"
            )
        amount, unit = int(m[1]), m[2].lower()
        if unit == "week":
            return cls(amount * 5, "days")
        return cls(amount, "hours" if unit == "hour" else "days")


def apply_target(cal: SupportCalendar, start: datetime, target: Target) -> datetime:
    """When `target` falls due for a clock that started at `start`."""
    if target.unit == "hours":
        return add_support_minutes(cal, start, target.amount * 60)
    return add_support_days(cal, start, target.amount)


def _clock_words(t: time) -> str:
    if t.minute == 0 and t.hour in (0, 12):
        return "12 noon" if t.hour == 12 else "midnight"
    minutes = f".{t.minute:02d}" if t.minute else ""
    return f"{t.hour % 12 or 12}{minutes}{'am' if t.hour < 12 else 'pm'}"


def describe(t: datetime, cal: SupportCalendar, reference: datetime | None = None) -> str:
    """Say when `t` is in plain words and local time, e.g. "by 4.30pm on Tuesday 24 November".

    The year is added when it differs from `reference`'s, or always if there is no
    reference. Seconds are dropped, so the words never promise later than the instant.
    """
    local = _utc(t).astimezone(cal.zone)
    words = f"by {_clock_words(local.time())} on {_DAY_NAMES[local.weekday()]} {local.day} "
    words += _MONTH_NAMES[local.month - 1]
    if reference is None or _utc(reference).astimezone(cal.zone).year != local.year:
        words += f" {local.year}"
    return words
