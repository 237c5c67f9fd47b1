"""Pipeline stage: decide what to do with an email, from what earlier stages found."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from mailbot.directory import SenderKind
from mailbot.triage import Action, Context, Triage


def _decide(t: Triage, ctx: Context) -> tuple[Action, str]:
    screening = t.screening
    sender = t.sender
    automatic = screening is not None and screening.automatic
    if t.oversize:
        if automatic:
            return Action.IGNORE, "oversize automatic mail"
        return Action.OVERSIZE, "message over the size limit"
    if automatic:
        reason = screening.reason if screening else "automatic"
        return (Action.RECORD, reason) if t.call else (Action.IGNORE, reason)
    if t.call is not None:
        return Action.APPEND, f"continues {t.call.ref} ({t.thread_via})"
    if sender is None or sender.kind is SenderKind.NONE:
        return Action.HOLD, "no usable sender address"
    if sender.kind in (SenderKind.SCHOOL, SenderKind.STAFF):
        return Action.OPEN_CALL, f"new {sender.kind.value} request"
    policy = ctx.rules.policy.unknown_senders
    if policy.action == "open":
        return Action.OPEN_CALL, "unknown sender; open service"
    if policy.action == "hold" or sender.address is None:
        return Action.HOLD, "unknown sender; held for a human"
    since = ctx.now - timedelta(hours=policy.reply_interval_hours)
    if ctx.store.auto_replies_since(sender.address, since, kind="unknown_sender"):
        return Action.HOLD, "unknown sender; already told within the interval"
    return Action.UNKNOWN_REPLY, "unknown sender; polite reply"


def decide(t: Triage, ctx: Context) -> Triage:
    """Choose the Action for this email and say why."""
    action, reason = _decide(t, ctx)
    return replace(t, action=action, reason=reason)
