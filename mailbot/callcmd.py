"""`mailbot calls assign/update`: staff actions from the command line, for when mail is down."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot import actions
from mailbot.config import Config
from mailbot.db import make_engine, make_sessions, transaction
from mailbot.errors import Conflict, MailbotError
from mailbot.models import Call
from mailbot.rules import Rules, load_rules

Step = Callable[[Session, Call], "str | actions.Refused"]


class _Undo(Exception):
    """Raised inside the transaction so that a refusal rolls every step back."""


def apply(config: Config, rules: Rules, ref: str, steps: list[Step]) -> list[str]:
    """Run the steps on one call in one transaction; any refusal undoes them all."""
    sessions = make_sessions(make_engine(config.database.url))
    try:
        with transaction(sessions) as session:
            call = actions.find_call(session, rules, ref)
            if call is None:
                raise MailbotError(f"no call {ref}")
            done: list[str] = []
            for step in steps:
                result = step(session, call)
                if isinstance(result, actions.Refused):
                    raise _Undo(f"{call.ref}: nothing changed: {result.message}")
                done.append(f"{call.ref}: {result}")
            return done
    except _Undo as exc:
        raise MailbotError(str(exc)) from None
    except Conflict:
        raise MailbotError(f"{ref}: nothing changed: this was already done") from None


def _text(args: argparse.Namespace) -> str:
    """The words given on the command line, or read from standard input for "-"."""
    text: str = args.text
    return sys.stdin.read() if text == "-" else text


def steps_for(
    args: argparse.Namespace, config: Config, rules: Rules, by: actions.Staff
) -> list[Step]:
    """The actions an `assign` or `update` command line asks for, in a sensible order."""
    if args.calls_command == "assign":
        return [lambda s, c: actions.assign(s, rules, c, args.officer, by)]
    if args.calls_command == "note":
        return [lambda s, c: actions.add_note(s, c, _text(args), by)]
    if args.calls_command == "reply":
        text = _text(args)
        occasion = f"cli\0{by.actor}\0{by.now.isoformat()}\0{text}"
        return [lambda s, c: actions.reply_to_school(s, config, rules, c, text, by, occasion)]
    steps: list[Step] = []
    if args.assign:
        steps.append(lambda s, c: actions.assign(s, rules, c, args.assign, by))
    if args.priority:
        steps.append(lambda s, c: actions.set_priority(s, rules, c, args.priority.upper(), by))
    if args.deadline:
        reason = args.reason or ""
        steps.append(lambda s, c: actions.set_deadline(s, rules, c, args.deadline, reason, by))
    if args.status:
        message = args.message or ""
        steps.append(lambda s, c: actions.set_status(s, config, rules, c, args.status, by, message))
    if not steps:
        raise MailbotError("nothing to update: give --status, --priority, --deadline or --assign")
    return steps


def run(args: argparse.Namespace, config: Config, now: datetime) -> int:
    """Carry out `calls assign` or `calls update` and print what was done."""
    rules = load_rules(config.rules.dir)
    by = actions.Staff(actor=args.by, now=now)
    for line in apply(config, rules, args.ref, steps_for(args, config, rules, by)):
        print(line)
    return 0


def add_parsers(calls_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `calls assign` and `calls update` under `mailbot calls`."""
    by_help = "who is acting, for the audit trail (an officer's address; default: cli)"
    assign = calls_sub.add_parser("assign", help="give a call to an officer")
    assign.add_argument("ref")
    assign.add_argument("officer", help="officer id, name or address")
    assign.add_argument("--by", default="cli", help=by_help)
    note = calls_sub.add_parser("note", help="add an internal note (never sent to the school)")
    note.add_argument("ref")
    note.add_argument("text", help="the note; - reads it from standard input")
    note.add_argument("--by", default="cli", help=by_help)
    reply = calls_sub.add_parser("reply", help="write to the school on its call, as an officer")
    reply.add_argument("ref")
    reply.add_argument("text", help="the message; - reads it from standard input")
    reply.add_argument("--by", required=True, help="the officer writing (their address)")
    update = calls_sub.add_parser(
        "update", help="change a call's status, priority, deadline or assignee"
    )
    update.add_argument("ref")
    update.add_argument(
        "--status",
        choices=("open", "in_progress", "awaiting_customer", "solved", "closed"),
    )
    update.add_argument("--priority", help="Critical, P1, P2, P3 or P4")
    update.add_argument(
        "--deadline", help="revised fix deadline agreed with the school: DATE or 'DATE HH:MM'"
    )
    update.add_argument("--reason", help="why the deadline was revised (required with it)")
    update.add_argument("--message", help="text for the school with --status solved")
    update.add_argument("--assign", help="officer id, name or address")
    update.add_argument("--by", default="cli", help=by_help)
