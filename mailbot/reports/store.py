"""The reports' database side: the rows they are made from, and which were sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from mailbot.reports.figures import MONTHS, CallRow, IncidentRow
from mailbot.sla.months import Month
from mailbot.storage.models import (
    Call,
    Delivery,
    Event,
    Incident,
    IncidentUpdate,
    ReportRun,
    ReviewRun,
)

_COLUMNS = (
    Call.ref,
    Call.school_id,
    Call.type,
    Call.priority,
    Call.status,
    Call.subject,
    Call.created_at,
    Call.fix_due_at,
    Call.solved_at,
    Call.paused_since,
    Call.revised_due_at,
    Call.revised_reason,
    Call.closed_at,
    # Whether the call was closed without being worked, from its audit trail
    # (a rejected change that was appealed and approved is open again).
    and_(
        Call.status == "closed",
        exists()
        .where(
            Event.call_id == Call.id,
            Event.kind.in_(("declined", "change_rejected", "change_withdrawn")),
        )
        .correlate(Call),
    ).label("withdrawn"),
    Call.missed_reason,
    Call.rating,
    Call.rating_comment,
    Call.rated_at,
    # The first revised deadline's audit line says what the target was before:
    # "fix target <was> -> <new>: <reason>".
    select(Event.detail)
    .where(Event.call_id == Call.id, Event.kind == "deadline")
    .order_by(Event.id)
    .limit(1)
    .correlate(Call)
    .scalar_subquery()
    .label("first_deadline"),
)


def _was(detail: str | None) -> datetime | None:
    """The target a revised deadline replaced, from its audit line; None when unreadable."""
    if not detail or not detail.startswith("fix target "):
        return None
    was = detail.removeprefix("fix target ").split(" -> ", 1)[0]
    try:
        return datetime.fromisoformat(was)
    except ValueError:
        return None


def _row(row: Sequence[Any]) -> CallRow:
    *columns, missed_reason, rating, rating_comment, rated_at, first_deadline = row
    return replace(
        CallRow(*columns),
        missed_reason=missed_reason,
        original_due_at=_was(first_deadline),
        rating=rating,
        rating_comment=rating_comment,
        rated_at=rated_at,
    )


@dataclass(frozen=True)
class Source:
    """The rows one version of a month's report is computed from."""

    calls: tuple[CallRow, ...]
    problems: tuple[CallRow, ...]
    incidents: tuple[IncidentRow, ...]


def load(session: Session, month: Month, zone: ZoneInfo, school_id: str | None) -> Source:
    """Read the rows for ``month``'s report: one school's alone when ``school_id`` is given.

    Calls are those that can count in the twelve months the charts cover:
    logged in them, or with a fix target in or after their start (a call is
    judged by the time of its target at the latest).  Problems are every one
    logged before the month's end; incidents those active during the month
    (for a school, those it was sent a notice of, and those its own calls
    were linked to).
    """
    first = month.shift(1 - MONTHS).bounds(zone)[0]
    start, end = month.bounds(zone)
    return load_span(session, first, start, end, school_id)


def load_span(
    session: Session, since: datetime, start: datetime, end: datetime, school_id: str | None
) -> Source:
    """Read the rows for a report on ``start`` to ``end`` whose calls may count from ``since``.

    Calls are those logged before the end and either logged since ``since``
    or with a fix target since then; problems every one logged before the
    end; incidents those active from start to end (for a school, those it
    was sent a notice of and those its own calls were linked to).  The
    monthly report and the termly review pack both read through here, so
    their rows mean the same.
    """
    calls = select(*_COLUMNS).where(
        Call.type != "problem",
        Call.created_at < end,
        # A call rated in the period counts in its satisfaction figures however
        # long ago it was logged.
        or_(Call.created_at >= since, Call.fix_due_at >= since, Call.rated_at >= start),
    )
    problems = select(*_COLUMNS).where(Call.type == "problem", Call.created_at < end)
    incidents = select(
        Incident.ref, Incident.title, Incident.declared_at, Incident.resolved_at
    ).where(
        Incident.kind == "major",
        Incident.declared_at < end,
        or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start),
    )
    if school_id is not None:
        # The school's version reads nothing but the school's own calls.
        calls = calls.where(Call.school_id == school_id)
        problems = problems.where(Call.school_id == school_id)
        own = select(Call.incident_id).where(
            Call.school_id == school_id, Call.incident_id.is_not(None)
        )
        # A school was affected by every incident it was notified of, whether
        # or not it wrote in about it: any of its contacts had a notice.
        told = (
            select(IncidentUpdate.incident_id)
            .join(Delivery, Delivery.update_id == IncidentUpdate.id)
            .where(Delivery.school_id == school_id)
        )
        incidents = incidents.where(or_(Incident.id.in_(own), Incident.id.in_(told)))
    return Source(
        calls=tuple(_row(row) for row in session.execute(calls.order_by(Call.id))),
        problems=tuple(_row(row) for row in session.execute(problems.order_by(Call.id))),
        incidents=tuple(
            IncidentRow(*row) for row in session.execute(incidents.order_by(Incident.id))
        ),
    )


def sent(session: Session, month: Month) -> set[str]:
    """The audiences whose report for ``month`` is recorded (one lookup on the unique index)."""
    return set(session.scalars(select(ReportRun.audience).where(ReportRun.month == str(month))))


def record(session: Session, month: Month, audience: str, now: datetime) -> None:
    """Record ``audience``'s report for ``month``; a second record is refused (Conflict)."""
    session.add(ReportRun(month=str(month), audience=audience, sent_at=now))
    # Flush now, so that a report already recorded by another process fails
    # here, before its email is queued, rather than at commit.
    session.flush()


def review_sent(session: Session, term: str) -> set[str]:
    """The audiences whose review pack for ``term`` is recorded (one lookup on the unique index)."""
    return set(session.scalars(select(ReviewRun.audience).where(ReviewRun.term == term)))


def review_record(session: Session, term: str, audience: str, now: datetime) -> None:
    """Record ``audience``'s review pack for ``term``; a second record is refused (Conflict)."""
    session.add(ReviewRun(term=term, audience=audience, sent_at=now))
    # Flushed now, as record() is, so a duplicate fails before the email is queued.
    session.flush()
