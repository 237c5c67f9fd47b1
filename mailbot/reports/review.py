"""The termly service review pack: a term's figures for a school (or all), and the last term's."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mailbot.calls.templatevars import TYPE_LABELS
from mailbot.config import Config
from mailbot.reports import ratings
from mailbot.reports import store as reportstore
from mailbot.reports.csvfile import school_name
from mailbot.reports.figures import CallRow, IncidentRow, Outcome, Share, judge
from mailbot.reports.terms import Term
from mailbot.rules.directory import School
from mailbot.rules.files import CALL_TYPES as TYPES
from mailbot.rules.files import PRIORITIES
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import describe
from mailbot.storage.db import Sessions

CSV_HEADER = (
    "ref", "school", "type", "priority", "status", "logged", "fix_target", "solved",
    "outcome", "rating", "rating_comment", "subject",
)  # fmt: skip


@dataclass(frozen=True)
class Period:
    """A term's figures: calls logged, shares fixed within target, missed calls, ratings."""

    term: Term
    logged: tuple[CallRow, ...]
    by_type: tuple[tuple[str, int], ...]
    by_priority: tuple[tuple[str, int], ...]
    shares: tuple[Share, ...]
    total: Share
    missed: tuple[CallRow, ...]
    rated: tuple[CallRow, ...]
    # Every call the period counts (logged or judged in it), for the CSV, with
    # whether its outcome is this term's (False: it was judged in another).
    rows: tuple[tuple[CallRow, Outcome, bool], ...]
    # Problem records open at the term's end; major incidents active in it.
    problems: tuple[CallRow, ...] = ()
    incidents: tuple[IncidentRow, ...] = ()


def _ordered(counts: Counter[str], first: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    keys = [k for k in first if k in counts] + sorted(set(counts) - set(first))
    return tuple((k, counts[k]) for k in keys)


def compute(
    term: Term, calls: Iterable[CallRow], aims: Mapping[str, float], now: datetime
) -> Period:
    """The term's figures from these rows; a call counts in the term its outcome was settled in.

    "Fixed within target" is the monthly report's (reports/figures.py):
    each call is judged once, at the instant that settled it.
    """
    start, end = term.start, term.end
    logged: list[CallRow] = []
    rated: list[CallRow] = []
    rows: list[tuple[CallRow, Outcome, bool]] = []
    judged: Counter[tuple[str, Outcome]] = Counter()
    missed: list[CallRow] = []
    for call in calls:
        outcome, settled = judge(call, now)
        in_term = settled is not None and start <= settled < end
        fresh = start <= call.created_at < end
        if fresh:
            logged.append(call)
        if in_term and outcome in (Outcome.IN_TARGET, Outcome.MISSED):
            judged[(call.type, outcome)] += 1
            if outcome is Outcome.MISSED:
                missed.append(call)
        if call.rating is not None and call.rated_at is not None and start <= call.rated_at < end:
            rated.append(call)
        if fresh or in_term:
            # A call logged in the term but judged in another is counted there.
            rows.append((call, outcome, in_term or settled is None))
    types = sorted(
        {t for t, _ in judged} | set(aims),
        key=lambda t: (t not in TYPES, TYPES.index(t) if t in TYPES else 0, t),
    )
    shares = tuple(
        Share(t, judged[(t, Outcome.IN_TARGET)], judged[(t, Outcome.MISSED)], aims.get(t))
        for t in types
    )
    total = Share(
        "all",
        sum(s.in_target for s in shares),
        sum(s.missed for s in shares),
    )
    return Period(
        term=term,
        logged=tuple(logged),
        by_type=_ordered(Counter(c.type for c in logged), TYPES),
        by_priority=_ordered(Counter(c.priority for c in logged), PRIORITIES),
        shares=shares,
        total=total,
        missed=tuple(sorted(missed, key=lambda c: (c.fix_due_at or start, c.ref))),
        rated=tuple(sorted(rated, key=lambda c: (c.rated_at or start, c.ref))),
        rows=tuple(rows),
    )


def period_for(
    sessions: Sessions, rules: Rules, term: Term, school_id: str | None, now: datetime
) -> Period:
    """A term's figures for one school (or all), read from the database."""
    with sessions() as session:
        source = reportstore.load_period(session, term.start, term.end, school_id)
    period = compute(term, source.calls, rules.reports.aims, now)
    end = term.end
    # Problems still open at the term's end, and the major incidents active in it.
    problems = tuple(
        p
        for p in source.problems
        if not (p.status == "closed" and p.closed_at is not None and p.closed_at < end)
    )
    return replace(period, problems=problems, incidents=source.incidents)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def _label(key: str) -> str:
    return TYPE_LABELS.get(key, key.replace("_", " ").capitalize())


def _share(s: Share) -> dict[str, Any]:
    return {
        "label": _label(s.key) if s.key != "all" else "All calls",
        "judged": s.judged,
        "in_target": s.in_target,
        "missed": s.missed,
        "share": _percent(s.share),
        "aim": f"{s.aim * 100:g}%" if s.aim is not None else "",
        "met": s.met,
    }


def _why(call: CallRow, words: Any) -> str:
    """Why a call missed its target, in words."""
    due = words(call.fix_due_at)
    why = (
        f"solved {words(call.solved_at)}, after its target {due}"
        if call.solved_at
        else f"not solved by its target {due}"
    )
    if call.revised_due_at is not None and call.revised_reason:
        why += f" (a revised deadline: {call.revised_reason})"
    return why


def _summary(p: Period, scale: int, school: Any) -> dict[str, Any]:
    return {
        "label": p.term.label,
        "logged": len(p.logged),
        "total": _share(p.total),
        "targets": [_share(s) for s in p.shares],
        "satisfaction": ratings.summary(p.rated, scale, school),
    }


def context(
    config: Config,
    rules: Rules,
    current: Period,
    previous: Period | None,
    school: School | None,
    now: datetime,
) -> dict[str, Any]:
    """What the review pack's template sees (documented in rules/README.md)."""
    zone = rules.calendar.zone

    def when(t: datetime | None) -> str:
        return "" if t is None else f"{t.astimezone(zone):%d %b %Y %H:%M}"

    def name(school_id: str | None) -> str:
        return school_name(rules, school_id)

    scale = rules.policy.satisfaction.scale
    return {
        "service": {"name": config.service.name, "address": config.service.address},
        "term": {
            "id": current.term.name,
            "label": current.term.label,
            "first": f"{current.term.first:%d %B %Y}",
            "last": f"{current.term.last:%d %B %Y}",
        },
        "audience": {"label": school.name if school else "All schools", "school": bool(school)},
        "as_at": describe(now, rules.calendar).removeprefix("by "),
        "by_type": [{"label": _label(t), "count": n} for t, n in current.by_type],
        "by_priority": [{"label": p, "count": n} for p, n in current.by_priority],
        "current": _summary(current, scale, name),
        "previous": _summary(previous, scale, name) if previous is not None else None,
        "missed": [
            {
                "ref": c.ref,
                "school": name(c.school_id),
                "type": _label(c.type),
                "priority": c.priority,
                "subject": c.subject,
                "why": _why(c, when),
            }
            for c in current.missed
        ],
        "problems": [
            {
                "ref": p.ref,
                "school": name(p.school_id),
                "subject": p.subject,
                "opened": when(p.created_at),
                "status": p.status.replace("_", " "),
            }
            for p in current.problems
        ],
        "incidents": [
            {
                "ref": i.ref,
                "title": i.title,
                "declared": when(i.declared_at),
                "resolved": when(i.resolved_at),
            }
            for i in current.incidents
        ],
        "csv_name": csv_name(current.term, school),
    }


def csv_name(term: Term, school: School | None) -> str:
    """The CSV's file name: review-autumn-2026.csv, or review-autumn-2026-SCHOOL.csv."""
    return f"review-{term.name}{'-' + school.id if school else ''}.csv"


def _cell(value: str) -> str:
    # Subjects come from outside: a leading formula character is neutralised.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def review_csv(rules: Rules, period: Period) -> bytes:
    """Every call the term counts, one row each (UTF-8 with a byte-order mark, CRLF)."""
    zone = rules.calendar.zone

    def iso(t: datetime | None) -> str:
        return "" if t is None else t.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for call, outcome, counted in period.rows:
        writer.writerow(
            [
                call.ref,
                _cell(school_name(rules, call.school_id)),
                call.type,
                call.priority,
                call.status,
                iso(call.created_at),
                iso(call.fix_due_at),
                iso(call.solved_at),
                outcome.value if counted else "judged in another term",
                "" if call.rating is None else str(call.rating),
                _cell(call.rating_comment),
                _cell(call.subject),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write(
    config: Config,
    rules: Rules,
    current: Period,
    previous: Period | None,
    school: School | None,
    now: datetime,
    out: Path,
) -> list[Path]:
    """Write review.html and the CSV to ``out``; return the paths written."""
    ctx = context(config, rules, current, previous, school, now)
    out.mkdir(parents=True, exist_ok=True)
    files = [
        ("review.html", rules.templates.render_page("review", ctx).encode("utf-8")),
        (ctx["csv_name"], review_csv(rules, current)),
    ]
    written = []
    for file_name, content in files:
        path = out / file_name
        path.write_bytes(content)
        written.append(path)
    return written
