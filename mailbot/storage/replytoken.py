"""Reply tokens: Message-IDs that prove a decision answers the email mailbot sent that person.

A From header is easy to forge, so a headteacher's #authorise, a board
member's vote or a requester's #withdraw counts only when it replies to an
email mailbot sent that very person about that very call.  Such an email's
Message-ID carries a token: an HMAC, under a key only mailbot knows, of the
id mailbot would otherwise have used, the call, the kind of email and the
recipient's address.  The recipient's mail client copies the Message-ID into
In-Reply-To and References, and nobody who did not receive the email can
make one that checks out.

The token is deterministic (the same email composed again after a crash gets
the same id, which the outbox's unique index refuses), yet unguessable, since
the key never leaves the database: the migration that created the ``secrets``
table generated it once.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from hashlib import sha256

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.mail.outgoing import Outgoing
from mailbot.storage import threads
from mailbot.storage.models import Message, Secret

KEY_NAME = "reply_token_key"
# Where a session keeps the key once read, so each transaction reads it once.
_CACHE = "mailbot.reply_token_key"
# Hex digits of HMAC-SHA256 kept in a token: 128 bits, beyond guessing.
_LENGTH = 32
_HEX = frozenset("0123456789abcdef")
# A reply's References can be long; a genuine client keeps the id it answers
# near the end, so only the last ones are looked at (the check stays linear).
_LOOKED_AT = 20

# Emails that ask one person for a decision: each recipient gets a copy of
# their own, with a token that is theirs alone.
PERSONAL_KINDS = frozenset({"authorisation_request", "change_review", "change_reminder"})
# Emails to the school's side of a call: the token is bound to the person
# they are addressed to (the requester), whose #withdraw or #appeal they prove.
# The refusal of a school's #change emergency and the password advice answer
# whoever wrote that one email, not the requester, so they prove nothing.
SCHOOL_KINDS = frozenset(threads.SCHOOL_KINDS) - {"emergency_refused", "password_advice"}

# Which emails a decision must answer for it to count.
AUTHORISATION: tuple[str, ...] = ("authorisation_request",)
VOTE = ("change_review", "change_reminder")
SCHOOL_DECISION = (*sorted(SCHOOL_KINDS), "authorisation_request")


def reply_key(session: Session, now: datetime) -> bytes:
    """The secret key, read once per session; made here only if the row is missing.

    The migration creates the key, so this normally only reads it.  Should the
    row have been deleted, a new key is made in a savepoint; a process that
    loses the race to insert it reads the winner's instead.
    """
    cached = session.info.get(_CACHE)
    if isinstance(cached, bytes):
        return cached
    row = session.get(Secret, KEY_NAME)
    if row is None:
        try:
            with session.begin_nested():
                session.add(Secret(name=KEY_NAME, value=secrets.token_hex(32), created_at=now))
        except IntegrityError:
            pass
        row = session.get_one(Secret, KEY_NAME)
    key = bytes.fromhex(row.value)
    session.info[_CACHE] = key
    return key


def _mac(key: bytes, base_id: str, call_id: int, kind: str, person: str) -> str:
    message = "\0".join(("mailbot reply token", str(call_id), kind, base_id, person.lower()))
    return hmac.new(key, message.encode(), sha256).hexdigest()[:_LENGTH]


def personal_id(key: bytes, base_id: str, *, call_id: int, kind: str, person: str) -> str:
    """The Message-ID of the email ``kind`` on ``call_id`` sent to ``person`` alone."""
    local, _, domain = base_id.strip("<>").rpartition("@")
    return f"<{local}.{_mac(key, base_id, call_id, kind, person)}@{domain}>"


def _split(value: str) -> tuple[str, str] | None:
    """A tokenised id's base id and token, or None when ``value`` is not one."""
    value = value.strip()
    if not (value.startswith("<") and value.endswith(">")):
        return None
    local, at, domain = value[1:-1].rpartition("@")
    head, dot, token = local.rpartition(".")
    if not (at and dot and head and domain) or len(token) != _LENGTH or not set(token) <= _HEX:
        return None
    return f"<{head}@{domain}>", token


def answers(
    key: bytes, ids: Sequence[str], *, call_id: int, kinds: Iterable[str], person: str
) -> bool:
    """Whether one of ``ids`` (a reply's threading headers) is an email of ``kinds`` to ``person``.

    Every candidate is compared in constant time, so the check reveals
    nothing about how close a guess came.
    """
    wanted = tuple(kinds)
    found = False
    for value in ids[-_LOOKED_AT:]:
        parts = _split(value)
        if parts is None:
            continue
        base, token = parts
        for kind in wanted:
            expected = _mac(key, base, call_id, kind, person)
            # No early exit: every candidate costs the same.
            found = hmac.compare_digest(expected, token) or found
    return found


def personalise(session: Session, out: Outgoing, now: datetime) -> tuple[Outgoing, ...]:
    """The email(s) to enqueue for ``out``: with reply tokens where a decision may answer them.

    A request for a decision goes to each of its recipients as an email of
    their own, so that no one sees (and can replay) another person's token.
    """
    if out.call_id is None or not out.to:
        return (out,)
    if out.kind in PERSONAL_KINDS:
        key = reply_key(session, now)
        people = tuple(dict.fromkeys((*out.to, *out.cc)))
        return tuple(
            replace(
                out,
                to=(person,),
                cc=(),
                message_id=personal_id(
                    key, out.message_id, call_id=out.call_id, kind=out.kind, person=person
                ),
            )
            for person in people
        )
    if out.kind in SCHOOL_KINDS:
        key = reply_key(session, now)
        mid = personal_id(key, out.message_id, call_id=out.call_id, kind=out.kind, person=out.to[0])
        return (replace(out, message_id=mid),)
    return (out,)


def request_for(session: Session, call_id: int, person: str, kinds: Iterable[str]) -> str | None:
    """The Message-ID of the newest email of ``kinds`` mailbot sent ``person`` on a call."""
    return session.scalar(
        select(Message.message_id)
        .where(
            Message.call_id == call_id,
            Message.direction == "out",
            Message.to_addrs == person,
            Message.outcome.in_(tuple(kinds)),
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
