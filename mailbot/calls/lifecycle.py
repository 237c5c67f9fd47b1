"""Change a stored call's state (status, priority, deadline, links) and keep its due times right."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from mailbot.sla import clock as sla
from mailbot.sla.clock import Clock, SlaPolicy
from mailbot.storage.db import Session
from mailbot.storage.models import Call, Event


def clock_of(call: Call) -> Clock:
    """The SLA clock held in a call's columns."""
    return Clock(
        priority=call.priority,
        status=call.status,
        start=call.clock_start_at or call.created_at,
        escalation_level=call.escalation_level,
        paused_minutes=call.paused_minutes or 0,
        paused_since=call.paused_since,
        revised_due=call.revised_due_at,
        revised_paused=call.revised_paused_minutes or 0,
        solved_at=call.solved_at,
    )


def store_clock(call: Call, clock: Clock, policy: SlaPolicy) -> None:
    """Write a clock and every due instant it implies back to the call's columns."""
    call.priority = clock.priority
    call.status = clock.status
    call.clock_start_at = clock.start
    call.escalation_level = clock.escalation_level
    call.paused_minutes = clock.paused_minutes
    call.paused_since = clock.paused_since
    call.revised_due_at = clock.revised_due
    call.revised_paused_minutes = clock.revised_paused
    call.solved_at = clock.solved_at
    if call.type == "problem":
        # Problem records are internal investigations with no SLA of their own.
        call.response_due_at = call.fix_due_at = call.next_escalation_at = None
        call.close_due_at = call.breach_due_at = None
        return
    due = sla.due(policy, clock)
    call.response_due_at = due.response_due
    call.fix_due_at = due.fix_due
    # A call linked to a major incident is worked as part of the incident, so
    # it does not escalate on its own.
    call.next_escalation_at = None if call.incident_id is not None else due.next_escalation
    call.close_due_at = due.close_due
    store_breach(call)


def unmet_targets(call: Call) -> dict[str, datetime]:
    """The targets whose breach staff would still be told of, by name, with their instants.

    A call held for a decision, paused, solved or worked as part of a major
    incident has no target running, so nothing of it can breach; the response
    target is met by the first message to the school.
    """
    if (
        call.type == "problem"
        or call.incident_id is not None
        or call.status not in sla.LIVE
        or call.status in sla.HELD
        or call.paused_since is not None
    ):
        return {}
    told = set(call.breaches_told.split(",")) if call.breaches_told else set()
    targets: dict[str, datetime] = {}
    if call.responded_at is None and call.response_due_at is not None and "response" not in told:
        targets["response"] = call.response_due_at
    if call.fix_due_at is not None and "fix" not in told:
        targets["fix"] = call.fix_due_at
    return targets


def store_breach(call: Call) -> None:
    """Set when the scheduler next looks for a breached target (the earliest unmet one)."""
    targets = unmet_targets(call)
    call.breach_due_at = min(targets.values()) if targets else None


def add_event(
    session: Session, call: Call, *, at: datetime, actor: str, kind: str, detail: str = ""
) -> None:
    """Append to a call's audit trail."""
    session.add(Event(call_id=call.id, at=at, actor=actor, kind=kind, detail=detail))


@dataclass(frozen=True)
class Change:
    """What a change did, in words for the audit trail and for receipts."""

    kind: str
    detail: str
    changed: bool = True


def set_status(
    session: Session, call: Call, status: str, *, policy: SlaPolicy, now: datetime, actor: str
) -> Change:
    """Move a call to ``status``, pausing, stopping or restarting its clocks as the rules say."""
    before = call.status
    if status == before:
        return Change("status", f"already {status}", changed=False)
    clock = sla.change_status(policy, clock_of(call), status, now)
    store_clock(call, clock, policy)
    if status == "closed":
        call.closed_at = now
    elif before == "closed":
        call.closed_at = None
    call.updated_at = now
    kind = "reopened" if before in sla.DONE and status in sla.LIVE else "status"
    change = Change(kind, f"{before} -> {status}")
    add_event(session, call, at=now, actor=actor, kind=change.kind, detail=change.detail)
    return change


def set_priority(
    session: Session, call: Call, priority: str, *, policy: SlaPolicy, now: datetime, actor: str
) -> Change:
    """Change a call's priority; its targets are worked out again from the clock's start."""
    if priority not in policy.targets:
        raise ValueError(f"unknown priority {priority!r}")
    before = call.priority
    if priority == before:
        return Change("priority", f"already {priority}", changed=False)
    store_clock(call, replace(clock_of(call), priority=priority), policy)
    call.updated_at = now
    change = Change("priority", f"{before} -> {priority}")
    add_event(session, call, at=now, actor=actor, kind=change.kind, detail=change.detail)
    return change


def set_deadline(
    session: Session,
    call: Call,
    due_at: datetime,
    reason: str,
    *,
    policy: SlaPolicy,
    now: datetime,
    actor: str,
) -> Change:
    """Replace the fix target with a deadline agreed with the school, keeping the reason."""
    clock = sla.revise(policy, clock_of(call), due_at, now)
    before = call.fix_due_at
    store_clock(call, clock, policy)
    call.revised_reason = reason
    call.updated_at = now
    was = before.isoformat() if before else "none"
    change = Change("deadline", f"fix target {was} -> {due_at.isoformat()}: {reason}")
    add_event(session, call, at=now, actor=actor, kind=change.kind, detail=change.detail)
    return change


def mark_responded(session: Session, call: Call, *, now: datetime, actor: str) -> bool:
    """Stop the response clock on the first message an officer sends the school."""
    if call.responded_at is not None:
        return False
    call.responded_at = now
    call.updated_at = now
    store_breach(call)
    add_event(session, call, at=now, actor=actor, kind="responded")
    return True


def set_missed_reason(
    session: Session, call: Call, reason: str, *, now: datetime, actor: str
) -> Change:
    """Record why the call missed (or will miss) its fix target; a later reason replaces it."""
    call.missed_reason = reason
    call.updated_at = now
    change = Change("reason", reason)
    add_event(session, call, at=now, actor=actor, kind=change.kind, detail=change.detail)
    return change


def solved_late_without_reason(call: Call) -> bool:
    """Whether the call was solved after its fix target and nobody has said why yet."""
    due, solved = call.fix_due_at, call.solved_at
    return (
        call.status in ("solved", "closed")
        and due is not None
        and solved is not None
        and solved > due
        and not call.missed_reason
    )
