"""The daemon's sending side: relay connections, broadcast batches, the outbox round."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mailbot.config import Config
from mailbot.daemon.connections import Outage, smtp_settings
from mailbot.daemon.sender import SendReport, off_loop, send_due
from mailbot.errors import TransientError
from mailbot.incidents import broadcast, statuspage
from mailbot.incidents.broadcast import BroadcastReport
from mailbot.mail.oauth import TokenSources
from mailbot.mail.smtp import SmtpSender
from mailbot.rules.loader import Rules
from mailbot.storage import heartbeats
from mailbot.storage.db import Sessions

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def add_reports(a: SendReport, b: SendReport) -> SendReport:
    """Two send reports summed."""
    return SendReport(a.sent + b.sent, a.retrying + b.retrying, a.failed + b.failed)


async def wait_for(event: asyncio.Event, seconds: float) -> None:
    """Wait until ``event`` is set or ``seconds`` pass, whichever is first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)


@dataclass
class Sending:
    """What the daemon needs to send: its relays, the broadcast pass and the outbox loop."""

    config: Config
    rules: Rules
    sessions: Sessions
    clock: Clock
    wake_outbox: asyncio.Event = field(default_factory=asyncio.Event)
    wake_fallback: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # OAuth2 tokens, one source per account, shared by IMAP and SMTP.
    tokens: TokenSources = field(default_factory=TokenSources)
    sign_in_noted: str | None = None
    # Whether a broadcast pass may find work: set at start (a broadcast a crash
    # interrupted), after an email carrying a #major command, by the periodic
    # outbox tick (an incident changed from the command line, in another
    # process), and while the last pass still found work.
    broadcast_due: bool = True

    def sender(self, fallback: bool = False) -> SmtpSender:
        """An SMTP sender that signs in with the shared token, if any."""
        settings = smtp_settings(self.config, fallback=fallback)
        return SmtpSender(settings, self.tokens.get(settings.oauth))

    def senders(self, fallback: bool = False) -> list[SmtpSender]:
        """One SMTP sender per configured connection to the relay (``connections``)."""
        settings = self.config.fallback_smtp if fallback else None
        count = (settings or self.config.smtp).connections
        return [self.sender(fallback) for _ in range(count)]

    def note_sign_in(self) -> None:
        """Record for `mailbot status` whether a mail sign-in grant is refused (empty when not)."""
        problems = "; ".join(self.tokens.problems())
        # Written when it changes only, so a healthy daemon adds no writes.
        if self.tokens.active() and problems != self.sign_in_noted:
            heartbeats.record(self.sessions, "sign_in_problem", problems, self.clock())
            self.sign_in_noted = problems

    def routes(self, fallback: bool) -> tuple[str, ...]:
        """The outbox routes a sender handles; with no [fallback_smtp] the main relay takes both."""
        if fallback:
            return ("fallback",)
        return ("smtp",) if self.config.fallback_smtp else ("smtp", "fallback")

    def broadcast_pass(self) -> BroadcastReport:
        """Queue one batch of major-incident notices and refresh the status page (in a thread)."""
        now = self.clock()
        report = broadcast.run(self.sessions, self.config, self.rules, now)
        try:
            statuspage.publish(self.sessions, self.config, self.rules, now)
        except OSError as exc:
            log.error("status page not written to %s: %s", self.config.status_page.dir, exc)
        return report

    async def send_outbox(
        self, sender: SmtpSender | Sequence[SmtpSender], fallback: bool = False
    ) -> SendReport:
        """Send whatever is due in the outbox, batch after batch until none is left."""
        total = SendReport()
        settings = self.config.fallback_smtp if fallback else None
        max_attempts = (settings or self.config.smtp).max_attempts
        while True:
            report = await send_due(
                self.sessions,
                sender,
                now=self.clock(),
                max_attempts=max_attempts,
                routes=self.routes(fallback),
            )
            total = add_reports(total, report)
            if report.retrying or report.sent + report.failed == 0:
                return total

    async def outbox_loop(self, fallback: bool = False) -> None:
        """Send the outbox whenever woken (or every 30 s) until the daemon stops."""
        outage = Outage("fallback SMTP server" if fallback else "SMTP server")
        senders = self.senders(fallback=fallback)
        try:
            while not self.stopping.is_set():
                if await self.outbox_round(senders, outage, fallback):
                    continue
                wake = self.wake_fallback if fallback else self.wake_outbox
                wake.clear()
                # Due retries are picked up by the periodic wake below.
                await wait_for(wake, 30.0)
        finally:
            for sender in senders:
                await sender.close()

    async def outbox_round(
        self, sender: SmtpSender | Sequence[SmtpSender], outage: Outage, fallback: bool
    ) -> bool:
        """Queue the next broadcast batch if one may be waiting, then send what is due.

        Says whether to go round again at once (a broadcast batch went out and
        more may follow).  The broadcast pass runs only when ``broadcast_due``
        says there may be work for it, not on every wake: most wakes are
        intake's replies, and with no incident its two queries found nothing.
        """
        queued = 0
        if not fallback and self.broadcast_due:
            # Cleared before the pass, so a notice written meanwhile sets it again.
            self.broadcast_due = False
            # Queue the next batch of any broadcast between sends, so
            # a broadcast to thousands never holds up other mail for long.
            try:
                done = await off_loop(self.broadcast_pass)
            except TransientError as exc:
                self.broadcast_due = True
                log.warning("broadcast postponed: %s", exc)
            else:
                queued = done.queued
                if done.queued or done.expanded:
                    self.broadcast_due = True
            if queued and self.config.fallback_smtp:
                self.wake_fallback.set()
        report = await self.send_outbox(sender, fallback=fallback)
        await off_loop(self.note_sign_in)
        if report.retrying:
            outage.failed(TransientError("send failed; backing off"))
        elif report.sent:
            outage.recovered()
        return bool(queued and not report.retrying)
