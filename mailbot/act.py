"""Pipeline stage: carry out the decision in the open transaction."""

from __future__ import annotations

from dataclasses import replace

from mailbot.details import missing_details
from mailbot.supporttime import Target, deadlines
from mailbot.triage import Action, CallView, Context, Triage


def _open_call(t: Triage, ctx: Context) -> CallView:
    msg = t.parsed
    sender = t.sender
    cls = t.classification
    assert sender is not None and cls is not None
    targets = ctx.rules.sla.priorities[cls.priority]  # type: ignore[index]
    shares = [(e.level, e.share) for e in ctx.rules.sla.escalation]
    due = deadlines(
        ctx.rules.calendar,
        ctx.now,
        Target.parse(targets.response),
        Target.parse(targets.fix),
        shares,
    )
    known_phone = bool(sender.contact and sender.contact.phone)
    missing = missing_details(f"{msg.subject}\n{msg.new_text}", known_phone=known_phone)
    return ctx.store.create_call(
        now=ctx.now,
        msg=msg,
        school_id=sender.school.id if sender.school else None,
        requester_name=sender.name,
        classification=cls,
        missing=missing,
        clock_start=due.start,
        response_due=due.response_due,
        fix_due=due.fix_due,
        next_escalation=due.escalations[0][1] if due.escalations else None,
    )


def act(t: Triage, ctx: Context) -> Triage:
    """Store the email, open or update the call, and record what was done."""
    msg = t.parsed
    actor = msg.from_addr or "(no sender)"
    verdict = t.screening.verdict.value if t.screening else "human"
    call = t.call
    if t.action is Action.OPEN_CALL:
        call = _open_call(t, ctx)
        cls = t.classification
        assert cls is not None
        detail = f"{cls.type}, {cls.priority}, rule: {cls.rule}"
        ctx.store.add_event(call.id, at=ctx.now, actor=actor, kind="opened", detail=detail)
    elif t.action is Action.APPEND and call is not None:
        ctx.store.add_event(call.id, at=ctx.now, actor=actor, kind="message", detail=t.thread_via)
    elif t.action is Action.RECORD and call is not None:
        # Automatic mail on a thread is kept for the record but changes nothing.
        ctx.store.add_event(call.id, at=ctx.now, actor=actor, kind="automatic", detail=t.reason)
    if call is not None and t.password_found:
        ctx.store.add_event(call.id, at=ctx.now, actor="mailbot", kind="password_removed")
    keep_on_call = t.action in (Action.OPEN_CALL, Action.APPEND, Action.RECORD)
    row = ctx.store.add_inbound(
        now=ctx.now,
        msg=msg,
        call_id=call.id if call and keep_on_call else None,
        verdict=verdict,
        outcome=str(t.action),
    )
    ctx.store.mark_processed(
        t.key,
        now=ctx.now,
        outcome=str(t.action),
        call_id=call.id if call else None,
        message_row=row,
        detail=t.reason,
    )
    return replace(t, call=call, message_row=row)
