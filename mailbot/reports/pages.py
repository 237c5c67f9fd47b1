"""What the monthly report and the review pack share: wording, and a report as files or email."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mailbot.calls.templatevars import TYPE_LABELS
from mailbot.config import Config
from mailbot.mail.mime import Attached, Inline, build_related
from mailbot.mail.outgoing import Outgoing
from mailbot.reports import charts
from mailbot.reports.csvfile import school_name
from mailbot.reports.figures import CallRow, IncidentRow, Share
from mailbot.rules.loader import Rules


@dataclass(frozen=True)
class Chart:
    """One chart of a report: its PNG and how the page refers to it."""

    name: str
    filename: str
    png: bytes
    alt: str


@dataclass(frozen=True)
class Report:
    """One version of a report or pack, ready to email or to write to files."""

    subject: str
    text: str
    html: str
    csv: bytes
    csv_name: str
    charts: tuple[Chart, ...]


def label(key: str) -> str:
    """A call type or priority as the reports write it: "Service request"."""
    return TYPE_LABELS.get(key, key.replace("_", " ").capitalize())


def percent(share: float | None) -> str:
    """A share as the reports write it: "95.2%", or "-" when nothing was judged."""
    return "-" if share is None else f"{share * 100:.1f}%"


def duration(span: timedelta) -> str:
    """A span in words: "2 hours 10 minutes"."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words) or "under a minute"


class Words:
    """How the reports write times and school names (local time, names from the directory)."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.zone = rules.calendar.zone

    def when(self, t: datetime | None) -> str:
        if t is None:
            return ""
        local = t.astimezone(self.zone)
        return f"{local.day} {local:%b %Y %H:%M}"

    def school(self, school_id: str | None) -> str:
        return school_name(self.rules, school_id)


def share_row(share: Share, label: str) -> dict[str, Any]:
    """One line of a share-within-target table, as the templates see it."""
    return {
        "label": label,
        "judged": share.judged,
        "in_target": share.in_target,
        "missed": share.missed,
        "share": percent(share.share),
        "aim": "" if share.aim is None else f"{share.aim * 100:g}%",
        "met": share.met,
    }


def chart_rows(drawn: Sequence[Chart], src: Callable[[Chart], str]) -> dict[str, Any]:
    """The charts as the templates see them, by name; ``src`` says where the page finds each."""
    return {
        c.name: {"src": src(c), "width": charts.WIDTH, "height": charts.HEIGHT, "alt": c.alt}
        for c in drawn
    }


def problem_rows(problems: Iterable[CallRow], words: Words) -> list[dict[str, Any]]:
    """Open problem records as the templates list them."""
    return [
        {
            "ref": p.ref,
            "school": words.school(p.school_id),
            "subject": p.subject,
            "opened": words.when(p.created_at),
            "status": p.status.replace("_", " "),
        }
        for p in problems
    ]


def incident_rows(
    incidents: Iterable[IncidentRow], words: Words, until: datetime
) -> list[dict[str, Any]]:
    """Major incidents as the templates list them; one still active is measured to ``until``."""
    return [
        {
            "ref": i.ref,
            "title": i.title,
            "declared": words.when(i.declared_at),
            "resolved": words.when(i.resolved_at),
            "duration": duration((i.resolved_at or until) - i.declared_at)
            + ("" if i.resolved_at else " so far"),
        }
        for i in incidents
    ]


def render(
    rules: Rules, template: str, ctx: dict[str, Any], drawn: tuple[Chart, ...], csv: bytes
) -> Report:
    """Render ``template``'s subject, text and page from ``ctx``, with its charts and CSV."""
    rendered = rules.templates.render(template, ctx)
    return Report(
        subject=rendered.subject,
        text=rendered.text,
        html=rules.templates.render_page(template, ctx),
        csv=csv,
        csv_name=ctx["csv_name"],
        charts=drawn,
    )


def save(report: Report, html_name: str, out: Path) -> list[Path]:
    """Write the HTML (naming the PNGs beside it), the PNGs and the CSV to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = [(html_name, report.html.encode("utf-8")), (report.csv_name, report.csv)]
    files += [(c.filename, c.png) for c in report.charts]
    written = []
    for name, content in files:
        path = out / name
        path.write_bytes(content)
        written.append(path)
    return written


def as_email(
    config: Config,
    make: Callable[[Callable[[Chart], str]], Report],
    *,
    kind: str,
    message_id: str,
    to: tuple[str, ...],
    now: datetime,
) -> tuple[Outgoing, bytes]:
    """A report as an email: HTML with the charts inline (by Content-ID), and the CSV.

    ``make`` renders the report given how its page refers to a chart; here
    that is the chart's Content-ID, which the Message-ID fixes, so the same
    report always gives the same bytes.
    """
    stem = message_id.strip("<>").split("@", 1)[0]

    def cid(chart: Chart) -> str:
        return f"{chart.name}.{stem}@{config.service.id_domain}"

    report = make(lambda c: f"cid:{cid(c)}")
    out = Outgoing(
        kind=kind,
        to=to,
        cc=(),
        subject=report.subject,
        text=report.text,
        html=report.html,
        message_id=message_id,
    )
    raw = build_related(
        out,
        from_name=config.service.name,
        from_addr=config.service.address,
        now=now,
        images=[Inline(cid(c), c.filename, c.png) for c in report.charts],
        attachments=[Attached(report.csv_name, report.csv, "text/csv", "utf-8")],
    )
    return out, raw
