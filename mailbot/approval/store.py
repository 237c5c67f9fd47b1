"""The approval room's queries: review events, the board's votes, and the list of changes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select

from mailbot.storage.db import Session
from mailbot.storage.models import Call, Event, Vote


def latest_event(session: Session, call_id: int, kinds: Sequence[str]) -> Event | None:
    """The call's newest event of one of ``kinds``."""
    query = select(Event).where(Event.call_id == call_id, Event.kind.in_(kinds))
    return session.scalar(query.order_by(Event.id.desc()).limit(1))


def first_event(session: Session, call_id: int, kinds: Sequence[str]) -> Event | None:
    """The call's oldest event of one of ``kinds``."""
    query = select(Event).where(Event.call_id == call_id, Event.kind.in_(kinds))
    return session.scalar(query.order_by(Event.id).limit(1))


def round_votes(session: Session, call_id: int, round_no: int) -> list[Vote]:
    """The votes cast in one review round of a call, oldest first."""
    query = select(Vote).where(Vote.call_id == call_id, Vote.round == round_no)
    return list(session.scalars(query.order_by(Vote.id)))


def change_calls(session: Session) -> list[Call]:
    """Every change request, and every call a board has reviewed, newest first."""
    query = select(Call).where(or_(Call.type == "change_request", Call.change_round > 0))
    return list(session.scalars(query.order_by(Call.id.desc())))


def events_of(session: Session, call_ids: Sequence[int], kinds: Sequence[str]) -> list[Event]:
    """The events of ``kinds`` on all of ``call_ids``, oldest first, in one query."""
    query = select(Event).where(Event.call_id.in_(call_ids), Event.kind.in_(kinds))
    return list(session.scalars(query.order_by(Event.id)))


def votes_of(session: Session, call_ids: Sequence[int]) -> list[Vote]:
    """Every vote on all of ``call_ids``, oldest first, in one query."""
    query = select(Vote).where(Vote.call_id.in_(call_ids))
    return list(session.scalars(query.order_by(Vote.id)))
