"""A call's two threads, the school's and the staff's, as Message-IDs; what a school first wrote."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from mailbot.storage.db import Session
from mailbot.storage.models import Call, Message

# Kinds of email that form the school's side of a call's thread.
SCHOOL_KINDS = (
    "confirmation",
    "reopened",
    "solved",
    "closure",
    "staff_reply",
    "authorisation_result",
    "incident_status",
    "change_submitted",
    "change_decision",
    "change_withdrawn",
    "emergency_refused",
    "password_advice",
    "targets_changed",
)


def school_thread(session: Session, call: Call) -> tuple[str, ...]:
    """Message-IDs of the school's thread on a call, oldest first, for In-Reply-To/References."""
    rows = session.execute(
        select(Message.message_id, Message.direction, Message.outcome, Message.from_addr)
        .where(Message.call_id == call.id, Message.message_id.is_not(None))
        .order_by(Message.id)
    ).all()
    # Only the requester's own mail and what mailbot sent the school belong to
    # the school's thread; staff mail on the call stays out of its headers.
    return tuple(
        mid
        for mid, direction, outcome, sender in rows
        if mid
        and (
            (direction == "in" and sender == call.requester_email)
            or (direction == "out" and outcome in SCHOOL_KINDS)
        )
    )


# Kinds of email that form the staff side of a call's thread.
STAFF_KINDS = (
    "new_call",
    "school_reply",
    "receipt",
    "staff_update",
    "change_update",
    "breach",
    "assigned",
    "poor_rating",
)
# The board's review and reminder share the staff thread's subject but not
# its headers: each member's copy carries that member's reply token
# (replytoken.py), so its id must never be quoted in mail others receive.


def staff_thread(session: Session, call: Call) -> tuple[str, ...]:
    """Message-IDs of what mailbot sent staff about a call, oldest first."""
    rows = session.scalars(
        select(Message.message_id)
        .where(
            Message.call_id == call.id,
            Message.direction == "out",
            or_(Message.outcome.in_(STAFF_KINDS), Message.outcome.like("escalation%")),
        )
        .order_by(Message.id)
    ).all()
    return tuple(mid for mid in rows if mid)


def first_words(session: Session, call_ids: list[int]) -> dict[int, str]:
    """What the school first wrote on each call (already redacted and quote-stripped)."""
    if not call_ids:
        return {}
    first = (
        select(func.min(Message.id))
        .where(Message.call_id.in_(call_ids), Message.direction == "in")
        .group_by(Message.call_id)
    )
    rows = session.execute(
        select(Message.call_id, Message.new_text, Message.body_text).where(Message.id.in_(first))
    ).all()
    return {call_id: new or body for call_id, new, body in rows if call_id is not None}
