"""The held queue: emails kept for a human, stored or parked, and what a person did with each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from mailbot.storage.models import HeldDecision, Message, Outbox, ParkedMail, Processed

# The pipeline's outcomes (pipeline.records.Action values) that keep an email
# for a human with no call to show it: a stranger (held or answered), mail
# over the size limit, forged staff mail, a flood and a blocked loop.
HELD_OUTCOMES = ("hold", "unknown_reply", "oversize", "unverified", "flooded", "blocked")

# Parked emails (storage/parked.py) are never stored as messages, so they
# have an id space of their own; the queue shows theirs with this prefix.
PARKED_PREFIX = "p"


@dataclass(frozen=True)
class HeldMail:
    """One held email as `mailbot held list` shows it; ``id`` is `12`, or `p3` when parked."""

    id: str
    received_at: datetime
    sender: str
    subject: str
    outcome: str
    why: str
    # The email's own Message-ID, for threading a reply ("" when it had none).
    message_id: str = ""


def _messages_waiting() -> tuple[ColumnElement[bool], ...]:
    decided = select(HeldDecision.message_id).where(HeldDecision.message_id.is_not(None))
    return (
        Message.direction == "in",
        Message.call_id.is_(None),
        Message.outcome.in_(HELD_OUTCOMES),
        Message.id.not_in(decided),
    )


def _parked_waiting() -> ColumnElement[bool]:
    decided = select(HeldDecision.parked_id).where(HeldDecision.parked_id.is_not(None))
    return ParkedMail.id.not_in(decided)


def waiting(session: Session) -> list[HeldMail]:
    """Every held email nobody has dealt with yet, oldest first."""
    query = (
        select(Message, Processed.detail)
        .outerjoin(Processed, Processed.message_row_id == Message.id)
        .where(*_messages_waiting())
    )
    stored = [
        HeldMail(
            id=str(m.id),
            received_at=m.received_at,
            sender=m.from_addr or "(no sender)",
            subject=m.subject,
            outcome=m.outcome,
            why=detail or m.outcome,
            message_id=m.message_id or "",
        )
        for m, detail in session.execute(query)
    ]
    parked = [
        HeldMail(
            id=f"{PARKED_PREFIX}{p.id}",
            received_at=p.at,
            sender=p.sender or "(no sender)",
            subject=p.subject,
            outcome="parked",
            why=f"parked in Failed: {p.reason}",
            message_id=p.message_id,
        )
        for p in session.scalars(select(ParkedMail).where(_parked_waiting()))
    ]
    return sorted([*stored, *parked], key=lambda h: (h.received_at, h.id))


def find(session: Session, held_id: str) -> HeldMail | None:
    """The waiting held email with this id (as `held list` shows it), or None."""
    return next((h for h in waiting(session) if h.id == held_id), None)


def count_waiting(session: Session) -> int:
    """How many held emails wait for a person (for `mailbot status`)."""
    stored = session.scalar(select(func.count(Message.id)).where(*_messages_waiting())) or 0
    parked = session.scalar(select(func.count(ParkedMail.id)).where(_parked_waiting())) or 0
    return stored + parked


def decide(
    session: Session, held_id: str, *, action: str, by: str, at: datetime, detail: str
) -> bool:
    """Record what a person did with a waiting held email; False if it is not waiting."""
    number = held_id.removeprefix(PARKED_PREFIX)
    if not number.isdigit():
        return False
    row_id = int(number)
    record = HeldDecision(action=action, by=by, at=at, detail=detail)
    if held_id.startswith(PARKED_PREFIX):
        query = select(ParkedMail.id).where(ParkedMail.id == row_id, _parked_waiting())
        record.parked_id = row_id
    else:
        query = select(Message.id).where(Message.id == row_id, *_messages_waiting())
        record.message_id = row_id
    if session.scalar(query) is None:
        return False
    session.add(record)
    session.flush()
    return True


def sent(session: Session, message_id: str) -> bool:
    """Whether the outbox already holds the email with this Message-ID (the day's digest)."""
    query = select(Outbox.id).where(Outbox.message_id == message_id)
    return session.scalar(query) is not None


def attach(row: Message, call_id: int) -> None:
    """Put a held stored email on the call opened from it (`held open`)."""
    row.call_id = call_id
    row.outcome = "open_call"


def stored(session: Session, held_id: str) -> Message | None:
    """The waiting stored held email with this id (not a parked one), or None."""
    if not held_id.isdigit():
        return None
    query = select(Message).where(Message.id == int(held_id), *_messages_waiting())
    return session.scalar(query)
