"""Each service's availability over a period, from major incidents less planned work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mailbot.incidents import availability, planned, store
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import SupportCalendar
from mailbot.storage.db import Session
from mailbot.storage.models import Incident


@dataclass(frozen=True)
class Behind:
    """One incident or planned work behind a service's figure, and its minutes in the hours."""

    ref: str
    title: str
    outage: str  # "full", "partial" or "planned"
    minutes: int
    counted: bool


@dataclass(frozen=True)
class ServiceFigure:
    """One service's availability over the period, against the target."""

    service: str
    figure: availability.Figure
    target: float
    behind: tuple[Behind, ...]

    @property
    def met(self) -> bool:
        """Whether the service met the target (percent compared to the target's percent)."""
        return self.figure.percent >= 100 * self.target


def hours_calendar(rules: Rules) -> SupportCalendar:
    """The SLA's availability hours on the support calendar's terms and bank holidays."""
    rule = rules.incidents.availability
    return availability.availability_calendar(rules.calendar, rule.term_hours, rule.holiday_hours)


def term_bounds(rules: Rules, day: date) -> tuple[datetime, datetime] | None:
    """The term (from sla.toml) holding ``day``, as instants [first day 00:00, day after end)."""
    zone = rules.calendar.zone
    for first, last in rules.calendar.terms:
        if first <= day <= last:
            start = datetime.combine(first, time(0), zone)
            return start, datetime.combine(last + timedelta(days=1), time(0), zone)
    return None


def _services(incident: Incident) -> tuple[str, ...]:
    return tuple(s for s in incident.services.split("\n") if s)


def figures(
    session: Session, rules: Rules, first: datetime, last: datetime, now: datetime
) -> list[ServiceFigure]:
    """Every service's availability over [first, last); an active incident runs to ``now``.

    Periods that have not ended yet are counted only up to ``now``.
    """
    cal = hours_calendar(rules)
    rule = rules.incidents.availability
    last = min(last, max(first, now))
    majors = store.majors_between(session, first, last)
    works = store.planned_between(session, first, last)
    found: list[ServiceFigure] = []
    for service in rules.incidents.services:
        outages: list[tuple[datetime, datetime]] = []
        behind: list[Behind] = []
        agreed = [
            (w, planned.window_of(w)) for w in works if service in planned.window_of(w).services
        ]
        spans = [(window.starts, window.ends) for _, window in agreed]
        for incident in majors:
            if service not in _services(incident):
                continue
            span = (incident.declared_at, incident.resolved_at or now)
            counted = incident.outage == "full" or rule.count_partial
            if counted:
                outages.append(span)
            alone = availability.figure(cal, (first, last), [span], spans)
            behind.append(
                Behind(incident.ref, incident.title, incident.outage, alone.down_minutes, counted)
            )
        for work, window in agreed:
            hours = availability.figure(cal, (first, last), [(window.starts, window.ends)])
            behind.append(Behind(work.ref, work.title, "planned", hours.down_minutes, False))
        figure = availability.figure(cal, (first, last), outages, spans)
        found.append(ServiceFigure(service, figure, rule.target, tuple(behind)))
    return found


def as_rows(found: list[ServiceFigure]) -> list[dict[str, object]]:
    """The figures as plain rows, for templates and --json."""
    return [
        {
            "service": f.service,
            "percent": f"{f.figure.percent:.2f}",
            "hours_minutes": f.figure.hours_minutes,
            "down_minutes": f.figure.down_minutes,
            "target": f"{100 * f.target:.1f}",
            "met": f.met,
            "incidents": [
                {
                    "ref": b.ref,
                    "title": b.title,
                    "outage": b.outage,
                    "minutes": b.minutes,
                    "counted": b.counted,
                }
                for b in f.behind
            ],
        }
        for f in found
    ]
