"""Database tables: calls, messages, attachments, events, outbox and processed mail."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """Store instants as naive UTC and hand them back timezone-aware.

    SQLite has no time zones, so storing UTC everywhere keeps SQLite and
    PostgreSQL identical and keeps indexed comparisons correct.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; times must be aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base for mailbot's tables."""


class Call(Base):
    """A support call: one school's problem or request, with its SLA state."""

    __tablename__ = "calls"

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
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
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
    # The major incident this call was linked to (answered with its status).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    # Change approval: which board reviews it ("standard" or "emergency"), the
    # review round (an appeal starts another), and the emergency board's deadline.
    change_board: Mapped[str | None] = mapped_column(String(16))
    change_round: Mapped[int] = mapped_column(Integer, default=0)
    change_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)

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


class Outbox(Base):
    """An email to send, written in the same transaction as the change causing it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # The envelope sender: the service address, or with VERP a return path
    # of this email's own (mailbot/verp.py), looked up when a bounce arrives.
    mail_from: Mapped[str] = mapped_column(String(320), index=True)
    recipients: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # "smtp", or "fallback" for broadcasts while school email is down.
    route: Mapped[str] = mapped_column(String(16), default="smtp")


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
    # pending -> queued (in the outbox); unreachable when no address fits the route.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    message_id: Mapped[str | None] = mapped_column(String(998))
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


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


class AutoReply(Base):
    """One automatic reply sent to an address; the loop guard counts these."""

    __tablename__ = "auto_replies"
    __table_args__ = (
        Index("ix_auto_replies_addr_at", "address", "at"),
        Index("ix_auto_replies_domain_at", "domain", "at"),
        Index("ix_auto_replies_stranger_at", "stranger", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The domain the email is counted against: the recipient's, or for a
    # flood notice the flooding domain.
    domain: Mapped[str] = mapped_column(String(255), default="")
    # Whether the recipient was a stranger (neither a school's nor staff).
    stranger: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whether the address was only copied (Cc): copies count towards the
    # hourly cap, but only mail addressed To it can block it as a loop.
    copy: Mapped[bool] = mapped_column(Boolean, default=False)


class BlockedAddress(Base):
    """An address that reached the daily cap of automatic replies: a mail loop.

    mailbot neither answers it nor opens calls for it until a human clears the
    block (`mailbot senders unblock`); the row stays as the record of both.
    """

    __tablename__ = "blocked_addresses"
    __table_args__ = (Index("ix_blocked_addresses_address", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320))
    blocked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cleared_by: Mapped[str] = mapped_column(String(320), default="")


class Processed(Base):
    """One received email, recorded in the same transaction as its effects.

    ``key`` is the Message-ID (or a digest of the bytes when there is none), so
    the same email delivered twice, or seen again after a crash, is done once.
    """

    __tablename__ = "processed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(998), unique=True)
    outcome: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    message_row_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    detail: Mapped[str] = mapped_column(Text, default="")


class ParkedMail(Base):
    """An email parked in the Failed folder, and why (over budget, crashed the worker...).

    ``key`` is a digest of the bytes as fetched: a parked email may be one
    that could not even be parsed, so no Message-ID can be relied on.  The
    row commits before the email is moved, so an email seen again after a
    crash between the two is recognised and moved without a second attempt.
    """

    __tablename__ = "parked"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    uid: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    sender: Mapped[str] = mapped_column(String(998), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ServiceState(Base):
    """Small facts the daemon records for `mailbot status` (last poll, last error)."""

    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class VerpKey(Base):
    """The secret that signs mailbot's per-message return paths (VERP), made once per database."""

    __tablename__ = "verp_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 32 random bytes as hex; only mailbot reads it.
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BouncedContact(Base):
    """An address an email of mailbot's bounced from, told by the email's own return path."""

    __tablename__ = "bounced_contacts"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    # The outbox row of the latest email that bounced, and when it bounced.
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    message_id: Mapped[str] = mapped_column(String(998), default="")
    bounced_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    bounces: Mapped[int] = mapped_column(Integer, default=1)


class Secret(Base):
    """A secret mailbot generated for itself (the reply-token key); never shown or logged."""

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
