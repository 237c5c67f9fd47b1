"""The electronic Change Advisory Board (eCAB): review rounds, members' votes, the decision.

A change is reviewed in rounds.  A round holds the call (``awaiting_approval``,
clock stopped) and emails the board's members (rules: changes.toml); they reply
#approve or #reject REASON.  Each vote is a row in change_votes (one per
member and round) and an event on the call, and the decision rule decides:
approved changes go to the team with their clock starting then, rejected ones
are closed and the school is told why and how to appeal (see changes.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from mailbot.approval import changemail, store
from mailbot.approval.changemail import EMERGENCY, STANDARD, board_name
from mailbot.calls import door, lifecycle, notices, staffmail
from mailbot.calls.records import Staff
from mailbot.calls.store import Store, view
from mailbot.config import Config
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.directory import Officer, SenderKind
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import Target, apply_target, clock_start, describe
from mailbot.sla.clock import Clock
from mailbot.storage import threads
from mailbot.storage.db import Session
from mailbot.storage.models import Call, Vote

# Events that say where a change's review stands; the newest one counts.
OUTCOMES = ("change_review", "change_approved", "change_rejected", "change_withdrawn", "declined")


@dataclass(frozen=True)
class Work:
    """One piece of change work on one call: who acts, when, and on what occasion.

    The occasion (the email or command line that caused the work) fixes the
    Message-IDs of the emails it sends, so a rerun after a crash sends nothing twice.
    """

    session: Session
    config: Config
    rules: Rules
    call: Call
    by: Staff
    occasion: str

    def send(self, out: Outgoing | None) -> None:
        """Put an email in the outbox, in this transaction."""
        if out is not None:
            refs = self.rules.policy.references
            call_store = Store(self.session, refs.prefix, refs.width)
            door.send(call_store, self.config, self.rules, out, self.by.now)

    def event(self, kind: str, detail: str = "", actor: str = "") -> None:
        """Add to the call's audit trail."""
        lifecycle.add_event(
            self.session, self.call, at=self.by.now, actor=actor or self.by.actor, kind=kind,
            detail=detail,
        )  # fmt: skip

    def key(self, *parts: str) -> str:
        """The occasion of one email of this work, in this review round."""
        return "\0".join((*parts, self.occasion, str(self.call.change_round)))


def members(rules: Rules, board: str) -> tuple[Officer, ...]:
    """The officers on a board, from the ids or addresses changes.toml lists."""
    names = rules.changes.emergency_board if board == EMERGENCY else rules.changes.board
    found: list[Officer] = []
    for name in names:
        officer = rules.directory.officer(name) or rules.directory.identify(name.lower()).officer
        if officer is not None and officer not in found:
            found.append(officer)
    return tuple(found)


def board_of(call: Call) -> str:
    """Which board reviews ``call``: standard unless staff raised it as an emergency."""
    return call.change_board or STANDARD


def _member(rules: Rules, board: str, actor: str) -> Officer | None:
    wanted = actor.strip().lower()
    return next((o for o in members(rules, board) if wanted in (o.email, o.id)), None)


def person(rules: Rules, call: Call, address: str) -> str:
    """A name for the emails: the requester's, a contact's or an officer's, else the address."""
    if call.requester_name and address.lower() == (call.requester_email or "").lower():
        return call.requester_name
    school = rules.directory.school(call.school_id) if call.school_id else None
    contact = school.contact_for(address.lower()) if school else None
    if contact is not None:
        return contact.name
    officer = rules.directory.identify(address.lower()).officer
    return officer.name if officer else address


def school_asked(session: Session, call: Call) -> bool:
    """Whether the school itself asked for this change (so may withdraw it or appeal).

    It did when its own email was logged as a change request.  Staff raise
    emergency changes, and a call staff sent to a board (#change, #type
    change) was the school's problem but the change is theirs.
    """
    if board_of(call) == EMERGENCY:
        return False
    opened = store.first_event(session, call.id, ("opened",))
    return opened is not None and opened.detail.startswith("change_request,")


def reader_facts(rules: Rules, session: Session, call: Call) -> dict[str, object]:
    """What the school's change emails need to word themselves for the person they go to."""
    school = rules.directory.school(call.school_id) if call.school_id else None
    heads = school.with_role("headteacher") if school else ()
    requester = (call.requester_email or "").lower()
    return {
        "emergency": board_of(call) == EMERGENCY,
        "school_asked": school_asked(session, call),
        "requester_is_head": any(h.email == requester for h in heads),
        "headteacher": heads[0].name if heads else "",
    }


def outcome(session: Session, call: Call) -> str | None:
    """The newest review event on the call: where its review stands."""
    found = store.latest_event(session, call.id, OUTCOMES)
    return found.kind if found else None


def votes(session: Session, call: Call) -> list[Vote]:
    """The votes cast in the call's current review round, oldest first."""
    return store.round_votes(session, call.id, call.change_round)


def vote_lines(rules: Rules, call: Call, cast: list[Vote]) -> list[str]:
    """One line per vote for the staff emails: who, which way, and why."""
    # A comment's line breaks (and signature) are folded into one line.
    return [
        f"{person(rules, call, v.member)}: {v.vote}"
        + (f" ({' '.join(v.reason.split())})" if v.reason else "")
        for v in cast
    ]


def tell_school(work: Work, kind: str, extra: Mapping[str, object], copy: str = "") -> None:
    """Tell the requester (SPOC copied, and ``copy`` if a school contact) in their thread."""
    rules, call = work.rules, work.call
    # On a call an officer logged, their receipts say it all.
    requester = (call.requester_email or "").lower()
    if rules.directory.identify(requester).kind is SenderKind.STAFF:
        return
    facts = {**reader_facts(rules, work.session, call), **extra}
    out = notices.to_school(
        work.config, rules, view(call), kind, facts, now=work.by.now,
        occasion=work.key(kind), thread=threads.school_thread(work.session, call),
    )  # fmt: skip
    # A headteacher acting for the requester is copied: it is their receipt.
    school = rules.directory.identify(copy.lower()).kind is SenderKind.SCHOOL if copy else False
    if out is not None and school and copy.lower() not in (*out.to, *out.cc):
        out = replace(out, cc=(*out.cc, copy.lower()))
    work.send(out)


def tell_staff(
    work: Work, extra: Mapping[str, object], *, team: bool, board: tuple[Officer, ...]
) -> None:
    """Tell the team working the call (and the board) how its review went."""
    rules, call = work.rules, work.call
    worker = staffmail.staff_address(rules, view(call)) if team else None
    # The member who acted has their receipt; the rest of the board is copied.
    acting = _member(rules, board_of(call), work.by.actor)
    me = acting.email if acting else work.by.actor.lower()
    context = {
        "board": board_name(board_of(call)),
        "round": call.change_round,
        "by": person(rules, call, work.by.actor),
        "reason": "",
        "votes": [],
        "school_asked": school_asked(work.session, call),
        **extra,
    }
    work.send(
        changemail.update(
            work.config, rules, view(call), context,
            to=(worker,) if worker else (),
            cc=tuple(m.email for m in board if m.email != me),
            now=work.by.now, occasion=work.key("update", str(extra["outcome"])),
            thread=threads.staff_thread(work.session, call),
        )
    )  # fmt: skip


def submit(
    work: Work,
    *,
    board: str = STANDARD,
    raised_by: str = "",
    note: str = "",
    appeal: dict[str, str] | None = None,
    tell: bool = True,
    text: str | None = None,
) -> str:
    """Start a review round: hold the call and email the board's members.

    ``tell`` sends the requester a notice that the change is with the board;
    a new call's confirmation, or the authorisation result, says so instead.
    ``text`` is the request as the school wrote it, for a call whose email is
    not stored yet; otherwise it is read from the call's first message.
    """
    session, rules, call, now = work.session, work.rules, work.call, work.by.now
    people = members(rules, board)
    policy = rules.clock
    lifecycle.set_status(
        session, call, "awaiting_approval", policy=policy, now=now, actor=work.by.actor
    )
    call.change_board, call.change_round = board, (call.change_round or 0) + 1
    due = None
    if board == EMERGENCY:
        due = apply_target(policy.calendar, now, Target.parse(rules.changes.emergency_deadline))
    call.change_due_at, call.updated_at = due, now
    ids = ", ".join(o.id for o in people)
    when = f"; due {due.isoformat()}" if due else ""
    work.event("change_review", f"round {call.change_round}, {board} board: {ids}{when}")
    if text is None:
        text = threads.first_words(session, [call.id]).get(call.id, "")
    # On a call an officer has just logged, their words are the request itself.
    note = "" if note.strip() and note.strip() in text else note
    work.send(
        changemail.review(
            work.config, rules, view(call), people, round_=call.change_round, board=board,
            due=due, raised_by=raised_by, note=note, appeal=appeal, text=text, now=now,
            occasion=work.key("review"), thread=threads.staff_thread(session, call),
        )
    )  # fmt: skip
    if tell:
        extra = {"appeal": appeal is not None, "emergency": board == EMERGENCY}
        tell_school(work, "change_submitted", extra)
    short = "emergency board" if board == EMERGENCY else "board"
    done = f"round {call.change_round}: sent to the {short} ({ids})"
    if due is not None:
        done += f" to decide {describe(due, policy.calendar, now)}"
    return done


def vote_problem(session: Session, rules: Rules, call: Call, actor: str) -> str | None:
    """Why ``actor`` may not vote on ``call`` now, or None when they may."""
    if call.status != "awaiting_approval":
        state = {
            "change_approved": "it has been approved",
            "change_rejected": "it was rejected",
            "change_withdrawn": "the school withdrew it",
        }.get(outcome(session, call) or "", f"it is {call.status.replace('_', ' ')}")
        return f"{call.ref} is not waiting for the board's decision: {state}"
    member = _member(rules, board_of(call), actor)
    if member is None:
        ids = ", ".join(o.id for o in members(rules, board_of(call)))
        return f"only the {board_name(board_of(call))} ({ids}) may vote on {call.ref}"
    cast = next((v for v in votes(session, call) if v.member == member.email), None)
    if cast is not None:
        return (
            f"you already voted to {cast.vote} {call.ref} in round {call.change_round}; "
            "each member's vote counts once"
        )
    return None


def tally(decision: str, quorum: int, size: int, cast: list[str]) -> str | None:
    """The board's decision from the votes so far: approve, reject, split, or None yet.

    With "first" the first vote decides.  With "quorum", ``quorum`` approvals
    approve and as many rejections reject (never more than the board has
    members).  When the members still to vote can no longer take either side
    to the quorum, the board is split, and a change that is not approved is
    rejected (the school may appeal).
    """
    if not cast:
        return None
    if decision == "first":
        return cast[0]
    needed = min(quorum, size)
    yes, no = cast.count("approve"), cast.count("reject")
    if yes >= needed:
        return "approve"
    if no >= needed:
        return "reject"
    left = size - len(cast)
    if yes + left < needed and no + left < needed:
        return "split"
    return None


def vote(work: Work, *, approve: bool, reason: str) -> str:
    """Record a member's vote, and carry out the board's decision if this vote made it."""
    session, rules, call = work.session, work.rules, work.call
    member = _member(rules, board_of(call), work.by.actor)
    assert member is not None, "vote_problem checks membership first"
    choice, reason = ("approve" if approve else "reject"), reason.strip()
    session.add(
        Vote(call_id=call.id, round=call.change_round, member=member.email, vote=choice,
             reason=reason, at=work.by.now)
    )  # fmt: skip
    # The unique key (call, round, member) refuses a second vote cast at the
    # same moment by another process; that email then counts as done once.
    session.flush()
    work.event("vote", f"{choice} (round {call.change_round})" + (f": {reason}" if reason else ""))
    cast = votes(session, call)
    size = len(members(rules, board_of(call)))
    result = tally(rules.changes.decision, rules.changes.quorum, size, [v.vote for v in cast])
    if result == "approve":
        return _approved(work, cast)
    if result is not None:
        return _rejected(work, cast, split=result == "split")
    yes = sum(v.vote == "approve" for v in cast)
    return (
        f"your vote to {choice} is recorded; round {call.change_round} so far: {yes} approve, "
        f"{len(cast) - yes} reject ({min(rules.changes.quorum, size)} needed either way)"
    )


def _approved(work: Work, cast: list[Vote]) -> str:
    rules, call, now = work.rules, work.call, work.by.now
    policy = rules.clock
    # Like an authorisation, approval is when the change may first be worked,
    # so its targets run from the first support minute after it.
    start = clock_start(policy.calendar, now)
    lifecycle.store_clock(call, Clock(call.priority, "open", start), policy)
    call.change_due_at, call.updated_at = None, now
    voters = ", ".join(person(rules, call, v.member) for v in cast if v.vote == "approve")
    work.event("change_approved", f"round {call.change_round}: {voters}")
    team = rules.directory.team(call.team) if call.team else None
    extra = {"approved": True, "reason": "", "team": team.name if team else ""}
    tell_school(work, "change_decision", extra)
    board = members(rules, board_of(call))
    lines = vote_lines(rules, call, cast)
    tell_staff(work, {"outcome": "approved", "votes": lines}, team=True, board=board)
    return f"approved (round {call.change_round}); the school, team and board have been told"


def _rejected(work: Work, cast: list[Vote], *, split: bool) -> str:
    rules, call = work.rules, work.call
    lifecycle.set_status(
        work.session, call, "closed", policy=rules.clock, now=work.by.now, actor=work.by.actor
    )
    call.change_due_at = None
    reason = "; ".join(v.reason for v in cast if v.vote == "reject" and v.reason)
    if split:
        yes = sum(v.vote == "approve" for v in cast)
        needed = min(rules.changes.quorum, len(members(rules, board_of(call))))
        words = (
            f"the board could not agree ({yes} approved, {len(cast) - yes} rejected; "
            f"{needed} were needed either way)"
        )
        reason = f"{words}: {reason}" if reason else words
    work.event("change_rejected", f"round {call.change_round}: {reason}")
    tell_school(work, "change_decision", {"approved": False, "reason": reason, "team": ""})
    extra = {"outcome": "rejected", "reason": reason, "votes": vote_lines(rules, call, cast)}
    tell_staff(work, extra, team=True, board=members(rules, board_of(call)))
    return (
        f"rejected (round {call.change_round}); the school is told why and how to appeal, "
        "and the team and board that it is closed"
    )


def remind(work: Work, due: datetime) -> None:
    """Remind the emergency board and the project manager that a decision is overdue."""
    rules, call = work.rules, work.call
    directory = rules.directory
    manager = directory.officer(directory.project_manager) if directory.project_manager else None
    to = tuple(o.email for o in members(rules, board_of(call)))
    to = tuple(dict.fromkeys((*to, *((manager.email,) if manager else ()))))
    work.send(
        changemail.reminder(
            work.config, rules, view(call), to, round_=call.change_round,
            board=board_of(call), due=due, votes=vote_lines(rules, call, votes(work.session, call)),
            now=work.by.now, thread=threads.staff_thread(work.session, call),
        )
    )  # fmt: skip
    work.event("change_reminder", f"{due.isoformat()} passed; reminded {', '.join(to)}")
