"""The incidents room's queries: incidents, their notices, linked calls and deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from mailbot.sla.clock import LIVE
from mailbot.storage import rows
from mailbot.storage.db import Session
from mailbot.storage.models import Call, Delivery, Incident, IncidentUpdate

# Every school's new call asks this, so the statements are built once.
_ACTIVE = select(Incident).where(Incident.status == "active").order_by(Incident.id)
_ANY_ACTIVE = select(Incident.id).where(Incident.status == "active").limit(1)


def active(session: Session) -> list[Incident]:
    """Incidents not yet resolved, oldest first."""
    # Nearly always there is none: a Core look first costs a fraction of the
    # ORM's execution of an entity query, which then runs only when needed.
    if rows.connection(session).execute(_ANY_ACTIVE).first() is None:
        return []
    return list(session.scalars(_ACTIVE))


def recently_resolved(session: Session, limit: int) -> list[Incident]:
    """The latest ``limit`` incidents no longer active, most recently resolved first."""
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.status != "active", Incident.kind == "major")
            .order_by(Incident.resolved_at.desc(), Incident.id.desc())
            .limit(limit)
        )
    )


def newest_first(session: Session) -> list[Incident]:
    """Every major incident (not planned work), newest first."""
    query = select(Incident).where(Incident.kind == "major")
    return list(session.scalars(query.order_by(Incident.id.desc())))


def latest_notice(session: Session, incident_id: int) -> IncidentUpdate | None:
    """An incident's most recent notice."""
    return session.scalar(
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id == incident_id)
        .order_by(IncidentUpdate.seq.desc())
        .limit(1)
    )


def next_seq(session: Session, incident_id: int) -> int:
    """The number the incident's next notice takes (1 for the first)."""
    query = select(func.max(IncidentUpdate.seq)).where(IncidentUpdate.incident_id == incident_id)
    return (session.scalar(query) or 0) + 1


def newest_notices(session: Session, limit: int) -> list[tuple[IncidentUpdate, Incident]]:
    """The latest ``limit`` notices of every incident, each with its incident, newest first."""
    rows = session.execute(
        select(IncidentUpdate, Incident)
        .join(Incident, Incident.id == IncidentUpdate.incident_id)
        .order_by(IncidentUpdate.at.desc(), IncidentUpdate.id.desc())
        .limit(limit)
    ).all()
    return [(notice, incident) for notice, incident in rows]


def version(session: Session) -> str:
    """A stamp that changes whenever any incident or notice does."""
    count, latest = session.execute(
        select(func.count(IncidentUpdate.id), func.max(IncidentUpdate.id))
    ).one()
    changed = session.scalar(select(func.max(Incident.updated_at)))
    return f"{count}:{latest}:{changed.isoformat() if changed else ''}"


def live_linked_calls(session: Session, incident_id: int) -> list[Call]:
    """The calls linked to an incident that are still being worked, oldest first."""
    query = select(Call).where(Call.incident_id == incident_id, Call.status.in_(LIVE))
    return list(session.scalars(query.order_by(Call.id)))


def linked_refs(session: Session, incident_id: int) -> list[str]:
    """The references of every call linked to an incident, oldest first."""
    query = select(Call.ref).where(Call.incident_id == incident_id).order_by(Call.id)
    return list(session.scalars(query))


def delivery_counts(session: Session, incident_id: int) -> dict[str, int]:
    """How many of an incident's deliveries are in each state."""
    rows = session.execute(
        select(Delivery.status, func.count(Delivery.id))
        .join(IncidentUpdate, IncidentUpdate.id == Delivery.update_id)
        .where(IncidentUpdate.incident_id == incident_id)
        .group_by(Delivery.status)
    ).all()
    return {status: count for status, count in rows}


def unexpanded_notices(session: Session, limit: int) -> list[int]:
    """Notices whose delivery rows are not written yet, oldest first."""
    query = select(IncidentUpdate.id).where(IncidentUpdate.expanded.is_(False))
    return list(session.scalars(query.order_by(IncidentUpdate.id).limit(limit)))


def claim_expansion(session: Session, update_id: int) -> int | None:
    """Mark a notice expanded if nobody has; return its incident's id, or None if taken.

    One conditional update claims the notice: of two processes, the second
    finds it already expanded and writes nothing.
    """
    return session.scalar(
        update(IncidentUpdate)
        .where(IncidentUpdate.id == update_id, IncidentUpdate.expanded.is_(False))
        .values(expanded=True)
        .returning(IncidentUpdate.incident_id)
    )


def add_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Write a notice's delivery rows with one INSERT."""
    if rows:
        session.execute(insert(Delivery), list(rows))


def pending_deliveries(session: Session, batch: int) -> list[int]:
    """Up to ``batch`` deliveries still to queue, notice by notice."""
    query = select(Delivery.id).where(Delivery.status == "pending")
    return list(session.scalars(query.order_by(Delivery.update_id, Delivery.id).limit(batch)))


def lock_incident(session: Session, incident_id: int) -> Incident | None:
    """The incident, its row locked until the transaction ends (SQLite serialises writers).

    Expanding a notice and catching people up both decide who missed what;
    holding the incident's row makes the two take turns, so nobody is caught
    up twice.
    """
    query = select(Incident).where(Incident.id == incident_id).with_for_update()
    return session.scalar(query)


def missed_rows(session: Session, incident_id: int, before_seq: int) -> list[tuple[int, str, int]]:
    """(id, address, notice id) of unreachable deliveries of notices before ``before_seq``."""
    query = (
        select(Delivery.id, Delivery.address, Delivery.update_id)
        .join(IncidentUpdate, IncidentUpdate.id == Delivery.update_id)
        .where(
            Delivery.status == "unreachable",
            IncidentUpdate.incident_id == incident_id,
            IncidentUpdate.seq < before_seq,
        )
        .order_by(Delivery.id)
    )
    return [(row_id, address, update_id) for row_id, address, update_id in session.execute(query)]


def mark_caught_up(session: Session, ids: Sequence[int]) -> set[str]:
    """Mark unreachable deliveries as caught up; return the addresses of those this call changed.

    The condition on the status makes the change once only: a row another
    process caught up first is not returned again.
    """
    if not ids:
        return set()
    changed = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "unreachable")
        .values(status="caught_up")
        .returning(Delivery.address)
        .execution_options(synchronize_session=False)
    )
    return {address for (address,) in changed}


def missed_by_active(session: Session) -> dict[int, set[str]]:
    """For each active incident, the addresses of the people it could not reach so far."""
    rows = session.execute(
        select(IncidentUpdate.incident_id, Delivery.address)
        .distinct()
        .join(IncidentUpdate, IncidentUpdate.id == Delivery.update_id)
        .join(Incident, Incident.id == IncidentUpdate.incident_id)
        .where(Delivery.status == "unreachable", Incident.status == "active")
    )
    found: dict[int, set[str]] = {}
    for incident_id, address in rows:
        found.setdefault(incident_id, set()).add(address)
    return found


def delivery_of(session: Session, update_id: int, address: str) -> Delivery | None:
    """One notice's delivery to one address, if there is one."""
    query = select(Delivery).where(Delivery.update_id == update_id, Delivery.address == address)
    return session.scalar(query)


def notices_upto(session: Session, incident_id: int, seq: int) -> list[IncidentUpdate]:
    """The incident's notices up to and including number ``seq``, oldest first."""
    query = select(IncidentUpdate).where(
        IncidentUpdate.incident_id == incident_id, IncidentUpdate.seq <= seq
    )
    return list(session.scalars(query.order_by(IncidentUpdate.seq)))


def make_catch_up(session: Session, delivery_id: int, values: dict[str, Any]) -> bool:
    """Turn an unreachable delivery into a pending catch-up; False if someone else already had.

    Conditional on the row still being unreachable, so of two processes only
    one makes it.
    """
    done = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "unreachable")
        .values(**values, status="pending", catchup=True)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return done.first() is not None


def make_catch_ups(session: Session, ids: Sequence[int], route: str) -> set[str]:
    """Turn unreachable deliveries into pending catch-ups by ``route``; return their addresses.

    One statement for many rows; like ``make_catch_up`` it changes only rows
    still unreachable.
    """
    if not ids:
        return set()
    done = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "unreachable")
        .values(status="pending", catchup=True, route=route)
        .returning(Delivery.address)
        .execution_options(synchronize_session=False)
    )
    return {address for (address,) in done}


def add_catch_up(session: Session, values: dict[str, Any]) -> bool:
    """Add a pending catch-up delivery; False if that notice already has one to the address."""
    try:
        with session.begin_nested():
            session.execute(insert(Delivery).values(**values, status="pending", catchup=True))
    except IntegrityError:
        return False
    return True


def upcoming_planned(session: Session) -> list[Incident]:
    """Planned work still to come or under way, soonest first (for the status page)."""
    query = select(Incident).where(
        Incident.kind == "planned", Incident.status.in_(("planned", "in_progress"))
    )
    return list(session.scalars(query.order_by(Incident.starts_at, Incident.id)))


def all_planned(session: Session) -> list[Incident]:
    """Every piece of planned work, newest first."""
    query = select(Incident).where(Incident.kind == "planned")
    return list(session.scalars(query.order_by(Incident.id.desc())))


def planned_between(session: Session, first: datetime, last: datetime) -> list[Incident]:
    """Planned work not cancelled whose window overlaps [first, last)."""
    query = select(Incident).where(
        Incident.kind == "planned",
        Incident.status != "cancelled",
        Incident.starts_at < last,
        Incident.ends_at > first,
    )
    return list(session.scalars(query.order_by(Incident.starts_at)))


def move_stage(
    session: Session, work_id: int, was: str, stage: str, status: str, now: datetime
) -> bool:
    """Move planned work from stage ``was`` to ``stage``; False if another process did first."""
    moved = session.scalar(
        update(Incident)
        .where(Incident.id == work_id, Incident.stage == was)
        .values(stage=stage, status=status, updated_at=now)
        .returning(Incident.id)
    )
    return moved is not None


def majors_between(session: Session, first: datetime, last: datetime) -> list[Incident]:
    """Major incidents active at some instant of [first, last), oldest first."""
    query = select(Incident).where(
        Incident.kind == "major",
        Incident.declared_at < last,
        or_(Incident.resolved_at.is_(None), Incident.resolved_at > first),
    )
    return list(session.scalars(query.order_by(Incident.declared_at, Incident.id)))
