"""The outbox: queue replies in the pipeline's transaction, then send them with retry."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailbot.calls import door
from mailbot.errors import PermanentSendError, TransientError
from mailbot.mail.smtp import SmtpSender
from mailbot.pipeline.records import Context, Triage
from mailbot.storage.models import Outbox

log = logging.getLogger(__name__)


def enqueue(t: Triage, ctx: Context) -> Triage:
    """Pipeline stage: pass each composed email through the door into the outbox."""
    notes = list(t.notes)
    for out in t.outgoing:
        passed = door.send(ctx.store, ctx.config, ctx.rules, out, ctx.now)
        if passed.note:
            notes.append(passed.note)
    return replace(t, notes=tuple(notes))


@dataclass(frozen=True)
class SendReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 30 s doubling to at most an hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class _Due:
    """What sending one outbox email needs, read without the ORM's bookkeeping."""

    id: int
    message_id: str
    mail_from: str
    recipients: str
    raw: bytes
    attempts: int


def _claim(session: Session, row_id: int, now: datetime) -> _Due | None:
    query = select(
        Outbox.id,
        Outbox.message_id,
        Outbox.mail_from,
        Outbox.recipients,
        Outbox.raw,
        Outbox.attempts,
    ).where(Outbox.id == row_id, Outbox.status == "pending", Outbox.next_attempt_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        # Two daemons on one database: the row lock decides who sends it.
        query = query.with_for_update(skip_locked=True)
    row = session.execute(query).one_or_none()
    return _Due(*row) if row is not None else None


def _mark(session: Session, row: _Due, **values: object) -> None:
    # A plain UPDATE: at a thousand emails a second the ORM's unit of work
    # would cost more than the SMTP exchange itself.
    session.execute(
        update(Outbox).where(Outbox.id == row.id).values(attempts=row.attempts + 1, **values)
    )


async def send_due(
    sessions: sessionmaker[Session],
    sender: SmtpSender,
    *,
    now: datetime,
    max_attempts: int,
    batch: int = 200,
    routes: tuple[str, ...] = ("smtp", "fallback"),
) -> SendReport:
    """Send every outbox email that is due on ``routes``, one short transaction each."""
    with sessions() as session:
        ids = list(
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
    report = SendReport()
    for row_id in ids:
        with sessions() as session, session.begin():
            row = _claim(session, row_id, now)
            if row is None:
                continue
            try:
                await sender.send(row.mail_from, json.loads(row.recipients), row.raw)
            except PermanentSendError as exc:
                _mark(session, row, status="failed", last_error=str(exc))
                report = replace(report, failed=report.failed + 1)
                log.error(
                    "outbox %s to %s failed for good: %s", row.message_id, row.recipients, exc
                )
            except TransientError as exc:
                attempts = row.attempts + 1
                if attempts >= max_attempts:
                    _mark(session, row, status="failed", last_error=str(exc))
                    report = replace(report, failed=report.failed + 1)
                    log.error(
                        "outbox %s gave up after %d tries: %s", row.message_id, attempts, exc
                    )
                else:
                    _mark(
                        session, row, last_error=str(exc), next_attempt_at=now + backoff(attempts)
                    )
                    report = replace(report, retrying=report.retrying + 1)
                    # The rest of the batch would fail the same way; retry later.
                    break
            else:
                _mark(session, row, status="sent", sent_at=now)
                report = replace(report, sent=report.sent + 1)
    return report
