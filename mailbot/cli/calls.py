"""`mailbot calls assign/update/note/reply/...`: the email commands, from the command line."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from mailbot.calls import records
from mailbot.cli.context import clock_of, config_of
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


def command(args: argparse.Namespace) -> int:
    """`mailbot calls assign/note/reply/...`, at the rules' local time."""
    config = config_of(args)
    zone = load_rules(config.rules.dir).sla.calendar.zone
    return run(args, config, clock_of(args, zone)())
