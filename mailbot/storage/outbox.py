"""The outbox's records: writing an email to send (with its copy on the call) and who got it."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection as Connection
from sqlalchemy import Table, Update, bindparam, insert, select, update

from mailbot.storage import rows
from mailbot.storage.db import Session, Sessions
from mailbot.storage.models import Outbox


def outbox_rows(
    *,
    now: datetime,
    message_id: str,
    call_id: int | None,
    kind: str,
    mail_from: str,
    recipients: Sequence[str],
    return_path: str = "",
    raw: bytes,
    to: Sequence[str],
    cc: Sequence[str],
    subject: str,
    text: str,
    in_reply_to: str | None,
    references: Sequence[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An email's outbox row and its copy on the call's record, for ``enqueue_built``.

    ``mail_from`` is the From address kept on the record; ``return_path``,
    when given, is the envelope sender the email goes out with (VERP).
    Only the door builds these: every email must pass the loop guard and be
    counted first.
    """
    row = {
        "message_id": message_id,
        "call_id": call_id,
        "kind": kind,
        "mail_from": return_path or mail_from,
        "recipients": json.dumps(list(recipients)),
        "raw": raw,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }
    copy = {
        "call_id": call_id,
        "direction": "out",
        "message_id": message_id,
        "in_reply_to": in_reply_to or "",
        "references": " ".join(references),
        "from_addr": mail_from,
        "to_addrs": ", ".join(to),
        "cc_addrs": ", ".join(cc),
        "subject": subject,
        "sent_at": now,
        "received_at": now,
        "size": len(raw),
        "verdict": "own",
        "outcome": kind,
        "body_text": text,
        "new_text": text,
    }
    return row, copy


class OutboxRecords:
    """The outbox rows one transaction writes and reads, in the caller's session."""

    session: Session

    def sent_to(self, ids: Sequence[str]) -> tuple[str, ...] | None:
        """Everyone mailbot sent the emails ``ids`` to; None when none of them is mailbot's."""
        if not ids:
            return None
        rows = list(
            self.session.scalars(select(Outbox.recipients).where(Outbox.message_id.in_(ids[:50])))
        )
        if not rows:
            return None
        return tuple(a.lower() for r in rows for a in json.loads(r))

    def enqueue_built(self, built: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Write emails made by ``outbox_rows``: their outbox rows, then their copies, in order.

        Several emails go in with one statement per table (the door queues
        an email stage's emails together); only ``door`` calls this.
        """
        rows.add_many(self.session, rows.OUTBOX, [row for row, _copy in built])
        rows.add_many(self.session, rows.MESSAGES, [copy for _row, copy in built])

    def enqueue_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Put many prebuilt outbox rows in with one INSERT (a broadcast's batch)."""
        if rows:
            self.session.execute(insert(Outbox), list(rows))


# The sender's statements are built once: at a thousand emails a second,
# building a statement and its cache key afresh for every email, and running
# it through the ORM's unit of work, cost more than the SMTP exchange itself.
_OUTBOX = cast(Table, Outbox.__table__)
_DUE = (
    select(
        _OUTBOX.c.id,
        _OUTBOX.c.message_id,
        _OUTBOX.c.mail_from,
        _OUTBOX.c.recipients,
        _OUTBOX.c.raw,
        _OUTBOX.c.attempts,
        _OUTBOX.c.kind,
    )
    .where(
        _OUTBOX.c.status == "pending",
        _OUTBOX.c.next_attempt_at <= bindparam("now", type_=_OUTBOX.c.next_attempt_at.type),
        _OUTBOX.c.route.in_(bindparam("routes", expanding=True)),
    )
    .order_by(_OUTBOX.c.id)
    .limit(bindparam("batch"))
)
# The claim re-reads only what may have changed since the batch was read.
_CLAIM = select(_OUTBOX.c.attempts).where(
    _OUTBOX.c.id == bindparam("row_id"),
    _OUTBOX.c.status == "pending",
    _OUTBOX.c.next_attempt_at <= bindparam("now", type_=_OUTBOX.c.next_attempt_at.type),
)
# Two daemons on one PostgreSQL database: the row lock decides who sends it.
_CLAIM_LOCKED = _CLAIM.with_for_update(skip_locked=True)


@contextmanager
def sending_connection(sessions: Sessions) -> Iterator[Connection]:
    """A Core connection to the database of ``sessions``, for the sender's short transactions.

    The sender runs three statements per email and no ORM object: the
    Session's own bookkeeping at each commit cost as much as the statements.
    """
    with sessions() as session:
        bind = session.get_bind()
    engine = bind.engine
    with engine.connect() as connection:
        yield connection


@dataclass(frozen=True)
class Due:
    """What sending one outbox email needs, read without the ORM's bookkeeping."""

    id: int
    message_id: str
    mail_from: str
    recipients: str
    raw: bytes
    attempts: int
    # What the email is (confirmation, new_call...), for the log line.
    kind: str = ""


def due_rows(connection: Connection, now: datetime, routes: Sequence[str], batch: int) -> list[Due]:
    """Up to ``batch`` emails due for sending on ``routes``, oldest first, in one query.

    Reading them is not taking them: each is claimed (``claim``) just before
    it is sent, as the batch may take a while and another process may send
    some of it meanwhile.
    """
    rows = connection.execute(_DUE, {"now": now, "routes": list(routes), "batch": batch})
    return [Due(*row) for row in rows]


def claim(connection: Connection, row: Due, now: datetime) -> Due | None:
    """Take one due email to send, or None when it is gone, not due or another process has it.

    The transaction this begins is the one that records the try (``mark``),
    so on PostgreSQL the row stays locked while it is being sent.
    """
    query = _CLAIM_LOCKED if connection.dialect.name == "postgresql" else _CLAIM
    attempts = connection.execute(query, {"row_id": row.id, "now": now}).scalar_one_or_none()
    if attempts is None:
        return None
    return row if attempts == row.attempts else replace(row, attempts=attempts)


@functools.cache
def _mark_statement(names: tuple[str, ...]) -> Update:
    """The UPDATE recording a try that sets the columns ``names`` (one per kind of outcome)."""
    values = {n: bindparam(f"v_{n}", type_=_OUTBOX.c[n].type) for n in names}
    return (
        update(_OUTBOX)
        .where(_OUTBOX.c.id == bindparam("row_id"))
        .values(attempts=bindparam("v_attempts"), **values)
    )


def mark(connection: Connection, row: Due, **values: object) -> None:
    """Record a try at sending ``row`` (sent, failed, or when to try again)."""
    # A caller may say how many tries to count (a refused sign-in grant counts none).
    attempts = values.pop("attempts", row.attempts + 1)
    params = {f"v_{n}": v for n, v in values.items()}
    connection.execute(
        _mark_statement(tuple(sorted(values))),
        {"row_id": row.id, "v_attempts": attempts, **params},
    )
