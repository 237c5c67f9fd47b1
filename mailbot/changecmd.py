"""The change commands (#approve, #reject, #appeal, #withdraw, #change), and who may give them.

The handlers join the command table in staffcommands.py, so email replies and
the CLI run them alike.  Board members vote; any officer may raise a change or
act for the school; a school's requester or headteacher may appeal or withdraw
its own change.  A school's #change is never run: the email is logged as an
ordinary one and the school is told that only staff raise emergency changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailbot import actions, changes, ecab
from mailbot.directory import SenderKind
from mailbot.models import Call
from mailbot.rules import Rules
from mailbot.triage import Action, CallView, Triage

if TYPE_CHECKING:
    from mailbot.staffcommands import Job, Plan

# What the requester or headteacher may reply about their own change.
SCHOOL_COMMANDS = frozenset({"appeal", "withdraw"})
# Commands that take the words below them (a comment, a reason, a justification),
# which therefore never go on to the school.
USES_BODY = frozenset({"approve", "reject", "appeal", "withdraw", "change"})


def _work(job: Job) -> ecab.Work:
    return ecab.Work(job.session, job.config, job.rules, job.call, job.by, job.occasion)


def _words(job: Job, arg: str) -> str:
    return "\n".join(p for p in (arg.strip(), job.body.strip()) if p)


def _reason(job: Job, arg: str) -> str:
    """A vote's reason: the rest of its line, or the words below when the line has none.

    Below a reason written on the command's own line there is usually only a
    signature, which the school need not be sent.
    """
    return arg.strip() or job.body.strip()


def approve(job: Job, arg: str) -> Plan | actions.Refused:
    """#approve [COMMENT]: a board member's vote for the change."""
    problem = ecab.vote_problem(job.session, job.rules, job.call, job.by.actor)
    if problem is not None:
        return actions.Refused(problem)
    comment = _reason(job, arg)
    return lambda: ecab.vote(_work(job), approve=True, reason=comment)


def reject(job: Job, arg: str) -> Plan | actions.Refused:
    """#reject REASON: a board member's vote against; the school is told the reason."""
    problem = ecab.vote_problem(job.session, job.rules, job.call, job.by.actor)
    if problem is not None:
        return actions.Refused(problem)
    reason = _reason(job, arg)
    if not reason:
        return actions.Refused("give the reason, which the school is told: #reject REASON")
    return lambda: ecab.vote(_work(job), approve=False, reason=reason)


def appeal(job: Job, arg: str) -> Plan | actions.Refused:
    """#appeal [WORDS]: send a rejected change back to its board for another round."""
    problem = changes.appeal_problem(job.session, job.rules, job.call)
    if problem is not None:
        return actions.Refused(problem)
    words = _words(job, arg)
    return lambda: changes.appeal(_work(job), words)


def withdraw(job: Job, arg: str) -> Plan | actions.Refused:
    """#withdraw [WORDS]: the school no longer wants the change; the call closes."""
    problem = changes.withdraw_problem(job.call)
    if problem is not None:
        return actions.Refused(problem)
    words = _words(job, arg)
    return lambda: changes.withdraw(_work(job), words)


def change(job: Job, arg: str) -> Plan | actions.Refused:
    """#change [emergency]: staff send the call to the board, or to the emergency board."""
    board = changes.board_word(arg)
    if board is None:
        return actions.Refused(
            f"no board {arg.strip()!r}: write #change for the Change Advisory Board, "
            "or #change emergency for the emergency board"
        )
    problem = changes.change_problem(job.rules, job.call, board)
    if problem is not None:
        return actions.Refused(problem)
    return lambda: changes.raise_change(_work(job), board, job.body)


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
