"""The `#planned` command: announce, change and cancel planned maintenance by email or CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from mailbot.calls.records import Refused, Staff
from mailbot.incidents import planned
from mailbot.incidents.incident import By
from mailbot.rules.loader import Rules
from mailbot.storage.db import Session
from mailbot.storage.models import Call

Plan = Callable[[], str]

USAGE = (
    "#planned TITLE; from 2026-12-12 18:30; to 2026-12-12 21:00; services internet, email "
    "(details below), #planned change PW-0003; to 2026-12-12 22:00, #planned cancel PW-0003"
)

# The words a field may start with, and the field each means.
_FIELDS = {
    "from": "from",
    "start": "from",
    "starts": "from",
    "to": "to",
    "end": "to",
    "ends": "to",
    "until": "to",
    "services": "services",
    "service": "services",
}


@dataclass(frozen=True)
class Fields:
    """A #planned line read: its head (a title, or "change REF") and its named fields."""

    head: str
    starts: datetime | None = None
    ends: datetime | None = None
    services: tuple[str, ...] | None = None


def read(rules: Rules, arg: str) -> Fields | Refused:
    """Read "TITLE; from WHEN; to WHEN; services A, B" into its fields, or say what is wrong."""
    head, *parts = [p.strip() for p in arg.split(";")]
    fields = Fields(head)
    for part in parts:
        if not part:
            continue
        word, _, value = part.partition(" ")
        name = _FIELDS.get(word.lower().rstrip(":"))
        value = value.strip().lstrip(":").strip()
        if name is None:
            return Refused(f"{part!r}: expected from, to or services ({USAGE})")
        if name == "services":
            known, unknown = planned.parse_services(rules, value)
            if unknown:
                offered = ", ".join(rules.incidents.services)
                return Refused(f"no service {unknown[0]!r}: name some of {offered}")
            fields = replace(fields, services=known)
            continue
        when = planned.parse_when(rules, value)
        if when is None:
            return Refused(f"{part!r}: write the date and time as 2026-12-12 18:30")
        fields = replace(fields, starts=when) if name == "from" else replace(fields, ends=when)
    return fields


def _done(work_ref: str, what: str, warnings: tuple[str, ...], lists: str) -> str:
    said = f"{what} {work_ref}; the notice goes to {lists}"
    return "; ".join((said, *warnings))


def _lists(rules: Rules) -> str:
    named = rules.incidents.planned.lists or rules.incidents.lists
    return ", ".join(named) or "every distribution list"


def prepare(
    session: Session, rules: Rules, by: Staff, arg: str, body: str, call: Call | None = None
) -> Plan | Refused:
    """Check a #planned command; return the plan that carries it out, or why not."""
    fields = read(rules, arg)
    if isinstance(fields, Refused):
        return fields
    word, _, rest = fields.head.partition(" ")
    acting = By(by.actor, by.now)
    if word.lower() in ("change", "cancel"):
        work = planned.find(session, rules, rest.strip())
        if work is None:
            return Refused(f"no planned work {rest.strip() or '(none named)'}: {USAGE}")
        if work.status not in planned.OPEN:
            return Refused(f"{work.ref} is {work.status} and can no longer be changed")
        if word.lower() == "cancel":
            if work.status == "in_progress":
                return Refused(f"{work.ref} has started; end it with #planned change {work.ref}; "
                               "to YYYY-MM-DD HH:MM")  # fmt: skip

            def cancel() -> str:
                planned.cancel(session, work, body, acting)
                return _done(work.ref, "cancelled", (), _lists(rules))

            return cancel
        was = planned.window_of(work)
        window = planned.Window(
            fields.starts or was.starts, fields.ends or was.ends, fields.services or was.services
        )
        if window == was:
            return Refused(f"nothing to change: give a new from, to or services ({USAGE})")
        if work.status == "in_progress" and window.starts != was.starts:
            return Refused(f"{work.ref} has started; only its end and services can change")
        outcome = planned.check(rules, window, by.now, changing=True)
        if isinstance(outcome, str):
            return Refused(outcome)
        checked: planned.Checked = outcome
        text = body.strip() or "The planned work has changed: please see the new times."

        def change() -> str:
            planned.change(session, rules, work, checked.window, text, acting)
            return _done(work.ref, "changed", checked.warnings, _lists(rules))

        return change
    title = fields.head.strip()
    if not title:
        return Refused(f"give the work a title: {USAGE}")
    if fields.starts is None or fields.ends is None:
        return Refused(f"say when: {USAGE}")
    window = planned.Window(fields.starts, fields.ends, fields.services or ())
    outcome = planned.check(rules, window, by.now)
    if isinstance(outcome, str):
        return Refused(outcome)
    agreed: planned.Checked = outcome

    def announce() -> str:
        work = planned.announce(
            session, rules, title=title, details=body.strip() or title,
            window=agreed.window, by=acting, call=call,
        )  # fmt: skip
        return _done(work.ref, "announced", agreed.warnings, _lists(rules))

    return announce
