"""The termly review pack's scheduler job: when a term ends, send its packs once.

Each version of a pack (the overall one; each school's when the rules send
packs to heads) is an audience.  Its email goes into the outbox in the same
transaction as its row in ``review_runs``, whose unique key (term, audience)
lets only one process, tick or rerun ever commit it, just as the monthly
report's ``report_runs`` does.  A term's packs fall due at midnight after its
last day and stay due until the next term ends (for a late or restarted
daemon); until then the job costs date arithmetic and one indexed lookup.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from mailbot.config import Config
from mailbot.incidents import uptime
from mailbot.mail.outgoing import Outgoing
from mailbot.reports import review
from mailbot.reports import store as reportstore
from mailbot.reports.job import OVERALL, Audience, queue_due
from mailbot.reports.review import ReviewFigures, Term
from mailbot.rules.directory import School
from mailbot.rules.loader import Rules
from mailbot.storage.db import Sessions

log = logging.getLogger(__name__)


def all_terms(rules: Rules) -> tuple[Term, ...]:
    """The review terms sla.toml's calendar lists."""
    return review.terms(rules.sla.calendar.terms)


def audiences(rules: Rules) -> list[Audience]:
    """Every version of the pack the rules ask for, with its recipients.

    The overall pack goes to ``reports.review.to`` (officer ids or
    addresses), else to the project manager; with ``reports.review.heads``
    each school's own pack goes to its headteachers.  A version with nobody
    to send it to is left out.
    """
    directory = rules.directory
    wanted = rules.reports.review
    overall = []
    for entry in wanted.to or ((directory.project_manager,) if directory.project_manager else ()):
        officer = directory.officer(entry)
        overall.append(officer.email if officer else entry)
    found = [Audience(OVERALL, None, tuple(dict.fromkeys(overall)))]
    if wanted.heads:
        for school in directory.schools:
            key = f"school:{school.id}"
            if len(key) > 64:
                # review_runs.audience holds 64 characters; a long id is hashed to fit.
                key = "school:" + hashlib.sha256(school.id.encode()).hexdigest()[:32]
            heads = tuple(dict.fromkeys(c.email for c in school.with_role("headteacher")))
            found.append(Audience(key, school, heads))
    return [a for a in found if a.to]


def figures_for(
    sessions: Sessions, rules: Rules, term: Term, school_id: str | None, now: datetime
) -> ReviewFigures:
    """The figures of one version of ``term``'s pack, from that version's rows alone."""
    zone = rules.calendar.zone
    before = review.previous(all_terms(rules), term)
    start, end = term.bounds(zone)
    since = before.bounds(zone)[0] if before else start
    with sessions() as session:
        source = reportstore.load_span(session, since, start, end, school_id)
        # Availability is the network's over the term, the same in every
        # version, worked out as the monthly report's is (incidents/uptime.py).
        served = tuple(
            review.ServiceAvailability(
                f.service, f.figure.percent, 100 * f.target, tuple(b.ref for b in f.behind)
            )
            for f in uptime.figures(session, rules, start, end, now)
        )
    # Satisfaction comes from the same rows (a call rated in the term is read
    # however long ago it was logged); with ratings off the section is left out.
    rated = None
    if rules.policy.satisfaction.enabled:
        rated = review.satisfaction_of(source.calls, start, end)
    return review.compute(
        term,
        before,
        source.calls,
        source.problems,
        source.incidents,
        school_id=school_id,
        aims=rules.reports.aims,
        zone=zone,
        now=now,
        availability=served,
        satisfaction=rated,
    )


def send_due(sessions: Sessions, config: Config, rules: Rules, now: datetime) -> list[str]:
    """Queue every pack that is due and not yet sent; say which were queued.

    Safe late, twice, and in two processes at once, as the monthly report.
    """
    term = review.due_term(all_terms(rules), rules.calendar.zone, now)
    if term is None:
        return []

    def email(
        figures: ReviewFigures, school: School | None, audience: Audience
    ) -> tuple[Outgoing, bytes]:
        # Imported here: the pack's pages and charts are needed once a term.
        from mailbot.reports import reviewpack

        return reviewpack.email(
            config, rules, figures, school, audience=audience.key, to=audience.to, now=now
        )

    return queue_due(
        sessions,
        config,
        rules,
        audiences(rules),
        now,
        period=term.name,
        what=f"review pack for {term.name}",
        sent=lambda session: reportstore.review_sent(session, term.name),
        versions=lambda school_id: figures_for(sessions, rules, term, school_id, now),
        email=email,
        record=lambda session, key: reportstore.review_record(session, term.name, key, now),
    )
