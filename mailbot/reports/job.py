"""The monthly report's scheduler job: on the month's first working day, send last month's once.

Each version of a report (the overall one, and each school's that asked) is
an audience.  Its email goes into the outbox in the same transaction as its
row in ``report_runs``, whose unique key (month, audience) lets only one
process, tick or rerun ever commit it.  Until the first working day the job
costs nothing but date arithmetic; from then on, one lookup on that key.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from mailbot.calls import door
from mailbot.calls.store import Store
from mailbot.config import Config
from mailbot.errors import Conflict
from mailbot.incidents import uptime
from mailbot.mail.outgoing import Outgoing
from mailbot.reports import store as reportstore
from mailbot.reports.figures import Figures, compute
from mailbot.rules.directory import School
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import SupportCalendar
from mailbot.sla.months import Month
from mailbot.storage.db import Session, Sessions, transaction

log = logging.getLogger(__name__)
V = TypeVar("V", bound="_Version")

OVERALL = "overall"


@dataclass(frozen=True)
class Audience:
    """Who gets one version of the report: everyone's (school None) or one school's."""

    key: str
    school: School | None
    to: tuple[str, ...]


def due_month(cal: SupportCalendar, now: datetime) -> Month | None:
    """The month whose reports are due at ``now``, or None before they are.

    Last month's reports fall due when support opens on this month's first
    working day, and stay due (for a late or restarted daemon) until the
    month ends.
    """
    this = Month.of(now, cal.zone)
    day = this.first_day()
    while day.month == this.month:
        span = cal.span_on(day)
        if span is not None:
            return this.shift(-1) if now >= span[0] else None
        day += timedelta(days=1)
    return None


def audiences(rules: Rules) -> list[Audience]:
    """Every version of the report the rules ask for, with its recipients.

    The overall report goes to ``reports.to`` (officer ids or addresses),
    else to the project manager; a school's to its ``to`` addresses, else to
    its headteachers.  A version with nobody to send it to is left out.
    """
    directory = rules.directory
    wanted = rules.reports
    overall = []
    for entry in wanted.to or ((directory.project_manager,) if directory.project_manager else ()):
        officer = directory.officer(entry)
        overall.append(officer.email if officer else entry)
    found = [Audience(OVERALL, None, tuple(dict.fromkeys(overall)))]
    for asked in wanted.schools:
        school = directory.school(asked.school)
        if school is None:
            continue
        to = asked.to or tuple(c.email for c in school.with_role("headteacher"))
        key = f"school:{school.id}"
        if len(key) > 64:
            # report_runs.audience holds 64 characters; a long id is hashed to fit.
            key = "school:" + hashlib.sha256(school.id.encode()).hexdigest()[:32]
        found.append(Audience(key, school, tuple(dict.fromkeys(to))))
    return [a for a in found if a.to]


def figures_for(
    sessions: Sessions,
    rules: Rules,
    month: Month,
    school_id: str | None,
    now: datetime,
) -> Figures:
    """The figures of one version of ``month``'s report, from that version's rows alone."""
    zone = rules.calendar.zone
    with sessions() as session:
        source = reportstore.load(session, month, zone, school_id)
        # Availability is the network's, the same in every version.
        served = uptime.as_rows(uptime.figures(session, rules, *month.bounds(zone), now))
    figures = compute(
        month,
        source.calls,
        source.problems,
        source.incidents,
        aims=rules.reports.aims,
        zone=zone,
        now=now,
    )
    return replace(figures, availability=tuple(served))


def send_due(sessions: Sessions, config: Config, rules: Rules, now: datetime) -> list[str]:
    """Queue every report that is due and not yet sent; say which were queued.

    Safe late (a report stays due all month), twice (a recorded report is
    skipped) and in two processes at once (the unique key admits one).
    """
    month = due_month(rules.calendar, now)
    if month is None:
        return []

    def email(
        figures: Figures, school: School | None, audience: Audience
    ) -> tuple[Outgoing, bytes]:
        # Imported here, not at the top: the report's pages and charts are
        # needed once a month, so the daemon's start does not load them.
        from mailbot.reports import monthly

        return monthly.email(
            config, rules, figures, school, audience=audience.key, to=audience.to, now=now
        )

    return queue_due(
        sessions,
        config,
        rules,
        audiences(rules),
        now,
        period=str(month),
        what=f"monthly report for {month.label}",
        sent=lambda session: reportstore.sent(session, month),
        versions=lambda school_id: figures_for(sessions, rules, month, school_id, now),
        email=email,
        record=lambda session, key: reportstore.record(session, month, key, now),
    )


class _Version(Protocol):
    """The figures of one version of a report or pack: all that the loop asks of them."""

    @property
    def empty(self) -> bool: ...


def queue_due(
    sessions: Sessions,
    config: Config,
    rules: Rules,
    wanted: list[Audience],
    now: datetime,
    *,
    period: str,
    what: str,
    sent: Callable[[Session], Collection[str]],
    versions: Callable[[str | None], V],
    email: Callable[[V, School | None, Audience], tuple[Outgoing, bytes]],
    record: Callable[[Session, str], None],
) -> list[str]:
    """Queue each wanted audience's version not yet ``sent``, once; say which were queued.

    The monthly report and the review pack share this.  Each version's email
    goes into the outbox in the transaction that ``record``s it, whose unique
    key admits one process, tick or rerun; an empty period is recorded for
    everyone and sends nothing.  ``versions`` gives the figures for a school
    id (None: everyone's).
    """
    with sessions() as session:
        done = sent(session)
    todo = [a for a in wanted if a.key not in done]
    if not todo:
        return []
    try:
        return _queue(sessions, config, rules, todo, now, period, what, versions, email, record)
    except Exception:
        # A scheduler job must never die of a report; nothing was recorded,
        # so it stays due and is tried (and logged) again next tick.
        log.exception("%s not sent", what)
        return []


def _queue(
    sessions: Sessions,
    config: Config,
    rules: Rules,
    todo: list[Audience],
    now: datetime,
    period: str,
    what: str,
    versions: Callable[[str | None], V],
    email: Callable[[V, School | None, Audience], tuple[Outgoing, bytes]],
    record: Callable[[Session, str], None],
) -> list[str]:
    overall = versions(None)
    if overall.empty:
        # Nothing happened then (mailbot was not yet running, say): an empty
        # report would only be noise, so the period is marked done.
        for audience in todo:
            # A Conflict: another process recorded it meanwhile.
            with contextlib.suppress(Conflict), transaction(sessions) as session:
                record(session, audience.key)
        log.info("no %s: no calls or major incidents", what)
        return []
    queued = []
    for audience in todo:
        school = audience.school
        try:
            figures = overall if school is None else versions(school.id)
            # Drawn and rendered before the transaction, which then stays short.
            out, raw = email(figures, school, audience)
            with transaction(sessions) as session:
                record(session, audience.key)
                store = Store(
                    session, rules.policy.references.prefix, rules.policy.references.width
                )
                door.send(store, config, rules, out, now, raw=raw)
        except Conflict:
            continue  # Another process or tick sent this one first.
        except Exception:
            # One version failing must not hold up the others; it stays due.
            log.exception("%s (%s) not sent", what, audience.key)
            continue
        label = school.name if school else "all schools"
        queued.append(f"{period} {label} to {', '.join(audience.to)}")
    return queued
