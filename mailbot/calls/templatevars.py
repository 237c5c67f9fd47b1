"""The variables templates see about a call, and the ids of the emails composed about it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailbot.calls.records import CallView
from mailbot.config import Config
from mailbot.mail.msgid import fixed_id
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.loader import Rules
from mailbot.rules.templates import Rendered
from mailbot.sla.calendar import describe

TYPE_LABELS = {
    "incident": "Incident",
    "service_request": "Service request",
    "change_request": "Change request",
    "complaint": "Complaint",
}
EMERGENCY_LABEL = "Emergency change request"


def message_id(config: Config, key: str, kind: str, label: str) -> str:
    """A Message-ID that is the same every time this email's reply is composed.

    Deriving it from the inbound key means a message processed again after a
    crash yields the same id, which the outbox's unique index then refuses.
    """
    return fixed_id(config.service.id_domain, label, kind, key)


def call_context(call: CallView, rules: Rules, now: datetime) -> dict[str, Any]:
    """The ``call`` variable templates see."""
    target = rules.sla.priorities[call.priority]  # type: ignore[index]
    school = rules.directory.school(call.school_id) if call.school_id else None
    cal = rules.calendar
    emergency = call.type == "change_request" and call.change_board == "emergency"
    return {
        "ref": call.ref,
        "tag": f"[{call.ref}]",
        "subject": call.subject,
        "type": call.type,
        "type_label": EMERGENCY_LABEL if emergency else TYPE_LABELS.get(call.type, call.type),
        # A change staff raised for the emergency board, worked at emergency timescales.
        "emergency": emergency,
        "priority": call.priority,
        "priority_description": target.description,
        "response_target": target.response,
        "fix_target": target.fix,
        "response_due": describe(call.response_due_at, cal, now) if call.response_due_at else "",
        "fix_due": describe(call.fix_due_at, cal, now) if call.fix_due_at else "",
        "school": school.name if school else "",
        # What the staff side of the call is called: one subject for every
        # email in the staff thread, so mail clients keep them together.
        "topic": f"{school.name if school else call.requester_name or call.requester_email}: "
        f"{call.subject}",
        "requester": call.requester_name,
        "status": call.status,
    }


def in_thread(
    kind: str,
    rendered: Rendered,
    *,
    to: tuple[str, ...],
    cc: tuple[str, ...],
    mid: str,
    thread: tuple[str, ...],
    call_id: int | None,
) -> Outgoing:
    """An email that continues ``thread`` (Message-IDs, oldest first)."""
    return Outgoing(
        kind=kind,
        to=to,
        cc=cc,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=mid,
        in_reply_to=thread[-1] if thread else None,
        references=thread[-10:],
        call_id=call_id,
    )


def spoc_copies(rules: Rules, call: CallView, to: tuple[str, ...]) -> tuple[str, ...]:
    """The school's single points of contact, copied on what the school is told."""
    school = rules.directory.school(call.school_id) if call.school_id else None
    if school is None or call.type == "complaint":
        # A complaint is the complainant's own: often from the head, and it
        # may be about calls the school's contact logged, so nobody is copied.
        return ()
    return tuple(c.email for c in school.with_role("spoc") if c.email not in to)
