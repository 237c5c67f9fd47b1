"""What a school's or an officer's email asks of a change: #appeal, #withdraw, #change."""

from __future__ import annotations

from mailbot.approval import board, changes
from mailbot.calls.records import CallView
from mailbot.commands.change import SCHOOL_COMMANDS
from mailbot.pipeline.records import Action, Triage
from mailbot.rules.directory import SenderKind
from mailbot.rules.loader import Rules
from mailbot.storage.db import Session
from mailbot.storage.models import Call


def _speaks_for(t: Triage, requester: str | None, school_id: str | None) -> bool:
    """Whether a school sender is the call's requester or its school's headteacher."""
    sender = t.sender
    if sender is None or sender.kind is not SenderKind.SCHOOL or sender.address is None:
        return False
    if requester and sender.address.lower() == requester.lower():
        return True
    contact, school = sender.contact, sender.school
    return (
        contact is not None
        and school is not None
        and school.id == school_id
        and "headteacher" in contact.roles
    )


def _first(t: Triage) -> str | None:
    found = t.instructions.commands
    return found[0].name if found else None


def school_command(t: Triage, call: CallView) -> bool:
    """Whether a school's email on a change opens with #appeal or #withdraw from someone who may.

    Such an email belongs to the change even when the call is closed (an
    appeal is written to a rejected change), so it never opens a new call.
    """
    return (
        call.type == "change_request"
        and _first(t) in SCHOOL_COMMANDS
        and _speaks_for(t, call.requester_email, call.school_id)
    )


def school_may(session: Session, rules: Rules, t: Triage, call: Call, name: str) -> bool:
    """Whether a school's #appeal or #withdraw is to be carried out now."""
    if name not in SCHOOL_COMMANDS or not _speaks_for(t, call.requester_email, call.school_id):
        return False
    if not board.school_asked(session, call):
        # A change staff raised is theirs to withdraw or raise again; the
        # school's line is an ordinary reply, which reaches them.
        return False
    if name == "appeal":
        return changes.appeal_problem(session, rules, call) is None
    return changes.withdraw_problem(call) is None


def asks_emergency(t: Triage) -> bool:
    """Whether a school's email (new, or on a call) carries #change, which only staff may give."""
    sender = t.sender
    if sender is None or sender.kind is not SenderKind.SCHOOL:
        return False
    if t.action not in (Action.OPEN_CALL, Action.APPEND):
        return False
    return t.instructions.named("change") is not None


def raised_by_staff(t: Triage) -> bool:
    """Whether an officer's email carries #change, which then chooses the board itself."""
    sender = t.sender
    if sender is None or sender.kind is not SenderKind.STAFF:
        return False
    return t.instructions.named("change") is not None
