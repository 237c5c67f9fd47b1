"""Pipeline stage: carry out the decision in the open transaction."""

from __future__ import annotations

from dataclasses import replace

from mailbot.approval import authorisation, board, changes
from mailbot.calls import lifecycle, rating
from mailbot.calls.details import missing_details
from mailbot.calls.records import CallView, Staff
from mailbot.calls.store import view
from mailbot.incidents import incident
from mailbot.pipeline import changeasks
from mailbot.pipeline.correlate import clean_subject
from mailbot.pipeline.records import Action, Context, Triage
from mailbot.pipeline.recurrence import recurrence_of
from mailbot.rules.directory import SenderKind
from mailbot.storage.models import Call


def _open_call(t: Triage, ctx: Context) -> CallView:
    msg = t.parsed
    sender = t.sender
    cls = t.classification
    assert sender is not None and cls is not None
    known_phone = bool(sender.contact and sender.contact.phone)
    # A school's shared or unnamed mailbox gives no name to greet or call back.
    known_name = bool(sender.name) or sender.kind is not SenderKind.SCHOOL
    missing = missing_details(
        f"{msg.subject}\n{msg.new_text}",
        known_phone=known_phone,
        call_type=cls.type,
        known_name=known_name,
    )
    call = ctx.store.create_call(
        now=ctx.now,
        msg=msg,
        subject=clean_subject(msg.subject, ctx.rules.policy.references.prefix),
        school_id=sender.school.id if sender.school else None,
        requester_name=sender.name,
        classification=cls,
        missing=missing,
        policy=ctx.rules.clock,
    )
    detail = f"{cls.type}, {cls.priority}, rule: {cls.rule}"
    ctx.store.add_event(
        call.id, at=ctx.now, actor=msg.from_addr or "", kind="opened", detail=detail
    )
    return _authorisation(t, ctx, call)


def _major_incident(t: Triage, ctx: Context, call: CallView) -> Triage:
    """Link a school's new call to the active major incident it is about, if any."""
    sender = t.sender
    if sender is None or sender.kind is not SenderKind.SCHOOL:
        return t
    session = ctx.store.session
    text = f"{t.parsed.subject}\n{t.parsed.new_text}"
    found = incident.matching(session, ctx.rules, call.type, call.category, text)
    if found is None:
        return _follow_up(t, ctx, call, text)
    row = session.get_one(Call, call.id)
    row.incident_id = found.id
    lifecycle.store_clock(row, lifecycle.clock_of(row), ctx.rules.clock)
    ctx.store.add_event(call.id, at=ctx.now, actor="mailbot", kind="major_linked", detail=found.ref)
    return replace(t, call=view(row), incident=incident.snapshot(session, found))


def _follow_up(t: Triage, ctx: Context, call: CallView, text: str) -> Triage:
    """Link a reply to a resolved incident's notice to that incident, and ask the school."""
    session = ctx.store.session
    replied_to = (*t.parsed.in_reply_to, *t.parsed.references)
    found = incident.resolved_named(session, ctx.rules, text, replied_to)
    if found is None:
        return t
    row = session.get_one(Call, call.id)
    incident.follow_up(session, ctx.rules, row, found, incident.By("mailbot", ctx.now))
    return replace(t, call=view(row), incident=incident.snapshot(session, found))


def _authorisation(t: Triage, ctx: Context, call: CallView) -> CallView:
    """Hold a request from someone not on the school's authorised list and ask the head.

    A change request that needs no authorisation goes to the Change Advisory
    Board at once (its confirmation says so), unless the officer who logged it
    chose the board with #change.
    """
    session = ctx.store.session
    row = session.get_one(Call, call.id)
    by = Staff(actor="mailbot", now=ctx.now)
    if authorisation.needed(session, ctx.rules, row):
        # The email is stored after this stage, so the head is given its words directly.
        authorisation.request(
            session, ctx.config, ctx.rules, row, by, occasion=t.key,
            text=t.parsed.new_text or t.parsed.text,
        )  # fmt: skip
    elif changes.needed(session, ctx.rules, row) and not changeasks.raised_by_staff(t):
        work = board.Work(session, ctx.config, ctx.rules, row, by, t.key)
        # The email is stored after this stage's call work, so the board is
        # given its words directly.
        board.submit(work, tell=False, text=t.parsed.new_text or t.parsed.text)
    else:
        return call
    return view(row)


def _writes_to_school(t: Triage, ctx: Context, call: CallView) -> bool:
    """Whether a staff email on a call also went to the school (it counts as the response)."""
    recipients = {a.lower() for a in (*t.parsed.to, *t.parsed.cc)}
    if call.requester_email and call.requester_email.lower() in recipients:
        return True
    directory = ctx.rules.directory
    return any(
        (s := directory.identify(a)).school is not None and s.school.id == call.school_id
        for a in recipients
    )


def act(t: Triage, ctx: Context) -> Triage:
    """Store the email, open or update the call, and record what was done."""
    msg = t.parsed
    actor = msg.from_addr or "(no sender)"
    verdict = t.screening.verdict.value if t.screening else "human"
    call = t.call
    previous = None
    if t.action is Action.OPEN_CALL:
        call = _open_call(t, ctx)
        # A fresh email about a fault the school had solved recently is a
        # recurrence, cross-referenced like a late reply on the old call.
        previous = recurrence_of(ctx, call)
    elif t.action is Action.FOLLOW_UP and call is not None:
        previous = call
        call = _open_call(t, ctx)
    elif t.action is Action.REOPEN and call is not None:
        call = ctx.store.reopen(call.id, now=ctx.now, actor=actor, policy=ctx.rules.clock)
    elif t.action is Action.THANKS and call is not None:
        call = ctx.store.thanked(call.id, now=ctx.now, actor=actor, policy=ctx.rules.clock)
    elif t.action is Action.APPEND and call is not None:
        ctx.store.add_event(call.id, at=ctx.now, actor=actor, kind="message", detail=t.thread_via)
        staff = t.sender is not None and t.sender.kind is SenderKind.STAFF
        if staff and _writes_to_school(t, ctx, call):
            ctx.store.mark_responded(call.id, now=ctx.now, actor=actor)
            t = replace(t, staff_wrote_to_school=True)
        elif not staff and call.status == "awaiting_customer":
            # The school answered what we asked: the paused clock runs again.
            call = ctx.store.resume(call.id, now=ctx.now, actor=actor, policy=ctx.rules.clock)
            t = replace(t, resumed=True)
            answered = ctx.store.session.get_one(Call, call.id)
            by = incident.By(actor, ctx.now)
            if incident.unlink_follow_up(ctx.store.session, ctx.rules, answered, by):
                # The problem outlived the incident: it is now a call of its own.
                call = view(answered)
    elif t.action is Action.RATE and call is not None:
        found = rating.read_rating(msg.new_text, ctx.rules.policy.satisfaction)
        if found is not None:
            call = ctx.store.rate(call.id, found, now=ctx.now, actor=actor)
            t = replace(t, rated=found)
    elif t.action is Action.RATE_LATE and call is not None:
        ctx.store.add_event(call.id, at=ctx.now, actor=actor, kind="rating_late", detail=t.reason)
    elif t.action is Action.RECORD and call is not None:
        # Automatic mail on a thread is kept for the record but changes nothing.
        ctx.store.add_event(call.id, at=ctx.now, actor=actor, kind="automatic", detail=t.reason)
    if previous is not None and call is not None:
        problem = ctx.store.follow_up(
            call.id,
            previous.id,
            now=ctx.now,
            problem_after=ctx.rules.sla.lifecycle.problem_after,
        )
        if problem is not None:
            t = replace(t, notes=(*t.notes, f"opened problem record {problem.ref}"))
    if call is not None and t.action in (Action.OPEN_CALL, Action.FOLLOW_UP):
        t = _major_incident(replace(t, call=call), ctx, call)
        call = t.call
    if call is not None and t.password_found:
        ctx.store.add_event(call.id, at=ctx.now, actor="mailbot", kind="password_removed")
    keep_on_call = t.action in (
        Action.OPEN_CALL,
        Action.APPEND,
        Action.RECORD,
        Action.REOPEN,
        Action.FOLLOW_UP,
        Action.THANKS,
        Action.RATE,
        Action.RATE_LATE,
    )
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
    return replace(t, call=call, previous=previous, message_row=row)
