"""`mailbot availability --month 2026-11` (or --term DATE): each service's availability."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime

from mailbot.cli.context import clock_of, config_of
from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.incidents import uptime
from mailbot.rules.loader import load_rules
from mailbot.sla.months import Month
from mailbot.storage.db import make_engine, make_sessions


def run(args: argparse.Namespace, config: Config, now: datetime) -> int:
    """Print every service's availability for the month or term asked for."""
    rules = load_rules(config.rules.dir)
    zone = rules.calendar.zone
    if args.term:
        try:
            day = date.fromisoformat(args.term)
        except ValueError:
            wanted = "give a date in the term, e.g. 2026-11-02"
            raise MailbotError(f"--term {args.term!r}: {wanted}") from None
        bounds = uptime.term_bounds(rules, day)
        if bounds is None:
            raise MailbotError(f"{args.term} is in no term of sla.toml's calendar")
        label = f"term {bounds[0]:%d %b %Y} to {bounds[1]:%d %b %Y} (end exclusive)"
    else:
        try:
            month = Month.parse(args.month) if args.month else Month.of(now, zone).shift(-1)
        except ValueError as exc:
            raise MailbotError(str(exc)) from None
        bounds = month.bounds(zone)
        label = month.label
    sessions = make_sessions(make_engine(config.database.url))
    with sessions() as session:
        rows = uptime.as_rows(uptime.figures(session, rules, *bounds, now))
    if args.json:
        print(json.dumps({"period": label, "services": rows}, indent=2))
        return 0
    target = f"{100 * rules.incidents.availability.target:.1f}%"
    print(f"Availability, {label}, against {target} (in the SLA's availability hours)")
    for row in rows:
        verdict = "met" if row["met"] else "MISSED"
        print(
            f"  {row['service']:<16} {row['percent']:>6}%  {verdict:<6}  "
            f"down {row['down_minutes']} of {row['hours_minutes']} minutes"
        )
        for b in row["incidents"]:  # type: ignore[attr-defined]
            note = "" if b["counted"] or b["outage"] == "planned" else ", not counted"
            print(f"      {b['ref']} {b['title']} ({b['outage']}{note}): {b['minutes']} minutes")
    return 0


def command(args: argparse.Namespace) -> int:
    """`mailbot availability`, at the rules' local time."""
    config = config_of(args)
    zone = load_rules(config.rules.dir).sla.calendar.zone
    return run(args, config, clock_of(args, zone)())
