"""The held queue: stored emails kept for a human, and what a person did with each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from mailbot.storage.models import HeldDecision, Message, Processed

# The pipeline's outcomes (pipeline.records.Action values) that keep an email
# for a human with no call to show it: a stranger (held or answered), mail
# over the size limit, forged staff mail, a flood and a blocked loop.
HELD_OUTCOMES = ("hold", "unknown_reply", "oversize", "unverified", "flooded", "blocked")


@dataclass(frozen=True)
class HeldMail:
    """One held email as `mailbot held list` shows it."""

    id: int
    received_at: datetime
    sender: str
    subject: str
    outcome: str
    why: str


def _waiting() -> tuple[ColumnElement[bool], ...]:
    decided = select(HeldDecision.message_id)
    return (
        Message.direction == "in",
        Message.call_id.is_(None),
        Message.outcome.in_(HELD_OUTCOMES),
        Message.id.not_in(decided),
    )


def waiting(session: Session) -> list[HeldMail]:
    """Every held email nobody has dealt with yet, oldest first."""
    query = (
        select(Message, Processed.detail)
        .outerjoin(Processed, Processed.message_row_id == Message.id)
        .where(*_waiting())
        .order_by(Message.received_at, Message.id)
    )
    return [
        HeldMail(
            id=m.id,
            received_at=m.received_at,
            sender=m.from_addr or "(no sender)",
            subject=m.subject,
            outcome=m.outcome,
            why=detail or m.outcome,
        )
        for m, detail in session.execute(query)
    ]


def count_waiting(session: Session) -> int:
    """How many held emails wait for a person (for `mailbot status`)."""
    query = select(func.count(Message.id)).where(*_waiting())
    return session.scalar(query) or 0


def decide(
    session: Session, held_id: int, *, action: str, by: str, at: datetime, detail: str
) -> bool:
    """Record what a person did with a waiting held email; False if it is not waiting."""
    query = select(Message.id).where(Message.id == held_id, *_waiting())
    if session.scalar(query) is None:
        return False
    session.add(HeldDecision(message_id=held_id, action=action, by=by, at=at, detail=detail))
    session.flush()
    return True
