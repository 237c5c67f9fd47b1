"""Compose the termly service review pack from its figures: charts, HTML, text, CSV, email."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mailbot.config import Config
from mailbot.mail.msgid import fixed_id
from mailbot.mail.outgoing import Outgoing
from mailbot.reports import charts, pages
from mailbot.reports.csvfile import cell, school_name
from mailbot.reports.pages import Chart, Report
from mailbot.reports.review import ReviewFigures, Summary, TermJudged, missed_reason
from mailbot.rules.directory import School
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import describe

HTML_NAME = "review.html"

CSV_HEADER = (
    "ref", "school", "type", "priority", "status", "logged", "fix_target", "solved",
    "outcome", "judged_in", "missed_reason", "subject",
)  # fmt: skip


def _summaries(figures: ReviewFigures) -> list[Summary]:
    return [s for s in (figures.previous, figures.current) if s is not None]


def draw(figures: ReviewFigures) -> tuple[Chart, ...]:
    """The pack's two charts, share in target and calls logged: the previous term, then this."""
    shown = _summaries(figures)
    labels = [s.term.label for s in shown]
    keys = [s.key for s in figures.current.shares]
    lines = [
        charts.Series(
            key,
            pages.label(key),
            tuple(next((x.share for x in s.shares if x.key == key), None) for s in shown),
            figures.current.shares[i].aim,
        )
        for i, key in enumerate(keys)
    ]
    types = sorted({t for s in shown for t, _ in s.by_type})
    stacks = [
        charts.Series(t, pages.label(t), tuple(float(dict(s.by_type).get(t, 0)) for s in shown))
        for t in types
    ]
    span = " and ".join(labels)
    return (
        Chart(
            "share",
            "review-share-in-target.png",
            charts.share_chart(labels, lines),
            f"Share of calls fixed within target, {span}",
        ),
        Chart(
            "volume",
            "review-calls-per-term.png",
            charts.volume_chart(labels, stacks),
            f"Calls logged by type, {span}",
        ),
    )


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return ""
    points = (now - before) * 100
    return "no change" if abs(points) < 0.05 else f"{points:+.1f} points"


def _compare(figures: ReviewFigures) -> dict[str, Any] | None:
    before = figures.previous
    if before is None:
        return None
    earlier = {s.key: s for s in before.shares}
    rows = []
    for share in (*figures.current.shares, figures.current.total):
        old = before.total if share is figures.current.total else earlier.get(share.key)
        rows.append(
            {
                "label": "All calls" if share is figures.current.total else pages.label(share.key),
                "share": pages.percent(share.share),
                "previous": pages.percent(old.share if old else None),
                "change": _change(share.share, old.share if old else None),
            }
        )
    return {
        "term": before.term.label,
        "logged": before.logged,
        "logged_change": figures.current.logged - before.logged,
        "rows": rows,
    }


def _missed(j: TermJudged, words: pages.Words) -> dict[str, Any]:
    c = j.call
    return {
        "ref": c.ref,
        "school": words.school(c.school_id),
        "type": pages.label(c.type),
        "priority": c.priority,
        "subject": c.subject,
        "target": words.when(c.fix_due_at),
        "solved": words.when(c.solved_at),
        "reason": missed_reason(c),
    }


def _optional(figures: ReviewFigures) -> dict[str, Any]:
    # The sections other parts of the review supply; None leaves each out.
    sat = figures.satisfaction
    avail = figures.availability
    return {
        "satisfaction": None
        if sat is None
        else {
            "mean": "-" if sat.mean is None else f"{sat.mean:.1f}",
            "count": sat.count,
            "comments": list(sat.comments),
        },
        "availability": None
        if avail is None
        else [
            {
                "service": a.service,
                "percent": f"{a.percent:.2f}%",
                "target": f"{a.target:g}%",
                "met": a.percent >= a.target,
                "incidents": ", ".join(a.incidents),
            }
            for a in avail
        ],
    }


def context(
    config: Config,
    rules: Rules,
    figures: ReviewFigures,
    school: School | None,
    drawn: tuple[Chart, ...],
    src: Callable[[Chart], str],
) -> dict[str, Any]:
    """What the review templates see (documented in rules/README.md)."""
    words = pages.Words(rules)
    term = figures.term
    end = term.bounds(words.zone)[1]
    current = figures.current
    return {
        "service": {"name": config.service.name, "address": config.service.address},
        "term": {
            "id": term.name,
            "label": term.label,
            "first": f"{term.first.day} {term.first:%B %Y}",
            "last": f"{term.last.day} {term.last:%B %Y}",
        },
        "audience": {"label": school.name if school else "All schools", "school": bool(school)},
        "as_at": describe(figures.now, rules.calendar).removeprefix("by "),
        "logged": current.logged,
        "by_type": [{"label": pages.label(t), "count": n} for t, n in current.by_type],
        "by_priority": [{"label": p, "count": n} for p, n in figures.by_priority],
        "by_school": [
            {**pages.share_row(line.share, words.school(line.school_id)), "logged": line.logged}
            for line in figures.by_school
        ],
        "targets": [pages.share_row(s, pages.label(s.key)) for s in current.shares],
        "total": pages.share_row(current.total, "All calls"),
        "not_yet_due": figures.not_yet_due,
        "compare": _compare(figures),
        "charts": pages.chart_rows(drawn, src),
        "missed": [_missed(j, words) for j in figures.missed],
        "problems": pages.problem_rows(figures.problems, words),
        "incidents": pages.incident_rows(figures.incidents, words, min(end, figures.now)),
        **_optional(figures),
        "csv_name": csv_name(figures, school),
    }


def csv_name(figures: ReviewFigures, school: School | None) -> str:
    """The CSV's name: review-autumn-2026.csv, or review-autumn-2026-SCHOOL.csv."""
    return f"review-{figures.term.name}{'-' + school.id if school else ''}.csv"


def calls_csv(rules: Rules, figures: ReviewFigures) -> bytes:
    """Every call the pack counts (logged or judged in the term), one row each.

    UTF-8 with a byte-order mark and CRLF line ends, as the monthly CSV.
    """
    zone = rules.calendar.zone

    def iso(t: datetime | None) -> str:
        return "" if t is None else f"{t.astimezone(zone):%Y-%m-%d %H:%M}"

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for j in figures.rows:
        c = j.call
        values = (
            c.ref, school_name(rules, c.school_id), c.type, c.priority, c.status,
            iso(c.created_at), iso(c.fix_due_at), iso(c.solved_at), str(j.outcome),
            j.term or "", missed_reason(c) if j.outcome == "missed" else "", c.subject,
        )  # fmt: skip
        writer.writerow([cell(v) for v in values])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def compose(
    config: Config,
    rules: Rules,
    figures: ReviewFigures,
    school: School | None,
    src: Callable[[Chart], str],
) -> Report:
    """Draw and render one version of the pack; ``src`` says where the page finds a chart."""
    drawn = draw(figures)
    ctx = context(config, rules, figures, school, drawn, src)
    return pages.render(rules, "review", ctx, drawn, calls_csv(rules, figures))


def write(
    config: Config, rules: Rules, figures: ReviewFigures, school: School | None, out: Path
) -> list[Path]:
    """Write the pack's HTML (naming the PNGs beside it), the PNGs and the CSV to ``out``."""
    return pages.save(compose(config, rules, figures, school, lambda c: c.filename), HTML_NAME, out)


def email(
    config: Config,
    rules: Rules,
    figures: ReviewFigures,
    school: School | None,
    *,
    audience: str,
    to: tuple[str, ...],
    now: datetime,
) -> tuple[Outgoing, bytes]:
    """The pack as an email: HTML with the charts inline (by Content-ID), and the CSV."""
    return pages.as_email(
        config,
        lambda src: compose(config, rules, figures, school, src),
        kind="review",
        message_id=fixed_id(config.service.id_domain, "review", figures.term.name, audience),
        to=to,
        now=now,
    )
