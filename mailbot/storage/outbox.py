"""The outbox's records: writing an email to send (with its copy on the call) and who got it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from mailbot.storage.db import Session
from mailbot.storage.models import Message, Outbox


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

    def enqueue(
        self,
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
    ) -> None:
        """Put an email in the outbox and keep a copy on the call's record.

        ``mail_from`` is the From address kept on the record; ``return_path``,
        when given, is the envelope sender the email goes out with (VERP).
        Only ``door.send`` calls this: every email must pass the loop guard
        and be counted first.
        """
        self.session.add(
            Outbox(
                message_id=message_id,
                call_id=call_id,
                kind=kind,
                mail_from=return_path or mail_from,
                recipients=json.dumps(list(recipients)),
                raw=raw,
                status="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )
        self.session.add(
            Message(
                call_id=call_id,
                direction="out",
                message_id=message_id,
                in_reply_to=in_reply_to or "",
                references=" ".join(references),
                from_addr=mail_from,
                to_addrs=", ".join(to),
                cc_addrs=", ".join(cc),
                subject=subject,
                sent_at=now,
                received_at=now,
                size=len(raw),
                verdict="own",
                outcome=kind,
                body_text=text,
                new_text=text,
            )
        )

    def enqueue_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Put many prebuilt outbox rows in with one INSERT (a broadcast's batch)."""
        if rows:
            self.session.execute(insert(Outbox), list(rows))


def due_ids(session: Session, now: datetime, routes: Sequence[str], batch: int) -> list[int]:
    """The ids of up to ``batch`` emails due for sending on ``routes``, oldest first."""
    return list(
        session.scalars(
            select(Outbox.id)
            .where(
                Outbox.status == "pending",
                Outbox.next_attempt_at <= now,
                Outbox.route.in_(routes),
            )
            .order_by(Outbox.id)
            .limit(batch)
        )
    )


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


def claim(session: Session, row_id: int, now: datetime) -> Due | None:
    """Take one due email to send, or None when it is gone, not due or another process has it."""
    query = select(
        Outbox.id,
        Outbox.message_id,
        Outbox.mail_from,
        Outbox.recipients,
        Outbox.raw,
        Outbox.attempts,
        Outbox.kind,
    ).where(Outbox.id == row_id, Outbox.status == "pending", Outbox.next_attempt_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        # Two daemons on one database: the row lock decides who sends it.
        query = query.with_for_update(skip_locked=True)
    row = session.execute(query).one_or_none()
    return Due(*row) if row is not None else None


def mark(session: Session, row: Due, **values: object) -> None:
    """Record a try at sending ``row`` (sent, failed, or when to try again)."""
    # A plain UPDATE: at a thousand emails a second the ORM's unit of work
    # would cost more than the SMTP exchange itself.
    # A caller may say how many tries to count (a refused sign-in grant counts none).
    values = {"attempts": row.attempts + 1, **values}
    session.execute(update(Outbox).where(Outbox.id == row.id).values(**values))
