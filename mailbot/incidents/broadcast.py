"""Broadcasting major-incident notices to the distribution lists, in bounded batches.

A notice is broadcast in two steps, each its own short transaction, so that a
crash at any instant loses nothing and sends nothing twice:

1. expand: the lists are worked out from the schools directory *at send
   time* and one delivery row per address is written (a unique key per
   notice and address), and the notice is marked expanded;
2. queue: pending deliveries are claimed a batch at a time and each becomes
   an outbox email in the same transaction, with a Message-ID fixed by the
   incident, the notice and the address.

The outbox then sends them like any other email, while intake goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mailbot.calls import door
from mailbot.calls.store import Store
from mailbot.config import Config
from mailbot.incidents import catchup, planned, store
from mailbot.incidents.recipients import recipients
from mailbot.mail.msgid import fixed_id
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import describe
from mailbot.storage.claims import claim
from mailbot.storage.db import Sessions, transaction
from mailbot.storage.models import Delivery, Incident, IncidentUpdate

# How a catch-up names each notice it repeats (updates by their number).
HISTORY_LABELS = {"declare": "Declared", "resolve": "Resolved"}


def expand(sessions: Sessions, rules: Rules, now: datetime) -> int:
    """Write the delivery rows of every notice not yet expanded; return how many notices."""
    with sessions() as session:
        waiting = store.unexpanded_notices(session, 20)
    done = 0
    for update_id in waiting:
        with transaction(sessions) as session:
            claimed = store.claim_expansion(session, update_id)
            if claimed is None:
                continue
            incident = store.lock_incident(session, claimed)
            if incident is None:
                raise RuntimeError(f"notice {update_id} has no incident")
            everyone = recipients(rules, incident.email_down, lists_of(rules, incident))
            notice = session.get_one(IncidentUpdate, update_id)
            # Whoever missed earlier notices and can be reached now gets this
            # one as a catch-up with the incident so far (see catchup.py).
            behind = catchup.missed(
                session, incident.id, notice.seq, {r.contact for r in everyone if r.route}
            )
            rows = [
                {
                    "update_id": update_id,
                    "address": r.address,
                    "name": r.name[:200],
                    "school_id": r.school_id,
                    "lists": ", ".join(r.lists),
                    "route": r.route or "smtp",
                    "status": "pending" if r.route else "unreachable",
                    "catchup": bool(r.route) and r.contact in behind,
                }
                for r in everyone
            ]
            store.add_deliveries(session, rows)
            done += 1
    return done


def lists_of(rules: Rules, incident: Incident) -> tuple[str, ...]:
    """The lists an incident's notices go to: planned work may have its own."""
    if incident.kind == "planned":
        return rules.incidents.planned.lists
    return ()


def notice_id(config: Config, ref: str, seq: int, address: str) -> str:
    """The Message-ID of notice ``seq`` of an incident to one address."""
    return fixed_id(config.service.id_domain, ref, f"n{seq}", address)


def _compose(
    config: Config,
    rules: Rules,
    incident: Incident,
    notice: IncidentUpdate,
    delivery: Delivery,
    now: datetime,
    history: Sequence[IncidentUpdate] = (),
) -> Outgoing:
    """One delivery's email: the notice, or for a catch-up every notice in ``history``."""
    cal = rules.calendar
    context = {
        "service": {"name": config.service.name, "address": config.service.address},
        "incident": {
            "ref": incident.ref,
            "title": incident.title,
            "status": incident.status,
            "email_down": incident.email_down,
            "declared": describe(incident.declared_at, cal, now).removeprefix("by "),
        },
        "notice": {
            "kind": notice.kind,
            "seq": notice.seq,
            "text": notice.text,
            "at": describe(notice.at, cal, now).removeprefix("by "),
        },
        "recipient": {"name": delivery.name, "lists": delivery.lists},
        "status_url": config.status_page.url,
        "catchup": delivery.catchup,
        "history": [
            {
                "kind": h.kind,
                # Updates are numbered as their own notices were ("UPDATE 2").
                "label": f"Update {h.seq - 1}"
                if h.kind == "update"
                else HISTORY_LABELS.get(h.kind, h.kind),
                "at": describe(h.at, cal, now).removeprefix("by "),
                "text": h.text,
            }
            for h in history
        ],
    }
    template = "incident_notice"
    if incident.kind == "planned" and incident.starts_at and incident.ends_at:
        # Planned work's notices say its window and services as they stand now.
        template = "planned_notice"
        context["work"] = {
            "starts": describe(incident.starts_at, cal, now).removeprefix("by "),
            "ends": describe(incident.ends_at, cal, now).removeprefix("by "),
            "services": ", ".join(s for s in incident.services.split("\n") if s),
            "status": incident.status,
        }
    rendered = rules.templates.render(template, context)
    # Each recipient's notices about one incident form one thread; a
    # catch-up is the first email of that person's thread.
    earlier = tuple(
        notice_id(config, incident.ref, seq, delivery.address)
        for seq in range(1, 1 if delivery.catchup else notice.seq)
    )
    return Outgoing(
        kind=template,
        to=(delivery.address,),
        cc=(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=notice_id(config, incident.ref, notice.seq, delivery.address),
        in_reply_to=earlier[-1] if earlier else None,
        references=earlier[-10:],
        auto="auto-generated",
    )


def queue(sessions: Sessions, config: Config, rules: Rules, now: datetime, batch: int) -> int:
    """Turn up to ``batch`` pending deliveries into outbox emails; return how many were handled.

    Every email goes through the door (``door.send_broadcast``); a delivery to
    an address blocked as a mail loop is marked ``blocked`` instead of sent.
    """
    with sessions() as session:
        ids = store.pending_deliveries(session, batch)
    if not ids:
        return 0
    refs = rules.policy.references
    with transaction(sessions) as session:
        # Pending deliveries for this batch; another process gets the others.
        pending = Delivery.status == "pending"
        marker = {"status": "queued", "queued_at": now}
        taken = claim(session, Delivery, Delivery.id, ids, pending, marker)
        notices: dict[int, tuple[Incident, IncidentUpdate]] = {}
        queued: list[tuple[Outgoing, str]] = []
        histories: dict[int, list[IncidentUpdate]] = {}
        for delivery in taken:
            if delivery.update_id not in notices:
                notice = session.get_one(IncidentUpdate, delivery.update_id)
                notices[delivery.update_id] = (
                    session.get_one(Incident, notice.incident_id),
                    notice,
                )
            incident, notice = notices[delivery.update_id]
            if delivery.catchup and delivery.update_id not in histories:
                histories[delivery.update_id] = store.notices_upto(session, incident.id, notice.seq)
            history = histories.get(delivery.update_id, ()) if delivery.catchup else ()
            out = _compose(config, rules, incident, notice, delivery, now, history)
            delivery.message_id = out.message_id
            queued.append((out, delivery.route))
        call_store = Store(session, refs.prefix, refs.width)
        kept_back = door.send_broadcast(call_store, config, queued, now)
        for delivery in taken:
            if delivery.message_id in kept_back:
                # A looping address blocked by the guard: recorded, not sent.
                delivery.status = "blocked"
        # Deliveries handled, sent or kept back: a batch wholly to blocked
        # addresses must not look like the end of the work.
        return len(queued)


@dataclass(frozen=True)
class BroadcastReport:
    """What one broadcast pass did."""

    expanded: int = 0
    queued: int = 0
    caught_up: int = 0
    # Planned maintenance's reminder, start and end notices written this pass.
    scheduled: int = 0


def run(sessions: Sessions, config: Config, rules: Rules, now: datetime) -> BroadcastReport:
    """Write planned work's due notices, expand new notices and queue one batch of deliveries."""
    scheduled = planned.advance(sessions, rules, now)
    expanded = expand(sessions, rules, now)
    # After the expansion, so that a new notice is itself the catch-up.
    caught_up = catchup.catch_up(sessions, rules)
    queued = queue(sessions, config, rules, now, rules.incidents.batch)
    return BroadcastReport(expanded, queued, caught_up, scheduled)
