"""The definition of "fixed within target", and months, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support import LONDON, local

from mailbot.reports.figures import CallRow, IncidentRow, Outcome, compute, judge
from mailbot.sla.months import Month

DUE = local(2026, 11, 20, 16, 0)
LATER = local(2026, 12, 1, 9, 0)


def call(**kw: object) -> CallRow:
    fields: dict[str, object] = {
        "ref": "ICT-000001",
        "school_id": "oakfield-primary",
        "type": "incident",
        "priority": "P2",
        "status": "open",
        "subject": "Slow",
        "created_at": local(2026, 11, 18, 10, 0),
        "fix_due_at": DUE,
        "solved_at": None,
    }
    fields.update(kw)
    return CallRow(**fields)  # type: ignore[arg-type]


def test_solved_at_the_target_instant_is_within_target() -> None:
    assert judge(call(status="solved", solved_at=DUE), LATER) == (Outcome.IN_TARGET, DUE)


def test_solved_a_minute_late_missed_and_counts_when_the_target_passed() -> None:
    late = DUE + timedelta(minutes=1)
    assert judge(call(status="solved", solved_at=late), LATER) == (Outcome.MISSED, DUE)


def test_a_request_declined_rejected_or_withdrawn_is_neither_in_target_nor_missed() -> None:
    closed = call(status="closed", solved_at=DUE - timedelta(hours=1), withdrawn=True)
    assert judge(closed, LATER) == (Outcome.NOT_WORKED, None)
    assert judge(call(status="closed", withdrawn=True), LATER) == (Outcome.NOT_WORKED, None)


def test_open_past_its_target_missed() -> None:
    assert judge(call(), LATER) == (Outcome.MISSED, DUE)


def test_open_before_its_target_is_not_yet_due() -> None:
    assert judge(call(), DUE - timedelta(minutes=1)) == (Outcome.NOT_YET_DUE, None)


def test_a_clock_stopped_before_the_target_is_not_yet_due() -> None:
    waiting = call(status="awaiting_customer", paused_since=DUE - timedelta(hours=3))
    assert judge(waiting, LATER) == (Outcome.NOT_YET_DUE, None)


def test_a_clock_stopped_after_the_target_had_passed_missed() -> None:
    waiting = call(status="awaiting_customer", paused_since=DUE + timedelta(hours=3))
    assert judge(waiting, LATER) == (Outcome.MISSED, DUE)


def test_a_solved_call_solved_after_december_started_counts_in_november_when_late() -> None:
    row = call(status="solved", solved_at=local(2026, 12, 2, 10, 0))
    figures = compute(Month(2026, 11), [row], [], [], aims={}, zone=LONDON, now=LATER)
    assert [j.call.ref for j in figures.missed] == ["ICT-000001"]


def test_a_call_logged_in_november_and_solved_in_time_in_december_counts_in_december() -> None:
    row = call(
        created_at=local(2026, 11, 30, 15, 0),
        fix_due_at=local(2026, 12, 2, 15, 0),
        solved_at=local(2026, 12, 1, 11, 0),
        status="solved",
    )
    now = local(2027, 1, 4, 9, 0)
    november = compute(Month(2026, 11), [row], [], [], aims={}, zone=LONDON, now=now)
    december = compute(Month(2026, 12), [row], [], [], aims={}, zone=LONDON, now=now)
    assert (november.total.judged, november.not_yet_due, len(november.logged)) == (0, 1, 1)
    assert (december.total.in_target, len(december.logged)) == (1, 0)


def test_month_boundaries_are_local_midnight_across_summer_time() -> None:
    start, end = Month(2027, 3).bounds(LONDON)
    assert start.astimezone(UTC) == datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
    # The clocks go forward on 28 March: April starts at 23:00 UTC.
    assert end.astimezone(UTC) == datetime(2027, 3, 31, 23, 0, tzinfo=UTC)
    assert Month(2027, 3).holds(datetime(2027, 3, 31, 22, 59, tzinfo=UTC), LONDON)
    assert not Month(2027, 3).holds(datetime(2027, 3, 31, 23, 0, tzinfo=UTC), LONDON)


def test_months_parse_shift_and_read() -> None:
    assert Month.parse("2026-11").shift(2) == Month(2027, 1)
    assert Month(2027, 1).shift(-12) == Month(2026, 1)
    assert (str(Month(2026, 3)), Month(2026, 11).label) == ("2026-03", "November 2026")


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "26-11", "November", ""])
def test_a_month_that_is_not_one_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="2026-11"):
        Month.parse(bad)


def test_an_incident_active_during_the_month_is_listed_and_one_outside_it_is_not() -> None:
    incidents = [
        IncidentRow("MI-1", "Before", local(2026, 10, 1, 9, 0), local(2026, 10, 1, 12, 0)),
        IncidentRow("MI-2", "Across", local(2026, 10, 31, 22, 0), local(2026, 11, 1, 3, 0)),
        IncidentRow("MI-3", "Still on", local(2026, 11, 29, 9, 0), None),
        IncidentRow("MI-4", "After", local(2026, 12, 1, 9, 0), None),
    ]
    figures = compute(Month(2026, 11), [], [], incidents, aims={}, zone=LONDON, now=LATER)
    assert [i.ref for i in figures.incidents] == ["MI-2", "MI-3"]


def test_a_month_with_nothing_in_it_is_empty() -> None:
    figures = compute(Month(2026, 11), [], [], [], aims={"incident": 0.97}, zone=LONDON, now=LATER)
    assert figures.empty
    assert [(s.key, s.share, s.met) for s in figures.shares] == [("incident", None, None)]
