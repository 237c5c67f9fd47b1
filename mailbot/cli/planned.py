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
from mailbot.commands import actions
from mailbot.commands import planned as command
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
            plan = command.prepare(session, rules, records.Staff(by, now), _words(args), details)
            if isinstance(plan, records.Refused):
                raise MailbotError(plan.message)
            done = plan()
    except Conflict:
        raise MailbotError("nothing changed: another process changed this work first") from None
    print(done)
    print("the notice is broadcast by the running daemon (or the next `mailbot run --once`)")
    statuspage.publish(sessions, config, rules, now)
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `mailbot planned ...`."""
    parser = sub.add_parser("planned", help="announce, change, cancel and list planned maintenance")
    inner = parser.add_subparsers(dest="planned_command", required=True)
    by_help = "the officer acting (id, name or address), for the record"
    when = "local date and time, e.g. '2026-12-12 18:30'"
    announce = inner.add_parser("announce", help="announce planned work and broadcast it")
    announce.add_argument("title", help="what is being done, e.g. 'Firewall upgrade'")
    announce.add_argument("--from", dest="start", required=True, help=f"when it starts: {when}")
    announce.add_argument("--to", dest="end", required=True, help=f"when it ends: {when}")
    announce.add_argument(
        "--services", required=True, help="comma-separated services (incidents.toml: services)"
    )
    announce.add_argument("--details", help="more words for the announcement")
    announce.add_argument("--by", required=True, help=by_help)
    change = inner.add_parser("change", help="move it or change its services (broadcast once)")
    change.add_argument("ref")
    change.add_argument("--from", dest="start", help=f"the new start: {when}")
    change.add_argument("--to", dest="end", help=f"the new end: {when}")
    change.add_argument("--services", help="the new comma-separated services")
    change.add_argument("--details", help="what the notice says about the change")
    change.add_argument("--by", required=True, help=by_help)
    cancel = inner.add_parser("cancel", help="cancel work that has not started (broadcast once)")
    cancel.add_argument("ref")
    cancel.add_argument("--details", help="why, for the notice")
    cancel.add_argument("--by", required=True, help=by_help)
    cancel.set_defaults(start=None, end=None, services=None)
    listing = inner.add_parser("list", help="list planned work, newest first")
    listing.add_argument("--json", action="store_true")
    return parser
