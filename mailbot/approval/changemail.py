"""Compose the emails of change approval: the board's review and reminder, and the notices.

Board emails belong to the staff side of a call's thread (same subject, In-Reply-To
the last staff email), so a member's reply finds its call like any staff reply.
Every Message-ID is fixed by the call, the kind and the occasion (the email or
command line that caused it, and the review round), so doing the same work
again after a crash is refused by the outbox's unique index.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from mailbot.calls import staffmail
from mailbot.calls.notices import notice_id
from mailbot.calls.records import CallView
from mailbot.config import Config
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.directory import Officer
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import describe

STANDARD = "standard"
EMERGENCY = "emergency"
BOARD_NAMES = {STANDARD: "Change Advisory Board", EMERGENCY: "emergency Change Advisory Board"}
# The commands at the top of every email asking the board to decide.
VOTE_COMMANDS = ("#approve", "#reject REASON")
# What the board (or the headteacher) sees of a request; longer text is cut, with a mark.
_EXCERPT = 4000


def excerpt(text: str) -> str:
    """What a board member or headteacher is shown of a request: its start, cut with a mark."""
    shown = text.strip()
    if len(shown) > _EXCERPT:
        shown = shown[:_EXCERPT].rstrip() + " [...]"
    return shown


def board_name(board: str | None) -> str:
    """What the emails call a board: "Change Advisory Board" or its emergency sibling."""
    return BOARD_NAMES.get(board or STANDARD, BOARD_NAMES[STANDARD])


def rule_words(rules: Rules, size: int) -> str:
    """The decision rule in a sentence, for the board's emails."""
    if rules.changes.decision == "first":
        return "The first vote decides."
    needed = min(rules.changes.quorum, size)
    return f"{needed} approvals approve it; {needed} rejections reject it."


def review_words(call: CallView) -> dict[str, str] | None:
    """What a confirmation says about a change waiting for the board (None otherwise)."""
    if call.status != "awaiting_approval":
        return None
    return {"board": BOARD_NAMES[STANDARD]}


def _requester(rules: Rules, call: CallView) -> dict[str, str]:
    school = rules.directory.school(call.school_id) if call.school_id else None
    address = (call.requester_email or "").lower()
    contact = school.contact_for(address) if school else None
    return {
        "name": call.requester_name or address or "the requester",
        "address": address,
        "phone": contact.phone if contact and contact.phone else "",
    }


def _staff(
    config: Config,
    rules: Rules,
    call: CallView,
    kind: str,
    extra: dict[str, Any],
    *,
    to: tuple[str, ...],
    cc: tuple[str, ...] = (),
    now: datetime,
    occasion: str,
    thread: tuple[str, ...],
) -> Outgoing | None:
    """A staff email in the call's staff thread, to several people."""
    to = tuple(dict.fromkeys(to))
    if not to:
        return None
    mid = notice_id(config, call, kind, occasion)
    out = staffmail.compose(
        config, rules, call, kind, extra, now=now, mid=mid, thread=thread, to=to[0]
    )
    if out is None:
        return None
    return replace(out, to=to, cc=tuple(a for a in dict.fromkeys(cc) if a not in to))


def review(
    config: Config,
    rules: Rules,
    call: CallView,
    people: tuple[Officer, ...],
    *,
    round_: int,
    board: str,
    due: datetime | None,
    raised_by: str,
    note: str,
    appeal: dict[str, str] | None,
    text: str,
    now: datetime,
    occasion: str,
    thread: tuple[str, ...],
) -> Outgoing | None:
    """The email asking the board's members to approve or reject a change."""
    extra = {
        "board": board_name(board),
        "emergency": board == EMERGENCY,
        "members": [o.name for o in people],
        "rule": rule_words(rules, len(people)),
        "round": round_,
        "due": describe(due, rules.calendar, now) if due else "",
        "raised_by": raised_by,
        "note": note.strip(),
        "appeal": appeal,
        "sender": _requester(rules, call),
        "text": excerpt(text),
        "vote_commands": list(VOTE_COMMANDS),
    }
    return _staff(
        config, rules, call, "change_review", extra,
        to=tuple(o.email for o in people), now=now, occasion=occasion, thread=thread,
    )  # fmt: skip


def reminder(
    config: Config,
    rules: Rules,
    call: CallView,
    to: tuple[str, ...],
    *,
    round_: int,
    board: str,
    due: datetime,
    votes: list[str],
    now: datetime,
    thread: tuple[str, ...],
) -> Outgoing | None:
    """The one reminder when an emergency change is still undecided at its deadline."""
    extra = {
        "board": board_name(board),
        "round": round_,
        "due": describe(due, rules.calendar, now),
        "votes": votes,
        "vote_commands": list(VOTE_COMMANDS),
    }
    return _staff(
        config, rules, call, "change_reminder", extra,
        to=to, now=now, occasion=f"round {round_}", thread=thread,
    )  # fmt: skip


def update(
    config: Config,
    rules: Rules,
    call: CallView,
    extra: dict[str, Any],
    *,
    to: tuple[str, ...],
    cc: tuple[str, ...],
    now: datetime,
    occasion: str,
    thread: tuple[str, ...],
) -> Outgoing | None:
    """Tell the team (and the board) how a change's review went."""
    if not to:
        to, cc = cc, ()
    return _staff(
        config, rules, call, "change_update", extra,
        to=to, cc=cc, now=now, occasion=occasion, thread=thread,
    )  # fmt: skip
