"""A month of calls with known outcomes, written straight to the database, for report tests.

Every call is made with a *fate* that says, by construction, how the report
must count it; the tests count the fates themselves rather than asking the
code under test.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker
from support import local

from mailbot.storage.db import transaction
from mailbot.storage.models import Call, Incident

SCHOOLS = {
    "oakfield-primary": "Oakfield",
    "st-marys-ce": "St Marys",
    "riverside-academy": "Riverside",
}
SCHOOL_NAMES = {
    "oakfield-primary": "Oakfield Primary School",
    "st-marys-ce": "St Mary's CE Primary School",
    "riverside-academy": "Riverside Academy",
}
TYPES = ("incident", "service_request", "change_request", "complaint")
PRIORITIES = ("P1", "P2", "P3", "P4")

# Fates of calls logged in November 2026, and how November's report counts them.
IN_TARGET = "solved before its target"
REVISED_MET = "solved before a revised deadline"
LATE = "solved after its target"
OVERDUE = "still open past its target"
REVISED_MISSED = "still open past a revised deadline"
PENDING = "open, target in December"
PAUSED = "awaiting the school since before its target"
NOVEMBER_FATES = (IN_TARGET, REVISED_MET, LATE, OVERDUE, REVISED_MISSED, PENDING, PAUSED)
# Calls logged in October: judged in October, or judged in November.
OCTOBER_DONE = "October: solved in October in time"
OCTOBER_MET_IN_NOVEMBER = "October: solved in November in time"
OCTOBER_MISSED_IN_NOVEMBER = "October: target in November passed unsolved"

COUNTS_IN_TARGET = frozenset({IN_TARGET, REVISED_MET, OCTOBER_MET_IN_NOVEMBER})
COUNTS_MISSED = frozenset({LATE, OVERDUE, REVISED_MISSED, OCTOBER_MISSED_IN_NOVEMBER})
NOT_YET_DUE = frozenset({PENDING, PAUSED})


@dataclass(frozen=True)
class Made:
    """One call as the test made it."""

    ref: str
    school: str
    type: str
    priority: str
    fate: str
    subject: str
    reason: str = ""
    incident: str = ""

    @property
    def logged_in_november(self) -> bool:
        return self.fate in NOVEMBER_FATES


def _call(session: Session, made: Made, created: datetime, **columns: object) -> Call:
    call = Call(
        ref=made.ref,
        status=columns.pop("status", "open"),
        type=made.type,
        priority=made.priority,
        team="network",
        school_id=made.school,
        requester_email=f"someone@{made.school}.westshire.sch.uk",
        requester_name="Someone",
        subject=made.subject,
        created_at=created,
        updated_at=created,
        clock_start_at=created,
        **columns,
    )
    session.add(call)
    return call


def _november(
    session: Session, n: int, ref: str, school: str, kind: str, priority: str, fate: str
) -> Made:
    day = 2 + n % 20  # 2 to 21 November, 10:00
    created = local(2026, 11, day, 10, 0)
    due = created + timedelta(days=3)
    reason = f"parts on order for {ref}" if fate in (REVISED_MET, REVISED_MISSED) else ""
    subject = f"{SCHOOLS[school]} {kind.replace('_', ' ')} number {n}"
    made = Made(ref, school, kind, priority, fate, subject, reason)
    columns: dict[str, object] = {"fix_due_at": due}
    if fate == IN_TARGET:
        columns.update(status="solved", solved_at=created + timedelta(days=1))
    elif fate == REVISED_MET:
        revised = due + timedelta(days=2)
        columns.update(status="closed", solved_at=revised - timedelta(hours=1))
        columns.update(fix_due_at=revised, revised_due_at=revised, revised_reason=reason)
        columns.update(closed_at=revised + timedelta(days=1))
    elif fate == LATE:
        columns.update(status="solved", solved_at=due + timedelta(hours=5))
    elif fate == REVISED_MISSED:
        revised = due + timedelta(days=1)
        columns.update(fix_due_at=revised, revised_due_at=revised, revised_reason=reason)
    elif fate == PENDING:
        created = local(2026, 11, 27, 15, n % 60)
        columns.update(fix_due_at=local(2026, 12, 4, 15, 0))
    elif fate == PAUSED:
        columns.update(status="awaiting_customer", paused_since=created + timedelta(hours=2))
    _call(session, made, created, **columns)
    return made


def _october(session: Session, n: int, ref: str, school: str, kind: str, fate: str) -> Made:
    created = local(2026, 10, 5 + n, 11, 0)
    subject = f"{SCHOOLS[school]} October {kind.replace('_', ' ')} number {n}"
    made = Made(ref, school, kind, "P3", fate, subject)
    if fate == OCTOBER_DONE:
        due = created + timedelta(days=3)
        solved, closed = created + timedelta(days=1), created + timedelta(days=4)
        _call(session, made, created, fix_due_at=due, status="closed", solved_at=solved,
              closed_at=closed)  # fmt: skip
    elif fate == OCTOBER_MET_IN_NOVEMBER:
        _call(session, made, local(2026, 10, 27, 9, n), fix_due_at=local(2026, 11, 4, 9, 0),
              status="solved", solved_at=local(2026, 11, 3, 14, 0))  # fmt: skip
    else:
        _call(session, made, local(2026, 10, 28, 9, n), fix_due_at=local(2026, 11, 5, 9, 0))
    return made


def make_month(sessions: sessionmaker[Session], n: int = 60, seed: int = 6) -> list[Made]:
    """Write ``n`` November calls across three schools (every fate at least once), plus
    October calls, open and closed problems and two major incidents; return what was made."""
    rng = random.Random(seed)
    schools = list(SCHOOLS)
    made: list[Made] = []
    with transaction(sessions) as session:
        for i in range(n):
            fate = NOVEMBER_FATES[i] if i < len(NOVEMBER_FATES) else rng.choice(NOVEMBER_FATES)
            school = schools[i % 3] if i < 6 else rng.choice(schools)
            made.append(
                _november(
                    session, i, f"ICT-{i + 1:06d}", school, rng.choice(TYPES),
                    rng.choice(PRIORITIES), fate,
                )
            )  # fmt: skip
        october = [
            (OCTOBER_DONE, "incident"), (OCTOBER_DONE, "service_request"),
            (OCTOBER_DONE, "incident"), (OCTOBER_MET_IN_NOVEMBER, "incident"),
            (OCTOBER_MISSED_IN_NOVEMBER, "service_request"),
            (OCTOBER_MISSED_IN_NOVEMBER, "change_request"),
        ]  # fmt: skip
        for j, (fate, kind) in enumerate(october):
            made.append(_october(session, j, f"ICT-{n + j + 1:06d}", schools[j % 3], kind, fate))
        base = n + len(october)
        for k, school in enumerate(schools):
            problem = Made(f"ICT-{base + k + 1:06d}", school, "problem", "P3", "problem",
                           f"Recurring: {SCHOOLS[school]} problem record")  # fmt: skip
            _call(session, problem, local(2026, 11, 12, 9, 0))
            closed = Made(f"ICT-{base + k + 4:06d}", school, "problem", "P3", "closed problem",
                          f"Recurring: {SCHOOLS[school]} closed problem")  # fmt: skip
            _call(session, closed, local(2026, 11, 3, 9, 0), status="closed",
                  solved_at=local(2026, 11, 9, 9), closed_at=local(2026, 11, 12, 9))  # fmt: skip
            made += [problem, closed]
        session.flush()
        made = _incidents(session, made)
    return made


def _incidents(session: Session, made: list[Made]) -> list[Made]:
    """Two major incidents in November, each declared on one school's call."""
    out = list(made)
    for ref, school, title, declared, resolved in (
        ("MI-0001", "oakfield-primary", "Oakfield firewall outage",
         local(2026, 11, 10, 9, 0), local(2026, 11, 10, 11, 30)),
        ("MI-0002", "riverside-academy", "Riverside wifi down",
         local(2026, 11, 18, 13, 0), local(2026, 11, 19, 9, 15)),
    ):  # fmt: skip
        incident = Incident(
            ref=ref, title=title, status="resolved", declared_at=declared,
            updated_at=resolved, resolved_at=resolved,
        )  # fmt: skip
        session.add(incident)
        session.flush()
        index = next(i for i, m in enumerate(out) if m.school == school and m.logged_in_november)
        call = session.query(Call).filter_by(ref=out[index].ref).one()
        call.incident_id = incident.id
        m = out[index]
        out[index] = Made(m.ref, m.school, m.type, m.priority, m.fate, m.subject, m.reason, ref)
    return out


def count(made: list[Made], school: str | None = None) -> dict[str, object]:
    """The November report's numbers, counted from the fates (for one school, or all)."""
    mine = [m for m in made if school is None or m.school == school]
    calls = [m for m in mine if m.type != "problem"]
    logged = [m for m in calls if m.logged_in_november]
    hit = [m for m in calls if m.fate in COUNTS_IN_TARGET]
    missed = [m for m in calls if m.fate in COUNTS_MISSED]
    return {
        "logged": len(logged),
        "by_type": Counter(m.type for m in logged),
        "by_priority": Counter(m.priority for m in logged),
        "by_school": Counter(m.school for m in logged),
        "in_target": Counter(m.type for m in hit),
        "missed": Counter(m.type for m in missed),
        "school_in_target": Counter(m.school for m in hit),
        "school_missed": Counter(m.school for m in missed),
        "missed_refs": {m.ref: m.reason for m in missed},
        "not_yet_due": sum(1 for m in logged if m.fate in NOT_YET_DUE),
        "problems": {m.ref for m in mine if m.fate == "problem"},
        "rows": {m.ref for m in logged} | {m.ref for m in hit + missed},
        "incidents": {m.incident for m in mine if m.incident},
    }
