"""Per-message return paths (VERP): sign them, and flag the contact a bounce came back from."""

from __future__ import annotations

import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.config import ServiceConfig
from mailbot.mail.message import ParsedMessage
from mailbot.storage.models import BouncedContact, Outbox, VerpKey
from mailbot.storage.verpaddr import _TAG_CHARS, pattern, return_path, tag

__all__ = ["pattern", "return_path", "tag"]

# How much of a bounce is searched for the addresses that failed: a bounce
# names them in its first lines, and a bounded search stays linear.
_BOUNCE_CHARS = 100_000


def secret(session: Session, now: datetime) -> bytes:
    """The database's VERP signing key (made by migration 0004; remade only if deleted).

    Kept in the session's ``info`` once read: the session holds its rows
    weakly, so each email of a transaction (or of a broadcast batch) read the
    row again otherwise.
    """
    cached = session.info.get("verp_key")
    if isinstance(cached, bytes):
        return cached
    row = session.get(VerpKey, 1)
    if row is None:
        row = VerpKey(id=1, secret=secrets.token_hex(32), created_at=now)
        session.add(row)
        session.flush()
    key = session.info["verp_key"] = bytes.fromhex(row.secret)
    return key


def mail_from(session: Session, service: ServiceConfig, message_id: str, now: datetime) -> str:
    """The envelope sender of one outgoing email, reading the key from ``session``."""
    if not service.verp:
        return service.address
    return return_path(service, secret(session, now), message_id)


@dataclass(frozen=True)
class Bounce:
    """What one bounce to a return path told us."""

    outbox_id: int | None
    contacts: tuple[str, ...]
    note: str


def _failed(msg: ParsedMessage, recipients: list[str]) -> tuple[str, ...]:
    """Which of ``recipients`` the bounce names: only those failed when there were several."""
    if len(recipients) == 1:
        return (recipients[0].lower(),)
    # The delivery-status part (Final-Recipient) arrives as an attachment.
    reports = [
        a.content[:_BOUNCE_CHARS].decode("utf-8", "replace")
        for a in msg.attachments
        if a.content is not None and a.content_type.startswith(("message/", "text/"))
    ]
    said = " ".join(
        (*msg.header_all("x-failed-recipients"), msg.text[:_BOUNCE_CHARS], *reports)
    ).lower()
    # An address counts only as a whole: "head@school" is not in "bhead@school".
    return tuple(
        r.lower()
        for r in recipients
        if re.search(rf"(?<![\w.+-]){re.escape(r.lower())}(?![\w-]|\.\w)", said)
    )


def record(session: Session, address: str, msg: ParsedMessage, now: datetime) -> Bounce:
    """Flag the contact whose email came back to the return path ``address``.

    The return path is looked up among the emails mailbot sent, and its tag
    checked against the key, so a made-up or guessed return path flags no one.
    """
    row = session.execute(
        select(Outbox.id, Outbox.message_id, Outbox.recipients).where(
            Outbox.mail_from == address.lower()
        )
    ).first()
    if row is None:
        return Bounce(None, (), f"bounce to unknown return path {address}")
    outbox_id, message_id, recipients = row
    local = address.split("@", 1)[0]
    expected = tag(secret(session, now), message_id)
    if not hmac.compare_digest(local[-_TAG_CHARS:], expected):
        return Bounce(None, (), f"bounce to a return path with a bad tag {address}")
    contacts = _failed(msg, list(json.loads(recipients)))
    if not contacts:
        return Bounce(outbox_id, (), f"bounce of {message_id} names none of its recipients")
    for contact in contacts:
        known = session.get(BouncedContact, contact)
        if known is None:
            session.add(
                BouncedContact(
                    address=contact,
                    outbox_id=outbox_id,
                    message_id=message_id,
                    bounced_at=now,
                    bounces=1,
                )
            )
        else:
            known.outbox_id, known.message_id = outbox_id, message_id
            known.bounced_at, known.bounces = now, known.bounces + 1
    return Bounce(outbox_id, contacts, f"bounce of {message_id}: {', '.join(contacts)}")


def recent(session: Session, limit: int = 20) -> tuple[int, tuple[BouncedContactView, ...]]:
    """How many contacts have bounced, and the latest ``limit`` of them."""
    total = session.scalar(select(func.count(BouncedContact.address))) or 0
    rows = session.scalars(
        select(BouncedContact).order_by(BouncedContact.bounced_at.desc()).limit(limit)
    )
    views = tuple(
        BouncedContactView(r.address, r.bounced_at, r.bounces, r.message_id) for r in rows
    )
    return total, views


@dataclass(frozen=True)
class BouncedContactView:
    """One flagged contact, as `mailbot status` shows it."""

    address: str
    bounced_at: datetime
    bounces: int
    message_id: str
