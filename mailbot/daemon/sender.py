"""The outbox sender: send what is due over the reused SMTP connection, with retry."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mailbot.errors import GrantError, PermanentSendError, TransientError
from mailbot.mail.smtp import SmtpSender
from mailbot.storage.db import Session, Sessions
from mailbot.storage.outbox import claim, due_ids, mark

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 30 s doubling to at most an hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


async def send_due(
    sessions: Sessions,
    sender: SmtpSender,
    *,
    now: datetime,
    max_attempts: int,
    batch: int = 200,
    routes: tuple[str, ...] = ("smtp", "fallback"),
) -> SendReport:
    """Send every outbox email that is due on ``routes``, one short transaction each.

    Each email is claimed, sent and marked in a transaction of its own, so a
    crash can repeat at most the one email in flight; the session (and its
    database connection) is reused from one email to the next.
    """
    with sessions() as session:
        with session.begin():
            ids = due_ids(session, now, routes, batch)
        return await _send_each(session, sender, ids, now=now, max_attempts=max_attempts)


async def _send_each(
    session: Session, sender: SmtpSender, ids: list[int], *, now: datetime, max_attempts: int
) -> SendReport:
    """Claim, send and mark each of ``ids`` in turn, one transaction each."""
    report = SendReport()
    for row_id in ids:
        with session.begin():
            row = claim(session, row_id, now)
            if row is None:
                continue
            recipients = json.loads(row.recipients)
            what = f"{row.kind} to {len(recipients)} recipient(s) {row.message_id}"
            try:
                await sender.send(row.mail_from, recipients, row.raw)
            except PermanentSendError as exc:
                mark(session, row, status="failed", last_error=str(exc))
                report = replace(report, failed=report.failed + 1)
                log.error("email %s failed for good: %s", what, exc)
            except GrantError as exc:
                # The sign-in grant is refused (logged once, shown by status):
                # not this email's fault, so it waits without using up a try.
                mark(
                    session,
                    row,
                    attempts=row.attempts,
                    last_error=str(exc),
                    next_attempt_at=now + backoff(row.attempts + 1),
                )
                report = replace(report, retrying=report.retrying + 1)
                break
            except TransientError as exc:
                attempts = row.attempts + 1
                if attempts >= max_attempts:
                    mark(session, row, status="failed", last_error=str(exc))
                    report = replace(report, failed=report.failed + 1)
                    log.error("email %s gave up after %d tries: %s", what, attempts, exc)
                else:
                    retry_at = now + backoff(attempts)
                    mark(session, row, last_error=str(exc), next_attempt_at=retry_at)
                    log.warning("email %s not sent, will retry: %s", what, exc)
                    report = replace(report, retrying=report.retrying + 1)
                    # The rest of the batch would fail the same way; retry later.
                    break
            else:
                mark(session, row, status="sent", sent_at=now)
                log.info("email %s sent", what)
                report = replace(report, sent=report.sent + 1)
    return report
