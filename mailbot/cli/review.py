"""`mailbot review`: write a term's service review pack (HTML, PNG charts, CSV) to a folder."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.reports import review
from mailbot.reports.reviewjob import all_terms, figures_for
from mailbot.rules.loader import Rules
from mailbot.storage.db import make_engine, make_sessions


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the `review` subcommand to the command line's subparsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "review",
        help="write a term's service review pack (HTML, charts, CSV) to a folder",
        description="Write the termly service review pack the scheduler emails when a term "
        "ends: review.html, which shows the PNG charts beside it, and the CSV of the "
        "term's calls.  Terms are named in sla.toml's calendar.terms.",
    )
    p.add_argument("--term", help="the term, e.g. autumn-2026 (default: the last one ended)")
    p.add_argument(
        "--out", help="the folder to write the files to (default: ./review-TERM[-SCHOOL])"
    )
    p.add_argument("--school", help="a school's own pack: its id in schools.toml")
    return p


def run(args: argparse.Namespace, config: Config, rules: Rules, now: datetime) -> int:
    """Write the pack; print the files written."""
    terms = all_terms(rules)
    if args.term:
        term = review.find(terms, args.term)
        if term is None:
            known = ", ".join(t.name for t in terms) or "none"
            raise MailbotError(f"--term: no term {args.term!r} in sla.toml (terms: {known})")
    else:
        term = review.due_term(terms, rules.calendar.zone, now)
        if term is None:
            raise MailbotError("--term: no term in sla.toml has ended yet; name one")
    school = None
    if args.school:
        school = rules.directory.school(args.school)
        if school is None:
            raise MailbotError(f"--school: no school {args.school!r} in schools.toml")
    sessions = make_sessions(make_engine(config.database.url))
    figures = figures_for(sessions, rules, term, school.id if school else None, now)
    # matplotlib loads slowly, so the module drawing with it is imported only here.
    from mailbot.reports import reviewpack

    out = Path(args.out or f"review-{term.name}{'-' + school.id if school else ''}")
    written = reviewpack.write(config, rules, figures, school, out)
    who = school.name if school else "all schools"
    print(f"review pack for {term.label} ({who}): {figures.current.logged} calls logged")
    for path in written:
        print(f"  {path}")
    return 0
