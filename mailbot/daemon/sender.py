"""The outbox sender: send what is due over the reused SMTP connection, with retry."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from mailbot.errors import GrantError, PermanentSendError, TransientError
from mailbot.mail.smtp import SmtpSender
from mailbot.storage.db import Sessions
from mailbot.storage.outbox import Connection, Due, claim, due_rows, mark, sending_connection

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

    The batch is read in one query; each email is then claimed, sent and
    marked in a transaction of its own, on a connection (and thread step)
    per SMTP connection.  The database work runs in a worker thread, one step
    per email (the mark and commit of one email with the claim of the next),
    while the SMTP exchange runs on the event loop.  Given several senders
    (connections to the relay), each takes the next due email in turn.

    The connections hand over their envelopes (MAIL, RCPT) at the same time,
    but take turns for the message itself: a connection hands over its
    message (DATA) only once the email accepted before it, on whichever
    connection, is recorded as sent.  So a crash at any instant can repeat at
    most one email, whatever the number of connections.
    """
    lanes = [sender] if isinstance(sender, SmtpSender) else list(sender)
    with sending_connection(sessions) as connection:
        rows = await off_loop(lambda: _due(connection, now, routes, batch))
    if not rows:
        return SendReport()
    pending = deque(rows)
    halt = threading.Event()
    # Held from a message's DATA until the step recording its outcome committed.
    turn = asyncio.Lock()
    reports = await asyncio.gather(
        *(
            _lane(sessions, lane, pending, halt, turn, now, max_attempts)
            for lane in lanes[: len(rows)]
        )
    )
    return SendReport(
        sum(r.sent for r in reports),
        sum(r.retrying for r in reports),
        sum(r.failed for r in reports),
    )


def _due(connection: Connection, now: datetime, routes: tuple[str, ...], batch: int) -> list[Due]:
    with connection.begin():
        return due_rows(connection, now, routes, batch)


def _step(
    connection: Connection,
    settle: Settle | None,
    pending: deque[Due],
    halt: threading.Event,
    now: datetime,
) -> Due | None:
    """Commit what was tried last (if anything), then claim the next email still due, if any."""
    if settle is not None:
        settle()
        connection.commit()
    while pending and not halt.is_set():
        row = claim(connection, pending.popleft(), now)
        if row is not None:
            return row
        # Sent or taken by another process meanwhile: end the empty transaction.
        connection.commit()
    return None


async def _lane(
    sessions: Sessions,
    sender: SmtpSender,
    pending: deque[Due],
    halt: threading.Event,
    turn: asyncio.Lock,
    now: datetime,
    max_attempts: int,
) -> SendReport:
    """One connection's share: claim, send and mark due emails in turn, one transaction each."""
    report = SendReport()
    settle: Settle | None = None
    holding = False

    async def take_turn() -> None:
        nonlocal holding
        await turn.acquire()
        holding = True

    with sending_connection(sessions) as connection:
        try:
            while True:
                step = functools.partial(_step, connection, settle, pending, halt, now)
                row = await off_loop(step)
                settle = None
                if holding:
                    # The message handed over is recorded: the next may go.
                    holding = False
                    turn.release()
                if row is None:
                    return report
                report, settle, stop = await _try(
                    connection, sender, row, report, now, max_attempts, take_turn
                )
                if stop:
                    # The rest would fail the same way (the server is away): every
                    # lane stops after the email in hand; the try is recorded.
                    halt.set()
        finally:
            if holding:
                turn.release()


async def _try(
    session: Connection, sender: SmtpSender, row: Due, report: SendReport, now: datetime,
    max_attempts: int, take_turn: Callable[[], Awaitable[None]],
) -> tuple[SendReport, Settle, bool]:  # fmt: skip
    """Send one claimed email; return the report, the mark to write, and whether to stop."""
    recipients = json.loads(row.recipients)
    what = f"{row.kind} to {len(recipients)} recipient(s) {row.message_id}"
    try:
        await sender.send(row.mail_from, recipients, row.raw, before_data=take_turn)
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
