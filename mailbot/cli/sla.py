"""`mailbot sla deadline`: when a call logged at given instants would be due, by the rules alone."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mailbot.cli.context import clock_of, config_of
from mailbot.errors import MailbotError
from mailbot.rules.files import PRIORITIES
from mailbot.rules.loader import Rules, load_rules
from mailbot.sla.calendar import clock_start, describe
from mailbot.sla.clock import Clock, escalation_at
from mailbot.sla.clock import due as sla_due


def canonical_priority(rules: Rules, text: str) -> str:
    """Read a priority the way people type it: "P2", "p2", "2" or "critical"."""
    wanted = text.strip().upper().replace(" ", "")
    if wanted.isdigit():
        wanted = f"P{wanted}"
    for name in rules.clock.targets:
        if name.upper() == wanted:
            return name
    known = ", ".join(p for p in PRIORITIES if p in rules.clock.targets)
    raise MailbotError(f"unknown priority {text!r}; priorities are {known}")


def read_instant(rules: Rules, text: str) -> datetime:
    """An ISO 8601 instant; without an offset it is local time in the rules' zone."""
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MailbotError(f"--at: not an ISO 8601 time: {text!r}") from None
    return t.replace(tzinfo=rules.calendar.zone) if t.tzinfo is None else t


def _iso(t: datetime, rules: Rules) -> str:
    return t.astimezone(rules.calendar.zone).isoformat()


def deadline_rows(
    rules: Rules, priority: str, instants: Sequence[datetime]
) -> list[dict[str, Any]]:
    """One record per instant: when the clock starts and when each target falls due."""
    policy = rules.clock
    zone = rules.calendar.zone
    rows = []
    for logged in instants:
        clock = Clock(priority, "open", clock_start(policy.calendar, logged))
        due = sla_due(policy, clock)
        rows.append(
            {
                "priority": priority,
                "logged": logged.astimezone(zone).isoformat(),
                "start": clock.start.astimezone(zone).isoformat(),
                "response_due": due.response_due.astimezone(zone).isoformat(),
                "fix_due": due.fix_due.astimezone(zone).isoformat(),
                "escalations": [
                    {"level": lv.level, "at": _iso(escalation_at(policy, clock, lv), rules)}
                    for lv in policy.levels
                ],
            }
        )
    return rows


def as_text(rules: Rules, rows: list[dict[str, Any]]) -> str:
    """The same answer for people: local times in words, with the exact instant beside."""
    cal = rules.calendar

    def line(label: str, iso: str, logged: datetime) -> str:
        t = datetime.fromisoformat(iso)
        words = describe(t, cal, logged).removeprefix("by ")
        return f"  {label:18} {words:38} {iso}"

    blocks = []
    for row in rows:
        logged = datetime.fromisoformat(row["logged"])
        lines = [f"{row['priority']} logged {row['logged']}"]
        lines.append(line("clock starts", row["start"], logged))
        lines.append(line("response due", row["response_due"], logged))
        lines.append(line("fix due", row["fix_due"], logged))
        for esc in row["escalations"]:
            lines.append(line(f"escalation level {esc['level']}", esc["at"], logged))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def run(args: argparse.Namespace, rules: Rules, now: datetime) -> int:
    """Print the deadlines for each --at (or for now), as text or JSON."""
    priority = canonical_priority(rules, args.priority)
    instants = [read_instant(rules, a) for a in args.at] if args.at else [now]
    rows = deadline_rows(rules, priority, instants)
    print(json.dumps(rows, indent=2) if args.json else as_text(rules, rows))
    return 0


def command(args: argparse.Namespace) -> int:
    """`mailbot sla deadline`, at the rules' local time."""
    rules = load_rules(config_of(args).rules.dir)
    return run(args, rules, clock_of(args, rules.sla.calendar.zone)())
