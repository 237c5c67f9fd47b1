"""The change commands (#approve, #reject, #appeal, #withdraw, #change), and who may give them.

The handlers join the command table in staffcommands.py, so email replies and
the CLI run them alike.  Board members vote; any officer may raise a change or
act for the school; a school's requester or headteacher may appeal or withdraw
its own change.  A school's #change is never run: the email is logged as an
ordinary one and the school is told that only staff raise emergency changes.
"""

from __future__ import annotations

from mailbot.approval import board as ecab
from mailbot.approval import changes
from mailbot.calls import records
from mailbot.commands.job import Job, Plan

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


def approve(job: Job, arg: str) -> Plan | records.Refused:
    """#approve [COMMENT]: a board member's vote for the change."""
    problem = ecab.vote_problem(job.session, job.rules, job.call, job.by.actor)
    if problem is not None:
        return records.Refused(problem)
    comment = _reason(job, arg)
    return lambda: ecab.vote(_work(job), approve=True, reason=comment)


def reject(job: Job, arg: str) -> Plan | records.Refused:
    """#reject REASON: a board member's vote against; the school is told the reason."""
    problem = ecab.vote_problem(job.session, job.rules, job.call, job.by.actor)
    if problem is not None:
        return records.Refused(problem)
    reason = _reason(job, arg)
    if not reason:
        return records.Refused("give the reason, which the school is told: #reject REASON")
    return lambda: ecab.vote(_work(job), approve=False, reason=reason)


def appeal(job: Job, arg: str) -> Plan | records.Refused:
    """#appeal [WORDS]: send a rejected change back to its board for another round."""
    problem = changes.appeal_problem(job.session, job.rules, job.call)
    if problem is not None:
        return records.Refused(problem)
    words = _words(job, arg)
    return lambda: changes.appeal(_work(job), words)


def withdraw(job: Job, arg: str) -> Plan | records.Refused:
    """#withdraw [WORDS]: the school no longer wants the change; the call closes."""
    problem = changes.withdraw_problem(job.call)
    if problem is not None:
        return records.Refused(problem)
    words = _words(job, arg)
    return lambda: changes.withdraw(_work(job), words)


def change(job: Job, arg: str) -> Plan | records.Refused:
    """#change [emergency]: staff send the call to the board, or to the emergency board."""
    board = changes.board_word(arg)
    if board is None:
        return records.Refused(
            f"no board {arg.strip()!r}: write #change for the Change Advisory Board, "
            "or #change emergency for the emergency board"
        )
    problem = changes.change_problem(job.rules, job.call, board)
    if problem is not None:
        return records.Refused(problem)
    return lambda: changes.raise_change(_work(job), board, job.body)
