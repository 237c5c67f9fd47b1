"""The long-running service: intake, outbox and scheduler on one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from mailbot import health
from mailbot.config import Config
from mailbot.errors import RulesError, TransientError
from mailbot.imap import ImapSettings, Mailbox
from mailbot.intake import BatchReport, run_batch
from mailbot.jobs import TickReport, run_due
from mailbot.outbox import SendReport, send_due
from mailbot.rules import Rules, load_rules
from mailbot.scheduler import Metronome
from mailbot.smtp import SmtpSender, SmtpSettings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def imap_settings(config: Config) -> ImapSettings:
    """Translate the [imap] section into the IMAP module's settings."""
    c = config.imap
    return ImapSettings(
        host=c.host,
        port=c.port,
        username=c.username,
        password=c.secret(),
        security=c.security,
        folder=c.folder,
        processed_folder=c.processed_folder,
        failed_folder=c.failed_folder,
        ca_file=c.ca_file,
        timeout=c.timeout,
    )


def smtp_settings(config: Config) -> SmtpSettings:
    """Translate the [smtp] section into the SMTP module's settings."""
    c = config.smtp
    return SmtpSettings(
        host=c.host,
        port=c.port,
        username=c.username,
        password=c.secret(),
        security=c.security,
        ca_file=c.ca_file,
        timeout=c.timeout,
    )


@dataclass
class Outage:
    """Logs a server outage once when it starts and once when it ends."""

    what: str
    failures: int = 0

    def failed(self, exc: Exception) -> float:
        """Note a failure; return how long to wait before the next try."""
        self.failures += 1
        if self.failures == 1:
            log.warning("%s unavailable, will keep retrying: %s", self.what, exc)
        return float(min(300, 2 ** min(self.failures, 9)))

    def recovered(self) -> None:
        """Note a success."""
        if self.failures:
            log.warning("%s back after %d failed attempts", self.what, self.failures)
        self.failures = 0


@dataclass
class Daemon:
    """Owns the live state of a running mailbot: rules, connections, tasks."""

    config: Config
    rules: Rules
    sessions: sessionmaker[Session]
    clock: Clock
    wake_outbox: asyncio.Event = field(default_factory=asyncio.Event)
    wake_intake: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def reload_rules(self, rules_dir: Path) -> bool:
        """Re-read the rules; keep the last good ones if the new ones are bad."""
        try:
            self.rules = load_rules(rules_dir)
        except RulesError as exc:
            log.error("rules not reloaded, keeping the last good rules:\n%s", exc)
            return False
        log.info("rules reloaded from %s", rules_dir)
        return True

    def intake_pass(self, mailbox: Mailbox) -> BatchReport:
        """Process the inbox until it is empty (runs in a worker thread)."""
        total = BatchReport()
        while True:
            report = run_batch(
                mailbox,
                sessions=self.sessions,
                config=self.config,
                rules=self.rules,
                now=self.clock(),
            )
            total.outcomes.extend(report.outcomes)
            total.failed.extend(report.failed)
            health.record(self.sessions, "last_poll", self.clock().isoformat(), self.clock())
            if len(report.outcomes) + len(report.failed) < self.config.imap.batch_size:
                return total

    async def send_outbox(self, sender: SmtpSender) -> SendReport:
        """Send whatever is due in the outbox, batch after batch until none is left."""
        total = SendReport()
        while True:
            report = await send_due(
                self.sessions, sender, now=self.clock(), max_attempts=self.config.smtp.max_attempts
            )
            total = SendReport(
                total.sent + report.sent,
                total.retrying + report.retrying,
                total.failed + report.failed,
            )
            if report.retrying or report.sent + report.failed == 0:
                return total

    def due_work(self) -> TickReport:
        """Run the scheduler's due jobs once (escalations, closures); in a worker thread."""
        report = run_due(
            self.sessions, self.config, self.rules, self.clock(), self.config.scheduler.batch
        )
        for ref, level in report.escalated:
            log.info("%s escalated to level %d", ref, level)
        for ref in report.closed:
            log.info("%s closed automatically", ref)
        return report

    async def run_once(self) -> tuple[BatchReport, SendReport, TickReport]:
        """Process the mailbox once, run what is due, send the outbox; say what happened."""
        mailbox = Mailbox(imap_settings(self.config))
        await asyncio.to_thread(mailbox.connect)
        try:
            report = await asyncio.to_thread(self.intake_pass, mailbox)
        finally:
            await asyncio.to_thread(mailbox.close)
        tick = await asyncio.to_thread(self.due_work)
        sender = SmtpSender(smtp_settings(self.config))
        try:
            sent = await self.send_outbox(sender)
        finally:
            await sender.close()
        return report, sent, tick

    async def _intake_loop(self) -> None:
        outage = Outage("IMAP server")
        settings = imap_settings(self.config)
        while not self.stopping.is_set():
            mailbox = Mailbox(settings)
            try:
                await asyncio.to_thread(mailbox.connect)
                while not self.stopping.is_set():
                    report = await asyncio.to_thread(self.intake_pass, mailbox)
                    outage.recovered()
                    if report.outcomes:
                        self.wake_outbox.set()
                    if self.config.imap.idle and mailbox.has_idle:
                        # Short IDLE rounds keep shutdown and reload prompt.
                        await asyncio.to_thread(mailbox.wait_for_mail, 10.0)
                    else:
                        # Without IDLE the scheduler's poll job wakes us.
                        self.wake_intake.clear()
                        await self._wait(self.wake_intake, self.config.imap.poll_seconds * 2)
            except TransientError as exc:
                health.record(self.sessions, "last_error", str(exc), self.clock())
                await self._sleep(outage.failed(exc))
            finally:
                await asyncio.to_thread(mailbox.close)

    async def _outbox_loop(self) -> None:
        outage = Outage("SMTP server")
        sender = SmtpSender(smtp_settings(self.config))
        try:
            while not self.stopping.is_set():
                report = await self.send_outbox(sender)
                if report.retrying:
                    outage.failed(TransientError("send failed; backing off"))
                elif report.sent:
                    outage.recovered()
                self.wake_outbox.clear()
                # Due retries are picked up by the periodic wake below.
                await self._wait(self.wake_outbox, 30.0)
        finally:
            await sender.close()

    async def _sleep(self, seconds: float) -> None:
        await self._wait(self.stopping, seconds)

    @staticmethod
    async def _wait(event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=seconds)

    async def run_forever(self, rules_dir: Path) -> None:
        """Run until SIGTERM or SIGINT; SIGHUP reloads the rules."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload_rules, rules_dir)
        metronome = Metronome()

        async def tick_outbox() -> None:
            self.wake_outbox.set()

        async def tick_poll() -> None:
            self.wake_intake.set()

        async def tick_due() -> None:
            try:
                report = await asyncio.to_thread(self.due_work)
            except TransientError as exc:
                log.warning("scheduled jobs postponed: %s", exc)
                return
            if report.escalated or report.closed:
                self.wake_outbox.set()

        metronome.every(30, tick_outbox, "outbox-retry")
        metronome.every(self.config.imap.poll_seconds, tick_poll, "mailbox-poll")
        metronome.every(self.config.scheduler.tick_seconds, tick_due, "sla-due")
        metronome.start()
        tasks = [
            asyncio.create_task(self._intake_loop(), name="intake"),
            asyncio.create_task(self._outbox_loop(), name="outbox"),
        ]
        log.info("mailbot running: %s as %s", self.config.imap.host, self.config.service.address)
        await self.stopping.wait()
        metronome.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("mailbot stopped")
