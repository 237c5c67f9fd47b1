"""Fetch a batch from the mailbox, run each email through the pipeline, then file it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from mailbot import pipeline
from mailbot.calls.store import Store
from mailbot.config import Config
from mailbot.daemon.sandbox import Refused, Sandbox
from mailbot.errors import Conflict, TransientError
from mailbot.mail.imap import Mailbox
from mailbot.pipeline.records import Action, Context, RawMail, Triage
from mailbot.rules.loader import Rules
from mailbot.storage import parked
from mailbot.storage.db import Sessions, transaction

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
    # The email carried a #major command, so an incident may have a notice to
    # broadcast (the daemon then runs its broadcast pass).
    incident_news: bool = False


@dataclass
class BatchReport:
    """What one pass over the mailbox did."""

    outcomes: list[Outcome] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def process(
    raw: RawMail | Triage,
    *,
    sessions: Sessions,
    config: Config,
    rules: Rules,
    now: datetime,
    facts: dict[str, object] | None = None,
) -> Triage:
    """Handle one email in one transaction: its effects and its replies commit together.

    ``raw`` is the email as fetched, or the record the intake worker
    prepared from it (parsed, screened and redacted already).  ``facts`` is
    the batch's cache of what every email reads alike (see ``transaction``).
    """
    t = raw if isinstance(raw, Triage) else Triage(key="", raw=raw)
    with transaction(sessions, facts) as session:
        store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
        ctx = Context(config=config, rules=rules, now=now, store=store)
        return pipeline.run(t, ctx)


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
        incident_news=t.commands is not None and t.commands.named("major") is not None,
    )


def _park(sessions: Sessions, raw: RawMail, reason: str, now: datetime, failed: str) -> None:
    """Commit the record of why an email goes to the Failed folder, and log it in one line.

    The caller moves the email only after this returned: a crash in between
    leaves it in the inbox with its record, and the next pass recognises it.
    """
    note = parked.describe(raw.raw, raw.uid, reason, now)
    parked.record(sessions, note)
    log.warning(
        "email UID %s from %s (%r, %s) parked in %s: %s",
        raw.uid,
        note.sender or "(no From)",
        note.subject[:80],
        note.message_id or "no Message-ID",
        failed,
        reason,
    )


def run_batch(
    mailbox: Mailbox,
    *,
    sessions: Sessions,
    config: Config,
    rules: Rules,
    now: datetime,
    sandbox: Sandbox | None = None,
    halt: threading.Event | None = None,
) -> BatchReport:
    """Process what is waiting in the mailbox (one batch) and move it out of the inbox.

    Mail is moved only after its transaction committed, so a crash at any
    instant leaves each email either untouched (done again next time) or
    recorded as processed (recognised and just moved next time).  With a
    ``sandbox`` the parse, screen and redaction run in its worker process
    under the per-email budget; an email that overruns it, or kills the
    worker, is parked in the Failed folder with its reason recorded, and the
    batch goes on.  When ``halt`` is set the pass ends after the email in hand.
    """
    max_bytes = int(rules.policy.limits.max_message_mb * 1_000_000)
    failed_folder = config.imap.failed_folder
    report = BatchReport()
    done: list[int] = []
    # The signing keys, read by the batch's first email and kept for the rest.
    facts: dict[str, object] = {}
    fetched = mailbox.fetch_new(limit=config.imap.batch_size, max_bytes=max_bytes)
    raws = [
        RawMail(raw=item.raw, size=item.size, truncated=item.truncated, uid=item.uid)
        for item in fetched
    ]
    if raws:
        log.info("%d email(s) fetched from %s", len(raws), config.imap.folder)
        if sandbox is not None:
            # Its start-up overlaps the database lookup below.
            sandbox.launch()
    keys = [parked.raw_key(raw.raw) for raw in raws]
    try:
        seen = parked.known(sessions, set(keys))
    except TransientError:
        return report
    fresh: list[RawMail] = []
    for raw, key in zip(raws, keys, strict=True):
        before = seen.get(key)
        if before is None:
            fresh.append(raw)
        elif raw.uid is not None:
            # Parked before a crash kept it from being moved: move it now.
            log.warning(
                "email UID %s was parked on %s (%s); moving it to %s",
                raw.uid, before.at.isoformat(), before.reason, failed_folder,
            )  # fmt: skip
            report.failed.append(raw.uid)
    prepared: Iterable[tuple[RawMail, Triage | Refused | None]] = (
        sandbox.prepare(fresh, config=config, rules=rules, now=now, halt=halt)
        if sandbox is not None
        else ((raw, None) for raw in fresh)
    )
    for raw, ready in prepared:
        uid = raw.uid if raw.uid is not None else 0
        try:
            if isinstance(ready, Refused):
                if ready.detail:
                    log.error("email UID %s could not be prepared:\n%s", uid, ready.detail)
                _park(sessions, raw, ready.reason, now, failed_folder)
                report.failed.append(uid)
                continue
            t = process(
                raw if ready is None else replace(ready, raw=raw),
                sessions=sessions,
                config=config,
                rules=rules,
                now=now,
                facts=facts,
            )
        except Conflict:
            # Another mailbot process committed this email first.
            t = Triage(
                key="", raw=raw, action=Action.DUPLICATE, reason="handled by another process"
            )
        except TransientError:
            # The database is away: leave this and the rest in the inbox.
            break
        except Exception as exc:
            log.exception("email UID %s could not be processed", uid)
            try:
                why = f"failed: {type(exc).__name__}: {exc}"[:500]
                _park(sessions, raw, why, now, failed_folder)
            except TransientError:
                break
            report.failed.append(uid)
            continue
        done.append(uid)
        outcome = _outcome(uid, t)
        report.outcomes.append(outcome)
        # One line per email, for the journal: what was done with it and why.
        log.info(
            "email UID %s: %s%s (%s)",
            uid,
            outcome.action,
            f" {outcome.ref}" if outcome.ref else "",
            outcome.reason,
        )
        if halt is not None and halt.is_set():
            break
    if isinstance(prepared, Generator):
        # Ends the worker's batch if the loop left early.
        prepared.close()
    if done:
        mailbox.move(done, config.imap.processed_folder)
    if report.failed:
        mailbox.move(report.failed, failed_folder)
    return report
