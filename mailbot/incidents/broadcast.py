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
from mailbot.incidents.compose import Composer
from mailbot.incidents.recipients import recipients
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.loader import Rules
from mailbot.storage.claims import claim
from mailbot.storage.db import Sessions, transaction
from mailbot.storage.models import Delivery, Incident, IncidentUpdate


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


def _compose(
    composer: Composer,
    incident: Incident,
    notice: IncidentUpdate,
    delivery: Delivery,
    history: Sequence[IncidentUpdate],
) -> Outgoing:
    """One delivery's email, with what the batch's recipients share composed once."""
    return composer.compose(incident, notice, delivery, history)


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
        # What the batch's recipients share is composed once (compose.py).
        composer = Composer(config, rules, now)
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
            out = _compose(composer, incident, notice, delivery, history)
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
