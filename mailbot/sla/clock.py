"""A call's SLA clock: its state, how changes move it, and the due instants it implies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction

from mailbot.sla.calendar import (
    SupportCalendar,
    Target,
    add_support_minutes,
    apply_target,
    support_minutes_between,
)

# Every status a call can have.  "Live" ones run the clocks; a solved call
# waits to close, and a closed one is finished.  A request from someone not on
# the school's authorised list waits for the headteacher with its clock held,
# whatever the rules say about pauses: nobody may work it yet.  So does a
# change while the Change Advisory Board reviews it.
STATUSES = (
    "open",
    "in_progress",
    "awaiting_customer",
    "awaiting_authorisation",
    "awaiting_approval",
    "solved",
    "closed",
)
LIVE = ("open", "in_progress", "awaiting_customer", "awaiting_authorisation", "awaiting_approval")
DONE = ("solved", "closed")
HELD = ("awaiting_authorisation", "awaiting_approval")


@dataclass(frozen=True)
class EscalationLevel:
    """One escalation level from the rules: when it fires and whom it tells."""

    level: int
    share: float
    notify: tuple[str, ...]


@dataclass(frozen=True)
class SlaPolicy:
    """The rule values the clock needs, distilled from sla.toml."""

    calendar: SupportCalendar
    targets: Mapping[str, tuple[Target, Target]]
    levels: tuple[EscalationLevel, ...]
    pause_statuses: frozenset[str]
    close_after: Target
    reopen_within: Target

    def level(self, number: int) -> EscalationLevel | None:
        """The escalation level with this number, if the rules define it."""
        return next((lv for lv in self.levels if lv.level == number), None)


@dataclass(frozen=True)
class Clock:
    """What the SLA arithmetic needs to know about one call.

    Pauses are counted in support minutes.  ``paused_minutes`` holds every pause
    that has ended (time awaiting the school where the rules pause the clock,
    and time spent solved before a reopen); ``paused_since`` is set while a
    pause is running.  A revised deadline is an instant agreed with the school;
    ``revised_paused`` remembers how much pause it already allowed for, so that
    only pauses after the agreement move it.
    """

    priority: str
    status: str
    start: datetime
    escalation_level: int = 0
    paused_minutes: int = 0
    paused_since: datetime | None = None
    revised_due: datetime | None = None
    revised_paused: int = 0
    solved_at: datetime | None = None


@dataclass(frozen=True)
class Due:
    """The instants a call's clock implies; the scheduler selects on these."""

    response_due: datetime
    fix_due: datetime
    next_escalation: datetime | None
    next_level: int | None
    close_due: datetime | None


def _fix_base(policy: SlaPolicy, clock: Clock) -> tuple[datetime, int]:
    """The fix deadline before later pauses, and the pause minutes it already includes."""
    if clock.revised_due is not None:
        return clock.revised_due, clock.revised_paused
    _, fix = policy.targets[clock.priority]
    return apply_target(policy.calendar, clock.start, fix), 0


def fix_due(policy: SlaPolicy, clock: Clock) -> datetime:
    """When the call must be fixed, moved on by every pause since its base was set."""
    base, included = _fix_base(policy, clock)
    return add_support_minutes(policy.calendar, base, max(0, clock.paused_minutes - included))


def escalation_at(policy: SlaPolicy, clock: Clock, level: EscalationLevel) -> datetime:
    """When ``level`` fires: its share of the working minutes up to the fix target.

    Working minutes are support minutes less pauses.  The answer assumes every
    pause so far lies before it, which holds whenever it is asked for a level
    that has not fired yet while the clock is running.
    """
    cal = policy.calendar
    base, included = _fix_base(policy, clock)
    working = max(0, support_minutes_between(cal, clock.start, base) - included)
    # Read the share as the decimal the rules wrote and round up, so a level
    # never fires before its share has fully elapsed.
    elapsed = math.ceil(Fraction(str(level.share)) * working)
    return add_support_minutes(cal, clock.start, elapsed + clock.paused_minutes)


def due(policy: SlaPolicy, clock: Clock) -> Due:
    """Work out every due instant of a call from its clock."""
    response, _ = policy.targets[clock.priority]
    response_due = apply_target(policy.calendar, clock.start, response)
    fix = fix_due(policy, clock)
    next_at: datetime | None = None
    next_level: int | None = None
    close_at: datetime | None = None
    if clock.status == "solved" and clock.solved_at is not None:
        close_at = apply_target(policy.calendar, clock.solved_at, policy.close_after)
    elif clock.status in LIVE and clock.paused_since is None:
        pending = [lv for lv in policy.levels if lv.level > clock.escalation_level]
        if pending:
            first = min(pending, key=lambda lv: lv.level)
            next_at, next_level = escalation_at(policy, clock, first), first.level
    return Due(response_due, fix, next_at, next_level, close_at)


def levels_reached(policy: SlaPolicy, clock: Clock, now: datetime) -> list[EscalationLevel]:
    """The levels above the call's current one whose instant has come, lowest first."""
    if clock.status not in LIVE or clock.paused_since is not None:
        return []
    return sorted(
        (
            lv
            for lv in policy.levels
            if lv.level > clock.escalation_level and escalation_at(policy, clock, lv) <= now
        ),
        key=lambda lv: lv.level,
    )


def _end_pauses(policy: SlaPolicy, clock: Clock, now: datetime) -> Clock:
    """Count a running pause, or the time spent solved, into the paused minutes."""
    cal = policy.calendar
    if clock.paused_since is not None:
        minutes = support_minutes_between(cal, clock.paused_since, now)
        clock = replace(clock, paused_minutes=clock.paused_minutes + minutes, paused_since=None)
    if clock.status in DONE and clock.solved_at is not None:
        # A reopened call's fix clock stood still while it was solved.
        minutes = support_minutes_between(cal, clock.solved_at, now)
        clock = replace(clock, paused_minutes=clock.paused_minutes + minutes, solved_at=None)
    return clock


def change_status(policy: SlaPolicy, clock: Clock, status: str, now: datetime) -> Clock:
    """The clock after the call moves to ``status`` at ``now``."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; statuses are {', '.join(STATUSES)}")
    if status == clock.status:
        return clock
    if status == "closed" and clock.status == "solved":
        return replace(clock, status=status)
    clock = _end_pauses(policy, clock, now)
    if status in DONE:
        return replace(clock, status=status, solved_at=now)
    paused = status in policy.pause_statuses or status in HELD
    return replace(clock, status=status, paused_since=now if paused else None)


def revise(policy: SlaPolicy, clock: Clock, due_at: datetime, now: datetime) -> Clock:
    """The clock after a new fix deadline is agreed at ``now``."""
    running = 0
    if clock.paused_since is not None:
        running = support_minutes_between(policy.calendar, clock.paused_since, now)
    return replace(clock, revised_due=due_at, revised_paused=clock.paused_minutes + running)


def reopen_deadline(policy: SlaPolicy, solved_at: datetime) -> datetime:
    """Until when a reply from the school reopens a solved call rather than starting anew."""
    return apply_target(policy.calendar, solved_at, policy.reopen_within)
