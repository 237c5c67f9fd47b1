"""Read calls for people: the listing and the full record behind `mailbot calls`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mailbot.calls import store
from mailbot.storage import links
from mailbot.storage.db import Sessions
from mailbot.storage.models import Call, Message

# The columns summary() reads: `calls list --json` selects these and no others.
SUMMARY_COLUMNS = (
    "id", "ref", "status", "type", "category", "priority", "school_id", "requester_email",
    "requester_name", "subject", "team", "created_at", "response_due_at", "fix_due_at",
    "escalation_level", "next_escalation_at", "responded_at", "solved_at", "closed_at",
    "close_due_at", "paused_since", "revised_due_at", "revised_reason", "missed_reason",
    "assignee", "rating", "rating_word", "rating_comment", "rated_at",
)  # fmt: skip
# The columns the `calls list` table shows, in the order table_rows() gives them.
TABLE_COLUMNS = (
    "ref", "status", "priority", "escalation_level", "school_id", "responded_at",
    "response_due_at", "fix_due_at", "subject",
)  # fmt: skip
# A call as summary() reads it: the ORM object, or a row of SUMMARY_COLUMNS by name.
CallFields = Call | Any


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def short_local(value: str | None, zone: ZoneInfo) -> str:
    """An ISO time from the JSON listings as a table shows it: "Tue 24 Nov 09:05", local."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).astimezone(zone).strftime("%a %d %b %H:%M")


def summary(call: CallFields, related: list[str]) -> dict[str, Any]:
    """The stable JSON fields every consumer may rely on (DESIGN.md section 4)."""
    return {
        "ref": call.ref,
        "status": call.status,
        "type": call.type,
        "category": call.category,
        "priority": call.priority,
        "school": call.school_id,
        "requester": call.requester_email,
        "requester_name": call.requester_name,
        "subject": call.subject,
        "team": call.team,
        "created_at": _iso(call.created_at),
        "response_due_at": _iso(call.response_due_at),
        "fix_due_at": _iso(call.fix_due_at),
        "escalation_level": call.escalation_level,
        "next_escalation_at": _iso(call.next_escalation_at),
        "responded_at": _iso(call.responded_at),
        "solved_at": _iso(call.solved_at),
        "closed_at": _iso(call.closed_at),
        "close_due_at": _iso(call.close_due_at),
        "paused_since": _iso(call.paused_since),
        "revised_due_at": _iso(call.revised_due_at),
        "revised_reason": call.revised_reason or None,
        "missed_reason": call.missed_reason or None,
        "assignee": call.assignee,
        "related": related,
        "rating": _rating(call),
    }


def _rating(call: CallFields) -> dict[str, Any] | None:
    """The requester's satisfaction rating of the call, if they gave one."""
    if call.rating is None:
        return None
    return {
        "score": call.rating,
        "word": call.rating_word,
        "comment": call.rating_comment,
        "rated_at": _iso(call.rated_at),
    }


def rating_lines(record: dict[str, Any], when: Callable[[Any], Any]) -> list[tuple[str, str]]:
    """The lines `calls show` prints for a call's rating: the score (and word), the comment."""
    rated = record.get("rating")
    if not rated:
        return []
    word = "" if rated["word"] == str(rated["score"]) else f" ({rated['word']})"
    lines = [("rating", f"{rated['score']}{word} {when(rated['rated_at'])}")]
    if rated["comment"]:
        lines.append(("rating comment", rated["comment"]))
    return lines


def _message(m: Message) -> dict[str, Any]:
    return {
        "direction": m.direction,
        "message_id": m.message_id,
        "from": m.from_addr,
        "to": [a for a in m.to_addrs.split(", ") if a],
        "cc": [a for a in m.cc_addrs.split(", ") if a],
        "subject": m.subject,
        "date": _iso(m.sent_at or m.received_at),
        "verdict": m.verdict,
        "text": m.new_text or m.body_text,
        "full_text": m.body_text,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in m.attachments
        ],
    }


def list_calls(sessions: Sessions, *, include_closed: bool = True) -> list[dict[str, Any]]:
    """Every call, newest first."""
    with sessions() as session:
        rows = list(store.newest_first(session, SUMMARY_COLUMNS, include_closed=include_closed))
        # One query for every call's cross-references, not one per call.
        related = links.related_refs(session, [r.id for r in rows])
        return [summary(r, related.get(r.id, [])) for r in rows]


@contextlib.contextmanager
def table_rows(sessions: Sessions) -> Iterator[Iterator[Sequence[Any]]]:
    """Every call's TABLE_COLUMNS, newest first, read as they are taken while this is open."""
    with sessions() as session:
        yield store.newest_first(session, TABLE_COLUMNS)


def show_call(sessions: Sessions, ref: str) -> dict[str, Any] | None:
    """One call with its messages and events, or None."""
    with sessions() as session:
        call = store.whole_record(session, ref.upper())
        if call is None:
            return None
        record = summary(call, links.related_refs(session, [call.id]).get(call.id, []))
        record["messages"] = [_message(m) for m in call.messages]
        record["events"] = [
            {"at": _iso(e.at), "actor": e.actor, "kind": e.kind, "detail": e.detail}
            for e in call.events
        ]
        return record
