"""`mailbot held`: list the emails kept for a human; open, answer or dismiss one, on the record."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from mailbot.calls import heldreply
from mailbot.calls.store import Store
from mailbot.cli.context import clock_of, config_of, login_name
from mailbot.cli.termtext import terminal_safe
from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.mail.message import ParsedMessage
from mailbot.pipeline.classify import classify_text
from mailbot.rules.loader import Rules, load_rules
from mailbot.storage import held
from mailbot.storage.db import Sessions, make_engine, make_sessions, transaction


def run(
    args: argparse.Namespace, config: Config, sessions: Sessions, now: datetime, user: str
) -> int:
    """Carry out `mailbot held ...`; ``user`` is who runs it, for the record."""
    if args.held_command == "open":
        rules = load_rules(config.rules.dir)
        try:
            ref = open_call(sessions, rules, args.id, args.school, args.by or user, now)
        except MailbotError as exc:
            print(f"held email {args.id}: {exc}")
            return 1
        print(f"held email {args.id} opened as {ref}")
        return 0
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


def open_call(
    sessions: Sessions, rules: Rules, held_id: str, school_id: str, by: str, now: datetime
) -> str:
    """Open a call for ``school_id`` from a held stored email; return its reference.

    The call, the email moved onto it, its event and the decision commit
    together; the decision's unique key means a rerun opens nothing twice.
    No email is sent: the person who opened it knows, and answers the
    requester on the call (`calls reply`) as they see fit.
    """
    school = rules.directory.school(school_id)
    if school is None:
        raise MailbotError(f"no school {school_id!r} in schools.toml")
    with transaction(sessions) as session:
        row = held.stored(session, held_id)
        if row is None:
            raise MailbotError("no stored held email with this id is waiting")
        msg = ParsedMessage(
            raw_size=row.size,
            message_id=row.message_id,
            subject=row.subject,
            from_name=row.from_name,
            from_addr=row.from_addr,
            text=row.body_text,
            new_text=row.new_text,
        )
        text = row.new_text or row.body_text
        classification = classify_text(rules, row.from_addr or "", row.subject, text)
        refs = rules.policy.references
        store = Store(session, refs.prefix, refs.width)
        call = store.create_call(
            now=now,
            msg=msg,
            subject=row.subject.strip() or "(no subject)",
            school_id=school.id,
            requester_name=row.from_name,
            classification=classification,
            missing=(),
            policy=rules.clock,
        )
        detail = f"from held email {held_id}, by {by}; {classification.type}, "
        detail += f"{classification.priority}, rule: {classification.rule}"
        store.add_event(call.id, at=now, actor=by, kind="opened", detail=detail)
        held.decide(session, held_id, action="opened", by=by, at=now, detail=call.ref)
        held.attach(row, call.id)
    return call.ref


def command(args: argparse.Namespace) -> int:
    """`mailbot held ...`, recorded as done by the login name unless --by says otherwise."""
    config = config_of(args)
    sessions = make_sessions(make_engine(config.database.url))
    return run(args, config, sessions, clock_of(args)(), login_name())
