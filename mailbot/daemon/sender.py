"""The outbox sender: send what is due over the reused SMTP connection, with retry."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from mailbot.errors import GrantError, PermanentSendError, TransientError
from mailbot.mail.smtp import SmtpSender
from mailbot.storage.db import Session, Sessions
from mailbot.storage.outbox import Due, claim, due_ids, mark

log = logging.getLogger(__name__)

T = TypeVar("T")
# What to write for the email just tried, run in the same step as the next claim.
Settle = Callable[[], None]


@dataclass(frozen=True)
class SendReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 30 s doubling to at most an hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


async def off_loop(work: Callable[[], T]) -> T:
    """Run database ``work`` in a worker thread, so a lock wait never stalls the event loop.

    SQLite waits up to its busy timeout (10 s) for another writer; on the loop
    thread that wait froze SIGTERM, the watchdog and the intake loop.  A
    database step cannot be interrupted halfway, so when the caller is
    cancelled (shutdown) the step is let finish before the cancellation goes
    on: the session it uses is closed only after it returned.
    """
    future = asyncio.get_running_loop().run_in_executor(None, work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            try:
                await asyncio.shield(future)
            except asyncio.CancelledError:
                continue
            except Exception:
                # The cancellation is what the caller gets, not the step's failure.
                break
        raise


async def send_due(
    sessions: Sessions,
    sender: SmtpSender | Sequence[SmtpSender],
    *,
    now: datetime,
    max_attempts: int,
    batch: int = 200,
    routes: tuple[str, ...] = ("smtp", "fallback"),
) -> SendReport:
    """Send every outbox email that is due on ``routes``, one short transaction each.

    Each email is claimed, sent and marked in a transaction of its own, so a
    crash can repeat at most the one email in flight on each connection; the
    session (and its database connection) is reused from one email to the
    next.  The database work runs in a worker thread, one step per email (the
    mark and commit of one email with the claim of the next), while the SMTP
    exchange runs on the event loop.  Given several senders (connections to
    the relay), each takes the next due email in turn, concurrently.
    """
    lanes = [sender] if isinstance(sender, SmtpSender) else list(sender)
    with sessions() as session:
        ids = await off_loop(lambda: _due(session, now, routes, batch))
    pending = deque(ids)
    halt = threading.Event()
    reports = await asyncio.gather(
        *(_lane(sessions, lane, pending, halt, now, max_attempts) for lane in lanes)
    )
    return SendReport(
        sum(r.sent for r in reports),
        sum(r.retrying for r in reports),
        sum(r.failed for r in reports),
    )


def _due(session: Session, now: datetime, routes: tuple[str, ...], batch: int) -> list[int]:
    with session.begin():
        return due_ids(session, now, routes, batch)


def _step(
    session: Session,
    settle: Settle | None,
    pending: deque[int],
    halt: threading.Event,
    now: datetime,
) -> Due | None:
    """Commit what was tried last (if anything), then claim the next email still due, if any."""
    if settle is not None:
        settle()
        session.commit()
    while pending and not halt.is_set():
        row = claim(session, pending.popleft(), now)
        if row is not None:
            return row
        # Sent or taken by another process meanwhile: end the empty transaction.
        session.commit()
    return None


async def _lane(
    sessions: Sessions,
    sender: SmtpSender,
    pending: deque[int],
    halt: threading.Event,
    now: datetime,
    max_attempts: int,
) -> SendReport:
    """One connection's share: claim, send and mark due emails in turn, one transaction each."""
    report = SendReport()
    settle: Settle | None = None
    with sessions() as session:
        while True:
            row = await off_loop(functools.partial(_step, session, settle, pending, halt, now))
            settle = None
            if row is None:
                return report
            report, settle, stop = await _try(session, sender, row, report, now, max_attempts)
            if stop:
                # The rest would fail the same way (the server is away): every
                # lane stops after the email in hand; the try is recorded.
                halt.set()


async def _try(
    session: Session, sender: SmtpSender, row: Due, report: SendReport, now: datetime,
    max_attempts: int,
) -> tuple[SendReport, Settle, bool]:  # fmt: skip
    """Send one claimed email; return the report, the mark to write, and whether to stop."""
    recipients = json.loads(row.recipients)
    what = f"{row.kind} to {len(recipients)} recipient(s) {row.message_id}"
    try:
        await sender.send(row.mail_from, recipients, row.raw)
    except PermanentSendError as exc:
        # The exception's name is unbound after its clause, so its words are kept.
        error = str(exc)
        log.error("email %s failed for good: %s", what, exc)
        failed = replace(report, failed=report.failed + 1)
        return failed, lambda: mark(session, row, status="failed", last_error=error), False
    except GrantError as exc:
        error = str(exc)
        # The sign-in grant is refused (logged once, shown by status):
        # not this email's fault, so it waits without using up a try.
        retry_at = now + backoff(row.attempts + 1)
        return (
            replace(report, retrying=report.retrying + 1),
            lambda: mark(
                session, row, attempts=row.attempts, last_error=error, next_attempt_at=retry_at
            ),
            True,
        )
    except TransientError as exc:
        error = str(exc)
        attempts = row.attempts + 1
        if attempts >= max_attempts:
            log.error("email %s gave up after %d tries: %s", what, attempts, exc)
            failed = replace(report, failed=report.failed + 1)
            return failed, lambda: mark(session, row, status="failed", last_error=error), False
        retry_at = now + backoff(attempts)
        log.warning("email %s not sent, will retry: %s", what, exc)
        # The rest of the batch would fail the same way; retry later.
        return (
            replace(report, retrying=report.retrying + 1),
            lambda: mark(session, row, last_error=error, next_attempt_at=retry_at),
            True,
        )
    log.info("email %s sent", what)
    sent = replace(report, sent=report.sent + 1)
    return sent, lambda: mark(session, row, status="sent", sent_at=now), False
