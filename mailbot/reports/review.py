"""The termly service review's figures, worked out from plain rows: no database, no clock.

A review term is the group of ``calendar.terms`` parts in sla.toml sharing a
name (autumn-2026 is the two half-terms either side of October's break).
Its pack covers every day from the day after the previous review term's
last day to its own last day, so that calls logged in a holiday count in
the term that follows and each call counts in exactly one pack; the first
term listed starts on its own first day.

Whether a call was fixed within target is the monthly report's definition,
``figures.judge``, and a call counts in the term in which its outcome was
settled, just as the monthly report counts it in a month.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailbot.reports.figures import CallRow, IncidentRow, Outcome, Share, judge
from mailbot.rules.files import CALL_TYPES, PRIORITIES
from mailbot.rules.files import Term as TermPart


@dataclass(frozen=True, order=True)
class Term:
    """One review term: its name, the days its pack covers, and its own first and last day."""

    first: date
    last: date
    name: str
    # The first day the pack covers (after the previous term's last day).
    since: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The pack's period as instants: local midnight to the midnight after the last day."""
        return (
            datetime.combine(self.since, time(), zone),
            datetime.combine(self.last + timedelta(days=1), time(), zone),
        )

    @property
    def label(self) -> str:
        """How pages name the term: "Autumn 2026"."""
        return self.name.replace("-", " ").capitalize()


def _season(day: date) -> str:
    # English school years: autumn from August, spring from January, summer from April.
    if day.month >= 8:
        return f"autumn-{day.year}"
    return f"{'spring' if day.month < 4 else 'summer'}-{day.year}"


def terms(parts: Sequence[TermPart]) -> tuple[Term, ...]:
    """The review terms the calendar's term parts make, in date order."""
    grouped: dict[str, list[TermPart]] = {}
    for part in parts:
        grouped.setdefault(part.name or _season(part.start), []).append(part)
    spans = sorted(
        (min(p.start for p in ps), max(p.end for p in ps), name) for name, ps in grouped.items()
    )
    found: list[Term] = []
    for first, last, name in spans:
        since = found[-1].last + timedelta(days=1) if found else first
        found.append(Term(first, last, name, min(since, first)))
    return tuple(found)


def find(all_terms: Sequence[Term], name: str) -> Term | None:
    """The term called ``name``, or None."""
    return next((t for t in all_terms if t.name == name), None)


def previous(all_terms: Sequence[Term], term: Term) -> Term | None:
    """The term before ``term``, or None for the first one listed."""
    earlier = [t for t in all_terms if t.last < term.first]
    return earlier[-1] if earlier else None


def due_term(all_terms: Sequence[Term], zone: ZoneInfo, now: datetime) -> Term | None:
    """The latest term whose period has ended by ``now`` (its pack is due), or None."""
    ended = [t for t in all_terms if t.bounds(zone)[1] <= now]
    return ended[-1] if ended else None


def missed_reason(call: CallRow) -> str:
    """Why a call missed its target, as the pack shows it; the one place reasons are read.

    The officer's reason for the miss (``#reason``, ``CallRow.missed_reason``
    where that field exists), else the reason its deadline was revised.
    """
    if call.missed_reason.strip():
        return call.missed_reason.strip()
    return call.revised_reason.strip() if call.revised_due_at else ""


@dataclass(frozen=True)
class Satisfaction:
    """Part 1's ratings for the term: the mean score, how many, and the comments."""

    mean: float | None
    count: int
    comments: tuple[str, ...] = ()


def satisfaction_of(calls: Iterable[CallRow], start: datetime, end: datetime) -> Satisfaction:
    """The ratings requesters gave from ``start`` to ``end`` (each call's latest rating)."""
    rated = sorted(
        (
            c
            for c in calls
            if c.rating is not None and c.rated_at is not None and start <= c.rated_at < end
        ),
        key=lambda c: (c.rated_at, c.ref),
    )
    scores = [c.rating for c in rated if c.rating is not None]
    return Satisfaction(
        sum(scores) / len(scores) if scores else None,
        len(scores),
        tuple(f"{c.ref} ({c.rating}): {c.rating_comment}" for c in rated if c.rating_comment),
    )


@dataclass(frozen=True)
class ServiceAvailability:
    """Part 3's availability of one service over the term, and the incidents behind it."""

    service: str
    percent: float
    target: float
    incidents: tuple[str, ...] = ()


@dataclass(frozen=True)
class TermJudged:
    """A call with its outcome and the term that outcome counts in (None: neither term)."""

    call: CallRow
    outcome: Outcome
    term: str | None


@dataclass(frozen=True)
class Summary:
    """One term's headline figures, for the pack's term and for comparing with the last."""

    term: Term
    logged: int
    by_type: tuple[tuple[str, int], ...]
    shares: tuple[Share, ...]
    total: Share


@dataclass(frozen=True)
class SchoolLine:
    """One school's line in the overall pack."""

    school_id: str | None
    logged: int
    share: Share


@dataclass(frozen=True)
class ReviewFigures:
    """Everything one version (overall or a school's) of a term's review pack shows."""

    term: Term
    now: datetime
    school_id: str | None
    current: Summary
    previous: Summary | None
    by_priority: tuple[tuple[str, int], ...]
    by_school: tuple[SchoolLine, ...]
    rows: tuple[TermJudged, ...]
    missed: tuple[TermJudged, ...]
    not_yet_due: int
    problems: tuple[CallRow, ...]
    incidents: tuple[IncidentRow, ...]
    # Optional sections from the other parts of the review; the pack shows
    # each only when it is given.
    satisfaction: Satisfaction | None = None
    availability: tuple[ServiceAvailability, ...] | None = None

    @property
    def empty(self) -> bool:
        """Whether nothing at all happened in the term (no calls, problems or incidents)."""
        return not (self.rows or self.problems or self.incidents)


def _ordered(keys: Iterable[str], first: tuple[str, ...]) -> list[str]:
    found = set(keys)
    return [k for k in first if k in found] + sorted(found - set(first))


def _share(judged: Iterable[TermJudged], key: str, aim: float | None = None) -> Share:
    counts = Counter(j.outcome for j in judged)
    return Share(key, counts[Outcome.IN_TARGET], counts[Outcome.MISSED], aim)


def _summary(
    term: Term, every: Sequence[TermJudged], zone: ZoneInfo, aims: Mapping[str, float]
) -> Summary:
    start, end = term.bounds(zone)
    logged = [j.call for j in every if start <= j.call.created_at < end]
    judged = [j for j in every if j.term == term.name]
    types = Counter(c.type for c in logged)
    keys = _ordered({j.call.type for j in judged} | set(aims), CALL_TYPES)
    return Summary(
        term=term,
        logged=len(logged),
        by_type=tuple((t, types[t]) for t in _ordered(types, CALL_TYPES)),
        shares=tuple(_share((j for j in judged if j.call.type == k), k, aims.get(k)) for k in keys),
        total=_share(judged, "all"),
    )


def compute(
    term: Term,
    before: Term | None,
    calls: Iterable[CallRow],
    problems: Iterable[CallRow],
    incidents: Iterable[IncidentRow],
    *,
    school_id: str | None,
    aims: Mapping[str, float],
    zone: ZoneInfo,
    now: datetime,
    satisfaction: Satisfaction | None = None,
    availability: tuple[ServiceAvailability, ...] | None = None,
) -> ReviewFigures:
    """The pack's figures for ``term`` (and ``before``, to compare) from these rows.

    The caller passes one school's rows for that school's version: nothing
    here looks at other rows, so a school's figures come from its calls alone.
    ``satisfaction`` and ``availability``, when measured, are passed through
    to the pack's optional sections.
    """
    start, end = term.bounds(zone)
    periods = [t for t in (before, term) if t is not None]
    every: list[TermJudged] = []
    for call in calls:
        if call.type == "problem":
            continue  # Problem records have no target; they are listed as open problems.
        outcome, settled = judge(call, now)
        name = None
        if settled is not None:
            name = next(
                (t.name for t in periods if t.bounds(zone)[0] <= settled < t.bounds(zone)[1]),
                None,
            )
        every.append(TermJudged(call, outcome, name))
    rows = sorted(
        (j for j in every if j.term == term.name or start <= j.call.created_at < end),
        key=lambda j: (j.call.created_at, j.call.ref),
    )
    logged = [j.call for j in rows if start <= j.call.created_at < end]
    settled_here = {j.call.ref for j in rows if j.term == term.name}
    priorities = Counter(c.priority for c in logged)
    per_school = Counter(c.school_id for c in logged)
    judged_at: dict[str | None, list[TermJudged]] = {}
    for j in rows:
        if j.term == term.name:
            judged_at.setdefault(j.call.school_id, []).append(j)
    by_school = tuple(
        SchoolLine(school, per_school[school], _share(judged_at.get(school, ()), school or ""))
        for school in sorted(set(per_school) | set(judged_at), key=lambda s: (s is None, s or ""))
    )
    return ReviewFigures(
        term=term,
        now=now,
        school_id=school_id,
        current=_summary(term, every, zone, aims),
        previous=_summary(before, every, zone, aims) if before else None,
        by_priority=tuple((p, priorities[p]) for p in _ordered(priorities, PRIORITIES)),
        by_school=() if school_id is not None else by_school,
        rows=tuple(rows),
        missed=tuple(j for j in rows if j.term == term.name and j.outcome is Outcome.MISSED),
        not_yet_due=sum(1 for c in logged if c.ref not in settled_here),
        problems=tuple(
            sorted(
                (
                    p
                    for p in problems
                    if p.created_at < end
                    and not (p.status == "closed" and p.closed_at is not None and p.closed_at < end)
                ),
                key=lambda p: (p.created_at, p.ref),
            )
        ),
        incidents=tuple(
            sorted(
                (
                    i
                    for i in incidents
                    if i.declared_at < end and (i.resolved_at is None or i.resolved_at >= start)
                ),
                key=lambda i: (i.declared_at, i.ref),
            )
        ),
        satisfaction=satisfaction,
        availability=availability,
    )
