"""Availability arithmetic (issue 15 part 3) against a minute-by-minute reference.

Pure functions on the shipped rules' calendar: no server, no database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import SHIPPED_RULES, local, rules_in

from mailbot.incidents.availability import Interval, availability_calendar, figure

CAL = availability_calendar(rules_in(SHIPPED_RULES).calendar, "08:00-18:00", "09:00-16:00")
# Eight days around the end of the autumn term: term days, holiday days, a
# weekend and the Christmas bank holidays all fall inside.
BASE = datetime(2026, 12, 16, tzinfo=UTC)
SPAN = 8 * 24 * 60


def at(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


def reference(
    period: Interval, outages: list[Interval], planned: list[Interval]
) -> tuple[int, int]:
    """(hours, down) counted one minute at a time."""
    hours = down = 0
    t = period[0]
    while t < period[1]:
        agreed = any(a <= t < b for a, b in planned)
        if CAL.is_support_time(t) and not agreed:
            hours += 1
            down += any(a <= t < b for a, b in outages)
        t += timedelta(minutes=1)
    return hours, down


minutes = st.integers(min_value=0, max_value=SPAN)
intervals = st.lists(st.tuples(minutes, minutes), max_size=4)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(minutes, minutes), intervals, intervals)
# One outage inside another, on a term morning (16 December, 09:00-11:00 UTC).
@example((0, 24 * 60), [(9 * 60, 11 * 60), (9 * 60 + 30, 10 * 60)], [])
def test_availability_matches_counting_each_minute(
    period: tuple[int, int], outages: list[tuple[int, int]], planned: list[tuple[int, int]]
) -> None:
    span = (at(min(period)), at(max(period)))
    down = [(at(a), at(b)) for a, b in outages]
    agreed = [(at(a), at(b)) for a, b in planned]
    got = figure(CAL, span, down, agreed)
    assert (got.hours_minutes, got.down_minutes) == reference(span, down, agreed)


def test_a_term_day_has_ten_hours_and_a_holiday_day_seven() -> None:
    term = figure(CAL, (local(2026, 11, 23, 0, 0), local(2026, 11, 24, 0, 0)), [])
    holiday = figure(CAL, (local(2026, 12, 29, 0, 0), local(2026, 12, 30, 0, 0)), [])
    christmas = figure(CAL, (local(2026, 12, 25, 0, 0), local(2026, 12, 26, 0, 0)), [])
    assert (term.hours_minutes, holiday.hours_minutes, christmas.hours_minutes) == (600, 420, 0)


def test_a_night_outage_costs_nothing_and_planned_work_is_excluded() -> None:
    day = (local(2026, 11, 23, 0, 0), local(2026, 11, 24, 0, 0))
    night = figure(CAL, day, [(local(2026, 11, 23, 1, 0), local(2026, 11, 23, 7, 0))])
    assert (night.down_minutes, night.percent) == (0, 100.0)
    hour = (local(2026, 11, 23, 10, 0), local(2026, 11, 23, 11, 0))
    unplanned = figure(CAL, day, [hour])
    assert (unplanned.hours_minutes, unplanned.down_minutes) == (600, 60)
    assert round(unplanned.percent, 2) == 90.0
    agreed = figure(CAL, day, [hour], [hour])
    assert (agreed.hours_minutes, agreed.down_minutes, agreed.percent) == (540, 0, 100.0)
