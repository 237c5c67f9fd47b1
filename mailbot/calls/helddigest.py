"""The held queue's daily digest: when support opens, tell the desk what waits, once a day."""

from __future__ import annotations

import logging
from datetime import datetime

from mailbot.calls import door
from mailbot.calls.store import Store
from mailbot.calls.templatevars import message_id
from mailbot.config import Config
from mailbot.errors import Conflict
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.loader import Rules
from mailbot.storage import heartbeats, held
from mailbot.storage.db import Sessions, transaction
from mailbot.storage.models import ServiceState

log = logging.getLogger(__name__)

KIND = "held_digest"
# The digest lists at most this many emails; the count covers them all.
LISTED = 50
# The day whose digest was last settled (sent, or nothing to send): the
# scheduler ticks every minute, and the queue is read once a day, not on each.
SETTLED = "held_digest"


def send_due(sessions: Sessions, config: Config, rules: Rules, now: datetime) -> bool:
    """Queue today's digest if support has opened, mail held before then waits, none sent today.

    Exactly once a day: the digest's Message-ID is derived from the date, and
    the outbox's unique index refuses a second one from another tick or
    process (or a rerun after a crash) in the same transaction as the check.
    """
    settings = rules.policy.held
    team = rules.directory.team(settings.digest_team)
    if not settings.digest or team is None:
        return False
    cal = rules.calendar
    day = now.astimezone(cal.zone).date()
    span = cal.span_on(day)
    if span is None or now < span[0]:
        return False
    mid = message_id(config, day.isoformat(), KIND, "held")
    with sessions() as session:
        settled = session.get(ServiceState, SETTLED)
        if settled is not None and settled.value == day.isoformat():
            return False
        if held.sent(session, mid):
            return False
        # Only what was already waiting when support opened: the digest is
        # the backlog a person starts the day with, and mail held during the
        # day is in the next day's digest if nobody has dealt with it.
        count = held.count_waiting(session, before=span[0])
        waiting = held.waiting(session, before=span[0], limit=LISTED)
    if not count:
        heartbeats.record(sessions, SETTLED, day.isoformat(), now)
        return False
    rendered = rules.templates.render(
        KIND,
        {
            "service": {"name": config.service.name, "address": config.service.address},
            "count": count,
            "held": [
                {
                    "id": h.id,
                    "received_at": h.received_at.astimezone(cal.zone).strftime("%d %b %Y %H:%M"),
                    "sender": h.sender,
                    "subject": h.subject,
                    "why": h.why,
                }
                for h in waiting
            ],
        },
    )
    out = Outgoing(
        kind=KIND,
        to=(team.address,),
        cc=(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=mid,
    )
    try:
        with transaction(sessions) as session:
            prefix, width = rules.policy.references.prefix, rules.policy.references.width
            door.send(Store(session, prefix, width), config, rules, out, now)
    except Conflict:
        return False  # Another tick or process queued today's digest first.
    heartbeats.record(sessions, SETTLED, day.isoformat(), now)
    return True
