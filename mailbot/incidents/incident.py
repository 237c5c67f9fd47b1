"""Major incidents: declaring, updating and resolving them, and the calls linked to them.

Each declare, update and resolve is a numbered IncidentUpdate; the broadcast
job (broadcast.py) sends each one to the distribution lists, and the status
page (statuspage.py) shows them.  Here only the state changes happen, inside
the caller's transaction, so the change and the emails it causes commit
together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from mailbot.calls import door, lifecycle, notices
from mailbot.calls.records import IncidentView
from mailbot.calls.references import reference_number
from mailbot.calls.store import Store, view
from mailbot.config import Config
from mailbot.incidents import store
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import describe
from mailbot.storage import threads
from mailbot.storage.db import Session
from mailbot.storage.models import Call, Incident, IncidentUpdate


@dataclass(frozen=True)
class By:
    """Who changes an incident, and when."""

    actor: str
    now: datetime


def find(session: Session, rules: Rules, ref: str) -> Incident | None:
    """The incident a reference names, forgiving case, brackets and zero padding."""
    number = reference_number(ref, rules.incidents.prefix)
    found = session.get(Incident, number) if number is not None else None
    # Planned work shares the numbers; MI-0002 never names PW-0002.
    return found if found is not None and found.kind == "major" else None


def ref_of(rules: Rules, incident_id: int) -> str:
    """The reference an incident is known by, e.g. MI-0001."""
    return f"{rules.incidents.prefix}-{incident_id:04d}"


def latest(session: Session, incident: Incident) -> IncidentUpdate:
    """The incident's most recent notice."""
    found = store.latest_notice(session, incident.id)
    if found is None:
        raise RuntimeError(f"incident {incident.ref} has no notices")
    return found


def snapshot(session: Session, incident: Incident) -> IncidentView:
    """A plain record of an incident and its latest notice, for composing emails."""
    last = latest(session, incident)
    return IncidentView(
        id=incident.id,
        ref=incident.ref,
        title=incident.title,
        status=incident.status,
        email_down=incident.email_down,
        declared_at=incident.declared_at,
        resolved_at=incident.resolved_at,
        latest_kind=last.kind,
        latest_text=last.text,
        latest_at=last.at,
        seq=last.seq,
    )


def _notice(session: Session, incident: Incident, kind: str, text: str, by: By) -> IncidentUpdate:
    seq = store.next_seq(session, incident.id)
    update = IncidentUpdate(
        incident_id=incident.id, seq=seq, kind=kind, text=text.strip(), by=by.actor, at=by.now
    )
    session.add(update)
    incident.updated_at = by.now
    session.flush()
    return update


def declare(
    session: Session,
    rules: Rules,
    *,
    title: str,
    details: str,
    by: By,
    call: Call | None = None,
    email_down: bool = False,
    keywords: tuple[str, ...] = (),
    config: Config | None = None,
) -> Incident:
    """Open a major incident; its first notice is broadcast by the next broadcast pass.

    Declared on a call, the call is linked and its requester told, in the
    call's thread, that their report is now a major incident; ``config`` is
    needed for that email, so it must be given with ``call``.
    """
    if call is not None and config is None:
        raise ValueError("declaring on a call needs the configuration to tell its requester")
    incident = Incident(
        ref="",
        title=title.strip(),
        status="active",
        email_down=email_down,
        keywords="\n".join(k.strip().lower() for k in keywords if k.strip()),
        category=call.category if call is not None else None,
        call_id=call.id if call is not None else None,
        declared_by=by.actor,
        declared_at=by.now,
        updated_at=by.now,
    )
    session.add(incident)
    # The reference comes from the primary key, so two processes never share one.
    session.flush()
    incident.ref = ref_of(rules, incident.id)
    _notice(session, incident, "declare", details or title, by)
    if call is not None:
        call.incident_id = incident.id
        call.updated_at = by.now
        if "Critical" in rules.clock.targets and call.priority != "Critical":
            lifecycle.set_priority(
                session, call, "Critical", policy=rules.clock, now=by.now, actor=by.actor
            )
        lifecycle.store_clock(call, lifecycle.clock_of(call), rules.clock)
        lifecycle.add_event(
            session, call, at=by.now, actor=by.actor, kind="major_declared",
            detail=f"{incident.ref}: {incident.title}",
        )  # fmt: skip
        if config is not None:
            _tell_reporter(session, config, rules, call, incident, by)
    return incident


def _tell_reporter(
    session: Session, config: Config, rules: Rules, call: Call, incident: Incident, by: By
) -> None:
    """Tell the person whose report became the incident that it is now a major incident.

    They may be on none of the distribution lists, and even if they are, the
    broadcast does not say that their own call is the one being worked; the
    email goes in their call's thread, once (its Message-ID is fixed by the
    incident).
    """
    extra = status_extra(rules, config, snapshot(session, incident), by.now)
    out = notices.to_school(
        config,
        rules,
        view(call),
        "incident_status",
        {**extra, "reported_by_you": True},
        now=by.now,
        occasion=f"{incident.ref}\0declared",
        thread=threads.school_thread(session, call),
    )
    if out is not None:
        call_store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
        door.send(call_store, config, rules, out, by.now)


def update(session: Session, incident: Incident, text: str, by: By) -> IncidentUpdate:
    """Add a notice to an active incident."""
    return _notice(session, incident, "update", text, by)


def set_email_down(incident: Incident, down: bool, by: By) -> None:
    """Say whether school email itself is down (broadcasts then use alternative addresses)."""
    incident.email_down = down
    incident.updated_at = by.now


def set_services(incident: Incident, services: tuple[str, ...], outage: str | None, by: By) -> None:
    """Which services the incident affects, and whether wholly ("full") or partly ("partial").

    These decide the availability figures; ``outage`` None leaves it as it was.
    """
    if services:
        incident.services = "\n".join(services)
    if outage is not None:
        incident.outage = outage
    incident.updated_at = by.now


def set_keywords(incident: Incident, keywords: tuple[str, ...], by: By) -> None:
    """The words that link a school's new email to this incident."""
    incident.keywords = "\n".join(k.strip().lower() for k in keywords if k.strip())
    incident.updated_at = by.now


def resolve(
    session: Session, config: Config, rules: Rules, incident: Incident, text: str, by: By
) -> int:
    """Resolve the incident and solve every call linked to it, each requester told once.

    Returns how many calls were solved.  The solved notices go in the same
    transaction; a requester with several linked calls gets one notice.
    """
    _notice(session, incident, "resolve", text, by)
    incident.status = "resolved"
    incident.resolved_at = by.now
    call_store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
    told: set[str] = set()
    solved = 0
    for call in store.live_linked_calls(session, incident.id):
        lifecycle.set_status(
            session, call, "solved", policy=rules.clock, now=by.now, actor=by.actor
        )
        lifecycle.add_event(
            session, call, at=by.now, actor=by.actor, kind="major_resolved", detail=incident.ref
        )
        solved += 1
        address = (call.requester_email or "").lower()
        if not address or address in told:
            continue
        told.add(address)
        out = notices.solved(
            config,
            rules,
            view(call),
            text,
            now=by.now,
            occasion=f"{incident.ref}\0resolved",
            thread=threads.school_thread(session, call),
        )
        if out is not None:
            door.send(call_store, config, rules, out, by.now)
    return solved


def matching(
    session: Session, rules: Rules, call_type: str, category: str, text: str
) -> Incident | None:
    """The active incident a school's new email belongs to: its tag, keywords or category.

    A reply to a broadcast carries the incident's tag and is linked whatever
    it was classified as; otherwise only incidents (not requests) are linked.
    """
    found = store.active(session)
    lowered = text.lower()
    for incident in found:
        if re.search(rf"\[\s*{re.escape(incident.ref)}\s*\]", text, re.I):
            return incident
    if call_type != "incident":
        return None
    for incident in found:
        words = [w for w in incident.keywords.split("\n") if w]
        if any(re.search(rf"\b{re.escape(w)}\b", lowered) for w in words):
            return incident
    if rules.incidents.match_category:
        for incident in found:
            if incident.category and incident.category == category:
                return incident
    return None


def resolved_named(
    session: Session, rules: Rules, text: str, replied_to: tuple[str, ...] = ()
) -> Incident | None:
    """The resolved incident a school's email replies to: its tag, or one of its notices' ids.

    The resolution notice invites a school that still has a problem to reply;
    such a reply is a follow-up of the incident, not a new fault of its own.
    ``text`` may carry the tag (``[MI-0001]``, kept in a reply's subject);
    ``replied_to`` (In-Reply-To and References) may name a notice, whose
    Message-ID begins with the incident's reference (``compose.notice_id``).
    """
    prefix = re.escape(rules.incidents.prefix)
    tag = re.compile(rf"\[\s*({prefix}-?\s*\d{{1,9}})\s*\]", re.I)
    notice = re.compile(rf"<({prefix}-\d{{1,9}})\.n\d{{1,9}}\.[0-9a-f]{{20}}@", re.I)
    named = [m.group(1) for m in tag.finditer(text)]
    named += [m.group(1) for i in replied_to if (m := notice.match(i))]
    for ref in named:
        found = find(session, rules, ref)
        if found is not None and found.status != "active":
            return found
    return None


def follow_up(session: Session, rules: Rules, call: Call, incident: Incident, by: By) -> None:
    """Link a school's reply to a resolved incident's notice to it, and wait for the school.

    The call is linked (so it neither escalates nor breaches on its own, and
    is never a missed target against the incident) and waits for the school
    to say whether the problem continues (its reply says so and asks); the
    clock is paused meanwhile.  When the school answers, ``unlink_follow_up``
    makes it a call of its own.
    """
    call.incident_id = incident.id
    call.updated_at = by.now
    lifecycle.set_status(
        session, call, "awaiting_customer", policy=rules.clock, now=by.now, actor=by.actor
    )
    lifecycle.store_clock(call, lifecycle.clock_of(call), rules.clock)
    lifecycle.add_event(
        session, call, at=by.now, actor=by.actor, kind="major_followup",
        detail=f"{incident.ref} (resolved): the school was asked whether the problem continues",
    )  # fmt: skip


def unlink_follow_up(session: Session, rules: Rules, call: Call, by: By) -> bool:
    """A follow-up's school answered: the problem is worked as a call of its own from now.

    Returns whether the call was a follow-up of a resolved incident.
    """
    incident = session.get(Incident, call.incident_id) if call.incident_id else None
    if incident is None or incident.status == "active":
        return False
    call.incident_id = None
    call.updated_at = by.now
    lifecycle.store_clock(call, lifecycle.clock_of(call), rules.clock)
    lifecycle.add_event(
        session, call, at=by.now, actor=by.actor, kind="major_unlinked",
        detail=f"the school answered after {incident.ref} was resolved: worked as its own call",
    )  # fmt: skip
    return True


def status_extra(
    rules: Rules, config: Config, incident: IncidentView, now: datetime
) -> dict[str, object]:
    """What an email about an incident says of it (for the incident_status template)."""
    cal = rules.calendar
    return {
        "incident": {
            "ref": incident.ref,
            "title": incident.title,
            "status": incident.status,
            "latest": incident.latest_text,
            "latest_at": describe(incident.latest_at, cal, now).removeprefix("by "),
            "declared": describe(incident.declared_at, cal, now).removeprefix("by "),
        },
        "status_url": config.status_page.url,
    }


def link_call(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    incident: Incident,
    by: By,
    occasion: str,
) -> str:
    """Link a call to an active incident and tell its school the incident's current status."""
    if call.incident_id == incident.id:
        return f"already linked to {incident.ref}"
    if incident.status != "active":
        return f"{incident.ref} is resolved; not linked"
    call.incident_id = incident.id
    call.updated_at = by.now
    lifecycle.store_clock(call, lifecycle.clock_of(call), rules.clock)
    lifecycle.add_event(
        session, call, at=by.now, actor=by.actor, kind="major_linked", detail=incident.ref
    )
    record = view(call)
    out = notices.to_school(
        config,
        rules,
        record,
        "incident_status",
        status_extra(rules, config, snapshot(session, incident), by.now),
        now=by.now,
        occasion=occasion,
        thread=threads.school_thread(session, call),
    )
    if out is not None:
        call_store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
        door.send(call_store, config, rules, out, by.now)
    return f"linked to {incident.ref}; the school has been sent its status"
