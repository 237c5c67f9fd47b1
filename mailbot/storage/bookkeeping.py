"""The service's own bookkeeping tables: outbox, processed mail, loop guard, blocks, keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailbot.storage.columns import Base, UtcDateTime


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


class HeldDecision(Base):
    """What a person did with an email held for a human (`mailbot held ...`).

    A held email is either a stored message or a parked one, so exactly one
    of the two references is set. One row per held email at most: the unique
    references make a second decision fail instead of being recorded twice.
    """

    __tablename__ = "held_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), unique=True)
    parked_id: Mapped[int | None] = mapped_column(ForeignKey("parked.id"), unique=True)
    action: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    detail: Mapped[str] = mapped_column(Text, default="")
