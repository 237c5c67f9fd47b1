"""The held queue: emails kept for a human, stored or parked, and what a person did with each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, false, func, select
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


# The rows the queue shows: a stored email's (with why it was held, when the
# processed record says) and a parked one's.
_Stored = Select[int, datetime, str | None, str, str, str | None, str | None]
_Parked = Select[int, datetime, str, str, str, str]


def _stored_query() -> _Stored:
    # The columns shown, not the stored bodies.
    return (
        select(
            Message.id, Message.received_at, Message.from_addr, Message.subject,
            Message.outcome, Message.message_id, Processed.detail,
        )
        .outerjoin(Processed, Processed.message_row_id == Message.id)
        .where(*_messages_waiting())
        .order_by(Message.received_at, Message.id)
    )  # fmt: skip


def _parked_query() -> _Parked:
    return (
        select(
            ParkedMail.id, ParkedMail.at, ParkedMail.sender, ParkedMail.subject,
            ParkedMail.reason, ParkedMail.message_id,
        )
        .where(_parked_waiting())
        .order_by(ParkedMail.at, ParkedMail.id)
    )  # fmt: skip


def _read(
    session: Session,
    stored_query: _Stored,
    parked_query: _Parked,
) -> list[HeldMail]:
    """The rows of both queries as held emails, oldest first (stored before parked on a tie)."""
    found = [
        (
            (received_at, 0, row_id),
            HeldMail(
                id=str(row_id), received_at=received_at, sender=sender or "(no sender)",
                subject=subject, outcome=outcome, why=detail or outcome,
                message_id=message_id or "",
            ),
        )
        for row_id, received_at, sender, subject, outcome, message_id, detail
        in session.execute(stored_query)
    ]  # fmt: skip
    found += [
        (
            (at, 1, row_id),
            HeldMail(
                id=f"{PARKED_PREFIX}{row_id}", received_at=at, sender=sender or "(no sender)",
                subject=subject, outcome="parked", why=f"parked in Failed: {reason}",
                message_id=message_id,
            ),
        )
        for row_id, at, sender, subject, reason, message_id in session.execute(parked_query)
    ]  # fmt: skip
    return [mail for _, mail in sorted(found, key=lambda pair: pair[0])]


def waiting(
    session: Session, *, before: datetime | None = None, limit: int | None = None
) -> list[HeldMail]:
    """Held emails nobody has dealt with yet, oldest first.

    ``before`` keeps those received before then; ``limit`` the first so
    many.  Each kind is ordered and cut in the database, so `mailbot
    status` and the day's digest read ten or fifty rows however long the
    queue is.
    """
    stored_query, parked_query = _stored_query(), _parked_query()
    if before is not None:
        stored_query = stored_query.where(Message.received_at < before)
        parked_query = parked_query.where(ParkedMail.at < before)
    if limit is None:
        return _read(session, stored_query, parked_query)
    # The first ``limit`` of both kinds together are among the first
    # ``limit`` of each, as each is cut in the order they are merged in.
    return _read(session, stored_query.limit(limit), parked_query.limit(limit))[:limit]


def find(session: Session, held_id: str) -> HeldMail | None:
    """The waiting held email with this id (as `held list` shows it), or None."""
    number = held_id.removeprefix(PARKED_PREFIX)
    if not number.isdigit():
        return None
    row_id = int(number)
    stored_query, parked_query = _stored_query(), _parked_query()
    # The other kind's query asks for no row at all.
    if held_id.startswith(PARKED_PREFIX):
        stored_query = stored_query.where(false())
        parked_query = parked_query.where(ParkedMail.id == row_id)
    else:
        stored_query = stored_query.where(Message.id == row_id)
        parked_query = parked_query.where(false())
    return next(iter(_read(session, stored_query, parked_query)), None)


def count_waiting(session: Session, *, before: datetime | None = None) -> int:
    """How many held emails wait for a person (received before ``before``, when given)."""
    stored_query = select(func.count(Message.id)).where(*_messages_waiting())
    parked_query = select(func.count(ParkedMail.id)).where(_parked_waiting())
    if before is not None:
        stored_query = stored_query.where(Message.received_at < before)
        parked_query = parked_query.where(ParkedMail.at < before)
    return (session.scalar(stored_query) or 0) + (session.scalar(parked_query) or 0)


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
