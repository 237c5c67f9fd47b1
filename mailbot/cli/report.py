"""`mailbot report`: write a month's report (HTML, PNG charts, CSV) to a folder."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.reports.job import figures_for
from mailbot.rules.loader import Rules
from mailbot.sla.months import Month
from mailbot.storage.db import make_engine, make_sessions


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the `report` subcommand to the command line's subparsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="write a month's report (HTML, charts, CSV) to a folder",
        description="Write the monthly report the scheduler emails: report.html, which shows "
        "the PNG charts beside it, and the CSV of the month's calls.",
    )
    p.add_argument("--month", help="the month, e.g. 2026-11 (default: last month)")
    p.add_argument("--out", required=True, help="the folder to write the files to")
    p.add_argument("--school", help="a school's own version: its id in schools.toml")
    return p


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
    # matplotlib loads slowly, so the module drawing with it is imported only here.
    from mailbot.reports import monthly

    written = monthly.write(config, rules, figures, school, Path(args.out))
    who = school.name if school else "all schools"
    print(f"report for {month.label} ({who}): {len(figures.logged)} calls logged")
    for path in written:
        print(f"  {path}")
    return 0
