"""What staff can do to a call (assign, status, priority, deadline), by email command or CLI."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot import lifecycle, notices
from mailbot.config import Config
from mailbot.models import Call
from mailbot.rules import Rules
from mailbot.sla import STATUSES
from mailbot.store import Store, view
from mailbot.supporttime import describe


@dataclass(frozen=True)
class Refused:
    """Why a requested change was not made; nothing was changed."""

    message: str


@dataclass(frozen=True)
class Staff:
    """Who is acting, and the moment they act."""

    actor: str
    now: datetime


def find_call(session: Session, rules: Rules, ref: str) -> Call | None:
    """The call a reference names, forgiving case and missing zero padding."""
    policy = rules.policy.references
    m = re.fullmatch(
        rf"\[?\s*{re.escape(policy.prefix)}\s*-?\s*(\d{{1,12}})\s*\]?", ref.strip(), re.I
    )
    if m is None:
        return None
    canonical = f"{policy.prefix}-{int(m[1]):0{policy.width}d}"
    return session.scalar(select(Call).where(Call.ref == canonical))


def resolve_officer(rules: Rules, who: str, actor: str) -> str | Refused:
    """An officer id from what staff typed: id, name, first name, address, or "me"."""
    directory = rules.directory
    wanted = who.strip().lower()
    if wanted == "me":
        wanted = actor.lower()
    matches = [
        o
        for o in directory.officers
        if wanted in (o.id, o.email, o.name.lower(), o.name.lower().split()[0])
    ]
    if len(matches) == 1:
        return matches[0].id
    known = ", ".join(o.id for o in directory.officers)
    if matches:
        return Refused(f"{who!r} could mean {', '.join(o.id for o in matches)}; use the id")
    return Refused(f"no officer {who!r}; officers are {known}")


def parse_deadline(rules: Rules, text: str) -> datetime | Refused:
    """Read an agreed deadline: a date (the end of that day's support) or a date and time."""
    cal = rules.calendar
    text = text.strip().replace("T", " ")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
            hours = cal.hours_on(day)
            if hours is None:
                return Refused(f"{day.isoformat()} is not a support day; choose another date")
            return datetime.combine(day, hours[1], cal.zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return Refused(
            f"cannot read the date {text!r}; write it like 2026-12-04 or 2026-12-04 15:00"
        )
    return moment.replace(tzinfo=cal.zone) if moment.tzinfo is None else moment


def assign(session: Session, rules: Rules, call: Call, who: str, by: Staff) -> str | Refused:
    """Give the call to an officer."""
    officer = resolve_officer(rules, who, by.actor)
    if isinstance(officer, Refused):
        return officer
    if call.assignee == officer:
        return f"already assigned to {officer}"
    before = call.assignee or "nobody"
    call.assignee = officer
    found = rules.directory.officer(officer)
    if found is not None:
        call.team = found.team
    call.updated_at = by.now
    lifecycle.add_event(
        session, call, at=by.now, actor=by.actor, kind="assigned", detail=f"{before} -> {officer}"
    )
    return f"assigned to {officer}"


def set_priority(
    session: Session, rules: Rules, call: Call, priority: str, by: Staff
) -> str | Refused:
    """Change the priority; the targets are worked out again from the clock's start."""
    if priority not in rules.clock.targets:
        return Refused(
            f"priority {priority!r} does not exist; priorities are {', '.join(rules.clock.targets)}"
        )
    change = lifecycle.set_priority(
        session, call, priority, policy=rules.clock, now=by.now, actor=by.actor
    )
    return f"priority {change.detail}"


def set_deadline(
    session: Session, rules: Rules, call: Call, when: str, reason: str, by: Staff
) -> str | Refused:
    """Replace the fix target with one agreed with the school; the reason is required."""
    if not reason.strip():
        return Refused("a revised deadline needs the reason it was agreed, e.g. 'agreed with head'")
    due_at = parse_deadline(rules, when)
    if isinstance(due_at, Refused):
        return due_at
    if due_at <= by.now:
        return Refused(f"{due_at.isoformat()} has already passed")
    lifecycle.set_deadline(
        session, call, due_at, reason.strip(), policy=rules.clock, now=by.now, actor=by.actor
    )
    return f"fix target revised to {describe(due_at, rules.calendar, by.now)}: {reason.strip()}"


def set_status(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    status: str,
    by: Staff,
    message: str = "",
) -> str | Refused:
    """Move the call to a status; solving tells the school, with ``message`` if given."""
    if status not in STATUSES:
        return Refused(f"status {status!r} does not exist; statuses are {', '.join(STATUSES)}")
    change = lifecycle.set_status(
        session, call, status, policy=rules.clock, now=by.now, actor=by.actor
    )
    if not change.changed:
        return change.detail
    if status == "solved":
        record = view(call)
        out = notices.to_school(
            config,
            rules,
            record,
            "solved",
            notices.solved_extra(rules, record, message.strip(), by.now),
            now=by.now,
            occasion=by.now.isoformat(),
            thread=lifecycle.school_thread(session, call),
        )
        # Telling the school it is fixed is the officer contacting it, if
        # nothing had yet.
        lifecycle.mark_responded(session, call, now=by.now, actor=by.actor)
        if out is not None:
            store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
            notices.enqueue(store, config, out, by.now)
            return f"status {change.detail}; the school has been told"
    return f"status {change.detail}"


def add_note(session: Session, call: Call, text: str, by: Staff) -> str | Refused:
    """Keep an internal note on the call; notes never reach the school."""
    if not text.strip():
        return Refused("the note is empty")
    lifecycle.add_event(session, call, at=by.now, actor=by.actor, kind="note", detail=text.strip())
    call.updated_at = by.now
    return "note added (internal: the school does not see it)"


def reply_to_school(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    text: str,
    by: Staff,
    occasion: str,
) -> str | Refused:
    """Send the officer's words to the school from the support address, in the school's thread.

    ``occasion`` makes the email's Message-ID: the same action done again (a
    re-run after a crash) composes the same id, which the outbox refuses twice.
    """
    if not text.strip():
        return Refused("there is nothing to send to the school")
    officer = rules.directory.identify(by.actor).officer
    if officer is None:
        return Refused(f"{by.actor} is not an officer in staff.toml, so cannot write to schools")
    record = view(call)
    out = notices.to_school(
        config,
        rules,
        record,
        "staff_reply",
        {"text": text.strip(), "officer": {"name": officer.name, "email": officer.email}},
        now=by.now,
        occasion=occasion,
        thread=lifecycle.school_thread(session, call),
    )
    if out is None:
        return Refused("the call has no school address to write to")
    store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
    notices.enqueue(store, config, out, by.now)
    lifecycle.add_event(
        session, call, at=by.now, actor=by.actor, kind="replied", detail=out.message_id
    )
    lifecycle.mark_responded(session, call, now=by.now, actor=by.actor)
    call.updated_at = by.now
    return f"sent to {', '.join((*out.to, *out.cc))}"
