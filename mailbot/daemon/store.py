"""The daemon's queries: what the scheduler finds due, and the figures `mailbot status` shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from mailbot.sla.clock import HELD, LIVE
from mailbot.storage.db import Session
from mailbot.storage.models import Call, Outbox, Processed


def due_ids(
    session: Session,
    columns: tuple[InstrumentedAttribute[datetime | None], ...],
    now: datetime,
    batch: int,
) -> list[list[int]]:
    """Ids of calls whose instant in each column has come, via its index: O(due), not O(open)."""
    return [
        list(
            session.scalars(
                select(Call.id).where(column <= now).order_by(column, Call.id).limit(batch)
            )
        )
        for column in columns
    ]


def change_deadlines(session: Session, ids: list[int]) -> dict[int, datetime | None]:
    """The emergency-change deadline of each call in ``ids``."""
    rows = session.execute(select(Call.id, Call.change_due_at).where(Call.id.in_(ids))).all()
    return {call_id: due for call_id, due in rows}


def outbox_backlog(session: Session) -> tuple[int, int, datetime | None]:
    """Emails waiting, emails failed for good, and when the oldest waiting one was queued."""
    count = func.count(Outbox.id)
    pending = session.scalar(select(count).where(Outbox.status == "pending")) or 0
    failed = session.scalar(select(count).where(Outbox.status == "failed")) or 0
    oldest = session.scalar(select(func.min(Outbox.created_at)).where(Outbox.status == "pending"))
    return pending, failed, oldest


def call_counts(session: Session, now: datetime) -> tuple[int, int, int]:
    """Open calls, and of those with a running clock how many are near and past their target."""
    live = select(func.count(Call.id)).where(Call.status.in_(LIVE))
    open_calls = session.scalar(live) or 0
    # A call held for the headteacher or the Change Advisory Board has no
    # running clock, so it is neither near nor past its target.
    running = live.where(Call.status.not_in(HELD))
    past = session.scalar(running.where(Call.fix_due_at < now)) or 0
    near = (
        session.scalar(running.where(Call.next_escalation_at <= now, Call.fix_due_at >= now)) or 0
    )
    return open_calls, near, past


def processed_by_outcome(session: Session) -> dict[str, int]:
    """How many received emails ended in each outcome, over the database's life."""
    rows = session.execute(
        select(Processed.outcome, func.count(Processed.id)).group_by(Processed.outcome)
    ).all()
    return {outcome: count for outcome, count in rows}


def past_target(session: Session, now: datetime, limit: int) -> list[Call]:
    """The open calls with a running clock whose fix target has passed, most overdue first."""
    query = select(Call).where(
        Call.status.in_(LIVE), Call.status.not_in(HELD), Call.fix_due_at < now
    )
    return list(session.scalars(query.order_by(Call.fix_due_at, Call.id).limit(limit)))


def awaiting_board(session: Session, limit: int) -> tuple[int, list[Call]]:
    """How many changes wait for a board's decision, and the first ``limit``.

    Emergency changes come first, soonest deadline first, so one past its
    deadline is always among those listed; then the rest, oldest first.
    """
    waiting = Call.status == "awaiting_approval"
    total = session.scalar(select(func.count(Call.id)).where(waiting)) or 0
    order = (Call.change_due_at.is_(None), Call.change_due_at, Call.id)
    query = select(Call).where(waiting).order_by(*order).limit(limit)
    return total, list(session.scalars(query))
