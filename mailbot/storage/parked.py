"""The record of emails parked in the Failed folder: who sent them and why they were parked."""

from __future__ import annotations

import email.header
import email.parser
import email.policy
import email.utils
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.errors import Conflict
from mailbot.storage.db import transaction
from mailbot.storage.models import ParkedMail

# Only this much of a parked email's header block is read to describe it: the
# email may be the hostile one, and its description must cost next to nothing.
_HEADER_BYTES = 16_384
_FIELD_CHARS = 300


@dataclass(frozen=True)
class Parked:
    """One email parked for a human, as `mailbot status` lists it."""

    key: str
    uid: int | None
    message_id: str
    sender: str
    subject: str
    reason: str
    at: datetime


def raw_key(raw: bytes) -> str:
    """The identity of a parked email: a digest of its bytes as fetched."""
    return f"raw:{hashlib.sha256(raw).hexdigest()}"


def _decoded(value: str) -> str:
    """A header value with encoded words decoded where that is possible, cut short."""
    value = value[: _FIELD_CHARS * 4]
    try:
        text = str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        text = value
    # Control characters (line folds included) would break the one-line listing.
    return "".join(c if c.isprintable() else " " for c in text)[:_FIELD_CHARS].strip()


def describe(raw: bytes, uid: int | None, reason: str, now: datetime) -> Parked:
    """Who sent an email and what it is about, from the start of its header block only."""
    head = raw[:_HEADER_BYTES]
    end = head.find(b"\r\n\r\n")
    if end < 0:
        end = head.find(b"\n\n")
    if end >= 0:
        head = head[:end]
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)

    def field(name: str) -> str:
        value = headers.get(name)
        return _decoded(str(value)) if value is not None else ""

    sender = field("from")
    address = email.utils.parseaddr(sender)[1]
    return Parked(
        key=raw_key(raw),
        uid=uid,
        message_id=field("message-id"),
        sender=address or sender,
        subject=field("subject"),
        reason="".join(c if c.isprintable() else " " for c in reason[:500]),
        at=now,
    )


def record(sessions: sessionmaker[Session], parked: Parked) -> None:
    """Commit the record of a parked email; a record already there is kept as it is."""
    try:
        with transaction(sessions) as session:
            session.add(
                ParkedMail(
                    key=parked.key,
                    uid=parked.uid,
                    message_id=parked.message_id,
                    sender=parked.sender,
                    subject=parked.subject,
                    reason=parked.reason,
                    at=parked.at,
                )
            )
    except Conflict:
        # Recorded before (by a run that crashed before moving it, or by
        # another mailbot process): the first record stands.
        return


def known(sessions: sessionmaker[Session], keys: Collection[str]) -> dict[str, Parked]:
    """The parked records among ``keys`` (one query for a whole batch)."""
    if not keys:
        return {}
    with transaction(sessions) as session:
        rows = session.scalars(select(ParkedMail).where(ParkedMail.key.in_(list(keys))))
        return {row.key: _view(row) for row in rows}


def _view(row: ParkedMail) -> Parked:
    return Parked(
        key=row.key,
        uid=row.uid,
        message_id=row.message_id,
        sender=row.sender,
        subject=row.subject,
        reason=row.reason,
        at=row.at,
    )


def recent(sessions: sessionmaker[Session], limit: int) -> tuple[int, list[Parked]]:
    """How many emails were ever parked, and the newest ``limit`` of them."""
    with sessions() as session:
        total = session.scalar(select(func.count(ParkedMail.id))) or 0
        rows = session.scalars(
            select(ParkedMail).order_by(ParkedMail.at.desc(), ParkedMail.id.desc()).limit(limit)
        )
        return total, [_view(row) for row in rows]
