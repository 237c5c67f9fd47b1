"""What staff can do to a call (assign, status, priority, deadline), by email command or CLI."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime

from mailbot.approval import authorisation, board, changes
from mailbot.calls import door, lifecycle, notices, staffmail
from mailbot.calls.records import Refused, Staff
from mailbot.calls.references import reference_number
from mailbot.calls.store import Store, by_ref, view
from mailbot.calls.templatevars import spoc_copies
from mailbot.config import Config
from mailbot.mail.bounds import cut
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import describe
from mailbot.sla.clock import HELD, STATUSES
from mailbot.storage import links, threads
from mailbot.storage.db import Session
from mailbot.storage.models import Call


def find_call(session: Session, rules: Rules, ref: str) -> Call | None:
    """The call a reference names, forgiving case and missing zero padding."""
    policy = rules.policy.references
    number = reference_number(ref, policy.prefix)
    if number is None:
        return None
    canonical = f"{policy.prefix}-{number:0{policy.width}d}"
    return by_ref(session, canonical)


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


def staff_member(rules: Rules, who: str) -> str | Refused:
    """The address of the staff member ``who`` names (id, name or address), as `--by` records it.

    Command-line actions act with staff authority (a declaration is broadcast
    to every school), so they must name someone in staff.toml.
    """
    found = resolve_officer(rules, who, actor="")
    officer = rules.directory.officer(found) if not isinstance(found, Refused) else None
    if officer is None:
        known = ", ".join(o.id for o in rules.directory.officers)
        return Refused(f"--by {who!r} is not an officer in staff.toml; officers are {known}")
    return officer.email


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


def school_recipients(rules: Rules, call: Call) -> tuple[str, ...]:
    """Who the school's side of a call is written to: the requester, then its SPOCs."""
    record = view(call)
    to = notices.school_to(record)
    return (*to, *spoc_copies(rules, record, to))


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


def tell_assignee(
    session: Session, config: Config, rules: Rules, call: Call, by: Staff, occasion: str
) -> None:
    """Tell the call's officer it is theirs, when someone else gave it to them.

    Officers who take a call themselves know already; anyone else's
    assignment would otherwise reach the new officer only with the school's
    next reply.  The email continues the staff thread.
    """
    officer = rules.directory.officer(call.assignee) if call.assignee else None
    if officer is None or officer.email.lower() == by.actor.lower():
        return
    giver = rules.directory.identify(by.actor).officer
    record = view(call)
    out = staffmail.compose(
        config,
        rules,
        record,
        "assigned",
        {"by": giver.name if giver else by.actor, "officer": {"name": officer.name}},
        now=by.now,
        mid=notices.notice_id(config, record, "assigned", f"{occasion}\0{officer.id}"),
        thread=threads.staff_thread(session, call),
        to=officer.email,
    )
    if out is not None:
        store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
        door.send(store, config, rules, out, by.now)


def unassign(session: Session, call: Call, by: Staff) -> str:
    """Give the call back to its team: it is no one's until someone takes it."""
    if call.assignee is None:
        return "not assigned to anyone"
    before = call.assignee
    call.assignee = None
    call.updated_at = by.now
    lifecycle.add_event(
        session, call, at=by.now, actor=by.actor, kind="assigned", detail=f"{before} -> nobody"
    )
    return f"no longer assigned to {before}; the team {call.team or ''} has it".replace("  ", " ")


def set_type(
    session: Session, config: Config, rules: Rules, call: Call, kind: str, by: Staff
) -> str:
    """Change the call's type; a request from someone not authorised then waits for the head.

    A change request that needs no authorisation goes to the Change Advisory Board.
    """
    before = call.type
    if kind == before:
        return f"already {kind}"
    call.type = kind
    call.updated_at = by.now
    lifecycle.add_event(
        session, call, at=by.now, actor=by.actor, kind="type", detail=f"{before} -> {kind}"
    )
    done = f"type {before} -> {kind}"
    occasion = f"type\0{by.now.isoformat()}\0{kind}"
    if authorisation.needed(session, rules, call):
        done += "; " + authorisation.request(session, config, rules, call, by, occasion)
    elif changes.needed(session, rules, call):
        done += "; " + board.submit(board.Work(session, config, rules, call, by, occasion))
    return done


def link(session: Session, call: Call, other: Call, by: Staff) -> str:
    """Cross-reference two calls; each records the other."""
    if other.id in {c.id for c in links.linked(session, call, "related")}:
        return f"already linked to {other.ref}"
    links.link(session, call, other, "related")
    lifecycle.add_event(session, call, at=by.now, actor=by.actor, kind="linked", detail=other.ref)
    lifecycle.add_event(session, other, at=by.now, actor=by.actor, kind="linked", detail=call.ref)
    call.updated_at = other.updated_at = by.now
    return f"linked to {other.ref}"


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


def tell_targets(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    *,
    was: tuple[str, datetime | None],
    reason: str,
    by: Staff,
    occasion: str,
) -> str:
    """Tell the school, in its thread, what changed in its targets, the new ones and why.

    ``was`` is the priority and fix target before the change.  Returns the
    words the receipt adds ("" when nothing changed or nobody can be told).
    """
    if call.status in HELD or call.type in ("complaint", "problem"):
        # A held call has no targets yet, a complaint has none at all, and a
        # problem record is internal.
        return ""
    cal = rules.calendar
    changes = []
    if call.priority != was[0]:
        old = rules.sla.priorities[was[0]].description  # type: ignore[index]
        changes.append(f"Priority: was {was[0]} ({old}), now {call.priority}")
    if was[1] is not None and call.fix_due_at is not None and call.fix_due_at != was[1]:
        before = describe(was[1], cal, by.now).removeprefix("by ")
        changes.append(f"Fix target: was {before}, now {describe(call.fix_due_at, cal, by.now)}")
    if not changes:
        return ""
    out = notices.to_school(
        config,
        rules,
        view(call),
        "targets_changed",
        {"changes": changes, "reason": reason.strip()},
        now=by.now,
        occasion=occasion,
        thread=threads.school_thread(session, call),
    )
    if out is None:
        return ""
    store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
    door.send(store, config, rules, out, by.now)
    return "; the school has been told"


def check_deadline(rules: Rules, when: str, reason: str, now: datetime) -> datetime | Refused:
    """The agreed deadline ``when`` names, or why it cannot be used."""
    if not reason.strip():
        return Refused("a revised deadline needs the reason it was agreed, e.g. 'agreed with head'")
    due_at = parse_deadline(rules, when)
    if isinstance(due_at, Refused):
        return due_at
    if due_at <= now:
        return Refused(f"{describe(due_at, rules.calendar, now).removeprefix('by ')} has passed")
    return due_at


def set_deadline(
    session: Session, rules: Rules, call: Call, when: str, reason: str, by: Staff
) -> str | Refused:
    """Replace the fix target with one agreed with the school; the reason is required."""
    due_at = check_deadline(rules, when, reason, by.now)
    if isinstance(due_at, Refused):
        return due_at
    lifecycle.set_deadline(
        session, call, due_at, reason.strip(), policy=rules.clock, now=by.now, actor=by.actor
    )
    due = describe(due_at, rules.calendar, by.now).removeprefix("by ")
    return f"fix target revised to {due}: {reason.strip()}"


def set_status(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    status: str,
    by: Staff,
    message: str = "",
    occasion: str | None = None,
) -> str | Refused:
    """Move the call to a status; solving tells the school, with ``message`` if given.

    ``occasion`` fixes the solved notice's Message-ID (default: the instant).
    """
    if status not in STATUSES:
        return Refused(f"status {status!r} does not exist; statuses are {', '.join(STATUSES)}")
    change = lifecycle.set_status(
        session, call, status, policy=rules.clock, now=by.now, actor=by.actor
    )
    if not change.changed:
        return change.detail
    if status == "solved":
        out = notices.solved(
            config,
            rules,
            view(call),
            message,
            now=by.now,
            occasion=occasion or by.now.isoformat(),
            thread=threads.school_thread(session, call),
        )
        # Telling the school it is fixed is the officer contacting it, if
        # nothing had yet.
        lifecycle.mark_responded(session, call, now=by.now, actor=by.actor)
        if out is not None:
            store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
            door.send(store, config, rules, out, by.now)
            return f"status {change.detail}; the school has been told"
    return f"status {change.detail}"


def add_note(session: Session, call: Call, text: str, by: Staff) -> str | Refused:
    """Keep an internal note on the call; notes never reach the school."""
    if not text.strip():
        return Refused("the note is empty")
    lifecycle.add_event(session, call, at=by.now, actor=by.actor, kind="note", detail=text.strip())
    call.updated_at = by.now
    return "note added (internal: the school does not see it)"


def without_signoff(text: str, name: str) -> str:
    """The officer's words without their own closing name, which the email's signature gives.

    Only a last line that is nothing but the officer's full or first name (a
    comma, dash or full stop aside) is dropped, so the school sees one
    signature, "Sam Okafor", not "Sam" above it.
    """
    lines = text.rstrip().split("\n")
    last = lines[-1].strip().strip(",.-– ").lower()
    names = {name.lower(), name.split()[0].lower()} if name.strip() else set()
    if len(lines) > 1 and last in names:
        return "\n".join(lines[:-1]).rstrip()
    return text


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
        {
            "text": cut(
                without_signoff(text.strip(), officer.name), config.service.max_quoted_text_chars
            ),
            "officer": {"name": officer.name, "email": officer.email},
        },
        now=by.now,
        occasion=occasion,
        thread=threads.school_thread(session, call),
    )
    if out is None:
        return Refused("the call has no school address to write to")
    # These are a person's words, not an automatic reply (RFC 3834: "no").
    out = replace(out, auto="no")
    store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
    door.send(store, config, rules, out, by.now)
    lifecycle.add_event(
        session, call, at=by.now, actor=by.actor, kind="replied", detail=", ".join(out.to)
    )
    lifecycle.mark_responded(session, call, now=by.now, actor=by.actor)
    call.updated_at = by.now
    return f"sent to {', '.join((*out.to, *out.cc))}"
