"""Pipeline stage: carry out the commands at the top of a staff email, or a headteacher's reply."""

from __future__ import annotations

from dataclasses import replace

from mailbot.approval import board, changes
from mailbot.calls import lifecycle, records
from mailbot.calls.store import view
from mailbot.commands import table
from mailbot.commands.grammar import Instructions
from mailbot.commands.job import Job
from mailbot.mail import authresults
from mailbot.mail.bounds import cut
from mailbot.pipeline import changeasks
from mailbot.pipeline.records import Action, Context, RefusedDecision, Triage
from mailbot.rules.directory import SenderKind
from mailbot.storage import replytoken
from mailbot.storage.models import Call

# The board's votes: a member's own decision, never given on anyone's behalf.
VOTES = frozenset({"approve", "reject"})


def _headteacher_of(t: Triage, call: Call) -> bool:
    sender = t.sender
    contact = sender.contact if sender else None
    school = sender.school if sender else None
    return (
        contact is not None
        and school is not None
        and school.id == call.school_id
        and "headteacher" in contact.roles
    )


def _unproven(
    t: Triage, ctx: Context, call: Call, command: str, kinds: tuple[str, ...]
) -> RefusedDecision | None:
    """Why a decision by email does not provably come from its sender's mailbox, or None.

    It must answer an email of ``kinds`` that mailbot sent that very person
    about this call (replytoken.py) and, where the configuration names our
    receiving server, pass its authentication checks as well.
    """
    msg, sender = t.parsed, t.sender
    assert sender is not None and sender.address is not None, "instruct checks the sender"
    person = sender.address.lower()
    session = ctx.store.session
    key = replytoken.reply_key(session, ctx.now)
    ids = (*msg.references, *msg.in_reply_to)
    reason = ""
    if not replytoken.answers(key, ids, call_id=call.id, kinds=kinds, person=person):
        reason = "it was not a reply to the email we sent you asking for it"
    elif ctx.config.service.authserv_id:
        verdict = authresults.check(msg, ctx.config.service.authserv_id)
        if not verdict.passed:
            reason = f"our mail server could not confirm it came from you ({verdict.reason})"
    if not reason:
        return None
    return RefusedDecision(
        person=person,
        name=board.person(ctx.rules, call, person),
        command=f"#{command}",
        reason=reason,
        answer_to=replytoken.request_for(session, call.id, person, kinds),
    )


def _refuse(t: Triage, ctx: Context, call: Call, refused: RefusedDecision) -> Triage:
    """Carry out nothing, and record on the call that a decision was refused and why."""
    lifecycle.add_event(
        ctx.store.session, call, at=ctx.now, actor=refused.person, kind="decision_refused",
        detail=f"{refused.command} not acted on: {refused.reason}",
    )  # fmt: skip
    note = f"{refused.command} from {refused.person} not acted on: {refused.reason}"
    return replace(t, refused_decision=refused, notes=(*t.notes, note))


def instruct(t: Triage, ctx: Context) -> Triage:
    """Apply what the email asks of its call, and send staff's words on to the school.

    Only staff (trusted, see identify) run commands; their words below the
    commands go to the school unless they wrote to the school themselves.  A
    school's headteacher may answer an authorisation request with #authorise
    or #decline, and the requester or headteacher may #appeal or #withdraw a
    change request (see changes.py).  From anyone else, lines starting with
    "#" are plain text.  Those decisions, and board members' votes, count only
    when they answer the email mailbot sent that person (a reply token) and
    pass authentication where the server reports it; otherwise nothing is
    done and compose tells the person.
    """
    sender = t.sender
    if t.call is None or sender is None or sender.address is None:
        return t
    if t.action not in (Action.APPEND, Action.OPEN_CALL):
        return t
    session = ctx.store.session
    call = session.get_one(Call, t.call.id)
    found = t.instructions
    job = Job(
        session=session,
        config=ctx.config,
        rules=ctx.rules,
        call=call,
        by=records.Staff(actor=sender.address, now=ctx.now),
        occasion=t.key,
        # The words go on into notices, notes, solved and incident emails;
        # each copy is bounded like any quoted text (the stored email keeps more).
        body=cut(found.body, ctx.config.service.max_quoted_text_chars),
    )
    if sender.kind is SenderKind.STAFF:
        # A vote is the member's own decision, so one that would count must
        # answer the review email mailbot sent that member; one refused anyway
        # (not a member, decided already, no reason) is answered by the
        # receipt as before.  Staff acting for the school (#authorise,
        # #withdraw) are trusted as staff, which identify checks.
        votes = [
            c
            for c in found.commands
            if c.name in VOTES and not isinstance(table.TABLE[c.name](job, c.arg), records.Refused)
        ]
        if votes:
            refused = _unproven(t, ctx, call, votes[0].name, replytoken.VOTE)
            if refused is not None:
                return _refuse(t, ctx, call, refused)
        asked = bool(found.commands or found.problems)
        # A new call from staff keeps its text as the call's details; on an
        # existing call the words go to the school unless the officer already
        # wrote to the school directly (copying the support address).
        relay = t.action is Action.APPEND and not t.staff_wrote_to_school
        if not asked and not (relay and found.body):
            return t
        worked = table.run(job, found, relay=relay)
    elif sender.kind is SenderKind.SCHOOL and t.parsed.from_suspect:
        # A suspect From (see identify) is kept as the school's mail, but
        # what it shows is not what was authenticated, so "#" lines are text.
        return t
    elif sender.kind is SenderKind.SCHOOL:
        if changeasks.asks_emergency(t):
            # The email is logged as ordinary mail and runs nothing; compose
            # tells the school that only staff raise emergency changes.
            changes.emergency_refused(session, call, sender.address, ctx.now)
            return t
        first = found.commands[0] if found.commands else None
        if t.action is not Action.APPEND or first is None:
            return t
        if first.name in table.HEADTEACHER_COMMANDS:
            if call.status != "awaiting_authorisation" or not _headteacher_of(t, call):
                return t
            kinds = replytoken.AUTHORISATION
        elif changeasks.school_may(session, ctx.rules, t, call, first.name):
            kinds = replytoken.SCHOOL_DECISION
        else:
            return t
        refused = _unproven(t, ctx, call, first.name, kinds)
        if refused is not None:
            return _refuse(t, ctx, call, refused)
        worked = table.run(job, Instructions((first,), found.body), relay=False)
    else:
        return t
    return replace(t, worked=worked, call=view(call))
