"""`mailbot planned announce/change/cancel/list`: planned maintenance from the command line.

The options are turned into the same words as the `#planned` email command
and checked by the same code, so the command line and email refuse and warn
alike.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from mailbot.calls import records
from mailbot.cli.context import clock_of, config_of
from mailbot.commands import actions
from mailbot.commands import planned as work
from mailbot.config import Config
from mailbot.errors import Conflict, MailbotError
from mailbot.incidents import planned, statuspage, store
from mailbot.rules.loader import Rules, load_rules
from mailbot.storage.db import Sessions, make_engine, make_sessions, transaction


def _words(args: argparse.Namespace) -> str:
    """The `#planned` argument the options stand for."""
    if args.planned_command == "announce":
        head = args.title.replace(";", ",")
    else:
        head = f"{args.planned_command} {args.ref}"
    fields = [head]
    for name, value in (("from", args.start), ("to", args.end), ("services", args.services)):
        if value:
            fields.append(f"{name} {value}")
    return "; ".join(fields)


def _list(sessions: Sessions, rules: Rules, now: datetime, as_json: bool) -> int:
    with sessions() as session:
        works = store.all_planned(session)
        rows = planned.summary(works, rules, now)
    if as_json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("no planned maintenance")
    for row in [] if as_json else rows:
        print(f"{row['ref']}  {row['status']:<11}  {row['title']}")
        print(f"    {row['starts']} to {row['ends']}; {row['services']}")
    return 0


def run(args: argparse.Namespace, config: Config, now: datetime) -> int:
    """Carry out a `planned` command and print what it did."""
    rules = load_rules(config.rules.dir)
    sessions = make_sessions(make_engine(config.database.url))
    if args.planned_command == "list":
        return _list(sessions, rules, now, args.json)
    by = actions.staff_member(rules, args.by)
    if isinstance(by, records.Refused):
        raise MailbotError(by.message)
    details = args.details or ""
    try:
        with transaction(sessions) as session:
            plan = work.prepare(session, rules, records.Staff(by, now), _words(args), details)
            if isinstance(plan, records.Refused):
                raise MailbotError(plan.message)
            done = plan()
    except Conflict:
        raise MailbotError("nothing changed: another process changed this work first") from None
    print(done)
    print("the notice is broadcast by the running daemon (or the next `mailbot run --once`)")
    statuspage.publish(sessions, config, rules, now)
    return 0


def command(args: argparse.Namespace) -> int:
    """`mailbot planned ...`, at the rules' local time."""
    config = config_of(args)
    zone = load_rules(config.rules.dir).sla.calendar.zone
    return run(args, config, clock_of(args, zone)())
