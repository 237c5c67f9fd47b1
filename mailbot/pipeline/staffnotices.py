"""Staff emails an incoming email causes: new-call notices, relayed school replies, receipts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mailbot.calls.commandhelp import help_lines
from mailbot.calls.rating import Rating
from mailbot.calls.records import CallView, Worked
from mailbot.calls.staffmail import attachments, compose
from mailbot.calls.templatevars import message_id
from mailbot.mail.bounds import cut
from mailbot.mail.outgoing import Outgoing
from mailbot.pipeline.records import Action, Context, Triage
from mailbot.sla.clock import HELD


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
        "attachments": attachments(t.parsed),
        **extra,
    }
    return compose(
        ctx.config,
        ctx.rules,
        call,
        kind,
        context,
        now=ctx.now,
        mid=message_id(ctx.config, t.key, kind, call.ref),
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
    extra = {"reopened": t.action is Action.REOPEN, "resumed": t.resumed}
    return _from_email(t, ctx, call, "school_reply", extra)


def poor_rating(t: Triage, ctx: Context, call: CallView, found: Rating) -> Outgoing | None:
    """Pass a poor rating and its comment to the call's officer (or its team)."""
    scale = ctx.rules.policy.satisfaction.scale
    extra = {"rating": {"score": found.score, "scale": scale, "word": found.word}}
    return _from_email(t, ctx, call, "poor_rating", {**extra, "text": found.comment})


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
        "missed_target": worked.missed_target,
        "help": help_lines() if worked.help or worked.refused else [],
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
        mid=message_id(ctx.config, t.key, "receipt", call.ref),
        thread=thread,
        to=writer,
    )


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
        message_id=message_id(ctx.config, t.key, "flood_notice", domain),
        about=domain,
    )
