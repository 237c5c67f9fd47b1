"""`mailbot report`: write a month's report (HTML, PNG charts, CSV) to a folder."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from mailbot.cli.context import clock_of, config_of
from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.reports import monthly
from mailbot.reports.job import figures_for
from mailbot.rules.loader import Rules, load_rules
from mailbot.sla.months import Month
from mailbot.storage.db import make_engine, make_sessions


def run(args: argparse.Namespace, config: Config, rules: Rules, now: datetime) -> int:
    """Write the report; print the files written."""
    zone = rules.calendar.zone
    try:
        month = Month.parse(args.month) if args.month else Month.of(now, zone).shift(-1)
    except ValueError as exc:
        raise MailbotError(f"--month: {exc}") from None
    school = None
    if args.school:
        school = rules.directory.school(args.school)
        if school is None:
            raise MailbotError(f"--school: no school {args.school!r} in schools.toml")
    sessions = make_sessions(make_engine(config.database.url))
    figures = figures_for(sessions, rules, month, school.id if school else None, now)
    written = monthly.write(config, rules, figures, school, Path(args.out))
    who = school.name if school else "all schools"
    print(f"report for {month.label} ({who}): {len(figures.logged)} calls logged")
    for path in written:
        print(f"  {path}")
    return 0


def command(args: argparse.Namespace) -> int:
    """`mailbot report`, at the rules' local time."""
    config = config_of(args)
    rules = load_rules(config.rules.dir)
    return run(args, config, rules, clock_of(args, rules.sla.calendar.zone)())
