"""Planned maintenance: announcing, changing and cancelling work, and its scheduled notices.

Planned work is an Incident of kind "planned", so its notices are numbered
IncidentUpdates that the broadcast job (broadcast.py) expands and queues
exactly once, as it does an incident's.  Announcing, changing and cancelling
write their notice in the caller's transaction.  The reminder, start and end
notices are written by ``advance``: each moves the work's ``stage`` on by one
conditional update in the same transaction as the notice, so that two
processes, or a rerun after a crash, write each of them once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from mailbot.calls.references import reference_number
from mailbot.incidents import store
from mailbot.incidents.incident import By
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import describe, parse_hours
from mailbot.storage.db import Session, Sessions, transaction
from mailbot.storage.models import Call, Incident, IncidentUpdate

# Statuses of planned work still to happen or happening.
OPEN = ("planned", "in_progress")

_WHEN = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T]+(\d{1,2})[:.](\d{2})")


@dataclass(frozen=True)
class Window:
    """What planned work affects and when: [starts, ends) and the services named."""

    starts: datetime
    ends: datetime
    services: tuple[str, ...]


@dataclass(frozen=True)
class Checked:
    """A window that may be announced, with any warning the officer is told of."""

    window: Window
    warnings: tuple[str, ...] = ()


def parse_when(rules: Rules, text: str) -> datetime | None:
    """A local date and time written "2026-12-12 18:30" (or with a T), as an aware instant."""
    m = _WHEN.fullmatch(text.strip())
    if m is None:
        return None
    try:
        naive = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]))
    except ValueError:
        return None
    return naive.replace(tzinfo=rules.calendar.zone)


def parse_services(rules: Rules, text: str) -> tuple[tuple[str, ...], list[str]]:
    """The services a comma-separated list names, and those it names that are unknown."""
    known = rules.incidents.services
    named = [re.sub(r"\s+", " ", s.strip().lower()) for s in text.replace(";", ",").split(",")]
    wanted = tuple(dict.fromkeys(s for s in named if s))
    return tuple(s for s in wanted if s in known), [s for s in wanted if s not in known]


def in_core_time(rules: Rules, starts: datetime, ends: datetime) -> datetime | None:
    """The first instant of [starts, ends) in school core time, or None if it has none.

    Core time is the rule's hours on term-time weekdays that are not bank
    holidays; the support calendar's term dates and bank holidays are reused.
    """
    planned = rules.incidents.planned
    hours = parse_hours(planned.core_time)
    cal = replace(rules.calendar, term_hours=hours, holiday_hours=hours, closures=frozenset())
    day: date = cal.local_date(starts)
    while day <= cal.local_date(ends):
        in_term = any(first <= day <= last for first, last in cal.terms)
        span = cal.span_on(day) if in_term else None
        if span is not None and span[0] < ends and starts < span[1]:
            return max(span[0], starts)
        day += timedelta(days=1)
    return None


def check(rules: Rules, window: Window, now: datetime, *, changing: bool = False) -> Checked | str:
    """Whether ``window`` may be announced now: a Checked, or why not in words.

    A change is not held to the notice period (moving work later only gives
    more notice), but it is held to core time like a new announcement.
    """
    planned = rules.incidents.planned
    if window.ends <= window.starts:
        return "the end must come after the start"
    if not window.services:
        return f"name the services it affects: {', '.join(rules.incidents.services)}"
    if not changing and window.starts < now + timedelta(hours=planned.min_notice_hours):
        return (
            f"planned work needs {planned.min_notice_hours} hours' notice; "
            "an urgent fix is a major incident (#major declare) instead"
        )
    if changing and window.ends <= now:
        return "the new end has already passed"
    clash = in_core_time(rules, window.starts, window.ends)
    if clash is None:
        return Checked(window)
    when = describe(clash, rules.calendar, now).removeprefix("by ")
    said = f"it falls in school core time ({planned.core_time} on school days) at {when}"
    if planned.in_core_time == "refuse":
        return f"{said}; move it outside core time"
    return Checked(window, (f"warning: {said}",))


def find(session: Session, rules: Rules, ref: str) -> Incident | None:
    """The planned work a reference names (PW-0003, pw-3, [PW-0003]), if it names one."""
    number = reference_number(ref, rules.incidents.planned.prefix)
    found = session.get(Incident, number) if number is not None else None
    return found if found is not None and found.kind == "planned" else None


def window_of(work: Incident) -> Window:
    """The window planned work was last agreed for."""
    if work.starts_at is None or work.ends_at is None:
        raise RuntimeError(f"{work.ref} is planned work without a window")
    return Window(work.starts_at, work.ends_at, tuple(s for s in work.services.split("\n") if s))


def _notice(session: Session, work: Incident, kind: str, text: str, by: By) -> IncidentUpdate:
    notice = IncidentUpdate(
        incident_id=work.id,
        seq=store.next_seq(session, work.id),
        kind=kind,
        text=text.strip(),
        by=by.actor,
        at=by.now,
    )
    session.add(notice)
    work.updated_at = by.now
    session.flush()
    return notice


def announce(
    session: Session,
    rules: Rules,
    *,
    title: str,
    details: str,
    window: Window,
    by: By,
    call: Call | None = None,
) -> Incident:
    """Record planned work; its announcement is broadcast by the next broadcast pass."""
    work = Incident(
        ref="",
        kind="planned",
        title=title.strip(),
        status="planned",
        stage="announced",
        starts_at=window.starts,
        ends_at=window.ends,
        services="\n".join(window.services),
        call_id=call.id if call is not None else None,
        declared_by=by.actor,
        declared_at=by.now,
        updated_at=by.now,
    )
    session.add(work)
    # The number comes from the primary key, shared with incidents, so two
    # processes never share a reference.
    session.flush()
    work.ref = f"{rules.incidents.planned.prefix}-{work.id:04d}"
    _notice(session, work, "announce", details or title, by)
    return work


def change(
    session: Session, rules: Rules, work: Incident, window: Window, text: str, by: By
) -> IncidentUpdate:
    """Move or widen planned work; the change is broadcast once, as its own notice.

    A reminder already sent for the old start is sent again before the new
    one if the work moved far enough; the start and end notices follow the
    new window.
    """
    work.starts_at, work.ends_at = window.starts, window.ends
    work.services = "\n".join(window.services)
    reminder = timedelta(hours=rules.incidents.planned.reminder_hours)
    if work.stage == "reminded" and window.starts - reminder > by.now:
        work.stage = "announced"
    return _notice(session, work, "change", text, by)


def cancel(session: Session, work: Incident, text: str, by: By) -> IncidentUpdate:
    """Cancel planned work that has not finished; the cancellation is broadcast once."""
    work.status, work.stage = "cancelled", "cancelled"
    work.resolved_at = by.now
    return _notice(session, work, "cancel", text, by)


# Each scheduled notice: the stages it may follow, the stage and status it
# leaves, and whether it is due (given the work, the reminder lead and now).
_STEPS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("reminder", ("announced",), "reminded", "planned"),
    ("start", ("announced", "reminded"), "started", "in_progress"),
    ("end", ("started",), "ended", "completed"),
)


def _due(kind: str, window: Window, lead: timedelta | None, now: datetime) -> bool:
    if kind == "reminder":
        return lead is not None and window.starts - lead <= now < window.starts
    if kind == "start":
        return now >= window.starts
    return now >= window.ends


def _text(rules: Rules, kind: str, window: Window, now: datetime) -> str:
    cal = rules.calendar
    starts = describe(window.starts, cal, now).removeprefix("by ")
    ends = describe(window.ends, cal, now).removeprefix("by ")
    if kind == "reminder":
        return f"Reminder: this work starts at {starts} and should be finished by {ends}."
    if kind == "start":
        return f"This work has started and should be finished by {ends}."
    return "This work is finished and the services are back."


def advance(sessions: Sessions, rules: Rules, now: datetime) -> int:
    """Write every scheduled notice that is due; return how many were written."""
    hours = rules.incidents.planned.reminder_hours
    lead = timedelta(hours=hours) if hours else None
    with sessions() as session:
        seen = [(w.id, w.stage, window_of(w)) for w in store.upcoming_planned(session)]
    written = 0
    for work_id, was, seen_window in seen:
        # Most passes find nothing due; those open no write transaction.
        # What is due is decided again below, on the row as it then stands.
        wanted = [
            step
            for step in _STEPS
            if _due(step[0], seen_window, lead, now) and (was in step[1] or step[0] == "end")
        ]
        for kind, after, stage, status in wanted:
            with transaction(sessions) as session:
                work = session.get_one(Incident, work_id)
                if work.stage not in after or work.status not in OPEN:
                    continue
                window = window_of(work)
                if not _due(kind, window, lead, now):
                    continue
                # The conditional update is the claim: whoever moves the stage
                # on writes the notice, in the same transaction.
                if not store.move_stage(session, work_id, work.stage, stage, status, now):
                    continue
                if kind == "end":
                    work.resolved_at = window.ends
                _notice(session, work, kind, _text(rules, kind, window, now), By("mailbot", now))
                written += 1
    return written


def agreed_outages(
    session: Session, service: str, first: datetime, last: datetime
) -> list[tuple[datetime, datetime]]:
    """The windows of planned work (not cancelled) on ``service`` overlapping [first, last).

    These are the SLA's "agreed planned outages", left out of availability.
    """
    found: list[tuple[datetime, datetime]] = []
    for work in store.planned_between(session, first, last):
        window = window_of(work)
        if service in window.services:
            found.append((window.starts, window.ends))
    return found


def summary(
    works: Sequence[Incident], rules: Rules, now: datetime | None
) -> list[dict[str, object]]:
    """Planned work as the status page and `planned list` show it.

    Without ``now`` every time has its year, as the status page needs: it
    must stay true however long after its writing it is read.
    """
    cal = rules.calendar
    rows: list[dict[str, object]] = []
    for work in works:
        window = window_of(work)
        rows.append(
            {
                "ref": work.ref,
                "title": work.title,
                "status": work.status,
                "starts": describe(window.starts, cal, now).removeprefix("by "),
                "ends": describe(window.ends, cal, now).removeprefix("by "),
                "starts_at": window.starts.isoformat(),
                "ends_at": window.ends.isoformat(),
                "services": ", ".join(window.services),
            }
        )
    return rows
