"""Compose what staff are sent about a call: the new-call notice and the school's replies."""

from __future__ import annotations

from typing import Any

from mailbot.inbound import ParsedMessage
from mailbot.rules import Rules
from mailbot.templatevars import call_context, message_id
from mailbot.triage import Action, CallView, Context, Outgoing, Triage


def staff_address(rules: Rules, call: CallView) -> str | None:
    """Who works this call: its officer, else its team; complaints go to the project manager."""
    directory = rules.directory
    if call.type == "complaint" and directory.project_manager:
        manager = directory.officer(directory.project_manager)
        if manager is not None:
            return manager.email
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


def _people(t: Triage) -> dict[str, str]:
    msg = t.parsed
    sender = t.sender
    contact = sender.contact if sender else None
    return {
        "name": (sender.name if sender else "") or msg.from_name or (msg.from_addr or ""),
        "address": msg.from_addr or "",
        "phone": contact.phone if contact and contact.phone else "",
    }


def _outgoing(
    t: Triage, ctx: Context, call: CallView, kind: str, extra: dict[str, Any]
) -> Outgoing | None:
    to = staff_address(ctx.rules, call)
    if to is None:
        return None
    context = {
        "service": {"name": ctx.config.service.name, "address": ctx.config.service.address},
        "call": call_context(call, ctx.rules, ctx.now),
        "sender": _people(t),
        "text": t.parsed.new_text.strip() or t.parsed.text.strip(),
        "attachments": _attachments(t.parsed),
        **extra,
    }
    rendered = ctx.rules.templates.render(kind, context)
    thread = ctx.store.thread(call.id, staff=True)
    return Outgoing(
        kind=kind,
        to=(to,),
        cc=(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=message_id(ctx, t.key, kind, call.ref),
        in_reply_to=thread[-1] if thread else None,
        references=thread[-10:],
        call_id=call.id,
    )


def new_call_notice(t: Triage, ctx: Context, call: CallView) -> Outgoing | None:
    """Tell the team (or the project manager, for a complaint) about a new call."""
    previous = t.previous.ref if t.previous else ""
    return _outgoing(
        t, ctx, call, "new_call", {"missing": list(call.missing), "previous": previous}
    )


def school_reply(t: Triage, ctx: Context, call: CallView) -> Outgoing | None:
    """Pass the school's reply on a call to its officer (or its team)."""
    return _outgoing(t, ctx, call, "school_reply", {"reopened": t.action is Action.REOPEN})
