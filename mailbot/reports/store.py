"""The monthly report's database side: the rows it is made from, and which reports were sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from mailbot.reports.figures import MONTHS, CallRow, IncidentRow
from mailbot.sla.months import Month
from mailbot.storage.models import Call, Event, Incident, ReportRun

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
    Call.rating,
    Call.rating_comment,
    Call.rated_at,
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
    (for a school, only those its own calls were linked to).
    """
    first = month.shift(1 - MONTHS).bounds(zone)[0]
    start, end = month.bounds(zone)
    calls = select(*_COLUMNS).where(
        Call.type != "problem",
        Call.created_at < end,
        # A call rated in the month counts in its satisfaction figures however
        # long ago it was logged.
        or_(Call.created_at >= first, Call.fix_due_at >= first, Call.rated_at >= start),
    )
    problems = select(*_COLUMNS).where(Call.type == "problem", Call.created_at < end)
    incidents = select(
        Incident.ref, Incident.title, Incident.declared_at, Incident.resolved_at
    ).where(
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
        incidents = incidents.where(Incident.id.in_(own))
    return Source(
        calls=tuple(CallRow(*row) for row in session.execute(calls.order_by(Call.id))),
        problems=tuple(CallRow(*row) for row in session.execute(problems.order_by(Call.id))),
        incidents=tuple(
            IncidentRow(*row) for row in session.execute(incidents.order_by(Incident.id))
        ),
    )


def load_period(session: Session, start: datetime, end: datetime, school_id: str | None) -> Source:
    """The rows a review of ``[start, end)`` may count, for one school when ``school_id`` is given.

    Calls logged, due or rated in the period; problems logged before its end;
    major incidents active during it (for a school, those its calls were linked to).
    """
    calls = select(*_COLUMNS).where(
        Call.type != "problem",
        Call.created_at < end,
        or_(Call.created_at >= start, Call.fix_due_at >= start, Call.rated_at >= start),
    )
    problems = select(*_COLUMNS).where(Call.type == "problem", Call.created_at < end)
    incidents = select(
        Incident.ref, Incident.title, Incident.declared_at, Incident.resolved_at
    ).where(
        Incident.declared_at < end,
        or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start),
    )
    if school_id is not None:
        calls = calls.where(Call.school_id == school_id)
        problems = problems.where(Call.school_id == school_id)
        own = select(Call.incident_id).where(
            Call.school_id == school_id, Call.incident_id.is_not(None)
        )
        incidents = incidents.where(Incident.id.in_(own))
    return Source(
        calls=tuple(CallRow(*row) for row in session.execute(calls.order_by(Call.id))),
        problems=tuple(CallRow(*row) for row in session.execute(problems.order_by(Call.id))),
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
