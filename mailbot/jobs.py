"""The scheduler's due work: escalate calls and close solved ones, each exactly once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from mailbot import lifecycle, notices, sla
from mailbot.config import Config
from mailbot.db import transaction
from mailbot.errors import Conflict, TransientError
from mailbot.models import Call
from mailbot.rules import Rules
from mailbot.store import Store, view
from mailbot.supporttime import describe

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    """What one scheduler tick did, by call reference."""

    escalated: list[tuple[str, int]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    skipped: int = 0


def _due_ids(
    sessions: sessionmaker[Session],
    column: InstrumentedAttribute[datetime | None],
    now: datetime,
    batch: int,
) -> list[int]:
    """Ids of calls whose ``column`` instant has come, via its index: O(due), not O(open)."""
    with sessions() as session:
        return list(
            session.scalars(
                select(Call.id).where(column <= now).order_by(column, Call.id).limit(batch)
            )
        )


def _claim(
    session: Session, call_id: int, guard: ColumnElement[bool], changes: dict[str, object]
) -> Call | None:
    """Take a call for this tick by a conditional update; None if another process has it.

    On PostgreSQL the row lock is taken with SKIP LOCKED first, so a second
    daemon moves on instead of waiting.  The conditional update is what makes
    the claim safe on both databases: it re-reads the row under the write
    lock, so of two processes only one sees the guard still true.
    """
    if session.get_bind().dialect.name == "postgresql":
        locked = session.scalar(
            select(Call.id).where(Call.id == call_id, guard).with_for_update(skip_locked=True)
        )
        if locked is None:
            return None
    result = session.execute(
        update(Call).where(Call.id == call_id, guard).values(**changes),
        execution_options={"synchronize_session": False},
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    return session.get(Call, call_id, populate_existing=True)


def _escalate_one(
    sessions: sessionmaker[Session], config: Config, rules: Rules, call_id: int, now: datetime
) -> tuple[str, int] | None:
    policy = rules.clock
    with transaction(sessions) as session:
        current = session.get(Call, call_id)
        if current is None:
            return None
        clock = lifecycle.clock_of(current)
        reached = sla.levels_reached(policy, clock, now)
        if not reached:
            # The stored instant was stale (rules changed, say): put it right.
            lifecycle.store_clock(current, clock, policy)
            return None
        top = reached[-1]
        guard = (Call.escalation_level == clock.escalation_level) & (Call.next_escalation_at <= now)
        call = _claim(session, call_id, guard, {"escalation_level": top.level})
        if call is None:
            return None
        lifecycle.store_clock(call, replace(clock, escalation_level=top.level), policy)
        for level in reached:
            passed = "" if level is top else f"passed while level {top.level} was due"
            lifecycle.add_event(
                session,
                call,
                at=now,
                actor="mailbot",
                kind=f"escalation{level.level}",
                detail=passed,
            )
        out = notices.escalation(
            config, rules, view(call), top, now=now, details=lifecycle.first_words(session, call)
        )
        if out is None:
            lifecycle.add_event(
                session,
                call,
                at=now,
                actor="mailbot",
                kind="escalation_unsent",
                detail="no officer to tell: check staff.toml",
            )
        else:
            store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
            notices.enqueue(store, config, out, now)
        return call.ref, top.level


def _close_one(
    sessions: sessionmaker[Session], config: Config, rules: Rules, call_id: int, now: datetime
) -> str | None:
    with transaction(sessions) as session:
        guard = (Call.status == "solved") & (Call.close_due_at <= now)
        call = _claim(session, call_id, guard, {"status": "closed"})
        if call is None:
            return None
        solved_at = call.solved_at
        call.status = "solved"  # Let the lifecycle see the transition it is making.
        lifecycle.set_status(session, call, "closed", policy=rules.clock, now=now, actor="mailbot")
        thread = lifecycle.school_thread(session, call)
        solved = describe(solved_at, rules.calendar, now) if solved_at else ""
        out = notices.to_school(
            config,
            rules,
            view(call),
            "closure",
            {"solved": solved.removeprefix("by ")},
            now=now,
            occasion=solved_at.isoformat() if solved_at else "",
            thread=thread,
        )
        if out is not None:
            store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
            notices.enqueue(store, config, out, now)
        return call.ref


def run_due(
    sessions: sessionmaker[Session], config: Config, rules: Rules, now: datetime, batch: int = 200
) -> TickReport:
    """Do every escalation and automatic closure that is due at ``now``.

    Safe late (everything overdue is due), twice (a done call no longer
    matches), and in two processes at once (each call is claimed by one).
    """
    report = TickReport()
    for call_id in _due_ids(sessions, Call.next_escalation_at, now, batch):
        try:
            done = _escalate_one(sessions, config, rules, call_id, now)
        except Conflict:
            done = None  # Another process sent this escalation first.
        except TransientError as exc:
            log.warning("escalation of call %s postponed: %s", call_id, exc)
            done = None
        if done is None:
            report.skipped += 1
        else:
            report.escalated.append(done)
    for call_id in _due_ids(sessions, Call.close_due_at, now, batch):
        try:
            ref = _close_one(sessions, config, rules, call_id, now)
        except Conflict:
            ref = None
        except TransientError as exc:
            log.warning("closing call %s postponed: %s", call_id, exc)
            ref = None
        if ref is None:
            report.skipped += 1
        else:
            report.closed.append(ref)
    return report
