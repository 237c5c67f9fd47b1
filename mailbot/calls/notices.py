"""Compose the emails that follow from a call's clock: escalations, solved and closure notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailbot.calls import commandhelp
from mailbot.calls.records import CallView
from mailbot.calls.templatevars import call_context, in_thread, spoc_copies
from mailbot.config import Config
from mailbot.mail.mime import valid_address
from mailbot.mail.msgid import fixed_id
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.directory import Directory, Officer
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import apply_target, describe, support_minutes_between
from mailbot.sla.clock import EscalationLevel, reopen_deadline


def notice_id(config: Config, call: CallView, kind: str, occasion: str) -> str:
    """A Message-ID fixed by the call, the kind and the occasion.

    Two processes (or a rerun after a crash) composing the same notice get the
    same id, and the outbox's unique index lets only one of them commit.
    """
    return fixed_id(config.service.id_domain, call.ref, kind, occasion)


@dataclass(frozen=True)
class Audience:
    """Who a staff notice goes to, and the officer standing for the call."""

    to: tuple[str, ...]
    person: Officer | None


def escalation_audience(directory: Directory, call: CallView, roles: tuple[str, ...]) -> Audience:
    """Resolve a level's recipient roles for one call.

    An unassigned call escalates to its team's lead, who then stands in for the
    assignee (and whose line manager is told at the higher level).  With no team
    or lead either, the project manager is told, so an escalation is never lost.
    """
    assignee = directory.officer(call.assignee) if call.assignee else None
    # A complaint never goes to a team: with no officer on it, the project
    # manager (the last resort below) is told.
    team = directory.team(call.team) if call.team and call.type != "complaint" else None
    lead = directory.officer(team.lead) if team else None
    manager = directory.officer(directory.project_manager) if directory.project_manager else None
    person = assignee or lead
    chosen: list[Officer | None] = []
    for role in roles:
        if role == "assignee":
            chosen.append(person)
        elif role == "line_manager":
            chosen.append(
                directory.officer(person.line_manager) if person and person.line_manager else None
            )
        elif role == "team_lead":
            chosen.append(lead)
        elif role == "project_manager":
            chosen.append(manager)
    to = list(dict.fromkeys(o.email for o in chosen if o is not None))
    if not to and manager is not None:
        to.append(manager.email)
    return Audience(tuple(to), person)


def _left(rules: Rules, call: CallView, now: datetime) -> str:
    if call.fix_due_at is None:
        return "No fix target is set"
    if call.fix_due_at <= now:
        return "The fix target has passed"
    minutes = support_minutes_between(rules.calendar, now, call.fix_due_at)
    hours, mins = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if mins or not hours:
        parts.append(f"{mins} minute{'s' if mins != 1 else ''}")
    return f"{' '.join(parts)} of support time left"


def _service(config: Config) -> dict[str, str]:
    return {"name": config.service.name, "address": config.service.address}


def escalation(
    config: Config,
    rules: Rules,
    call: CallView,
    level: EscalationLevel,
    *,
    now: datetime,
    details: str,
    thread: tuple[str, ...] = (),
) -> Outgoing | None:
    """The escalation email for ``level`` in the staff ``thread``; None when nobody can be told."""
    audience = escalation_audience(rules.directory, call, level.notify)
    if not audience.to:
        return None
    excerpt = details.strip()
    if len(excerpt) > 1200:
        excerpt = excerpt[:1200].rstrip() + " [...]"
    rendered = rules.templates.render(
        "escalation",
        {
            "service": _service(config),
            "call": call_context(call, rules, now),
            "level": level.level,
            "share": round(level.share * 100),
            "left": _left(rules, call, now),
            "overdue": call.fix_due_at is not None and call.fix_due_at <= now,
            # The passed fix target as an instant ("9.05am on ..."), without "by".
            "fix_was_due": (
                describe(call.fix_due_at, rules.calendar, now).removeprefix("by ")
                if call.fix_due_at
                else ""
            ),
            "assignee": audience.person.name if call.assignee and audience.person else "",
            "logged": describe(call.created_at, rules.calendar, now).removeprefix("by "),
            "details": excerpt,
            "commands": commandhelp.usage_lines(),
        },
    )
    mid = notice_id(config, call, "escalation", str(level.level))
    return in_thread(
        f"escalation{level.level}",
        rendered,
        to=audience.to,
        cc=(),
        mid=mid,
        thread=thread,
        call_id=call.id,
    )


# Who hears that a target passed unmet: the officer standing for the call
# (its assignee, or the team's lead while it is unassigned) and their manager.
BREACH_AUDIENCE = ("assignee", "line_manager")


def breach(
    config: Config,
    rules: Rules,
    call: CallView,
    target: str,
    due_at: datetime,
    *,
    now: datetime,
    thread: tuple[str, ...],
) -> Outgoing | None:
    """The alert that ``target`` ("response" or "fix") passed unmet, in the staff thread."""
    audience = escalation_audience(rules.directory, call, BREACH_AUDIENCE)
    if not audience.to:
        return None
    rendered = rules.templates.render(
        "breach",
        {
            "service": _service(config),
            "call": call_context(call, rules, now),
            "target": target,
            "was_due": describe(due_at, rules.calendar, now).removeprefix("by "),
            "assignee": audience.person.name if call.assignee and audience.person else "",
            "logged": describe(call.created_at, rules.calendar, now).removeprefix("by "),
            "commands": commandhelp.usage_lines(),
        },
    )
    mid = notice_id(config, call, "breach", f"{target}\0{due_at.isoformat()}")
    return in_thread(
        "breach", rendered, to=audience.to, cc=(), mid=mid, thread=thread, call_id=call.id
    )


def school_to(call: CallView) -> tuple[str, ...]:
    """The school's address on a call (its requester), when mail can go there."""
    return _to_school(call)


def _to_school(call: CallView) -> tuple[str, ...]:
    if call.requester_email and valid_address(call.requester_email):
        return (call.requester_email,)
    return ()


def to_school(
    config: Config,
    rules: Rules,
    call: CallView,
    kind: str,
    extra: dict[str, Any],
    *,
    now: datetime,
    occasion: str,
    thread: tuple[str, ...],
) -> Outgoing | None:
    """A notice to the school about its call, in the school's thread; None with no address."""
    to = _to_school(call)
    if not to:
        return None
    context = {"service": _service(config), "call": call_context(call, rules, now), **extra}
    rendered = rules.templates.render(kind, context)
    mid = notice_id(config, call, kind, occasion)
    cc = spoc_copies(rules, call, to)
    return in_thread(kind, rendered, to=to, cc=cc, mid=mid, thread=thread, call_id=call.id)


def to_people(
    config: Config,
    rules: Rules,
    call: CallView,
    kind: str,
    extra: dict[str, Any],
    *,
    to: tuple[str, ...],
    now: datetime,
    occasion: str,
) -> Outgoing:
    """A notice about a call to particular people, starting a thread of its own."""
    context = {"service": _service(config), "call": call_context(call, rules, now), **extra}
    rendered = rules.templates.render(kind, context)
    return Outgoing(
        kind=kind,
        to=to,
        cc=(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=notice_id(config, call, kind, occasion),
        call_id=call.id,
    )


def solved(
    config: Config,
    rules: Rules,
    call: CallView,
    note: str,
    *,
    now: datetime,
    occasion: str,
    thread: tuple[str, ...],
) -> Outgoing | None:
    """The solved notice to the school, with the officer's words ``note`` if any."""
    extra = solved_extra(rules, call, note.strip(), now)
    return to_school(
        config, rules, call, "solved", extra, now=now, occasion=occasion, thread=thread
    )


def solved_extra(rules: Rules, call: CallView, note: str, now: datetime) -> dict[str, Any]:
    """What the solved notice says about reopening and closing."""
    solved_at = call.solved_at or now
    cal = rules.calendar
    reopen_until = reopen_deadline(rules.clock, solved_at)
    close_at = apply_target(cal, solved_at, rules.clock.close_after)
    return {
        "note": note,
        "reopen_until": describe(reopen_until, cal, now),
        "close_on": "after " + describe(close_at, cal, now).removeprefix("by "),
    }
