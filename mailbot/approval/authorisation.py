"""Requests that need the headteacher's authorisation: asking, authorising and declining.

Service requests and changes may only come from a name on the school's
authorised list (rules: schools.toml `authorised`).  Anyone else's request
waits, its clock held, while the school's headteacher is asked by email; the
headteacher replies #authorise or #decline, and the requester is told either
way.  Staff who obtained the authorisation another way may give it the same
commands.
"""

from __future__ import annotations

from dataclasses import replace

from mailbot.approval import board, changemail, changes, store
from mailbot.calls import door, lifecycle, notices, staffmail
from mailbot.calls.records import Staff
from mailbot.calls.store import Store, view
from mailbot.config import Config
from mailbot.rules.directory import SenderKind
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import clock_start
from mailbot.sla.clock import HELD, Clock
from mailbot.storage import threads
from mailbot.storage.db import Session
from mailbot.storage.models import Call

# Call types that only an authorised person may ask for.
NEEDS_AUTHORISATION = ("service_request", "change_request")


def needed(session: Session, rules: Rules, call: Call) -> bool:
    """Whether ``call`` must wait for the headteacher before anyone works it."""
    if call.type not in NEEDS_AUTHORISATION or call.status in HELD or call.school_id is None:
        return False
    school = rules.directory.school(call.school_id)
    if school is None or school.is_authorised(call.requester_name, call.requester_email):
        return False
    # Once given, an authorisation stands even if the type changes back and forth.
    return store.latest_event(session, call.id, ("authorised",)) is None


def _store(session: Session, rules: Rules) -> Store:
    return Store(session, rules.policy.references.prefix, rules.policy.references.width)


def request(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    by: Staff,
    occasion: str,
    text: str | None = None,
) -> str:
    """Hold the call and ask the school's headteacher to authorise it.

    The head is shown what was asked: ``text``, the request as the school
    wrote it, for a call whose email is not stored yet; else its first email.
    """
    policy = rules.clock
    lifecycle.set_status(
        session, call, "awaiting_authorisation", policy=policy, now=by.now, actor=by.actor
    )
    school = rules.directory.school(call.school_id) if call.school_id else None
    heads = school.with_role("headteacher") if school else ()
    if not heads:
        lifecycle.add_event(
            session, call, at=by.now, actor="mailbot", kind="authorisation_requested",
            detail="no headteacher in the directory",
        )  # fmt: skip
        return "waiting for authorisation, but the school has no headteacher in the directory"
    record = view(call)
    if text is None:
        text = threads.first_words(session, [call.id]).get(call.id, "")
    out = notices.to_people(
        config,
        rules,
        record,
        "authorisation_request",
        {"headteacher": heads[0].name, "text": changemail.excerpt(text)},
        to=tuple(h.email for h in heads),
        now=by.now,
        occasion=occasion,
    )
    door.send(_store(session, rules), config, rules, out, by.now)
    names = ", ".join(h.name for h in heads)
    lifecycle.add_event(
        session, call, at=by.now, actor="mailbot", kind="authorisation_requested", detail=names
    )
    return f"waiting for authorisation by {names} (headteacher)"


def _tell(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    by: Staff,
    occasion: str,
    extra: dict[str, object],
) -> None:
    """Tell the requester and the team what the headteacher decided."""
    record = view(call)
    call_store = _store(session, rules)
    school_out = notices.to_school(
        config,
        rules,
        record,
        "authorisation_result",
        extra,
        now=by.now,
        occasion=occasion,
        thread=threads.school_thread(session, call),
    )
    if school_out is not None:
        # The headteacher who decided is copied, which is their receipt.
        decider = by.actor.lower()
        if rules.directory.identify(decider).kind is SenderKind.SCHOOL and decider not in (
            *school_out.to,
            *school_out.cc,
        ):
            school_out = replace(school_out, cc=(*school_out.cc, decider))
        door.send(call_store, config, rules, school_out, by.now)
    staff_out = staffmail.update_notice(
        config,
        rules,
        record,
        extra,
        now=by.now,
        occasion=occasion,
        thread=threads.staff_thread(session, call),
    )
    if staff_out is not None:
        door.send(call_store, config, rules, staff_out, by.now)


def authorise(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    by: Staff,
    occasion: str,
    words: str = "",
) -> str:
    """Release a held request: its SLA clock starts now, and requester and team are told.

    ``words`` are what the headteacher wrote with the decision; they are kept
    on the call and passed to whoever works it.
    """
    policy = rules.clock
    # The call counts as logged when it may first be worked, so its targets
    # run from the first support minute after the authorisation.
    start = clock_start(policy.calendar, by.now)
    lifecycle.store_clock(call, Clock(call.priority, "open", start), policy)
    call.updated_at = by.now
    name = board.person(rules, call, by.actor)
    lifecycle.add_event(session, call, at=by.now, actor=by.actor, kind="authorised", detail=name)
    words = words.strip()
    if words:
        lifecycle.add_event(
            session, call, at=by.now, actor=by.actor, kind="authorisation_words", detail=words
        )
    # An authorised change goes on to the Change Advisory Board (ecab.py); the
    # requester and the team learn that from the same notices.
    review, sent = "", ""
    if changes.needed(session, rules, call):
        work = board.Work(session, config, rules, call, by, occasion)
        sent = "; " + board.submit(work, tell=False)
        review = changemail.board_name(changemail.STANDARD)
    extra = {"authorised": True, "by": name, "reason": "", "words": words, "review": review}
    _tell(session, config, rules, call, by, occasion, extra)
    return f"authorised by {name}{sent}; the requester and the team have been told"


def decline(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    reason: str,
    by: Staff,
    occasion: str,
) -> str:
    """Close a held request as declined, telling the requester why and the team that it is off."""
    lifecycle.set_status(session, call, "closed", policy=rules.clock, now=by.now, actor=by.actor)
    name = board.person(rules, call, by.actor)
    detail = f"{name}: {reason}" if reason else name
    lifecycle.add_event(session, call, at=by.now, actor=by.actor, kind="declined", detail=detail)
    _tell(
        session, config, rules, call, by, occasion,
        {"authorised": False, "by": name, "reason": reason, "words": "", "review": ""},
    )  # fmt: skip
    return f"declined by {name}; the requester and the team have been told"
