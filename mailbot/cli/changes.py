"""`mailbot changes list`: every change request with where its review by the board stands."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mailbot.approval import store
from mailbot.approval.board import OUTCOMES
from mailbot.calls import listing as calls
from mailbot.cli.context import config_of
from mailbot.config import Config
from mailbot.rules.loader import load_rules
from mailbot.storage.db import Sessions, make_engine, make_sessions
from mailbot.storage.models import Call, Event, Vote

# Where a review stands, from the call's newest review event.
_REVIEW_WORDS = {
    "change_review": "under review",
    "change_approved": "approved",
    "change_rejected": "rejected",
    "change_withdrawn": "withdrawn",
    "declined": "declined by the head",
}


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _review(call: Call, latest: str | None) -> str:
    if call.status == "awaiting_authorisation":
        return "awaiting authorisation"
    if call.status == "awaiting_approval":
        return "under review"
    if latest == "change_review":
        # Reviewed once, then moved on without a decision (closed by staff, say).
        return "not decided"
    return _REVIEW_WORDS.get(latest or "", "not reviewed")


def list_changes(sessions: Sessions) -> list[dict[str, Any]]:
    """Every change request (and every call a board has reviewed), newest first."""
    with sessions() as session:
        rows = store.change_calls(session)
        ids = [c.id for c in rows]
        events: dict[int, list[Event]] = defaultdict(list)
        kinds = (*OUTCOMES, "change_reminder")
        for e in store.events_of(session, ids, kinds):
            events[e.call_id].append(e)
        ballots: dict[int, list[Vote]] = defaultdict(list)
        for v in store.votes_of(session, ids):
            ballots[v.call_id].append(v)
        return [_record(c, events[c.id], ballots[c.id]) for c in rows]


def _record(call: Call, events: list[Event], ballots: list[Vote]) -> dict[str, Any]:
    reviews = [e for e in events if e.kind != "change_reminder"]
    latest = reviews[-1].kind if reviews else None
    current = [v for v in ballots if v.round == call.change_round]
    # The scheduler clears the deadline when it reminds the board; the reminder
    # event keeps it (its detail starts with the deadline).
    reminders = [e for e in events if e.kind == "change_reminder"]
    since = max((e.id for e in events if e.kind == "change_review"), default=0)
    reminded = [e for e in reminders if e.id > since]
    due = _iso(call.change_due_at)
    if due is None and reminded and call.status == "awaiting_approval":
        due = reminded[-1].detail.split(" ", 1)[0]
    return {
        "ref": call.ref,
        "status": call.status,
        "review": _review(call, latest),
        "board": call.change_board,
        "round": call.change_round,
        "votes": [
            {"member": v.member, "vote": v.vote, "reason": v.reason, "at": _iso(v.at)}
            for v in current
        ],
        "approvals": sum(v.vote == "approve" for v in current),
        "rejections": sum(v.vote == "reject" for v in current),
        "due_at": due,
        "reminded": bool(reminded),
        "school": call.school_id,
        "requester": call.requester_email,
        "subject": call.subject,
        "created_at": _iso(call.created_at),
    }


def run(args: argparse.Namespace, config: Config) -> int:
    """Print the change requests, as a table or as JSON."""
    rows = list_changes(make_sessions(make_engine(config.database.url)))
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no change requests")
        return 0
    zone = ZoneInfo(load_rules(config.rules.dir).sla.calendar.zone)

    def when(value: str | None) -> str:
        # Due times are shown in the support calendar's local time.
        return calls.short_local(value, zone)

    print(
        f"{'REF':11} {'STATUS':22} {'REVIEW':22} {'BOARD':9} {'ROUND':5} {'VOTES':7} "
        f"{'DUE':16} SUBJECT"
    )
    for r in rows:
        votes = f"+{r['approvals']} -{r['rejections']}"
        print(
            f"{r['ref']:11} {r['status']:22} {r['review']:22} {r['board'] or '-':9} "
            f"{r['round']:<5} {votes:7} {when(r['due_at']):16} {r['subject'][:40]}"
        )
    return 0


def command(args: argparse.Namespace) -> int:
    """`mailbot changes list`."""
    return run(args, config_of(args))
