"""`mailbot review`: write a term's service review pack (HTML, PNG charts, CSV) to a folder."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from mailbot.cli.context import clock_of, config_of
from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.reports import review, reviewpack
from mailbot.reports.reviewjob import all_terms, figures_for
from mailbot.rules.loader import Rules, load_rules
from mailbot.storage.db import make_engine, make_sessions


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
    out = Path(args.out or f"review-{term.name}{'-' + school.id if school else ''}")
    written = reviewpack.write(config, rules, figures, school, out)
    who = school.name if school else "all schools"
    print(f"review pack for {term.label} ({who}): {figures.current.logged} calls logged")
    for path in written:
        print(f"  {path}")
    return 0


def command(args: argparse.Namespace) -> int:
    """`mailbot review`, at the rules' local time."""
    config = config_of(args)
    rules = load_rules(config.rules.dir)
    return run(args, config, rules, clock_of(args, rules.sla.calendar.zone)())
