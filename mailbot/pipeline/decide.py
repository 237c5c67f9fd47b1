"""Pipeline stage: decide what to do with an email, from what earlier stages found."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from mailbot.calls import rating
from mailbot.calls.records import CallView
from mailbot.mail import authresults
from mailbot.mail.replyintent import Intent, reply_intent
from mailbot.pipeline.changeasks import school_command
from mailbot.pipeline.records import Action, Context, Triage
from mailbot.rules.directory import SenderKind
from mailbot.sla.clock import DONE, reopen_deadline
from mailbot.storage import replytoken


def _rating_doubt(t: Triage, ctx: Context, call: CallView) -> str:
    """Why a rating cannot be taken as the requester's own, or "" when it can.

    Anyone can put the requester's address in From, so a rating counts only
    when it answers the closure notice mailbot sent the requester (its
    Message-ID carries a token only that person received) and, where the
    configuration names our receiving server, passes its checks too.
    """
    msg = t.parsed
    if msg.from_suspect or not rating.from_requester(call, msg.from_addr):
        return "not from the call's requester"
    person = (call.requester_email or "").lower()
    key = replytoken.reply_key(ctx.store.session, ctx.now)
    ids = (*msg.references, *msg.in_reply_to)
    if not replytoken.answers(key, ids, call_id=call.id, kinds=("closure",), person=person):
        return "not a reply to the closure notice sent to the requester"
    authserv_id = ctx.config.service.authserv_id
    if authserv_id:
        verdict = authresults.check(msg, authserv_id)
        if not verdict.passed:
            return f"our mail server could not confirm the sender ({verdict.reason})"
    return ""


def _rated(t: Triage, ctx: Context, call: CallView) -> tuple[Action, str] | None:
    """A reply that rates a closed call, as the closure notice invited; None if it is not one."""
    rules = ctx.rules.policy.satisfaction
    if call.status != "closed" or call.rating_invited_at is None or not rules.enabled:
        return None
    found = rating.read_rating(t.parsed.new_text, rules)
    if found is None:
        return None
    doubt = _rating_doubt(t, ctx, call)
    if doubt:
        # Neither a rating nor a new call: a person decides what it is.
        return Action.HOLD, f"rating of {call.ref} {doubt}; not counted, held for a human"
    if not rating.window_open(rules, call.rating_invited_at, ctx.now):
        return Action.RATE_LATE, f"rating of {call.ref} after the window; kept, not counted"
    return Action.RATE, f"rates {call.ref} {found.score} of {rules.scale}"


def _on_call(t: Triage, ctx: Context, call: CallView) -> tuple[Action, str]:
    """A person wrote on an existing call: add to it, reopen it, or start a follow-up."""
    staff = t.sender is not None and t.sender.kind is SenderKind.STAFF
    if staff or call.status not in DONE:
        return Action.APPEND, f"continues {call.ref} ({t.thread_via})"
    if school_command(t, call) and not t.parsed.from_suspect:
        # An #appeal (or #withdraw) answers the change itself, however it ended.
        return Action.APPEND, f"answers change {call.ref} ({t.thread_via})"
    rated = _rated(t, ctx, call)
    if rated is not None:
        # A rating never reopens the call nor opens another.
        return rated
    intent = reply_intent(t.parsed.new_text)
    if intent is Intent.THANKS:
        return Action.THANKS, f"thanks on {call.ref} ({call.status}); recorded"
    if call.status == "solved" and call.solved_at is not None:
        until = reopen_deadline(ctx.rules.clock, call.solved_at)
        if ctx.now <= until:
            if intent is Intent.NOT_FIXED:
                solved = call.solved_at.isoformat()
                return Action.REOPEN, f"reply says {call.ref} is not fixed, solved {solved}"
            # Only a reply that says the problem is back reopens the call;
            # anything else goes to the officer, who may reopen it.
            return Action.APPEND, f"reply on solved {call.ref} ({t.thread_via})"
    return Action.FOLLOW_UP, f"reply after {call.ref} was {call.status}: new call follows on"


def _unverified(t: Triage, ctx: Context) -> tuple[Action, str]:
    """Possibly forged staff mail runs nothing and reaches no school; its owner is warned.

    Every such email is recorded as unverified (status counts them); the
    warning itself is limited to one an hour by the outbox's guard, and the
    next warning lists those held in between.
    """
    sender = t.sender
    reason = f"staff address failed authentication ({t.reason})"
    if sender is None or sender.address is None:
        return Action.HOLD, reason
    since = ctx.now - timedelta(hours=1)
    if ctx.store.auto_replies_since(sender.address, since, kind="unverified_staff"):
        reason += "; its owner was already warned this hour"
    return Action.UNVERIFIED, reason


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
    if sender is not None and sender.kind is SenderKind.UNVERIFIED:
        return _unverified(t, ctx)
    if t.call is not None:
        return _on_call(t, ctx, t.call)
    if t.foreign_ref and sender is not None and sender.address is not None:
        # Opening a call would make a spurious one (another school's "please
        # close this call"); a human sorts it out, and the writer is told.
        reason = f"quoted {t.foreign_ref}, another school's call; held for a human"
        since = ctx.now - timedelta(days=1)
        if ctx.store.auto_replies_since(sender.address, since, kind="not_their_call"):
            return Action.HOLD, reason + "; already told today"
        return Action.NOT_THEIR_CALL, reason
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


def _flooded(t: Triage, ctx: Context) -> str:
    """The sender's domain when it already opened its hourly share of new calls, else ""."""
    sender = t.sender
    if sender is None or sender.address is None or sender.kind is SenderKind.STAFF:
        return ""
    domain = sender.address.rsplit("@", 1)[-1].lower()
    cap = ctx.rules.policy.limits.new_calls_per_domain_per_hour
    since = ctx.now - timedelta(hours=1)
    return domain if ctx.store.new_calls_from_domain_since(domain, since) >= cap else ""


def decide(t: Triage, ctx: Context) -> Triage:
    """Choose the Action for this email and say why."""
    sender = t.sender
    if sender is not None and sender.address and ctx.store.is_blocked(sender.address):
        # A loop that reached the daily cap: nothing is answered and no call
        # is opened until a human clears the address.
        reason = "address blocked as a mail loop; held until `mailbot senders unblock`"
        return replace(t, action=Action.BLOCKED, reason=reason)
    action, reason = _decide(t, ctx)
    if action in (Action.OPEN_CALL, Action.FOLLOW_UP):
        domain = _flooded(t, ctx)
        if domain:
            cap = ctx.rules.policy.limits.new_calls_per_domain_per_hour
            reason = f"{cap} new calls from {domain} within the hour; held for a human"
            return replace(t, action=Action.FLOODED, reason=reason)
    return replace(t, action=action, reason=reason)
