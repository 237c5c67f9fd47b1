"""`mailbot held`: list the emails kept for a human; answer or dismiss one, on the record."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from mailbot.calls import heldreply
from mailbot.cli.termtext import terminal_safe
from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.rules.loader import load_rules
from mailbot.storage import held
from mailbot.storage.db import Sessions, transaction


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add `held list`, `held reply ID TEXT` and `held dismiss ID` to the command line."""
    p = sub.add_parser("held", help="emails kept for a human")
    inner = p.add_subparsers(dest="held_command", required=True)
    listing = inner.add_parser("list", help="every held email nobody has dealt with")
    listing.add_argument("--json", action="store_true")
    dismiss = inner.add_parser("dismiss", help="deal with a held email by doing nothing more")
    dismiss.add_argument("id", help="the id `held list` shows (`12`, or `p3` for a parked email)")
    dismiss.add_argument("--by", default="", help="who dismissed it (default: the login name)")
    dismiss.add_argument("--reason", default="", help="why, kept with the record")
    answer = inner.add_parser("reply", help="answer a held email's sender, as an officer")
    answer.add_argument("id", help="the id `held list` shows")
    answer.add_argument("text", help="the message; - reads it from standard input")
    answer.add_argument("--by", required=True, help="the officer writing (id or address)")
    return p


def run(
    args: argparse.Namespace, config: Config, sessions: Sessions, now: datetime, user: str
) -> int:
    """Carry out `mailbot held ...`; ``user`` is who runs it, for the record."""
    if args.held_command == "reply":
        text = sys.stdin.read() if args.text == "-" else args.text
        rules = load_rules(config.rules.dir)
        try:
            to = heldreply.reply(sessions, config, rules, args.id, text, args.by, now)
        except MailbotError as exc:
            print(f"held email {args.id}: {exc}")
            return 1
        print(f"held email {args.id} answered: the reply to {to} is in the outbox")
        return 0
    if args.held_command == "dismiss":
        with transaction(sessions) as session:
            by = args.by or user
            done = held.decide(
                session, args.id, action="dismissed", by=by, at=now, detail=args.reason
            )
        if not done:
            print(f"no held email {args.id} is waiting")
            return 1
        print(f"held email {args.id} dismissed by {by}")
        return 0
    with sessions() as session:
        rows = held.waiting(session)
    if args.json:
        out = [
            {
                "id": r.id,
                "received_at": r.received_at.isoformat(),
                "sender": r.sender,
                "subject": r.subject,
                "outcome": r.outcome,
                "why": r.why,
            }
            for r in rows
        ]
        print(json.dumps(out, indent=2))
        return 0
    if not rows:
        print("nothing held")
    for r in rows:
        # Sender and subject are a stranger's words: shown with controls escaped.
        line = f"{r.id:>6}  {r.received_at.isoformat()}  {r.sender}  {r.subject[:60]!r}  ({r.why})"
        print(terminal_safe(line))
    return 0
