"""Pipeline stage: compose the replies an email calls for, from the rule templates."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from mailbot.approval import changemail
from mailbot.calls import rating
from mailbot.calls.records import CallView, IncidentView
from mailbot.calls.templatevars import call_context, in_thread, message_id, spoc_copies
from mailbot.incidents import incident as incidents
from mailbot.mail import authresults
from mailbot.mail.mime import valid_address
from mailbot.mail.outgoing import Outgoing
from mailbot.mail.sizes import true_size
from mailbot.pipeline import changeasks, staffnotices
from mailbot.pipeline.records import Action, Context, RefusedDecision, Triage
from mailbot.rules.directory import SenderKind
from mailbot.sla.calendar import describe

# The note to a person whose decision by email was not acted on.
DECISION_REFUSED = "decision_refused"


def _service(ctx: Context) -> dict[str, str]:
    return {"name": ctx.config.service.name, "address": ctx.config.service.address}


def _threading(t: Triage) -> tuple[str | None, tuple[str, ...]]:
    msg = t.parsed
    if msg.message_id is None:
        return None, msg.references
    return msg.message_id, (*msg.references[-10:], msg.message_id)


def _previous(t: Triage, ctx: Context) -> dict[str, str] | None:
    """For a follow-up call, what the confirmation says about the call it continues."""
    old = t.previous
    if old is None:
        return None
    solved = describe(old.solved_at, ctx.rules.calendar, ctx.now) if old.solved_at else ""
    return {"ref": old.ref, "status": old.status, "solved": solved.removeprefix("by ")}


def _authorisation(ctx: Context, call: CallView) -> dict[str, str] | None:
    """What the confirmation says about a request waiting for the headteacher."""
    if call.status != "awaiting_authorisation":
        return None
    school = ctx.rules.directory.school(call.school_id) if call.school_id else None
    heads = school.with_role("headteacher") if school else ()
    return {"by": " and ".join(h.name for h in heads) or "your headteacher"}


def _handler(ctx: Context, call: CallView) -> dict[str, str] | None:
    """Who handles a complaint (the project manager), for the confirmation."""
    directory = ctx.rules.directory
    if call.type != "complaint" or not directory.project_manager:
        return None
    manager = directory.officer(directory.project_manager)
    return {"name": manager.name, "role": "project manager"} if manager else None


def may_quote(t: Triage, ctx: Context) -> bool:
    """Whether a reply may repeat the sender's own subject, name and words back to them.

    Anyone can put a victim's address in From.  A reply that repeats a
    stranger's subject ("Re: BUY CHEAP PILLS") to that address turns mailbot
    into a relay for spam (backscatter), so a stranger is quoted only when
    our receiving server vouched for the From address (``authserv_id``); with
    no server to ask, strangers are never quoted.  Schools and staff are known
    contacts and keep the usual wording.
    """
    sender = t.sender
    if sender is None or sender.kind is not SenderKind.UNKNOWN:
        return True
    authserv_id = ctx.config.service.authserv_id or ""
    return bool(authserv_id) and authresults.check(t.parsed, authserv_id).passed


def _neutral_call(context: dict[str, Any]) -> dict[str, Any]:
    """The ``call`` variable with the stranger's own words taken out."""
    return {**context, "subject": "your email", "requester": "", "topic": context["ref"]}


def _to_sender(
    t: Triage,
    ctx: Context,
    call: CallView,
    kind: str,
    extra: dict[str, Any],
    copy_spocs: bool = True,
) -> Outgoing:
    """A reply about ``call`` to whoever wrote, in their thread, the school's SPOCs copied."""
    msg = t.parsed
    to = (msg.from_addr,) if msg.from_addr else ()
    about = call_context(call, ctx.rules, ctx.now)
    if not may_quote(t, ctx):
        about = _neutral_call(about)
    context = {
        "service": _service(ctx),
        "call": about,
        # Every reply to someone who sent a password advises them to change it.
        "password_removed": t.password_found,
        **extra,
    }
    rendered = ctx.rules.templates.render(kind, context)
    in_reply_to, refs = _threading(t)
    return Outgoing(
        kind=kind,
        to=to,
        cc=spoc_copies(ctx.rules, call, to) if copy_spocs else (),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=message_id(ctx.config, t.key, kind, call.ref),
        in_reply_to=in_reply_to,
        references=refs,
        call_id=call.id,
    )


def _confirmation(t: Triage, ctx: Context, call: CallView) -> Outgoing:
    cal = ctx.rules.calendar
    out_of_hours = not cal.is_support_time(ctx.now)
    picked_up = ""
    if out_of_hours and call.clock_start_at is not None:
        picked_up = describe(call.clock_start_at, cal, ctx.now).removeprefix("by ")
    extra = {
        "previous": _previous(t, ctx),
        "missing": list(call.missing),
        "out_of_hours": out_of_hours,
        "picked_up": picked_up,
        "password_removed": t.password_found,
        "authorisation": _authorisation(ctx, call),
        "handler": _handler(ctx, call),
        "review": changemail.review_words(call),
    }
    return _to_sender(t, ctx, call, "confirmation", extra)


def _incident_status(t: Triage, ctx: Context, call: CallView, incident: IncidentView) -> Outgoing:
    extra = incidents.status_extra(ctx.rules, ctx.config, incident, ctx.now)
    if incident.status != "active":
        # A reply to a resolved incident's notice: ask whether it continues.
        return _to_sender(t, ctx, call, "incident_followup", extra)
    return _to_sender(t, ctx, call, "incident_status", extra)


def _emergency_refused(t: Triage, ctx: Context, call: CallView) -> Outgoing:
    """The reply to a school that wrote #change emergency: only staff raise those."""
    msg = t.parsed
    found = t.instructions.named("change")
    extra = {
        "sender": {"name": msg.from_name, "address": msg.from_addr or ""},
        "line": found.line if found else "#change emergency",
    }
    return _to_sender(t, ctx, call, "emergency_refused", extra, copy_spocs=False)


def _reopened(t: Triage, ctx: Context, call: CallView) -> Outgoing:
    return _to_sender(t, ctx, call, "reopened", {})


def _simple_reply(t: Triage, ctx: Context, kind: str, extra: dict[str, Any]) -> Outgoing:
    msg = t.parsed
    # Without a subject the templates fall back to neutral words ("your email").
    subject = msg.subject if may_quote(t, ctx) else ""
    context = {
        "service": _service(ctx),
        "subject": subject,
        "password_removed": t.password_found,
        **extra,
    }
    rendered = ctx.rules.templates.render(kind, context)
    in_reply_to, refs = _threading(t)
    return Outgoing(
        kind=kind,
        to=(msg.from_addr,) if msg.from_addr else (),
        cc=(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=message_id(ctx.config, t.key, kind, "mailbot"),
        in_reply_to=in_reply_to,
        references=refs,
    )


def _decision_refused(
    t: Triage, ctx: Context, call: CallView, refused: RefusedDecision
) -> Outgoing | None:
    """Tell the person a decision in their name was not acted on, at most once a day.

    It goes to their own address (never to whoever else the email named), in
    reply to the email of ours they should have answered, and quotes nothing
    of the email but its command word: it may have come from a forger.
    """
    since = ctx.now - timedelta(days=1)
    if ctx.store.auto_replies_since(refused.person, since, kind=DECISION_REFUSED):
        return None
    extra = {
        "person": {"name": refused.name, "address": refused.person},
        "command": refused.command,
        "reason": refused.reason,
        "replied": refused.answer_to is not None,
    }
    context = {"service": _service(ctx), "call": call_context(call, ctx.rules, ctx.now), **extra}
    rendered = ctx.rules.templates.render(DECISION_REFUSED, context)
    thread = (refused.answer_to,) if refused.answer_to else ()
    return in_thread(
        DECISION_REFUSED, rendered, to=(refused.person,), cc=(),
        mid=message_id(ctx.config, t.key, DECISION_REFUSED, call.ref),
        thread=thread, call_id=call.id,
    )  # fmt: skip


def _also_held(ctx: Context, address: str) -> int:
    """Unverified emails from ``address`` held since its owner's last warning, besides this one.

    The owner is warned at most once an hour, so the next warning tells
    them how many more arrived in between (counted over a day at most).
    """
    day_ago = ctx.now - timedelta(days=1)
    last = ctx.store.last_auto_reply(address, "unverified_staff")
    since = max(last, day_ago) if last is not None else day_ago
    # This email's own row is already stored (act runs before compose).
    return max(0, ctx.store.unverified_since(since, address) - 1)


def compose(t: Triage, ctx: Context) -> Triage:
    """Compose the emails this decision sends (none for automatic mail)."""
    msg = t.parsed
    if msg.from_addr is None or not valid_address(msg.from_addr):
        return t
    if t.action is Action.BLOCKED:
        return t
    if t.action is Action.FLOODED:
        notice = staffnotices.flood_notice(t, ctx)
        return replace(t, outgoing=(notice,) if notice else ())
    outgoing: list[Outgoing] = []
    staff: list[Outgoing | None] = []
    if t.action in (Action.OPEN_CALL, Action.FOLLOW_UP) and t.call is not None:
        if t.incident is not None:
            # A report of a known major incident is answered with its status
            # and worked as part of it, not one by one.
            outgoing.append(_incident_status(t, ctx, t.call, t.incident))
        else:
            outgoing.append(_confirmation(t, ctx, t.call))
            staff.append(staffnotices.new_call_notice(t, ctx, t.call))
    elif t.action is Action.REOPEN and t.call is not None:
        outgoing.append(_reopened(t, ctx, t.call))
        staff.append(staffnotices.school_reply(t, ctx, t.call))
    elif t.action is Action.APPEND and t.call is not None and not _from_staff(t):
        # A headteacher's #authorise is answered by the decision notices
        # instead, and a refused decision by the note to its person alone.
        if t.worked is None and t.refused_decision is None:
            staff.append(staffnotices.school_reply(t, ctx, t.call))
    elif t.action is Action.RATE and t.call is not None and t.rated is not None:
        # The requester is not answered (nobody is asked twice); a poor
        # rating goes to whoever worked the call.
        if rating.is_poor(ctx.rules.policy.satisfaction, t.rated.score):
            staff.append(staffnotices.poor_rating(t, ctx, t.call, t.rated))
    elif t.action is Action.UNVERIFIED:
        sender = {"name": msg.from_name, "address": msg.from_addr, "reason": t.reason}
        extra = {"sender": sender, "also_held": _also_held(ctx, msg.from_addr)}
        outgoing.append(_simple_reply(t, ctx, "unverified_staff", extra))
    elif t.action is Action.NOT_THEIR_CALL:
        sender = {"name": t.sender.name if t.sender else "", "address": msg.from_addr}
        # The reference is not repeated: the reply reveals nothing of the call.
        extra = {"sender": sender}
        outgoing.append(_simple_reply(t, ctx, "not_their_call", extra))
    elif t.action is Action.UNKNOWN_REPLY:
        name = msg.from_name if may_quote(t, ctx) else ""
        sender = {"name": name, "address": msg.from_addr}
        outgoing.append(_simple_reply(t, ctx, "unknown_sender", {"sender": sender}))
    elif t.action is Action.OVERSIZE:
        limit = ctx.rules.policy.limits.max_message_mb
        size_mb = round(msg.raw_size / 1_000_000, 1)
        attached = true_size(
            msg.raw_size,
            msg.header("content-type") or "",
            msg.header("content-transfer-encoding") or "",
        )
        true_mb = round(attached / 1_000_000, 1)
        extra = {"size_mb": size_mb, "true_mb": true_mb, "limit_mb": f"{limit:g}"}
        outgoing.append(_simple_reply(t, ctx, "oversize", extra))
    if t.worked is not None and t.call is not None and _from_staff(t):
        staff.append(staffnotices.receipt(t, ctx, t.call, t.worked))
    if t.refused_decision is not None and t.call is not None:
        warning = _decision_refused(t, ctx, t.call, t.refused_decision)
        if warning is not None:
            outgoing.append(warning)
    if t.call is not None and changeasks.asks_emergency(t):
        # Only staff raise emergency changes; the school is told so plainly.
        outgoing.append(_emergency_refused(t, ctx, t.call))
    if t.call is not None and _needs_password_advice(t, outgoing):
        outgoing.append(_to_sender(t, ctx, t.call, "password_advice", {}, copy_spocs=False))
    outgoing.extend(out for out in staff if out is not None)
    return replace(t, outgoing=tuple(outgoing))


def _needs_password_advice(t: Triage, outgoing: list[Outgoing]) -> bool:
    """A person at a school sent a password and nothing else answers them.

    Every other reply to the sender carries the advice itself; this covers a
    school's reply on a call, which is otherwise passed on without an answer.
    """
    if not t.password_found or t.call is None or _from_staff(t):
        return False
    if t.action not in (Action.APPEND, Action.REOPEN, Action.OPEN_CALL, Action.FOLLOW_UP):
        return False
    sender = t.parsed.from_addr
    return not any(sender in out.to for out in outgoing)


def _from_staff(t: Triage) -> bool:
    return t.sender is not None and t.sender.kind is SenderKind.STAFF
