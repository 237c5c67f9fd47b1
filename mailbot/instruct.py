"""Pipeline stage: carry out the commands at the top of a staff email, or a headteacher's reply."""

from __future__ import annotations

from dataclasses import replace

from mailbot import actions, changecmd, changes, commands, staffcommands
from mailbot.act import writes_to_school
from mailbot.commands import Instructions
from mailbot.directory import SenderKind
from mailbot.models import Call
from mailbot.store import view
from mailbot.triage import Action, Context, Triage


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


def _instructions(t: Triage) -> Instructions:
    """The commands and words of the email, reading below the commands when they need it.

    Quote stripping treats a forwarded message as history once anything is
    written above it, and command lines count as writing; so an officer who
    forwards a school's email with "#note" on top would lose the very text
    the note is for.  When a command needs words and the stripped text has
    none, the words come from the whole text below the commands instead.
    """
    msg = t.parsed
    found = commands.read(msg.new_text)
    needs_words = any(c.name in ("note", "decline") for c in found.commands)
    if needs_words and not found.body and msg.text != msg.new_text:
        whole = commands.read(msg.text)
        if whole.commands == found.commands:
            return whole
    return found


def instruct(t: Triage, ctx: Context) -> Triage:
    """Apply what the email asks of its call, and send staff's words on to the school.

    Only staff (trusted, see identify) run commands; their words below the
    commands go to the school unless they wrote to the school themselves.  A
    school's headteacher may answer an authorisation request with #authorise
    or #decline, and the requester or headteacher may #appeal or #withdraw a
    change request (see changes.py).  From anyone else, lines starting with
    "#" are plain text.
    """
    sender = t.sender
    if t.call is None or sender is None or sender.address is None:
        return t
    if t.action not in (Action.APPEND, Action.OPEN_CALL):
        return t
    session = ctx.store.session
    call = session.get_one(Call, t.call.id)
    found = _instructions(t)
    job = staffcommands.Job(
        session=session,
        config=ctx.config,
        rules=ctx.rules,
        call=call,
        by=actions.Staff(actor=sender.address, now=ctx.now),
        occasion=t.key,
        body=found.body,
    )
    if sender.kind is SenderKind.STAFF:
        asked = bool(found.commands or found.problems)
        # A new call from staff keeps its text as the call's details; on an
        # existing call the words go to the school unless the officer already
        # wrote to the school directly (copying the support address).
        relay = t.action is Action.APPEND and not writes_to_school(t, ctx, t.call)
        if not asked and not (relay and found.body):
            return t
        worked = staffcommands.run(job, found, relay=relay)
    elif sender.kind is SenderKind.SCHOOL and t.parsed.from_suspect:
        # A suspect From (see identify) is kept as the school's mail, but
        # what it shows is not what was authenticated, so "#" lines are text.
        return t
    elif sender.kind is SenderKind.SCHOOL:
        if changecmd.asks_emergency(t):
            # The email is logged as ordinary mail and runs nothing; compose
            # tells the school that only staff raise emergency changes.
            changes.emergency_refused(session, call, sender.address, ctx.now)
            return t
        first = found.commands[0] if found.commands else None
        if t.action is not Action.APPEND or first is None:
            return t
        if first.name in staffcommands.HEADTEACHER_COMMANDS:
            if call.status != "awaiting_authorisation" or not _headteacher_of(t, call):
                return t
        elif not changecmd.school_may(session, ctx.rules, t, call, first.name):
            return t
        worked = staffcommands.run(job, Instructions((first,), found.body), relay=False)
    else:
        return t
    return replace(t, worked=worked, call=view(call))
