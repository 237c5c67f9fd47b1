"""`mailbot calls assign/update/note/reply/...`: the email commands, from the command line."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from mailbot.calls import records
from mailbot.commands import actions, table
from mailbot.commands.grammar import Command, Instructions
from mailbot.commands.job import Job
from mailbot.config import Config
from mailbot.errors import Conflict, MailbotError
from mailbot.rules.loader import Rules, load_rules
from mailbot.storage.db import make_engine, make_sessions, transaction


class _Undo(Exception):
    """Raised inside the transaction so that a refusal rolls every step back."""


def apply(
    config: Config, rules: Rules, ref: str, found: Instructions, by: records.Staff, relay: bool
) -> list[str]:
    """Run the commands on one call in one transaction; any refusal changes nothing."""
    sessions = make_sessions(make_engine(config.database.url))
    # The same work done twice (a command line run again) composes the same
    # Message-IDs, and the outbox's unique index refuses the second.
    occasion = "\0".join(
        ("cli", by.actor, by.now.isoformat(), *(c.line for c in found.commands), found.body)
    )
    try:
        with transaction(sessions) as session:
            call = actions.find_call(session, rules, ref)
            if call is None:
                raise MailbotError(f"no call {ref}")
            job = Job(session, config, rules, call, by, occasion, found.body)
            worked = table.run(job, found, relay=relay)
            if worked.refused:
                raise _Undo(f"{call.ref}: nothing changed: " + "; ".join(worked.refused))
            lines = [f"{call.ref}: {line}" for line in worked.done]
            if worked.internal:
                lines.append(f"{call.ref}: note added (internal: the school does not see it)")
            if worked.sent_to:
                lines.append(f"{call.ref}: sent to {', '.join(worked.sent_to)}")
            if worked.missed_target:
                lines.append(
                    f"{call.ref}: solved after its fix target ({worked.missed_target}); "
                    "say why with --missed-reason"
                )
            return lines
    except _Undo as exc:
        raise MailbotError(str(exc)) from None
    except Conflict:
        raise MailbotError(f"{ref}: nothing changed: this was already done") from None


def _text(args: argparse.Namespace) -> str:
    """The words given on the command line, or read from standard input for "-"."""
    text: str = args.text
    return (sys.stdin.read() if text == "-" else text).strip()


def _command(name: str, arg: str = "") -> Command:
    return Command(name, arg, f"--{name} {arg}".strip() if name != "note" else "note")


def instructions_for(args: argparse.Namespace) -> tuple[Instructions, bool]:
    """The commands a `calls` command line asks for, and whether words go to the school.

    They are the same commands an email reply would carry, so the command line
    and email produce the same changes, events and emails.
    """
    sub = args.calls_command
    if sub == "assign":
        return Instructions((_command("assign", args.officer),)), False
    if sub == "note":
        return Instructions((_command("note"),), _text(args)), False
    if sub == "reply":
        return Instructions((), _text(args)), True
    if sub == "authorise":
        return Instructions((_command("authorise"),)), False
    if sub == "decline":
        return Instructions((_command("decline"),), args.reason.strip()), False
    if sub == "approve":
        return Instructions((_command("approve"),)), False
    if sub == "reject":
        return Instructions((_command("reject"),), args.reason.strip()), False
    found: list[Command] = []
    if args.assign:
        found.append(_command("assign", args.assign))
    if args.type:
        found.append(_command("type", args.type))
    if args.priority:
        found.append(_command("priority", args.priority))
    if args.deadline:
        found.append(_command("deadline", f"{args.deadline} {args.reason or ''}".strip()))
    for ref in args.link or ():
        found.append(_command("link", ref))
    if args.status:
        found.append(_command("status", args.status))
    if args.missed_reason:
        found.append(_command("reason", args.missed_reason))
    if not found and not args.message:
        raise MailbotError(
            "nothing to update: give --status, --priority, --type, --deadline, --assign, "
            "--link, --missed-reason or --message"
        )
    message = (args.message or "").strip()
    return Instructions(tuple(found), message), bool(message)


def run(args: argparse.Namespace, config: Config, now: datetime) -> int:
    """Carry out a `calls` command that works a call, and print what was done."""
    rules = load_rules(config.rules.dir)
    actor = args.by
    if actor != "cli":
        # A named actor must be staff; the default "cli" records an unnamed operator.
        named = actions.staff_member(rules, actor)
        if isinstance(named, records.Refused):
            raise MailbotError(named.message)
        actor = named
    by = records.Staff(actor=actor, now=now)
    found, relay = instructions_for(args)
    for line in apply(config, rules, args.ref, found, by, relay):
        print(line)
    return 0


def add_parsers(calls_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the commands that work a call under `mailbot calls`."""
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
    authorise = calls_sub.add_parser(
        "authorise", help="authorise a request waiting for the headteacher (given another way)"
    )
    authorise.add_argument("ref")
    authorise.add_argument("--by", default="cli", help=by_help)
    decline = calls_sub.add_parser("decline", help="decline a request waiting for authorisation")
    decline.add_argument("ref")
    decline.add_argument("reason", help="why, for the requester")
    decline.add_argument("--by", default="cli", help=by_help)
    member = "the board member voting (their address): a vote is theirs"
    approve = calls_sub.add_parser("approve", help="a board member approves a change")
    approve.add_argument("ref")
    approve.add_argument("--by", required=True, help=member)
    reject = calls_sub.add_parser("reject", help="a board member rejects a change")
    reject.add_argument("ref")
    reject.add_argument("reason", help="why, for the school")
    reject.add_argument("--by", required=True, help=member)
    update = calls_sub.add_parser(
        "update", help="change a call's status, priority, type, deadline, links or assignee"
    )
    update.add_argument("ref")
    update.add_argument("--status", help="open, in_progress, awaiting_customer, solved or closed")
    update.add_argument("--priority", help="Critical, P1, P2, P3 or P4")
    update.add_argument("--type", help="incident, service_request, change_request or complaint")
    update.add_argument(
        "--link", action="append", metavar="REF", help="cross-reference another call (repeatable)"
    )
    update.add_argument(
        "--deadline", help="revised fix deadline agreed with the school: DATE or 'DATE HH:MM'"
    )
    update.add_argument("--reason", help="why the deadline was revised (required with it)")
    update.add_argument(
        "--missed-reason",
        help="why the call missed (or will miss) its fix target, as #reason does by email",
    )
    update.add_argument(
        "--message",
        help="words for the school: in the solved notice with --status solved, else sent "
        "as the officer's reply (needs --by)",
    )
    update.add_argument("--assign", help="officer id, name or address")
    update.add_argument("--by", default="cli", help=by_help)
