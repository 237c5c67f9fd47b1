"""A change request's life around the board: when it needs review, appeals and withdrawals.

A school's change request (firewall rule, certificate, domain redirect) goes to
the Change Advisory Board once authorised (ecab.py runs the review).  After a
rejection the requester or the school's headteacher may reply #appeal, which
starts a new round; while the change is not done they may reply #withdraw.
Staff may send a call to a board themselves with #change, and only staff may
raise an emergency change (#change emergency) for the smaller emergency board.
"""

from __future__ import annotations

from datetime import datetime

from mailbot.approval import board as ecab
from mailbot.approval import store
from mailbot.approval.board import Work, board_of, members, outcome, person
from mailbot.approval.changemail import EMERGENCY, STANDARD, board_name
from mailbot.calls import lifecycle
from mailbot.rules.files import PRIORITIES
from mailbot.rules.loader import Rules
from mailbot.sla.clock import DONE, LIVE
from mailbot.storage.db import Session
from mailbot.storage.models import Call

# Statuses in which the team has a change to work (so is told if it is withdrawn).
WORKED = ("open", "in_progress", "awaiting_customer")


def needed(session: Session, rules: Rules, call: Call) -> bool:
    """Whether ``call`` must go to the board before anyone works it.

    Without a board in the rules, changes go straight to the team as before.
    An approval stands even if the call's type changes back and forth.
    """
    if call.type != "change_request" or call.status not in WORKED:
        return False
    if not members(rules, STANDARD):
        return False
    return outcome(session, call) != "change_approved"


def appeal_problem(session: Session, rules: Rules, call: Call) -> str | None:
    """Why ``call`` cannot be appealed, or None when it can."""
    if call.status != "closed" or outcome(session, call) != "change_rejected":
        return f"{call.ref} is not a rejected change, so there is nothing to appeal"
    if not members(rules, board_of(call)):
        return f"changes.toml names no {board_of(call)} board to appeal to"
    return None


def appeal(work: Work, words: str) -> str:
    """Reopen a rejected change's review: a new round, the board emailed, the school told."""
    call = work.call
    rejected = store.latest_event(work.session, call.id, ("change_rejected",))
    previous = rejected.detail if rejected else None
    name = person(work.rules, call, work.by.actor)
    words = words.strip()
    work.event("change_appealed", f"{name}: {words}" if words else name)
    # The rejection's event reads "round N: reason"; the board is shown the reason.
    details = {"by": name, "words": words, "previous": (previous or "").split(": ", 1)[-1]}
    done = ecab.submit(work, board=board_of(call), appeal=details)
    ecab.tell_staff(work, {"outcome": "appealed", "reason": words}, team=True, board=())
    return f"appeal by {name}: {done}"


def withdraw_problem(call: Call) -> str | None:
    """Why ``call`` cannot be withdrawn, or None when it can."""
    if call.type != "change_request":
        return f"{call.ref} is not a change request"
    if call.status not in LIVE:
        return f"{call.ref} is {call.status}, so there is nothing to withdraw"
    return None


def withdraw(work: Work, words: str) -> str:
    """Close a change the school no longer wants, telling the team or the board that had it."""
    rules, call, by = work.rules, work.call, work.by
    before = call.status
    lifecycle.set_status(
        work.session, call, "closed", policy=rules.clock, now=by.now, actor=by.actor
    )
    call.change_due_at = None
    name = person(rules, call, by.actor)
    words = words.strip()
    work.event("change_withdrawn", f"{name}: {words}" if words else name)
    ecab.tell_school(work, "change_withdrawn", {"by": name}, copy=by.actor)
    team, reviewing = before in WORKED, before == "awaiting_approval"
    board = members(rules, board_of(call)) if reviewing else ()
    told = [who for who, yes in (("the team", team), ("the board", reviewing)) if yes]
    if told:
        extra = {"outcome": "withdrawn", "reason": words, "reviewing": reviewing}
        ecab.tell_staff(work, extra, team=team, board=board)
    return f"withdrawn by {name} and closed" + (f"; {' and '.join(told)} told" if told else "")


def board_word(text: str) -> str | None:
    """The board a #change line names: blank or "standard", or "emergency"; None otherwise."""
    word = text.strip().strip(".").lower()
    if word in ("", "standard", "normal", "cab", "ecab"):
        return STANDARD
    if word in ("emergency", "urgent", "ecab emergency", "emergency cab"):
        return EMERGENCY
    return None


def change_problem(rules: Rules, call: Call, board: str) -> str | None:
    """Why staff cannot send ``call`` to ``board`` now, or None when they can."""
    key = "emergency_board" if board == EMERGENCY else "board"
    if not members(rules, board):
        return f"changes.toml names no {key}, so there is nobody to ask"
    if call.status in DONE:
        return f"{call.ref} is {call.status}; reopen it first (#status open)"
    if call.status == "awaiting_approval" and board_of(call) == board:
        return f"{call.ref} is already with the {board_name(board)} (round {call.change_round})"
    if board == STANDARD and call.status == "awaiting_authorisation":
        return f"{call.ref} goes to the board once the headteacher authorises it"
    return None


def raise_change(work: Work, board: str, note: str) -> str:
    """Staff send a call to a board (#change, #change emergency); it becomes a change request."""
    call = work.call
    done = []
    if call.type != "change_request":
        before, call.type = call.type, "change_request"
        work.event("type", f"{before} -> change_request")
        done.append(f"type {before} -> change_request")
    if board == EMERGENCY:
        lifted = _emergency_priority(work)
        if lifted:
            done.append(lifted)
    name = person(work.rules, call, work.by.actor)
    done.append(ecab.submit(work, board=board, raised_by=name, note=note))
    return "; ".join(done)


def _emergency_priority(work: Work) -> str:
    """Lift an emergency change to the rules' emergency priority, so its targets are emergency ones.

    A call already more urgent (a major incident's Critical) keeps its own.
    """
    wanted, call = work.rules.changes.emergency_priority, work.call
    if PRIORITIES.index(wanted) >= PRIORITIES.index(call.priority):
        return ""
    change = lifecycle.set_priority(
        work.session, call, wanted, policy=work.rules.clock, now=work.by.now, actor=work.by.actor
    )
    return f"priority {change.detail} (emergency change)"


def emergency_refused(session: Session, call: Call, actor: str, now: datetime) -> None:
    """Record that a school wrote #change emergency, which only staff may."""
    detail = "only staff raise emergency changes; logged as an ordinary email"
    lifecycle.add_event(session, call, at=now, actor=actor, kind="emergency_refused", detail=detail)
