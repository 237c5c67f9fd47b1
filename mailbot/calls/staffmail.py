"""Compose what staff are sent about a call: notices, relayed school replies and receipts.

Every email on the staff side of a call carries the same subject (after any
"Re:"), the call's tag and topic, and continues one thread by In-Reply-To and
References, so that Outlook's conversations and Gmail's threads keep a call
together.  What happened goes in the first lines of the body instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailbot.calls import commandhelp
from mailbot.calls.records import CallView
from mailbot.calls.templatevars import call_context, in_thread
from mailbot.config import Config
from mailbot.mail.message import ParsedMessage
from mailbot.mail.msgid import fixed_id
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.loader import Rules


def staff_address(rules: Rules, call: CallView) -> str | None:
    """Who works this call: its officer, else its team; complaints go to the project manager."""
    directory = rules.directory
    if call.type == "complaint":
        # A complaint is about the team, so it never goes to one: to the
        # project manager, or (with none in staff.toml) its officer if any.
        manager = directory.officer(directory.project_manager or "")
        assigned = directory.officer(call.assignee) if call.assignee else None
        person = manager or assigned
        return person.email if person else None
    if call.assignee:
        officer = directory.officer(call.assignee)
        if officer is not None:
            return officer.email
    team = directory.team(call.team) if call.team else None
    return team.address if team else None


def attachments(msg: ParsedMessage) -> list[dict[str, Any]]:
    return [
        {"filename": a.filename, "content_type": a.content_type, "kb": max(1, round(a.size / 1000))}
        for a in msg.attachments
    ]


def compose(
    config: Config,
    rules: Rules,
    call: CallView,
    kind: str,
    extra: dict[str, Any],
    *,
    now: datetime,
    mid: str,
    thread: tuple[str, ...],
    to: str | None = None,
) -> Outgoing | None:
    """Render a staff email about ``call`` in the staff thread; None when nobody works it."""
    to = to or staff_address(rules, call)
    if to is None:
        return None
    context = {
        "service": {"name": config.service.name, "address": config.service.address},
        "call": call_context(call, rules, now),
        "commands": commandhelp.usage_lines(),
        **extra,
    }
    rendered = rules.templates.render(kind, context)
    return in_thread(kind, rendered, to=(to,), cc=(), mid=mid, thread=thread, call_id=call.id)


def update_notice(
    config: Config,
    rules: Rules,
    call: CallView,
    extra: dict[str, Any],
    *,
    now: datetime,
    occasion: str,
    thread: tuple[str, ...],
) -> Outgoing | None:
    """Tell whoever works the call that something happened to it outside their own mail."""
    mid = fixed_id(config.service.id_domain, call.ref, "staff_update", occasion)
    return compose(config, rules, call, "staff_update", extra, now=now, mid=mid, thread=thread)
