"""Compose what staff are sent about a call: notices, relayed school replies and receipts.

Every email on the staff side of a call carries the same subject (after any
"Re:"), the call's tag and topic, and continues one thread by In-Reply-To and
References, so that Outlook's conversations and Gmail's threads keep a call
together.  What happened goes in the first lines of the body instead.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from mailbot import commands
from mailbot.bounds import cut
from mailbot.config import Config
from mailbot.inbound import ParsedMessage
from mailbot.rules import Rules
from mailbot.sla import HELD
from mailbot.templatevars import call_context, in_thread, message_id
from mailbot.triage import Action, CallView, Context, Outgoing, Triage, Worked


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


def _attachments(msg: ParsedMessage) -> list[dict[str, Any]]:
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
        "commands": commands.usage_lines(),
        **extra,
    }
    rendered = rules.templates.render(kind, context)
    return in_thread(kind, rendered, to=(to,), cc=(), mid=mid, thread=thread, call_id=call.id)


def _people(t: Triage) -> dict[str, str]:
    msg = t.parsed
    sender = t.sender
    contact = sender.contact if sender else None
    return {
        "name": (sender.name if sender else "") or msg.from_name or (msg.from_addr or ""),
        "address": msg.from_addr or "",
        "phone": contact.phone if contact and contact.phone else "",
    }


def _from_email(
    t: Triage,
    ctx: Context,
    call: CallView,
    kind: str,
    extra: dict[str, Any],
    thread: tuple[str, ...] | None = None,
) -> Outgoing | None:
    context = {
        "sender": _people(t),
        "text": cut(
            t.parsed.new_text.strip() or t.parsed.text.strip(),
            ctx.config.service.max_quoted_text_chars,
        ),
        "attachments": _attachments(t.parsed),
        **extra,
    }
    return compose(
        ctx.config,
        ctx.rules,
        call,
        kind,
        context,
        now=ctx.now,
        mid=message_id(ctx, t.key, kind, call.ref),
        thread=ctx.store.thread(call.id, staff=True) if thread is None else thread,
    )


def new_call_notice(t: Triage, ctx: Context, call: CallView) -> Outgoing | None:
    """Tell the team (or the project manager, for a complaint) about a new call."""
    previous = t.previous.ref if t.previous else ""
    extra = {"missing": list(call.missing), "previous": previous}
    # An ordinary new call has no staff thread yet, so there is nothing to look
    # up; one held for the head or the board may already have emails in it.
    thread = () if call.status not in HELD else None
    return _from_email(t, ctx, call, "new_call", extra, thread)


def school_reply(t: Triage, ctx: Context, call: CallView) -> Outgoing | None:
    """Pass the school's reply on a call to its officer (or its team)."""
    return _from_email(t, ctx, call, "school_reply", {"reopened": t.action is Action.REOPEN})


def receipt(t: Triage, ctx: Context, call: CallView, worked: Worked) -> Outgoing | None:
    """Tell the officer who wrote what their email did, in the staff thread."""
    writer = t.parsed.from_addr
    if writer is None:
        return None
    extra = {
        "done": list(worked.done),
        "refused": list(worked.refused),
        "sent_to": list(worked.sent_to),
        "internal": worked.internal,
        "help": commands.help_lines() if worked.help or worked.refused else [],
    }
    own = (t.parsed.message_id,) if t.parsed.message_id else ()
    thread = (*ctx.store.thread(call.id, staff=True), *own)
    return compose(
        ctx.config,
        ctx.rules,
        call,
        "receipt",
        extra,
        now=ctx.now,
        mid=message_id(ctx, t.key, "receipt", call.ref),
        thread=thread,
        to=writer,
    )


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
    digest = hashlib.sha256(f"{call.ref}\0staff_update\0{occasion}".encode()).hexdigest()[:16]
    mid = f"<{call.ref}.staff_update.{digest}@{config.service.id_domain}>"
    return compose(config, rules, call, "staff_update", extra, now=now, mid=mid, thread=thread)


def flood_notice(t: Triage, ctx: Context) -> Outgoing | None:
    """Tell the desk that a domain's new calls are being held; once an hour per domain.

    None when the desk was already told within the hour (the email is held all
    the same) or when there is nobody to tell.
    """
    msg = t.parsed
    sender = msg.from_addr or ""
    domain = sender.rsplit("@", 1)[-1].lower()
    if ctx.store.notices_about_since(domain, "flood_notice", ctx.now - timedelta(hours=1)):
        return None
    limits = ctx.rules.policy.limits
    directory = ctx.rules.directory
    team = directory.team(limits.flood_notice_team)
    manager = directory.officer(directory.project_manager) if directory.project_manager else None
    to = team.address if team else (manager.email if manager else None)
    if to is None:
        return None
    rendered = ctx.rules.templates.render(
        "flood_notice",
        {
            "service": {"name": ctx.config.service.name, "address": ctx.config.service.address},
            "domain": domain,
            "cap": limits.new_calls_per_domain_per_hour,
            "sender": {"name": msg.from_name, "address": sender},
            "subject": msg.subject,
        },
    )
    return Outgoing(
        kind="flood_notice",
        to=(to,),
        cc=(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=message_id(ctx, t.key, "flood_notice", domain),
        about=domain,
    )
