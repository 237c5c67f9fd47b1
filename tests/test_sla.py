"""Tests for the SLA clock: due instants, pauses, revised deadlines, solving and reopening."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import SHIPPED_RULES, local

from mailbot.rules.loader import load_rules
from mailbot.sla import clock as sla
from mailbot.sla.calendar import add_support_minutes, clock_start, support_minutes_between
from mailbot.sla.clock import Clock

POLICY = load_rules(SHIPPED_RULES).clock
CAL = POLICY.calendar
FRIDAY_1630 = local(2026, 11, 20, 16, 30)


def p2(start: datetime = FRIDAY_1630, **kw: object) -> Clock:
    return Clock(priority="P2", status="open", start=start, **kw)  # type: ignore[arg-type]


def test_p2_due_times_follow_the_targets_from_the_clock_start() -> None:
    due = sla.due(POLICY, p2())
    assert due.response_due == local(2026, 11, 23, 16, 30)
    assert due.fix_due == local(2026, 11, 24, 16, 30)


def test_first_escalation_is_level_1_at_65_percent_of_the_fix_time() -> None:
    # Fri 16:30 to Tue 16:30 is 30 + 540 + 510 = 1080 support minutes; 65% is
    # 702: 570 minutes to Monday's close, then 132 on Tuesday from 08:00.
    due = sla.due(POLICY, p2())
    assert due.next_level == 1
    assert due.next_escalation == local(2026, 11, 24, 10, 12)


def test_after_level_1_the_next_escalation_is_level_2_at_85_percent() -> None:
    # 85% of 1080 is 918 minutes: Tuesday 08:00 + 348 minutes = 13:48.
    due = sla.due(POLICY, p2(escalation_level=1))
    assert due.next_level == 2
    assert due.next_escalation == local(2026, 11, 24, 13, 48)


def test_no_escalation_is_due_once_every_level_has_fired() -> None:
    due = sla.due(POLICY, p2(escalation_level=2))
    assert due.next_escalation is None and due.next_level is None


def test_awaiting_customer_pauses_the_clock_and_stops_escalations() -> None:
    paused = sla.change_status(POLICY, p2(), "awaiting_customer", local(2026, 11, 23, 10, 0))
    assert paused.paused_since == local(2026, 11, 23, 10, 0)
    assert sla.due(POLICY, paused).next_escalation is None


def test_time_awaiting_the_school_moves_fix_and_escalations_on_by_the_pause() -> None:
    paused = sla.change_status(POLICY, p2(), "awaiting_customer", local(2026, 11, 23, 10, 0))
    resumed = sla.change_status(POLICY, paused, "open", local(2026, 11, 23, 12, 0))
    assert resumed.paused_minutes == 120
    due = sla.due(POLICY, resumed)
    # Tue 16:30 + 120 minutes: 30 to the close, 90 from Wednesday's opening.
    assert due.fix_due == local(2026, 11, 25, 9, 30)
    assert due.next_escalation == local(2026, 11, 24, 12, 12)


def test_a_pause_over_a_weekend_counts_only_support_minutes() -> None:
    paused = sla.change_status(POLICY, p2(), "awaiting_customer", FRIDAY_1630)
    resumed = sla.change_status(POLICY, paused, "in_progress", local(2026, 11, 23, 8, 30))
    assert resumed.paused_minutes == 60


def test_in_progress_does_not_pause_the_clock_under_the_shipped_rules() -> None:
    moved = sla.change_status(POLICY, p2(), "in_progress", local(2026, 11, 23, 10, 0))
    assert moved.paused_since is None
    assert sla.due(POLICY, moved).next_escalation == local(2026, 11, 24, 10, 12)


def test_pause_statuses_are_rule_data() -> None:
    policy = replace(POLICY, pause_statuses=frozenset())
    moved = sla.change_status(policy, p2(), "awaiting_customer", local(2026, 11, 23, 10, 0))
    assert moved.paused_since is None
    assert sla.due(policy, moved).next_escalation is not None


def test_a_revised_deadline_replaces_the_fix_target() -> None:
    revised = sla.revise(POLICY, p2(), local(2026, 12, 4, 15, 0), local(2026, 11, 23, 10, 0))
    assert sla.due(POLICY, revised).fix_due == local(2026, 12, 4, 15, 0)


def test_a_revised_deadline_moves_the_escalations_to_shares_of_the_new_window() -> None:
    due_at = local(2026, 12, 4, 15, 0)
    revised = sla.revise(POLICY, p2(), due_at, local(2026, 11, 23, 10, 0))
    whole = support_minutes_between(CAL, FRIDAY_1630, due_at)
    expected = add_support_minutes(CAL, FRIDAY_1630, -(-whole * 65 // 100))
    assert sla.due(POLICY, revised).next_escalation == expected


def test_a_pause_after_a_revised_deadline_moves_it_on() -> None:
    revised = sla.revise(POLICY, p2(), local(2026, 12, 4, 15, 0), local(2026, 11, 23, 10, 0))
    paused = sla.change_status(POLICY, revised, "awaiting_customer", local(2026, 11, 24, 9, 0))
    resumed = sla.change_status(POLICY, paused, "open", local(2026, 11, 24, 10, 0))
    assert sla.due(POLICY, resumed).fix_due == local(2026, 12, 4, 16, 0)


def test_a_pause_before_a_revised_deadline_does_not_move_it() -> None:
    paused = sla.change_status(POLICY, p2(), "awaiting_customer", local(2026, 11, 23, 9, 0))
    resumed = sla.change_status(POLICY, paused, "open", local(2026, 11, 23, 11, 0))
    revised = sla.revise(POLICY, resumed, local(2026, 12, 4, 15, 0), local(2026, 11, 23, 12, 0))
    assert sla.due(POLICY, revised).fix_due == local(2026, 12, 4, 15, 0)


def test_revising_during_a_pause_allows_for_the_pause_so_far() -> None:
    paused = sla.change_status(POLICY, p2(), "awaiting_customer", local(2026, 11, 23, 9, 0))
    revised = sla.revise(POLICY, paused, local(2026, 12, 4, 15, 0), local(2026, 11, 23, 11, 0))
    resumed = sla.change_status(POLICY, revised, "open", local(2026, 11, 23, 12, 0))
    # Only the hour after the agreement moves the agreed deadline.
    assert sla.due(POLICY, resumed).fix_due == local(2026, 12, 4, 16, 0)


def test_solving_stops_escalations_and_sets_the_closing_time_three_support_days_on() -> None:
    solved = sla.change_status(POLICY, p2(), "solved", local(2026, 11, 24, 14, 15))
    due = sla.due(POLICY, solved)
    assert due.next_escalation is None
    assert due.close_due == local(2026, 11, 27, 14, 15)


def test_a_closed_call_has_nothing_due() -> None:
    solved = sla.change_status(POLICY, p2(), "solved", local(2026, 11, 24, 14, 15))
    closed = sla.change_status(POLICY, solved, "closed", local(2026, 11, 27, 14, 15))
    due = sla.due(POLICY, closed)
    assert (due.next_escalation, due.close_due) == (None, None)


def test_reopening_counts_the_time_solved_as_a_pause() -> None:
    solved = sla.change_status(POLICY, p2(), "solved", local(2026, 11, 23, 9, 0))
    reopened = sla.change_status(POLICY, solved, "open", local(2026, 11, 23, 11, 30))
    assert reopened.solved_at is None and reopened.paused_minutes == 150
    assert sla.due(POLICY, reopened).fix_due == local(2026, 11, 25, 10, 0)


def test_the_reopen_window_is_one_support_day_after_solving() -> None:
    friday = local(2026, 11, 27, 15, 0)
    assert sla.reopen_deadline(POLICY, friday) == local(2026, 11, 30, 15, 0)


def test_levels_reached_late_include_every_level_passed() -> None:
    late = local(2026, 11, 24, 16, 0)
    assert [lv.level for lv in sla.levels_reached(POLICY, p2(), late)] == [1, 2]


def test_levels_reached_skip_levels_already_fired() -> None:
    late = local(2026, 11, 24, 16, 0)
    reached = sla.levels_reached(POLICY, p2(escalation_level=1), late)
    assert [lv.level for lv in reached] == [2]


def test_no_level_is_reached_before_its_instant() -> None:
    assert sla.levels_reached(POLICY, p2(), local(2026, 11, 24, 10, 11)) == []


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="statuses are"):
        sla.change_status(POLICY, p2(), "parked", local(2026, 11, 23, 9, 0))


# Instants through 2026-2028, so pauses cross terms, holidays and clock changes.
INSTANTS = st.datetimes(min_value=datetime(2026, 9, 1), max_value=datetime(2028, 6, 30)).map(
    lambda t: t.replace(second=0, microsecond=0, tzinfo=CAL.zone)
)
PAUSES = st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 3000)), max_size=4)


@settings(max_examples=150, deadline=None)
@given(INSTANTS, st.sampled_from(["P1", "P2", "P3", "P4"]), PAUSES)
def test_pauses_add_exactly_their_support_minutes_to_the_fix_time(
    logged: datetime, priority: str, pauses: list[tuple[int, int]]
) -> None:
    start = clock_start(CAL, logged)
    clock = Clock(priority=priority, status="open", start=start)
    target = sla.due(POLICY, clock).fix_due
    t = start
    for gap, length in pauses:
        t = add_support_minutes(CAL, t, gap) + timedelta(minutes=length % 7)
        clock = sla.change_status(POLICY, clock, "awaiting_customer", t)
        t = t + timedelta(minutes=length)
        clock = sla.change_status(POLICY, clock, "open", t)
    fix = sla.due(POLICY, clock).fix_due
    working = support_minutes_between(CAL, start, fix) - clock.paused_minutes
    assert working == support_minutes_between(CAL, start, target)
    assert CAL.is_support_time(fix) or CAL.is_support_time(fix - timedelta(minutes=1))


@settings(max_examples=150, deadline=None)
@given(INSTANTS, st.sampled_from(["P1", "P2", "P3", "P4"]), st.integers(0, 5000))
def test_escalations_fire_in_order_and_before_the_fix_target(
    logged: datetime, priority: str, paused: int
) -> None:
    clock = Clock(priority=priority, status="open", start=clock_start(CAL, logged))
    clock = replace(clock, paused_minutes=paused)
    fix = sla.fix_due(POLICY, clock)
    times = [sla.escalation_at(POLICY, clock, lv) for lv in POLICY.levels]
    assert times == sorted(times)
    assert all(clock.start <= at <= fix for at in times)
