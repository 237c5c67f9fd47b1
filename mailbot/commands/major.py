"""The `#major` command: declare, update and resolve a major incident from a call's thread."""

from __future__ import annotations

from collections.abc import Callable

from mailbot.calls.records import Refused, Staff
from mailbot.config import Config
from mailbot.incidents import incident as incidents
from mailbot.incidents import planned
from mailbot.rules.loader import Rules
from mailbot.storage.db import Session
from mailbot.storage.models import Call, Incident

Plan = Callable[[], str]

USAGE = (
    "#major declare TITLE, #major update TEXT, #major resolve TEXT, "
    "#major email down, #major keywords WORD, WORD, #major services internet, email, "
    "#major outage partial"
)


def _refused(message: str) -> Refused:
    return Refused(message)


def incident_named(session: Session, rules: Rules, text: str) -> Incident | None:
    """The incident ``text`` names (MI-0001, mi-1, [MI-0001]), if it names one."""
    return incidents.find(session, rules, text)


def _by(by: Staff) -> incidents.By:
    return incidents.By(actor=by.actor, now=by.now)


def _current(session: Session, call: Call) -> Incident | None:
    incident = session.get(Incident, call.incident_id) if call.incident_id else None
    return incident if incident is not None and incident.status == "active" else None


def _lists(rules: Rules) -> str:
    return ", ".join(rules.incidents.lists) or "every distribution list"


def prepare(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    by: Staff,
    arg: str,
    body: str,
    declaring: bool = False,
) -> Plan | Refused:
    """Check a #major command against the call; return the plan that carries it out.

    ``declaring`` says that the same email also declares an incident on this
    call, so that "#major email down" and "#major keywords" may follow the
    declare line and apply to the incident it creates.
    """
    word, _, rest = arg.strip().partition(" ")
    sub = word.lower().rstrip(":")
    rest = rest.strip()
    text = "\n\n".join(p for p in (rest, body.strip()) if p)
    current = _current(session, call)
    if sub == "declare":
        if not rest:
            return _refused(
                "give the incident a title: #major declare Internet down in all schools"
            )
        if current is not None:
            return _refused(f"{call.ref} is already part of {current.ref}")

        def declare() -> str:
            made = incidents.declare(
                session,
                rules,
                title=rest,
                details=body.strip() or rest,
                by=_by(by),
                call=call,
                config=config,
            )
            return f"declared {made.ref}: {made.title}; the notice goes to {_lists(rules)}"

        return declare
    if current is None and not (declaring and sub in ("email", "keywords", "services", "outage")):
        return _refused(
            f"{call.ref} is not part of an active major incident: "
            "declare one with #major declare TITLE, or #link MI-0001 this call first"
        )

    def incident() -> Incident:
        found = _current(session, call)
        if found is None:
            raise RuntimeError("the incident declared in this email is missing")
        return found

    if sub == "update":
        if not text:
            return _refused("say what is new: #major update Engineers are on site")
        return lambda: (
            f"update {incidents.update(session, incident(), text, _by(by)).seq - 1} "
            f"on {incident().ref} goes to {_lists(rules)}"
        )
    if sub == "resolve":
        if not text:
            return _refused("say how it was resolved: #major resolve The fibre was repaired")

        def resolve() -> str:
            found = incident()
            solved = incidents.resolve(session, config, rules, found, text, _by(by))
            return f"resolved {found.ref}; {solved} linked calls solved and their schools told"

        return resolve
    if sub == "email":
        state = rest.lower()
        if state not in ("down", "up", "back", "working"):
            return _refused("write #major email down (or #major email up when it works again)")
        down = state == "down"

        def email() -> str:
            found = incident()
            incidents.set_email_down(found, down, _by(by))
            how = "alternative addresses, through the fallback route" if down else "usual addresses"
            return f"{found.ref}: notices from now on go to {how}"

        return email
    if sub == "keywords":
        words = tuple(w.strip() for w in rest.replace(";", ",").split(",") if w.strip())
        if not words:
            return _refused("list the words: #major keywords internet, broadband, offline")

        def keywords() -> str:
            found = incident()
            incidents.set_keywords(found, words, _by(by))
            return f"{found.ref}: new emails mentioning {', '.join(words)} are linked to it"

        return keywords
    if sub == "services":
        known, unknown = planned.parse_services(rules, rest)
        if unknown or not known:
            offered = ", ".join(rules.incidents.services)
            return _refused(f"name the services it affects, some of: {offered}")

        def services() -> str:
            found = incident()
            incidents.set_services(found, known, None, _by(by))
            return f"{found.ref} affects {', '.join(known)}"

        return services
    if sub == "outage":
        outage = rest.lower()
        if outage not in ("full", "partial"):
            return _refused("write #major outage full (wholly down) or #major outage partial")

        def set_outage() -> str:
            found = incident()
            incidents.set_services(found, (), outage, _by(by))
            return f"{found.ref} is a {outage} outage"

        return set_outage
    return _refused(f"#major {word}: write one of {USAGE}")


def prepare_link(
    session: Session,
    config: Config,
    rules: Rules,
    call: Call,
    by: Staff,
    incident: Incident,
    occasion: str,
) -> Plan | Refused:
    """Check that ``call`` may be linked to ``incident``; the plan links it and tells the school."""
    if incident.status != "active":
        return _refused(f"{incident.ref} is resolved; only active incidents take new calls")
    if call.incident_id is not None and call.incident_id != incident.id:
        return _refused(f"{call.ref} is already part of another incident")
    return lambda: incidents.link_call(session, config, rules, call, incident, _by(by), occasion)
