"""Database tables: calls and their messages, attachments, events, links, incidents and votes.

Every table is importable from here, the service's bookkeeping tables (kept
in storage/bookkeeping.py) included, so that the schema has one address.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailbot.storage.bookkeeping import (
    AutoReply,
    BlockedAddress,
    BouncedContact,
    HeldDecision,
    Outbox,
    ParkedMail,
    Processed,
    Secret,
    ServiceState,
    VerpKey,
)
from mailbot.storage.columns import Base, UtcDateTime

__all__ = [
    "Attachment",
    "AutoReply",
    "Base",
    "BlockedAddress",
    "BouncedContact",
    "Call",
    "CallLink",
    "Delivery",
    "Event",
    "HeldDecision",
    "Incident",
    "IncidentUpdate",
    "Message",
    "Outbox",
    "ParkedMail",
    "Processed",
    "ReportRun",
    "ReviewRun",
    "Secret",
    "ServiceState",
    "UtcDateTime",
    "VerpKey",
    "Vote",
]


class Call(Base):
    """A support call: one school's problem or request, with its SLA state."""

    __tablename__ = "calls"
    # The recurrence check reads a school's calls solved recently (0007); the
    # flood cap counts a domain's calls opened within the hour (0008).
    __table_args__ = (
        Index("ix_calls_school_solved", "school_id", "solved_at"),
        Index("ix_calls_domain_created", "requester_domain", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(32), default="open")
    type: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(64), default="general")
    priority: Mapped[str] = mapped_column(String(16))
    team: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(64))
    school_id: Mapped[str | None] = mapped_column(String(64), index=True)
    requester_email: Mapped[str | None] = mapped_column(String(320))
    # The requester's mail domain, lower-cased (after the address's last "@"),
    # set when the call is opened: what the flood cap counts by (0008).
    requester_domain: Mapped[str | None] = mapped_column(String(320))
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    # Indexed (0007); the flood cap reads it through ix_calls_domain_created (0008).
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    clock_start_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    fix_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    missing_details: Mapped[str] = mapped_column(Text, default="")
    # The SLA clock's state (see mailbot/sla.py) and the instants it implies.
    # The scheduler selects on the indexed *_at columns, so a tick reads only
    # what is due however many calls are open.
    close_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    solved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_minutes: Mapped[int] = mapped_column(Integer, default=0)
    paused_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revised_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revised_paused_minutes: Mapped[int] = mapped_column(Integer, default=0)
    revised_reason: Mapped[str] = mapped_column(Text, default="")
    # Why the call missed (or will miss) its fix target, in the officer's
    # words (#reason); the monthly report shows it for every missed call.
    missed_reason: Mapped[str] = mapped_column(Text, default="")
    # The major incident this call was linked to (answered with its status).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    # Change approval: which board reviews it ("standard" or "emergency"), the
    # review round (an appeal starts another), and the emergency board's deadline.
    change_board: Mapped[str | None] = mapped_column(String(16))
    change_round: Mapped[int] = mapped_column(Integer, default=0)
    change_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # Breach alerts: when the next unmet target (response or fix) passes, and
    # which targets' breaches staff were already told of ("response", "fix"),
    # so each is told once.
    breach_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    breaches_told: Mapped[str] = mapped_column(String(32), default="")
    # Satisfaction: when the closure notice invited the requester to rate the
    # call (never twice), and the rating their latest reply gave (the number,
    # the word or number they wrote, their comment, and when).
    rating_invited_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_word: Mapped[str] = mapped_column(String(32), default="")
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)

    messages: Mapped[list[Message]] = relationship(back_populates="call", order_by="Message.id")
    events: Mapped[list[Event]] = relationship(back_populates="call", order_by="Event.id")


class CallLink(Base):
    """A cross-reference between two calls (recurrence, duplicates, incidents)."""

    __tablename__ = "call_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="related")


class Message(Base):
    """One email in or out, stored with its text (passwords already removed)."""

    __tablename__ = "messages"
    # Status and the warning to a forged address's owner count unverified
    # staff mail by outcome and time; this index keeps that a range read.
    __table_args__ = (Index("ix_messages_outcome_received", "outcome", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[str] = mapped_column(Text, default="")
    from_addr: Mapped[str | None] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(200), default="")
    to_addrs: Mapped[str] = mapped_column(Text, default="")
    cc_addrs: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    size: Mapped[int] = mapped_column(Integer, default=0)
    verdict: Mapped[str] = mapped_column(String(32), default="human")
    outcome: Mapped[str] = mapped_column(String(32), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    new_text: Mapped[str] = mapped_column(Text, default="")

    call: Mapped[Call | None] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")


class Attachment(Base):
    """An attachment's metadata, and its content when within the storage limit."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)


class Event(Base):
    """The audit trail: who did what to a call, and when."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")

    call: Mapped[Call] = relationship(back_populates="events")


class Incident(Base):
    """A major incident: one failure affecting many schools, broadcast and tracked as one."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    # When school email itself is down, broadcasts use each contact's
    # alternative address through the fallback route.
    email_down: Mapped[bool] = mapped_column(Boolean, default=False)
    # New mail matching these words (one per line) is linked to the incident.
    keywords: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(64))
    # The call it was declared on.  No foreign key: calls point at incidents,
    # and a cycle of keys would make both tables awkward to create and drop.
    call_id: Mapped[int | None] = mapped_column(Integer)
    declared_by: Mapped[str] = mapped_column(String(320), default="")
    declared_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # "major" for an incident; "planned" for announced maintenance, whose
    # status is planned / in_progress / completed / cancelled instead.
    kind: Mapped[str] = mapped_column(String(16), default="major", index=True)
    # The services affected (one per line), for incidents and planned work.
    # Planned work only: the agreed window, and how far its scheduled notices
    # have gone (announced, reminded, started, ended, cancelled), advanced by
    # one conditional update each so that every notice is written exactly once.
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    services: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(16), default="")
    # A major incident's services (above) were wholly down ("full") or only
    # degraded ("partial"); availability counts partial ones only if the rules say.
    outage: Mapped[str] = mapped_column(String(8), default="full")

    updates: Mapped[list[IncidentUpdate]] = relationship(order_by="IncidentUpdate.seq")


class IncidentUpdate(Base):
    """One notice about an incident (declared, an update, resolved), broadcast to the lists."""

    __tablename__ = "incident_updates"
    __table_args__ = (UniqueConstraint("incident_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(320), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set once every recipient has a delivery row; the broadcast job then
    # only has to queue the pending ones.
    expanded: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class Delivery(Base):
    """One recipient of one incident notice; the row records whether it was queued."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("update_id", "address"),
        Index("ix_deliveries_pending", "status", "update_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("incident_updates.id"))
    address: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    school_id: Mapped[str | None] = mapped_column(String(64))
    lists: Mapped[str] = mapped_column(Text, default="")
    route: Mapped[str] = mapped_column(String(16), default="smtp")
    # pending -> queued (in the outbox); unreachable when no address fits the
    # route; caught_up when a later catch-up delivery told that person instead.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    message_id: Mapped[str | None] = mapped_column(String(998))
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A catch-up: the person missed earlier notices (unreachable while school
    # email was down), so this email tells the incident so far, not one notice.
    catchup: Mapped[bool] = mapped_column(Boolean, default=False)


class Vote(Base):
    """One eCAB member's decision on a change request in one review round."""

    __tablename__ = "change_votes"
    __table_args__ = (UniqueConstraint("call_id", "round", "member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    member: Mapped[str] = mapped_column(String(320))
    vote: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReportRun(Base):
    """A monthly report emailed to one audience; the unique key sends each once."""

    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("month", "audience"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    audience: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReviewRun(Base):
    """A termly service review pack emailed to one audience; the unique key sends each once."""

    __tablename__ = "review_runs"
    __table_args__ = (UniqueConstraint("term", "audience"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    term: Mapped[str] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
