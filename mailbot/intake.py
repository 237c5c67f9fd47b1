"""Fetch a batch from the mailbox, run each email through the pipeline, then file it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from mailbot import pipeline
from mailbot.config import Config
from mailbot.db import transaction
from mailbot.errors import Conflict, TransientError
from mailbot.imap import Mailbox
from mailbot.rules import Rules
from mailbot.store import Store
from mailbot.triage import Action, Context, RawMail, Triage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What happened to one email, for logs and the demo's account."""

    uid: int | None
    action: str
    reason: str
    subject: str
    sender: str
    ref: str | None
    replies: tuple[str, ...]


@dataclass
class BatchReport:
    """What one pass over the mailbox did."""

    outcomes: list[Outcome] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def process(
    raw: RawMail, *, sessions: sessionmaker[Session], config: Config, rules: Rules, now: datetime
) -> Triage:
    """Handle one email in one transaction: its effects and its replies commit together."""
    with transaction(sessions) as session:
        store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
        ctx = Context(config=config, rules=rules, now=now, store=store)
        return pipeline.run(Triage(key="", raw=raw), ctx)


def _outcome(uid: int | None, t: Triage) -> Outcome:
    msg = t.msg
    return Outcome(
        uid=uid,
        action=str(t.action),
        reason=t.reason,
        subject=msg.subject if msg else "",
        sender=(msg.from_addr or "(none)") if msg else "",
        ref=t.call.ref if t.call else None,
        replies=tuple(o.kind for o in t.outgoing),
    )


def run_batch(
    mailbox: Mailbox,
    *,
    sessions: sessionmaker[Session],
    config: Config,
    rules: Rules,
    now: datetime,
) -> BatchReport:
    """Process what is waiting in the mailbox (one batch) and move it out of the inbox.

    Mail is moved only after its transaction committed, so a crash at any
    instant leaves each email either untouched (done again next time) or
    recorded as processed (recognised and just moved next time).
    """
    max_bytes = int(rules.policy.limits.max_message_mb * 1_000_000)
    report = BatchReport()
    done: list[int] = []
    for item in mailbox.fetch_new(limit=config.imap.batch_size, max_bytes=max_bytes):
        raw = RawMail(raw=item.raw, size=item.size, truncated=item.truncated, uid=item.uid)
        try:
            t = process(raw, sessions=sessions, config=config, rules=rules, now=now)
        except Conflict:
            # Another mailbot process committed this email first.
            t = Triage(
                key="", raw=raw, action=Action.DUPLICATE, reason="handled by another process"
            )
        except TransientError:
            # The database is away: leave this and the rest in the inbox.
            break
        except Exception:
            log.exception(
                "email UID %s could not be processed; moving it to the Failed folder", item.uid
            )
            report.failed.append(item.uid)
            continue
        done.append(item.uid)
        report.outcomes.append(_outcome(item.uid, t))
    if done:
        mailbox.move(done, config.imap.processed_folder)
    if report.failed:
        mailbox.move(report.failed, config.imap.failed_folder)
    return report
