"""Who a major-incident notice goes to: the distribution lists worked out from the directory."""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.rules.loader import Rules


@dataclass(frozen=True)
class Recipient:
    """One address a notice goes to; ``route`` is "smtp", "fallback" or "" (unreachable).

    ``contact`` is the contact's usual address (lower case) whatever the
    address used now, so that someone written to at an alternative address
    today is known as the person who was unreachable yesterday.
    """

    address: str
    name: str
    school_id: str
    lists: tuple[str, ...]
    route: str
    contact: str = ""


def recipients(rules: Rules, email_down: bool, lists: tuple[str, ...] = ()) -> list[Recipient]:
    """Everyone on the incident lists (or ``lists``), once each, with the address and route.

    While school email is down a contact is written to at their alternative
    address through the fallback route; one with none is unreachable (kept,
    so that it shows in the record, but never sent).
    """
    wanted = lists or rules.incidents.lists or tuple(entry.name for entry in rules.lists)
    by_address: dict[str, Recipient] = {}
    for entry in rules.lists:
        if entry.name not in wanted:
            continue
        for school in rules.directory.schools:
            if entry.phases and school.phase not in entry.phases:
                continue
            for contact in school.contacts:
                if entry.roles and not set(entry.roles) & set(contact.roles):
                    continue
                if email_down:
                    address, route = (
                        (contact.alt_email or contact.email),
                        ("fallback" if contact.alt_email else ""),
                    )
                else:
                    address, route = contact.email, "smtp"
                key = address.lower()
                found = by_address.get(key)
                on = (*found.lists, entry.name) if found else (entry.name,)
                by_address[key] = Recipient(
                    key, contact.name, school.id, on, route, contact.email.lower()
                )
    return sorted(by_address.values(), key=lambda r: (r.school_id, r.address))
