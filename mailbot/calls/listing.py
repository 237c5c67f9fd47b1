"""Read calls for people: the listing and the full record behind `mailbot calls`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from mailbot.storage.db import Session, Sessions
from mailbot.storage.models import Call, CallLink, Message


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def short_local(value: str | None, zone: ZoneInfo) -> str:
    """An ISO time from the JSON listings as a table shows it: "Tue 24 Nov 09:05", local."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).astimezone(zone).strftime("%a %d %b %H:%M")


def _related(session: Session, call: Call) -> list[str]:
    links = session.scalars(
        select(CallLink).where(or_(CallLink.call_id == call.id, CallLink.other_id == call.id))
    ).all()
    ids = {link.other_id if link.call_id == call.id else link.call_id for link in links}
    if not ids:
        return []
    return sorted(session.scalars(select(Call.ref).where(Call.id.in_(ids))))


def summary(session: Session, call: Call) -> dict[str, Any]:
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
        "assignee": call.assignee,
        "related": _related(session, call),
    }


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


def list_calls(
    sessions: Sessions, *, include_closed: bool = True
) -> list[dict[str, Any]]:
    """Every call, newest first."""
    with sessions() as session:
        query = select(Call).order_by(Call.id.desc())
        if not include_closed:
            query = query.where(Call.status != "closed")
        return [summary(session, c) for c in session.scalars(query)]


def show_call(sessions: Sessions, ref: str) -> dict[str, Any] | None:
    """One call with its messages and events, or None."""
    with sessions() as session:
        call = session.scalar(
            select(Call)
            .where(Call.ref == ref.upper())
            .options(selectinload(Call.messages).selectinload(Message.attachments))
            .options(selectinload(Call.events))
        )
        if call is None:
            return None
        record = summary(session, call)
        record["messages"] = [_message(m) for m in call.messages]
        record["events"] = [
            {"at": _iso(e.at), "actor": e.actor, "kind": e.kind, "detail": e.detail}
            for e in call.events
        ]
        return record
