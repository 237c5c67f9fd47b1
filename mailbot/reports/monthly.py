"""Compose the monthly report from its figures: charts, HTML, text, CSV, and the email."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mailbot.config import Config
from mailbot.mail.msgid import fixed_id
from mailbot.mail.outgoing import Outgoing
from mailbot.reports import charts, pages, ratings
from mailbot.reports.csvfile import calls_csv
from mailbot.reports.figures import Figures, Judged
from mailbot.reports.pages import Chart, Report
from mailbot.rules.directory import School
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import describe

HTML_NAME = "report.html"


def draw(figures: Figures) -> tuple[Chart, ...]:
    """The report's two charts: the share in target, and calls logged, per month."""
    # Twelve months must fit a phone's width: the year is written under each
    # January only, and under the first month when no January is close by.
    months = [m for m, _ in figures.trend]
    lead = bool(months) and all(m.month != 1 for m in months[:3])
    labels = [
        m.short if m.month == 1 or (i == 0 and lead) else m.short.split("\n")[0]
        for i, m in enumerate(months)
    ]
    first, last = figures.trend[0][0].label, figures.trend[-1][0].label
    keys = [s.key for s in figures.trend[-1][1]] if figures.trend else []
    lines = [
        charts.Series(
            key,
            pages.label(key),
            tuple(shares[i].share for _, shares in figures.trend),
            figures.trend[-1][1][i].aim,
        )
        for i, key in enumerate(keys)
    ]
    types = [t for t, _ in figures.volume[-1][1]] if figures.volume else []
    stacks = [
        charts.Series(t, pages.label(t), tuple(float(counts[i][1]) for _, counts in figures.volume))
        for i, t in enumerate(types)
    ]
    return (
        Chart(
            "share",
            "share-in-target.png",
            charts.share_chart(labels, lines),
            f"Share of calls fixed within target per month, {first} to {last}",
        ),
        Chart(
            "volume",
            "calls-per-month.png",
            charts.volume_chart(labels, stacks),
            f"Calls logged per month by type, {first} to {last}",
        ),
    )


def _missed(j: Judged, words: pages.Words) -> dict[str, Any]:
    c = j.call
    return {
        "ref": c.ref,
        "school": words.school(c.school_id),
        "type": pages.label(c.type),
        "priority": c.priority,
        "subject": c.subject,
        "logged": words.when(c.created_at),
        "target": words.when(c.fix_due_at),
        "original": words.when(c.original_due_at) if c.revised_due_at else "",
        "solved": words.when(c.solved_at),
        "revised": words.when(c.revised_due_at),
        "revised_reason": c.revised_reason if c.revised_due_at else "",
        "reason": c.missed_reason,
    }


def context(
    config: Config,
    rules: Rules,
    figures: Figures,
    school: School | None,
    drawn: tuple[Chart, ...],
    src: Callable[[Chart], str],
) -> dict[str, Any]:
    """What the report templates see (documented in rules/README.md)."""
    words = pages.Words(rules)
    end = figures.month.bounds(words.zone)[1]
    by_school = [
        {
            **pages.share_row(line.share, words.school(line.school_id)),
            "name": words.school(line.school_id),
            "logged": line.logged,
        }
        for line in figures.by_school
    ]
    return {
        "service": {"name": config.service.name, "address": config.service.address},
        "month": {"id": str(figures.month), "label": figures.month.label},
        "audience": {"label": school.name if school else "All schools", "school": bool(school)},
        "as_at": describe(figures.now, rules.calendar).removeprefix("by "),
        "logged": len(figures.logged),
        "by_type": [{"label": pages.label(t), "count": n} for t, n in figures.by_type],
        "by_priority": [{"label": p, "count": n} for p, n in figures.by_priority],
        # A school's own version has only its own line, which says nothing new.
        "by_school": [] if school else by_school,
        "targets": [pages.share_row(s, pages.label(s.key)) for s in figures.shares],
        "total": pages.share_row(figures.total, "All calls"),
        "not_yet_due": figures.not_yet_due,
        "not_worked": figures.not_worked,
        "charts": pages.chart_rows(drawn, src),
        "missed": [_missed(j, words) for j in figures.missed],
        "problems": pages.problem_rows(figures.problems, words),
        "incidents": pages.incident_rows(figures.incidents, words, min(end, figures.now)),
        "availability": list(figures.availability),
        "availability_target": f"{100 * rules.incidents.availability.target:.1f}",
        "satisfaction": ratings.summary(
            figures.rated, rules.policy.satisfaction.scale, words.school
        ),
        "csv_name": csv_name(figures, school),
    }


def csv_name(figures: Figures, school: School | None) -> str:
    """The CSV's file name: calls-2026-11.csv, or calls-2026-11-SCHOOL.csv for a school."""
    return f"calls-{figures.month}{'-' + school.id if school else ''}.csv"


def compose(
    config: Config,
    rules: Rules,
    figures: Figures,
    school: School | None,
    src: Callable[[Chart], str],
) -> Report:
    """Draw and render one version of the report; ``src`` says where the page finds a chart."""
    drawn = draw(figures)
    ctx = context(config, rules, figures, school, drawn, src)
    return pages.render(rules, "report", ctx, drawn, calls_csv(rules, figures))


def write(
    config: Config, rules: Rules, figures: Figures, school: School | None, out: Path
) -> list[Path]:
    """Write the report's HTML (naming the PNGs beside it), the PNGs and the CSV to ``out``."""
    return pages.save(compose(config, rules, figures, school, lambda c: c.filename), HTML_NAME, out)


def report_id(config: Config, month: str, audience: str) -> str:
    """The report email's Message-ID, fixed by the month and the audience."""
    return fixed_id(config.service.id_domain, "report", month, audience)


def email(
    config: Config,
    rules: Rules,
    figures: Figures,
    school: School | None,
    *,
    audience: str,
    to: tuple[str, ...],
    now: datetime,
) -> tuple[Outgoing, bytes]:
    """The report as an email: HTML with the charts inline (by Content-ID), and the CSV."""
    return pages.as_email(
        config,
        lambda src: compose(config, rules, figures, school, src),
        kind="report",
        message_id=report_id(config, str(figures.month), audience),
        to=to,
        now=now,
    )
