"""Tests for the support-time calendar (mailbot.sla.calendar) and the deadlines a new call gets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.rules.files import Escalation
from mailbot.sla import clock as sla
from mailbot.sla.calendar import (
    SupportCalendar,
    Target,
    add_support_days,
    add_support_minutes,
    calendar_from_rules,
    clock_start,
    describe,
    support_minutes_between,
)

LONDON = ZoneInfo("Europe/London")
TERM_HOURS = (time(8), time(17))
HOLIDAY_HOURS = (time(9), time(16))
# 2026-27 is the owners' published year; the years either side are plausible terms made
# up so that random instants in 2025-2028 meet term boundaries too.
TERMS = (
    (date(2025, 9, 3), date(2025, 10, 24)),
    (date(2025, 11, 3), date(2025, 12, 19)),
    (date(2026, 1, 5), date(2026, 2, 13)),
    (date(2026, 2, 23), date(2026, 3, 27)),
    (date(2026, 4, 13), date(2026, 5, 22)),
    (date(2026, 6, 1), date(2026, 7, 22)),
    (date(2026, 9, 3), date(2026, 10, 23)),
    (date(2026, 11, 2), date(2026, 12, 18)),
    (date(2027, 1, 5), date(2027, 2, 12)),
    (date(2027, 2, 22), date(2027, 3, 26)),
    (date(2027, 4, 12), date(2027, 5, 28)),
    (date(2027, 6, 7), date(2027, 7, 21)),
    (date(2027, 9, 2), date(2027, 10, 22)),
    (date(2027, 11, 1), date(2027, 12, 17)),
)
CLOSURES = frozenset({date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)})
# England and Wales bank holidays as published by gov.uk, written out by hand so that the
# reference below does not depend on the holidays library the module uses.
BANK_HOLIDAYS = frozenset(
    date(year, month, day)
    for year, days in {
        2025: ((1, 1), (4, 18), (4, 21), (5, 5), (5, 26), (8, 25), (12, 25), (12, 26)),
        2026: ((1, 1), (4, 3), (4, 6), (5, 4), (5, 25), (8, 31), (12, 25), (12, 28)),
        2027: ((1, 1), (3, 26), (3, 29), (5, 3), (5, 31), (8, 30), (12, 27), (12, 28)),
        2028: ((1, 3), (4, 14), (4, 17), (5, 1), (5, 29), (8, 28), (12, 25), (12, 26)),
        2029: ((1, 1), (3, 30), (4, 2), (5, 7), (5, 28), (8, 27), (12, 25), (12, 26)),
    }.items()
    for month, day in days
)


def last_sunday(year: int, month: int) -> date:
    """The last Sunday of a 31-day month: when UK clocks change in March and October."""
    end = date(year, month, 31)
    return end - timedelta(days=(end.weekday() + 1) % 7)


CLOCK_CHANGE_SUNDAYS = tuple(last_sunday(y, m) for y in range(2025, 2030) for m in (3, 10))
TARGETS = {
    "P1": (Target(1, "hours"), Target(1, "days")),
    "P2": (Target(1, "days"), Target(2, "days")),
    "P3": (Target(1, "days"), Target(5, "days")),
    "P4": (Target(1, "days"), Target(10, "days")),
}
SHARES = ((1, 0.65), (2, 0.85))
CAL = calendar_from_rules("Europe/London", "08:00-17:00", "09:00-16:00", TERMS, CLOSURES)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Deadlines:
    """A new call's clock start, its due instants and its escalation instants."""

    start: datetime
    response_due: datetime
    fix_due: datetime
    escalations: tuple[tuple[int, datetime], ...]


def deadlines(
    cal: SupportCalendar,
    logged: datetime,
    response: Target,
    fix: Target,
    shares: Sequence[tuple[int, float]],
) -> Deadlines:
    """Every deadline of a call logged at ``logged``, worked out as the service does.

    The calls store starts the clock with ``clock_start`` and the scheduler asks
    ``sla.clock`` for the due instants and each escalation level's instant.
    """
    levels = tuple(sla.EscalationLevel(level, share, ()) for level, share in shares)
    policy = sla.SlaPolicy(
        calendar=cal,
        targets={"P": (response, fix)},
        levels=levels,
        pause_statuses=frozenset(),
        close_after=Target(5, "days"),
        reopen_within=Target(5, "days"),
    )
    clock = sla.Clock(priority="P", status="open", start=clock_start(cal, logged))
    due = sla.due(policy, clock)
    escalations = tuple((lv.level, sla.escalation_at(policy, clock, lv)) for lv in levels)
    return Deadlines(clock.start, due.response_due, due.fix_due, escalations)


def london(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=LONDON)


def at(text: str) -> datetime:
    """A London wall time written as "2026-11-20 16:30"."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


# --- an independent, slow reference: wall-clock checks, minute by minute in UTC ----------


def ref_hours(day: date) -> tuple[time, time] | None:
    if day.weekday() >= 5 or day in BANK_HOLIDAYS or day in CLOSURES:
        return None
    return TERM_HOURS if any(a <= day <= b for a, b in TERMS) else HOLIDAY_HOURS


def ref_is_support(t: datetime) -> bool:
    local = t.astimezone(LONDON)
    hours = ref_hours(local.date())
    return hours is not None and hours[0] <= local.time() < hours[1]


def ref_clock_start(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    while not ref_is_support(t):
        t += MINUTE
    return t


def ref_add_minutes(start: datetime, minutes: int) -> datetime:
    t, counted = start.astimezone(UTC), 0
    while counted < minutes:
        counted += ref_is_support(t)
        t += MINUTE
    return t


def ref_between(a: datetime, b: datetime) -> int:
    t, counted = a.astimezone(UTC), 0
    while t < b:
        counted += ref_is_support(t)
        t += MINUTE
    return counted


def ref_add_days(start: datetime, days: int) -> datetime:
    local = start.astimezone(LONDON)
    day = local.date()
    while days:
        day += timedelta(days=1)
        days -= ref_hours(day) is not None
    opens, closes = ref_hours(day) or (time(0), time(0))
    wall = min(max(local.time(), opens), closes)
    return datetime.combine(day, wall, LONDON)


# --- strategies ----------------------------------------------------------------------------

BASE = datetime(2025, 1, 1, tzinfo=UTC)
ANYWHEN = st.integers(0, 4 * 366 * 1440).map(lambda m: BASE + m * MINUTE)
NEAR_CHANGES = st.tuples(
    st.sampled_from((*CLOCK_CHANGE_SUNDAYS, date(2026, 12, 27), date(2027, 3, 28))),
    st.integers(-4 * 1440, 4 * 1440),
).map(lambda p: datetime.combine(p[0], time(1), UTC) + p[1] * MINUTE)
# The same instants written in different zones, to show the written form does not matter.
INSTANTS = st.tuples(
    st.one_of(ANYWHEN, NEAR_CHANGES),
    st.sampled_from((UTC, LONDON, timezone(timedelta(hours=5, minutes=30)))),
).map(lambda p: p[0].astimezone(p[1]))
FEW_DAYS = st.integers(0, 3 * 9 * 60)
QUICK = settings(max_examples=200, deadline=None)


def same_instant(a: datetime, b: datetime) -> bool:
    """Whether two aware datetimes name the same instant.

    Plain == is not enough: Python never counts a London time in the repeated autumn
    hour equal to a datetime in another zone (PEP 495), even when both are one instant.
    """
    return a.astimezone(UTC) == b.astimezone(UTC)


def within_hours(t: datetime) -> bool:
    local = t.astimezone(LONDON)
    hours = ref_hours(local.date())
    return hours is not None and hours[0] <= local.time() <= hours[1]


# --- properties ----------------------------------------------------------------------------


@QUICK
@given(INSTANTS)
def test_is_support_time_agrees_with_reference(t: datetime) -> None:
    assert CAL.is_support_time(t) == ref_is_support(t)


@QUICK
@given(INSTANTS)
def test_clock_start_agrees_with_reference(t: datetime) -> None:
    assert same_instant(clock_start(CAL, t), ref_clock_start(t))


@QUICK
@given(INSTANTS, FEW_DAYS)
def test_add_support_minutes_agrees_with_reference(t: datetime, minutes: int) -> None:
    assert same_instant(add_support_minutes(CAL, t, minutes), ref_add_minutes(t, minutes))


@QUICK
@given(INSTANTS, st.integers(0, 5 * 1440))
def test_support_minutes_between_agrees_with_reference(a: datetime, gap: int) -> None:
    b = a + gap * MINUTE
    assert support_minutes_between(CAL, a, b) == ref_between(a, b)


@QUICK
@given(INSTANTS, st.integers(0, 12))
def test_add_support_days_agrees_with_reference(t: datetime, days: int) -> None:
    start = clock_start(CAL, t)
    assert same_instant(add_support_days(CAL, start, days), ref_add_days(start, days))


@QUICK
@given(INSTANTS, st.integers(0, 20_000), st.integers(0, 59_999_999))
def test_measuring_what_was_added_gives_back_the_minutes(
    t: datetime, minutes: int, micros: int
) -> None:
    start = t + timedelta(microseconds=micros)
    assert support_minutes_between(CAL, start, add_support_minutes(CAL, start, minutes)) == minutes


@QUICK
@given(INSTANTS, st.integers(1, 20_000))
def test_added_minutes_end_within_support_hours_close_included(t: datetime, minutes: int) -> None:
    assert within_hours(add_support_minutes(CAL, t, minutes))


@QUICK
@given(INSTANTS, st.integers(1, 20_000))
def test_adding_from_clock_start_is_the_same_as_adding_from_logged(
    t: datetime, minutes: int
) -> None:
    assert add_support_minutes(CAL, clock_start(CAL, t), minutes) == add_support_minutes(
        CAL, t, minutes
    )


@QUICK
@given(INSTANTS, st.integers(0, 20_000), st.integers(0, 20_000))
def test_support_minutes_between_adds_up_over_consecutive_stretches(
    a: datetime, gap1: int, gap2: int
) -> None:
    b, c = a + gap1 * MINUTE, a + (gap1 + gap2) * MINUTE
    whole = support_minutes_between(CAL, a, c)
    assert whole == support_minutes_between(CAL, a, b) + support_minutes_between(CAL, b, c)


@QUICK
@given(INSTANTS, st.sampled_from(sorted(TARGETS)))
def test_deadlines_fall_in_support_hours_and_in_order(t: datetime, priority: str) -> None:
    response, fix = TARGETS[priority]
    due = deadlines(CAL, t, response, fix, SHARES)
    (_, first), (_, second) = due.escalations
    assert all(within_hours(x) for x in (due.start, due.response_due, due.fix_due, first, second))
    assert t <= due.start <= first <= second <= due.fix_due
    assert due.start <= due.response_due
    assert all(x.tzinfo is LONDON for x in (due.start, due.response_due, due.fix_due, first))


# --- the owners' examples --------------------------------------------------------------------


def test_p2_logged_late_friday_in_term_is_due_same_time_monday_and_tuesday() -> None:
    due = deadlines(CAL, london(2026, 11, 20, 16, 30), *TARGETS["P2"], SHARES)
    assert (due.response_due, due.fix_due) == (
        london(2026, 11, 23, 16, 30),
        london(2026, 11, 24, 16, 30),
    )


def test_p1_logged_quarter_to_five_friday_is_due_quarter_to_nine_monday() -> None:
    due = deadlines(CAL, london(2026, 11, 20, 16, 45), *TARGETS["P1"], SHARES)
    assert due.response_due == london(2026, 11, 23, 8, 45)


def test_p1_emailed_on_good_friday_starts_at_nine_on_the_tuesday_after_easter() -> None:
    due = deadlines(CAL, london(2027, 3, 26, 11, 0), *TARGETS["P1"], SHARES)
    assert due.start == london(2027, 3, 30, 9, 0)
    assert due.start == datetime(2027, 3, 30, 8, 0, tzinfo=UTC)


def test_p2_escalates_at_65_and_85_percent_of_its_fix_time() -> None:
    # Fix time is 30 + 540 + 510 = 1080 support minutes; 65% is 702, 85% is 918.
    due = deadlines(CAL, london(2026, 11, 20, 16, 30), *TARGETS["P2"], SHARES)
    assert due.escalations == ((1, london(2026, 11, 24, 10, 12)), (2, london(2026, 11, 24, 13, 48)))


def test_escalation_rounds_up_to_the_minute_its_share_has_fully_elapsed() -> None:
    # The fix is due at 16:00 on Monday (16:50 moved into holiday hours), so the fix time
    # is 10 + 540 + 420 = 970 minutes; 65% is 630.5 and 85% is 824.5, rounded up.
    due = deadlines(CAL, london(2026, 12, 17, 16, 50), *TARGETS["P2"], SHARES)
    assert due.escalations == ((1, london(2026, 12, 21, 10, 21)), (2, london(2026, 12, 21, 13, 35)))


def test_escalation_share_is_read_as_the_decimal_written_in_the_rules() -> None:
    # 0.07 * 300 is 21.000000000000004 in binary floating point; the rule means 21.
    due = deadlines(
        CAL, london(2026, 11, 18, 10), Target(1, "hours"), Target(5, "hours"), [(1, 0.07)]
    )
    assert due.escalations == ((1, london(2026, 11, 18, 10, 21)),)


# --- every priority at a few instants ----------------------------------------------------------

PRIORITY_TABLE = [
    # logged, priority, clock start, response due, fix due (all London wall times)
    ("2026-11-18 10:00", "P1", "2026-11-18 10:00", "2026-11-18 11:00", "2026-11-19 10:00"),
    ("2026-11-18 10:00", "P2", "2026-11-18 10:00", "2026-11-19 10:00", "2026-11-20 10:00"),
    ("2026-11-18 10:00", "P3", "2026-11-18 10:00", "2026-11-19 10:00", "2026-11-25 10:00"),
    ("2026-11-18 10:00", "P4", "2026-11-18 10:00", "2026-11-19 10:00", "2026-12-02 10:00"),
    ("2026-11-21 12:00", "P1", "2026-11-23 08:00", "2026-11-23 09:00", "2026-11-24 08:00"),
    ("2026-11-21 12:00", "P2", "2026-11-23 08:00", "2026-11-24 08:00", "2026-11-25 08:00"),
    ("2026-11-21 12:00", "P3", "2026-11-23 08:00", "2026-11-24 08:00", "2026-11-30 08:00"),
    ("2026-11-21 12:00", "P4", "2026-11-23 08:00", "2026-11-24 08:00", "2026-12-07 08:00"),
    ("2026-12-16 15:30", "P1", "2026-12-16 15:30", "2026-12-16 16:30", "2026-12-17 15:30"),
    ("2026-12-16 15:30", "P2", "2026-12-16 15:30", "2026-12-17 15:30", "2026-12-18 15:30"),
    ("2026-12-16 15:30", "P3", "2026-12-16 15:30", "2026-12-17 15:30", "2026-12-23 15:30"),
    ("2026-12-16 15:30", "P4", "2026-12-16 15:30", "2026-12-17 15:30", "2027-01-07 15:30"),
    ("2027-04-01 07:00", "P1", "2027-04-01 09:00", "2027-04-01 10:00", "2027-04-02 09:00"),
    ("2027-04-01 07:00", "P2", "2027-04-01 09:00", "2027-04-02 09:00", "2027-04-05 09:00"),
    ("2027-04-01 07:00", "P3", "2027-04-01 09:00", "2027-04-02 09:00", "2027-04-08 09:00"),
    ("2027-04-01 07:00", "P4", "2027-04-01 09:00", "2027-04-02 09:00", "2027-04-15 09:00"),
]


@pytest.mark.parametrize(("logged", "priority", "start", "response", "fix"), PRIORITY_TABLE)
def test_priority_targets_fall_due_on_the_expected_support_days(
    logged: str, priority: str, start: str, response: str, fix: str
) -> None:
    due = deadlines(CAL, at(logged), *TARGETS[priority], SHARES)
    assert (due.start, due.response_due, due.fix_due) == (at(start), at(response), at(fix))


def test_hour_target_running_past_close_continues_at_next_opening_in_holiday_hours() -> None:
    # Friday 18 December is the last day of term; Monday 21 December opens at 09:00.
    assert add_support_minutes(CAL, london(2026, 12, 18, 16, 30), 60) == london(2026, 12, 21, 9, 30)


def test_hour_target_ending_exactly_at_close_is_due_at_close_not_next_morning() -> None:
    assert add_support_minutes(CAL, london(2026, 11, 20, 16), 60) == london(2026, 11, 20, 17)


def test_day_target_after_holiday_close_moves_back_to_close() -> None:
    # Last day of autumn half term's eve: 16:30 on a term day, due on half-term days.
    due = deadlines(CAL, london(2026, 10, 23, 16, 30), *TARGETS["P2"], SHARES)
    assert (due.response_due, due.fix_due) == (london(2026, 10, 26, 16), london(2026, 10, 27, 16))


def test_day_target_before_holiday_opening_moves_forward_to_opening() -> None:
    due = deadlines(CAL, london(2026, 12, 18, 8, 15), *TARGETS["P2"], SHARES)
    assert (due.response_due, due.fix_due) == (london(2026, 12, 21, 9), london(2026, 12, 22, 9))


def test_calls_logged_before_christmas_skip_bank_holidays_closures_and_weekends() -> None:
    due = deadlines(CAL, london(2026, 12, 24, 15, 30), *TARGETS["P1"], SHARES)
    assert (due.response_due, due.fix_due) == (
        london(2027, 1, 4, 9, 30),
        london(2027, 1, 4, 15, 30),
    )


def test_call_logged_on_a_closure_day_starts_at_the_next_opening() -> None:
    assert clock_start(CAL, london(2026, 12, 30, 10)) == london(2027, 1, 4, 9)


def test_call_logged_on_a_bank_holiday_starts_next_support_day() -> None:
    assert clock_start(CAL, london(2026, 8, 31, 10)) == london(2026, 9, 1, 9)


def test_call_logged_at_closing_time_starts_next_support_day() -> None:
    assert clock_start(CAL, london(2026, 11, 19, 17)) == london(2026, 11, 20, 8)


# --- clock changes -----------------------------------------------------------------------------

CLOCK_CHANGE_TABLE = [
    # P1 logged 16:30 local before a change weekend: response due, as a UTC instant.
    ((2026, 3, 27, 16, 30), datetime(2026, 3, 30, 8, 30, tzinfo=UTC)),  # into BST, holidays
    ((2026, 10, 23, 16, 30), datetime(2026, 10, 26, 9, 30, tzinfo=UTC)),  # into GMT, half term
    ((2027, 3, 25, 16, 30), datetime(2027, 3, 30, 8, 30, tzinfo=UTC)),  # into BST over Easter
    ((2027, 10, 29, 16, 30), datetime(2027, 11, 1, 9, 0, tzinfo=UTC)),  # half term to term, GMT
]


@pytest.mark.parametrize(("logged", "due_utc"), CLOCK_CHANGE_TABLE)
def test_p1_logged_friday_before_clock_change_is_due_at_right_instant_monday(
    logged: tuple[int, ...], due_utc: datetime
) -> None:
    assert deadlines(CAL, london(*logged), *TARGETS["P1"], SHARES).response_due == due_utc


def test_day_target_keeps_wall_time_across_spring_change() -> None:
    # 10:00 GMT on Friday is 10:00 UTC; 10:00 BST on Monday is 09:00 UTC.
    due = add_support_days(CAL, london(2026, 3, 27, 10), 1)
    assert due == datetime(2026, 3, 30, 9, tzinfo=UTC)


def test_support_minutes_over_the_autumn_weekend_count_only_support_hours() -> None:
    minutes = support_minutes_between(CAL, london(2026, 10, 23, 16), london(2026, 10, 26, 10))
    assert minutes == 60 + 60


def test_logged_time_in_the_skipped_spring_hour_is_accepted() -> None:
    assert clock_start(CAL, london(2026, 3, 29, 1, 30)) == london(2026, 3, 30, 9)


def test_logged_time_in_the_repeated_autumn_hour_is_read_as_the_instant_it_names() -> None:
    first = datetime(2026, 10, 25, 1, 30, fold=0, tzinfo=LONDON)
    second = datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON)
    assert support_minutes_between(CAL, first, second) == 0
    assert clock_start(CAL, first) == clock_start(CAL, second) == london(2026, 10, 26, 9)


def test_results_are_in_the_calendar_zone_whatever_zone_the_input_used() -> None:
    due = clock_start(CAL, datetime(2026, 11, 20, 10, tzinfo=UTC))
    assert due.tzinfo is LONDON and due.hour == 10


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        clock_start(CAL, datetime(2026, 11, 20, 10))


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_support_minutes(CAL, london(2026, 11, 20, 10), -1)


def test_escalation_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        Escalation(level=1, share=1.5, notify=("assignee",))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (london(2026, 11, 20, 7, 59), False),
        (london(2026, 11, 20, 8, 0), True),
        (london(2026, 11, 20, 16, 59, 59), True),
        (london(2026, 11, 20, 17, 0), False),
        (london(2026, 10, 26, 8, 30), False),
        (london(2026, 10, 26, 15, 59), True),
        (london(2026, 10, 26, 16, 0), False),
    ],
)
def test_is_support_time_includes_opening_and_excludes_closing(
    when: datetime, expected: bool
) -> None:
    assert CAL.is_support_time(when) is expected


# --- the calendar ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (date(2026, 11, 20), TERM_HOURS),
        (date(2026, 10, 28), HOLIDAY_HOURS),
        (date(2026, 11, 21), None),
        (date(2027, 3, 29), None),
        (date(2026, 12, 29), None),
    ],
    ids=["term", "half-term", "saturday", "easter-monday", "closure"],
)
def test_hours_on_depends_on_term_weekends_bank_holidays_and_closures(
    day: date, hours: tuple[time, time] | None
) -> None:
    assert CAL.hours_on(day) == hours


def test_bank_holidays_match_the_published_dates_for_2025_to_2029() -> None:
    days = (date(2025, 1, 1) + timedelta(days=n) for n in range(5 * 365))
    off = {d for d in days if d.weekday() < 5 and d not in CLOSURES and CAL.hours_on(d) is None}
    assert off == {d for d in BANK_HOLIDAYS if d.weekday() < 5}


def test_calendars_built_from_equal_rules_are_equal_and_hash_alike() -> None:
    other = calendar_from_rules("Europe/London", "08:00-17:00", "09:00-16:00", TERMS, CLOSURES)
    CAL.hours_on(date(2026, 11, 20))
    assert other == CAL and hash(other) == hash(CAL)


@pytest.mark.parametrize(
    ("zone", "term", "holiday", "message"),
    [
        ("Europe/Nowhere", "08:00-17:00", "09:00-16:00", "unknown time zone"),
        ("Europe/London", "8am-5pm", "09:00-16:00", "cannot read support hours"),
        ("Europe/London", "08:00-17:00", "09:00-25:00", "not real times"),
        ("Europe/London", "17:00-08:00", "09:00-16:00", "open before they close"),
    ],
)
def test_calendar_from_rules_explains_bad_rule_values(
    zone: str, term: str, holiday: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        calendar_from_rules(zone, term, holiday, TERMS, CLOSURES)


def test_unknown_bank_holiday_region_is_refused() -> None:
    with pytest.raises(ValueError, match="bank holiday region"):
        SupportCalendar(LONDON, TERM_HOURS, HOLIDAY_HOURS, (), frozenset(), ("GB", "XYZ"))


# --- targets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("1 hour", Target(1, "hours")),
        ("4 hours", Target(4, "hours")),
        ("2 days", Target(2, "days")),
        ("1 Day", Target(1, "days")),
        ("1 week", Target(5, "days")),
        ("2 weeks", Target(10, "days")),
        (" 10 days ", Target(10, "days")),
    ],
)
def test_target_parse_reads_hours_days_and_weeks(text: str, target: Target) -> None:
    assert Target.parse(text) == target


@pytest.mark.parametrize("text", ["", "one day", "1.5 days", "2 fortnights", "-1 days", "0 days"])
def test_target_parse_refuses_unreadable_targets(text: str) -> None:
    with pytest.raises(ValueError, match="target"):
        Target.parse(text)


# --- describe ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "words"),
    [
        (london(2026, 11, 24, 16, 30), "by 4.30pm on Tuesday 24 November"),
        (london(2026, 11, 23, 8, 45), "by 8.45am on Monday 23 November"),
        (london(2026, 11, 23, 12, 0), "by 12 noon on Monday 23 November"),
        (london(2026, 11, 23, 12, 5, 59), "by 12.05pm on Monday 23 November"),
        (london(2027, 1, 4, 9), "by 9am on Monday 4 January 2027"),
        (datetime(2026, 11, 23, 9, tzinfo=UTC), "by 9am on Monday 23 November"),
        (datetime(2026, 10, 26, 9, tzinfo=UTC), "by 9am on Monday 26 October"),
        (datetime(2026, 3, 30, 8, tzinfo=UTC), "by 9am on Monday 30 March"),
    ],
)
def test_describe_says_local_time_and_day_and_year_only_when_it_differs(
    when: datetime, words: str
) -> None:
    assert describe(when, CAL, london(2026, 11, 20, 10)) == words


def test_describe_leaves_out_the_year_when_reference_is_in_the_same_year() -> None:
    assert (
        describe(london(2027, 3, 30, 9), CAL, london(2027, 3, 26)) == "by 9am on Tuesday 30 March"
    )


def test_describe_without_reference_names_the_year() -> None:
    assert describe(london(2027, 3, 30, 9), CAL) == "by 9am on Tuesday 30 March 2027"
