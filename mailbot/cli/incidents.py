"""`mailbot incidents declare/update/resolve/list`: major incidents from the command line."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from mailbot.calls import records
from mailbot.cli.context import clock_of, config_of
from mailbot.commands import actions, major
from mailbot.config import Config
from mailbot.errors import Conflict, MailbotError
from mailbot.incidents import incident as incidents
from mailbot.incidents import planned, statuspage, store
from mailbot.rules.loader import Rules, load_rules
from mailbot.storage.db import Session, make_engine, make_sessions, transaction
from mailbot.storage.models import Incident


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def summary(session: Session, incident: Incident) -> dict[str, Any]:
    """An incident as `incidents list --json` shows it."""
    linked = store.linked_refs(session, incident.id)
    counts = store.delivery_counts(session, incident.id)
    return {
        "ref": incident.ref,
        "title": incident.title,
        "status": incident.status,
        "email_down": incident.email_down,
        "keywords": [k for k in incident.keywords.split("\n") if k],
        "services": [s for s in incident.services.split("\n") if s],
        "outage": incident.outage,
        "declared_at": _iso(incident.declared_at),
        "declared_by": incident.declared_by,
        "resolved_at": _iso(incident.resolved_at),
        "calls": list(linked),
        "notices": [
            {"seq": u.seq, "kind": u.kind, "at": _iso(u.at), "by": u.by, "text": u.text}
            for u in incident.updates
        ],
        "deliveries": {k: int(v) for k, v in counts.items()},
    }


def _declare(session: Session, config: Config, rules: Rules, args: argparse.Namespace) -> str:
    by = incidents.By(args.by, args.now)
    call = None
    if args.call:
        call = actions.find_call(session, rules, args.call)
        if call is None:
            raise MailbotError(f"no call {args.call}")
        found = major.prepare(
            session, config, rules, call, records.Staff(args.by, args.now),
            f"declare {args.title}", args.details or "",
        )  # fmt: skip
        if isinstance(found, records.Refused):
            raise MailbotError(found.message)
    keywords = tuple(k for k in (args.keywords or "").split(",") if k.strip())
    incident = incidents.declare(
        session, rules, title=args.title, details=args.details or args.title, by=by, call=call,
        email_down=args.email_down, keywords=keywords, config=config,
    )  # fmt: skip
    _set_services(rules, incident, args, by)
    return f"declared {incident.ref}: {incident.title}"


def _set_services(
    rules: Rules, incident: Incident, args: argparse.Namespace, by: incidents.By
) -> None:
    """Apply --services and --partial/--full, refusing names outside the SLA's scope."""
    known, unknown = planned.parse_services(rules, args.services or "")
    if unknown:
        offered = ", ".join(rules.incidents.services)
        raise MailbotError(f"no service {unknown[0]!r}: name some of {offered}")
    if known or args.outage is not None:
        incidents.set_services(incident, known, args.outage, by)


def _change(session: Session, config: Config, rules: Rules, args: argparse.Namespace) -> str:
    incident = incidents.find(session, rules, args.ref)
    if incident is None:
        raise MailbotError(f"no incident {args.ref}")
    if incident.status != "active":
        raise MailbotError(f"{incident.ref} is already resolved")
    by = incidents.By(args.by, args.now)
    if args.incidents_command == "update":
        if args.email_down is not None:
            incidents.set_email_down(incident, args.email_down, by)
        _set_services(rules, incident, args, by)
        notice = incidents.update(session, incident, args.text, by)
        return f"update {notice.seq - 1} on {incident.ref}"
    solved = incidents.resolve(session, config, rules, incident, args.text, by)
    return f"resolved {incident.ref}; {solved} linked calls solved"


def run(args: argparse.Namespace, config: Config, now: datetime) -> int:
    """Carry out an `incidents` command and print what it did."""
    rules = load_rules(config.rules.dir)
    sessions = make_sessions(make_engine(config.database.url))
    if args.incidents_command == "list":
        with sessions() as session:
            rows = [summary(session, i) for i in store.newest_first(session)]
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("no major incidents")
        for row in [] if args.json else rows:
            sent = row["deliveries"]
            print(
                f"{row['ref']}  {row['status']:<8}  {row['title'][:50]:<50}  "
                f"calls {len(row['calls'])}, queued {sent.get('queued', 0)}, "
                f"waiting {sent.get('pending', 0)}"
            )
        return 0
    args.now = now
    by = actions.staff_member(rules, args.by)
    if isinstance(by, records.Refused):
        raise MailbotError(by.message)
    args.by = by
    try:
        with transaction(sessions) as session:
            if args.incidents_command == "declare":
                done = _declare(session, config, rules, args)
            else:
                done = _change(session, config, rules, args)
    except Conflict:
        raise MailbotError("nothing changed: another process changed this incident first") from None
    print(done)
    print("the notice is broadcast by the running daemon (or the next `mailbot run --once`)")
    statuspage.publish(sessions, config, rules, now)
    return 0


def command(args: argparse.Namespace) -> int:
    """`mailbot incidents ...`, at the rules' local time."""
    config = config_of(args)
    zone = load_rules(config.rules.dir).sla.calendar.zone
    return run(args, config, clock_of(args, zone)())
