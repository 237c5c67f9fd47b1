"""Catch-up notices: the incident so far, once, for someone its notices could not reach.

While school email is down a contact with no alternative address is
unreachable: their deliveries are recorded as such and never sent.  When
their route works again (school email is back, or an alternative address was
added to the directory) they must not receive "UPDATE 2" out of the blue: the
next email they get about the incident is a catch-up, one email with every
notice so far.  That happens in one of two ways, each inside a transaction
that holds the incident's row, so that the two never both catch someone up:

* a new notice is expanded while they are reachable: their delivery of it is
  the catch-up (``missed``, called by the expansion);
* nothing new is said, but their route works again: the scheduler's
  broadcast pass turns their delivery of the latest notice into the catch-up
  (``catch_up``).

Either way the deliveries they missed are marked ``caught_up`` (a
conditional update, so only once), and the catch-up is an ordinary delivery
row: queued into the outbox by the same batch step, exactly once.
"""

from __future__ import annotations

from collections.abc import Collection

from mailbot.incidents import store
from mailbot.incidents.recipients import Recipient, recipients
from mailbot.rules.loader import Rules
from mailbot.storage.db import Session, Sessions, transaction
from mailbot.storage.models import Incident


def missed(session: Session, incident_id: int, seq: int, reachable: Collection[str]) -> set[str]:
    """Which of the ``reachable`` contacts missed a notice before number ``seq``.

    Their missed deliveries are marked caught up, so the caller must make
    their delivery of notice ``seq`` the catch-up.  The caller holds the
    incident's row (``store.lock_incident``).
    """
    rows = store.missed_rows(session, incident_id, seq)
    chosen = [row_id for row_id, address, _ in rows if address in reachable]
    return store.mark_caught_up(session, chosen)


def _catch_up_one(session: Session, rules: Rules, incident_id: int) -> int:
    incident = store.lock_incident(session, incident_id)
    if incident is None or incident.status != "active":
        return 0
    last = store.latest_notice(session, incident.id)
    if last is None or not last.expanded:
        # The expansion of the newest notice will catch them up with it.
        return 0
    reach: dict[str, Recipient] = {
        r.contact: r for r in recipients(rules, incident.email_down) if r.route
    }
    rows = store.missed_rows(session, incident.id, last.seq + 1)
    by_contact: dict[str, list[tuple[int, int]]] = {}
    for row_id, address, update_id in rows:
        if address in reach:
            by_contact.setdefault(address, []).append((row_id, update_id))
    # The usual case, everyone back at the address they were missed at, is
    # done in one statement per route; someone now at another address (an
    # alternative one added while email is down) one by one.
    same: dict[str, list[int]] = {}
    made: set[str] = set()
    for contact, theirs in sorted(by_contact.items()):
        person = reach[contact]
        on_last = [row_id for row_id, update_id in theirs if update_id == last.id]
        if on_last and person.address == contact:
            same.setdefault(person.route, []).extend(on_last)
        elif _one(session, person, last.id, on_last):
            made.add(contact)
    for route, ids in same.items():
        made |= store.make_catch_ups(session, ids, route)
    # The deliveries they missed are marked in the same transaction as their
    # catch-up; a contact another process caught up first had them marked there.
    earlier = [
        row_id
        for contact in made
        for row_id, update_id in by_contact[contact]
        if update_id != last.id
    ]
    store.mark_caught_up(session, earlier)
    return len(made)


def _one(session: Session, person: Recipient, last_id: int, on_last: list[int]) -> bool:
    """Catch up one person now written to at an address other than the one they missed."""
    values = {
        "address": person.address,
        "name": person.name[:200],
        "route": person.route,
        "school_id": person.school_id,
        "lists": ", ".join(person.lists),
    }
    if on_last:
        return store.make_catch_up(session, on_last[0], values)
    if store.delivery_of(session, last_id, person.address) is None:
        return store.add_catch_up(session, {**values, "update_id": last_id})
    # They have the latest notice already: nothing more is sent.
    return False


def catch_up(sessions: Sessions, rules: Rules) -> int:
    """Queue a catch-up for everyone an active incident missed whose route works again.

    One cheap read finds the people missed; the directory is worked out only
    when there are some, and a transaction is opened only for an incident
    with someone now reachable.  Returns how many catch-ups were made.
    """
    with sessions() as session:
        missing = store.missed_by_active(session)
    done = 0
    for incident_id, addresses in sorted(missing.items()):
        with sessions() as session:
            incident = session.get(Incident, incident_id)
            down = incident.email_down if incident is not None else True
        if not addresses & {r.contact for r in recipients(rules, down) if r.route}:
            continue
        with transaction(sessions) as session:
            done += _catch_up_one(session, rules, incident_id)
    return done
