"""`mailbot status`: the service's health for a person (statusout.py: --json, --prometheus)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from mailbot.cli import senders, statusout
from mailbot.cli.context import clock_of, config_of, warn_about_trust
from mailbot.cli.localtime import display_zone, local_time
from mailbot.config import Config
from mailbot.daemon import health
from mailbot.errors import MailbotError
from mailbot.rules.loader import load_rules
from mailbot.storage import parked
from mailbot.storage.db import describe, make_engine, make_sessions
from mailbot.storage.probe import probe

# How many parked emails `mailbot status` lists (the count covers them all).
_PARKED_SHOWN = 10


def run(args: argparse.Namespace, config: Config, now: datetime, warn: Callable[[], None]) -> int:
    """Print the service's health (or its --json/--prometheus form); 2 when it needs attention."""
    engine = make_engine(config.database.url)
    found = probe(engine, config.database.url, write=False)
    if found.connect_error or not found.initialised:
        print("mailbot status: ATTENTION NEEDED")
        where = describe(config.database.url)
        reason = found.connect_error or "database not initialised: run mailbot db upgrade"
        print(f"  ! {where}: {reason}")
        return 2
    sessions = make_sessions(engine)
    h = health.check(sessions, now)
    problems = h.problems(now, config.imap.poll_seconds)
    broken = statusout.rules_problem(config)
    if broken:
        problems.append(broken)
    else:
        rules = load_rules(config.rules.dir)
        zone = ZoneInfo(rules.sla.calendar.zone)
        terms = statusout.terms_warning(rules, now.astimezone(zone).date())
        if terms:
            problems.append(terms)
    blocked = senders.blocked(sessions)
    if blocked:
        problems.append(
            f"{len(blocked)} address(es) blocked as mail loops: check them, then "
            "`mailbot senders unblock ADDRESS`"
        )
    waiting, failed = _mailbox_counts(config, problems)
    total, latest = parked.recent(sessions, _PARKED_SHOWN)
    if args.json or args.prometheus:
        snapshot = statusout.Snapshot(
            now=now,
            health=h,
            problems=tuple(problems),
            parked=total,
            blocked=len(blocked),
            waiting=waiting,
            failed_folder=failed,
        )
        return statusout.report(args, snapshot)
    zone = ZoneInfo(display_zone(config))

    def at(value: datetime | None) -> object:
        # Local time, to the minute, as calls list shows; --json keeps ISO 8601.
        return local_time(value.isoformat(), zone) if value else "never"

    print(f"mailbot status: {'HEALTHY' if not problems else 'ATTENTION NEEDED'}")
    warn()
    print(f"  last successful poll  {at(h.last_poll)}")
    if h.last_error:
        print(f"  last error            {at(h.last_error_at)} {h.last_error}")
    print(f"  outbox waiting        {h.outbox_pending}")
    print(f"  outbox failed         {h.outbox_failed}")
    print(f"  bounced contacts      {h.bounced_total}")
    for b in h.bounced:
        times = f", {b.bounces} bounces" if b.bounces > 1 else ""
        print(f"    {b.address}  bounced {at(b.bounced_at)}{times}  ({b.message_id})")
    print(f"  major incidents       {len(h.incidents)} active")
    for i in h.incidents:
        down = " (school email down)" if i.email_down else ""
        print(f"    {i.ref} declared {at(i.declared_at)}: {i.title}{down}")
    print(f"  changes for the board {h.board_total} awaiting a decision")
    for c in h.board:
        due = ""
        if c.due_at is not None:
            due = f", decide by {at(c.due_at)}" + (" OVERDUE" if c.due_at < now else "")
        print(f"    {c.ref} {c.school_id or '-'}: {c.board} board, round {c.round}{due}")
    print(
        f"  open calls            {h.open_calls} ({h.near_target} near target, "
        f"{h.past_target} past target)"
    )
    for late in h.late:
        who = late.assignee or "unassigned"
        print(
            f"    {late.ref} {late.priority} {late.school_id or '-'}: "
            f"fix target {at(late.fix_due_at)}, {who}"
        )
    if h.past_target > len(h.late):
        print(f"    ... and {h.past_target - len(h.late)} more (`mailbot calls list`)")
    print(f"  parked emails         {total}")
    for note in latest:
        # Sender and subject come from a stranger's email; parked.py kept
        # only printable characters of them.
        who, subject = note.sender or "(no From)", note.subject[:60]
        print(f"    {at(note.at)} UID {note.uid} {who} {subject!r}: {note.reason}")
    print(f"  unverified staff mail {h.unverified_day} held in the last 24 hours")
    print(f"  held for a human      {h.held_total} (`mailbot held list`)")
    for mail in h.held:
        # Sender and subject come from strangers; the command's output stream
        # (cli/main.py) shows their control characters rather than obeying them.
        when, subject = at(mail.received_at), mail.subject[:60]
        print(f"    {mail.id:>5} {when} {mail.sender} {subject!r}: {mail.why}")
    if h.held_total > len(h.held):
        print(f"    ... and {h.held_total - len(h.held)} more")
    # A blocked address gets no answer at all until someone clears it, so the
    # administrator must see every one.
    print(f"  blocked addresses     {len(blocked)}")
    for address, since, why in blocked:
        print(f"    {address} since {at(since)} ({why})")
    if waiting is not None:
        print(f"  messages waiting      {waiting}")
        print(f"  Failed folder         {failed}")
    for p in problems:
        print(f"  ! {p}")
    return 0 if not problems else 2


def _mailbox_counts(config: Config, problems: list[str]) -> tuple[int | None, int | None]:
    """Emails waiting in the inbox and in the Failed folder, or a problem saying why not."""
    from mailbot.daemon.connections import imap_settings
    from mailbot.mail.imap import Mailbox

    try:
        with Mailbox(imap_settings(config)) as mailbox:
            return mailbox.count(config.imap.folder), mailbox.count(config.imap.failed_folder)
    except MailbotError as exc:
        problems.append(f"cannot reach the mailbox: {exc}")
        return None, None


def command(args: argparse.Namespace) -> int:
    """`mailbot status [--json|--prometheus]`."""
    config = config_of(args)
    return run(args, config, clock_of(args)(), lambda: warn_about_trust(config))
