"""Print how many new calls' deadlines the SLA clock (mailbot.sla) works out per second."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

from mailbot.sla import clock as sla
from mailbot.sla.calendar import SupportCalendar, Target, calendar_from_rules, clock_start

TERMS = (
    (date(2026, 9, 3), date(2026, 10, 23)),
    (date(2026, 11, 2), date(2026, 12, 18)),
    (date(2027, 1, 5), date(2027, 2, 12)),
    (date(2027, 2, 22), date(2027, 3, 26)),
    (date(2027, 4, 12), date(2027, 5, 28)),
    (date(2027, 6, 7), date(2027, 7, 21)),
)
CLOSURES = (date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31))
TARGETS = {
    "P1": ("1 hour", "1 day"),
    "P2": ("1 day", "2 days"),
    "P3": ("1 day", "5 days"),
    "P4": ("1 day", "10 days"),
}
SHARES = ((1, 0.65), (2, 0.85))
CALLS = 20_000


def fresh_calendar() -> SupportCalendar:
    return calendar_from_rules("Europe/London", "08:00-17:00", "09:00-16:00", TERMS, CLOSURES)


def random_instants(seed: int, count: int) -> list[datetime]:
    """Instants spread over 2025-2029, so the per-day cache meets many days."""
    rng = random.Random(seed)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    return [base + timedelta(seconds=rng.randrange(5 * 365 * 86_400)) for _ in range(count)]


def rate(cal: SupportCalendar, instants: list[datetime], response: Target, fix: Target) -> float:
    """Calls per second through the service's own path: clock start, due instants, escalations."""
    levels = tuple(sla.EscalationLevel(level, share, ()) for level, share in SHARES)
    policy = sla.SlaPolicy(
        calendar=cal,
        targets={"P": (response, fix)},
        levels=levels,
        pause_statuses=frozenset(),
        close_after=Target(5, "days"),
        reopen_within=Target(5, "days"),
    )
    began = time.perf_counter()
    for logged in instants:
        clock = sla.Clock(priority="P", status="open", start=clock_start(cal, logged))
        sla.due(policy, clock)
        for level in levels:
            sla.escalation_at(policy, clock, level)
    return len(instants) / (time.perf_counter() - began)


def main() -> None:
    instants = random_instants(2026, CALLS)
    print(f"{CALLS} random instants in 2025-2029, escalations at 65% and 85%")
    for priority, (response, fix) in TARGETS.items():
        targets = Target.parse(response), Target.parse(fix)
        cold = rate(fresh_calendar(), instants, *targets)
        cal = fresh_calendar()
        rate(cal, instants, *targets)
        warm = rate(cal, instants, *targets)
        print(
            f"{priority} ({response} / {fix}): {cold:,.0f}/s with a new calendar, "
            f"{warm:,.0f}/s warm ({1e6 / warm:.1f} µs per call)"
        )


if __name__ == "__main__":
    main()
