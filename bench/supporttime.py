"""Print how many new calls' deadlines the SLA clock (mailbot.sla) works out per second."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mailbot.rules.loader import load_rules
from mailbot.sla import clock as sla
from mailbot.sla.calendar import SupportCalendar, Target, calendar_from_rules, clock_start

RULES = Path(__file__).resolve().parent.parent / "rules"
TERMS = (
    (date(2026, 9, 3), date(2026, 10, 23)),
    (date(2026, 11, 2), date(2026, 12, 18)),
    (date(2027, 1, 5), date(2027, 2, 12)),
    (date(2027, 2, 22), date(2027, 3, 26)),
    (date(2027, 4, 12), date(2027, 5, 28)),
    (date(2027, 6, 7), date(2027, 7, 21)),
)
CLOSURES = (date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31))
CALLS = 20_000


def fresh_calendar() -> SupportCalendar:
    return calendar_from_rules("Europe/London", "08:00-17:00", "09:00-16:00", TERMS, CLOSURES)


def random_instants(seed: int, count: int) -> list[datetime]:
    """Instants spread over 2025-2029, so the per-day cache meets many days."""
    rng = random.Random(seed)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    return [base + timedelta(seconds=rng.randrange(5 * 365 * 86_400)) for _ in range(count)]


def words(target: Target) -> str:
    unit = target.unit.removesuffix("s")
    return f"{target.amount} {unit}{'' if target.amount == 1 else 's'}"


def rate(policy: sla.SlaPolicy, instants: list[datetime], priority: str) -> float:
    """Calls per second through the service's own path: clock start, due instants, escalations."""
    began = time.perf_counter()
    for logged in instants:
        clock = sla.Clock(priority, "open", clock_start(policy.calendar, logged))
        sla.due(policy, clock)
        for level in policy.levels:
            sla.escalation_at(policy, clock, level)
    return len(instants) / (time.perf_counter() - began)


def main() -> None:
    # The shipped rules' targets and escalation levels, over a fixed calendar
    # so that the figures do not move with the terms in rules/sla.toml.
    shipped = load_rules(RULES).clock
    instants = random_instants(2026, CALLS)
    shares = " and ".join(f"{lv.share:.0%}" for lv in shipped.levels)
    print(f"{CALLS} random instants in 2025-2029, escalations at {shares}")
    for priority, (response, fix) in shipped.targets.items():
        cold = rate(replace(shipped, calendar=fresh_calendar()), instants, priority)
        policy = replace(shipped, calendar=fresh_calendar())
        rate(policy, instants, priority)
        warm = rate(policy, instants, priority)
        print(
            f"{priority} ({words(response)} / {words(fix)}): {cold:,.0f}/s with a new calendar, "
            f"{warm:,.0f}/s warm ({1e6 / warm:.1f} µs per call)"
        )


if __name__ == "__main__":
    main()
