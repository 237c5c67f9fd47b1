"""`mailbot review`: write a term's service review pack (HTML and CSV) to a folder."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.reports import review, terms
from mailbot.rules.loader import Rules
from mailbot.storage.db import make_engine, make_sessions


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the `review` subcommand to the command line's subparsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "review",
        help="write a term's service review pack (HTML, CSV) to a folder",
        description="Write the termly service review: calls by type and priority, the share "
        "fixed within target against the aims, every missed call and why, satisfaction, and "
        "the previous term beside it.",
    )
    p.add_argument("--term", required=True, help="the term, e.g. autumn-2026 (from sla.toml)")
    p.add_argument("--school", help="a school's own review: its id in schools.toml")
    p.add_argument("--out", required=True, help="the folder to write the files to")
    return p


def run(args: argparse.Namespace, config: Config, rules: Rules, now: datetime) -> int:
    """Write the review pack; print the files written."""
    current = terms.term(rules, args.term)
    if current is None:
        raise MailbotError(f"--term: sla.toml has no half-terms for {args.term}")
    school = None
    if args.school:
        school = rules.directory.school(args.school)
        if school is None:
            raise MailbotError(f"--school: no school {args.school!r} in schools.toml")
    before = terms.term(rules, terms.previous_name(current.name))
    sessions = make_sessions(make_engine(config.database.url))
    school_id = school.id if school else None
    period = review.period_for(sessions, rules, current, school_id, now)
    previous = review.period_for(sessions, rules, before, school_id, now) if before else None
    written = review.write(config, rules, period, previous, school, now, Path(args.out))
    who = school.name if school else "all schools"
    print(f"review for {current.label} ({who}): {len(period.logged)} calls logged")
    for path in written:
        print(f"  {path}")
    return 0
