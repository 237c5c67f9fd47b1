"""The long-running service: intake, outbox and scheduler on one asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mailbot.daemon.connections import Outage, imap_settings
from mailbot.daemon.intake import BatchReport, run_batch
from mailbot.daemon.jobs import TickReport, run_due
from mailbot.daemon.notify import Notifier
from mailbot.daemon.sandbox import Budget, Sandbox
from mailbot.daemon.sender import SendReport, off_loop
from mailbot.daemon.sending import Sending, add_reports, wait_for
from mailbot.errors import RulesError, TransientError
from mailbot.mail.imap import Mailbox
from mailbot.mail.smtp import SmtpSender
from mailbot.rules.loader import load_rules
from mailbot.storage import heartbeats

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass
class Daemon(Sending):
    """Owns the live state of a running mailbot: rules, connections, tasks."""

    wake_intake: asyncio.Event = field(default_factory=asyncio.Event)
    # The same as ``stopping`` for code running in worker threads: an intake
    # pass waiting on the intake worker looks at it several times a second.
    halt: threading.Event = field(default_factory=threading.Event)
    # systemd's notification socket (from the environment, read by the CLI);
    # without one, nothing is sent.
    notifier: Notifier = field(default_factory=lambda: Notifier({}))

    def mailbox(self) -> Mailbox:
        """A mailbox connection that signs in with the shared token, if any."""
        settings = imap_settings(self.config)
        return Mailbox(settings, self.tokens.get(settings.oauth))

    def stop(self) -> None:
        """Ask every loop to finish (SIGTERM, SIGINT)."""
        self.halt.set()
        self.stopping.set()

    def reload_rules(self, rules_dir: Path) -> bool:
        """Re-read the rules; keep the last good ones if the new ones are bad."""
        try:
            self.rules = load_rules(rules_dir)
        except RulesError as exc:
            log.error("rules not reloaded, keeping the last good rules:\n%s", exc)
            return False
        log.info("rules reloaded from %s", rules_dir)
        return True

    def intake_pass(
        self,
        mailbox: Mailbox,
        sandbox: Sandbox | None = None,
        queued: Callable[[], None] | None = None,
    ) -> BatchReport:
        """Process the inbox until it is empty (runs in a worker thread).

        With a ``sandbox`` each email is parsed and screened in its worker
        process under the per-email budget.  ``queued`` is called after each
        batch that handled mail (its emails committed, their answers queued),
        so the outbox is sent batch by batch, not only when a long pass ends.
        """
        total = BatchReport()
        while not self.halt.is_set():
            report = run_batch(
                mailbox,
                sessions=self.sessions,
                config=self.config,
                rules=self.rules,
                now=self.clock(),
                sandbox=sandbox,
                halt=self.halt,
            )
            total.outcomes.extend(report.outcomes)
            total.failed.extend(report.failed)
            if report.outcomes and queued is not None:
                queued()
            if any(o.incident_news for o in report.outcomes):
                # Set after the email's transaction committed, so the pass it
                # causes finds the new notice.
                self.broadcast_due = True
            heartbeats.record(self.sessions, "last_poll", self.clock().isoformat(), self.clock())
            if len(report.outcomes) + len(report.failed) < self.config.imap.batch_size:
                return total
        return total

    def due_work(self, reports: bool = True) -> TickReport:
        """Run the scheduler's due jobs (escalations, closures, reports) once; in a thread."""
        report = run_due(
            self.sessions,
            self.config,
            self.rules,
            self.clock(),
            self.config.scheduler.batch,
            reports=reports,
        )
        for ref, target in report.breached:
            log.info("%s: %s target passed unmet; staff told", ref, target)
        for ref, level in report.escalated:
            log.info("%s escalated to level %d", ref, level)
        for ref in report.closed:
            log.info("%s closed automatically", ref)
        for line in report.reports:
            # Monthly reports ("2026-11 ...") and review packs ("review autumn-2026 ...").
            log.info("report %s queued", line)
        for ref in report.reminded:
            log.info("%s: emergency change undecided at its deadline; board reminded", ref)
        return report

    async def run_once(self) -> tuple[BatchReport, SendReport, TickReport]:
        """Process the mailbox once, run what is due, send the outbox; say what happened."""
        mailbox = self.mailbox()
        sender = self.senders()
        spare = self.senders(fallback=True)
        intake_done = asyncio.Event()
        # Its own event, not wake_outbox: a Daemon may serve several
        # asyncio.run() calls, and an event is bound to the loop it waited on.
        batch_queued = asyncio.Event()
        # What intake queues is sent while intake goes on, as the running
        # daemon's outbox loop does, rather than all of it afterwards.
        meanwhile = asyncio.create_task(self._send_during(sender, intake_done, batch_queued))
        try:
            # The worker (a fresh interpreter) starts when a batch has mail for
            # it, so a pass over an empty mailbox does not pay its start-up.
            with Sandbox(Budget.of(self.config)) as sandbox:
                try:
                    await asyncio.to_thread(mailbox.connect)
                finally:
                    self.note_sign_in()
                try:
                    report = await asyncio.to_thread(
                        self.intake_pass, mailbox, sandbox, self._waker(batch_queued)
                    )
                finally:
                    await asyncio.to_thread(mailbox.close)
        finally:
            intake_done.set()
            batch_queued.set()
            sent = await meanwhile
        tick = await asyncio.to_thread(self.due_work)
        try:
            # Broadcasts are queued a batch at a time, each batch sent before
            # the next is queued, as the running daemon does.
            # A relay that failed during intake is not tried again in this run.
            relay_failed = sent.retrying > 0
            while True:
                queued = await asyncio.to_thread(self.broadcast_pass)
                if not relay_failed:
                    sent = add_reports(sent, await self.send_outbox(sender))
                if self.config.fallback_smtp:
                    sent = add_reports(sent, await self.send_outbox(spare, fallback=True))
                if not queued.queued or sent.retrying:
                    break
        finally:
            for each in (*sender, *spare):
                await each.close()
            self.note_sign_in()
        return report, sent, tick

    @staticmethod
    def _waker(event: asyncio.Event) -> Callable[[], None]:
        """A callable for intake's worker thread that sets ``event`` on this loop."""
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(event.set)

        return wake

    async def _send_during(
        self, sender: list[SmtpSender], done: asyncio.Event, queued: asyncio.Event
    ) -> SendReport:
        """Send what is due each time intake wakes the outbox, until ``done``; say what was sent.

        It stops at the first email the relay fails (left to retry), and
        the run tries that relay no more: one run knocks once on a relay
        that is away, as when everything was sent after intake.
        """
        sent = SendReport()
        while not done.is_set():
            # Cleared before sending, so a batch queued meanwhile wakes it again.
            queued.clear()
            report = await self.send_outbox(sender)
            sent = add_reports(sent, report)
            if report.retrying:
                break
            if not report.sent + report.failed:
                await queued.wait()
        return sent

    async def _intake_loop(self) -> None:
        # One worker process for the life of the loop (restarted only when
        # an email kills or overruns it); killed when the loop ends.
        with Sandbox(Budget.of(self.config)) as sandbox:
            sandbox.launch()
            await self._intake_rounds(sandbox)

    async def _intake_rounds(self, sandbox: Sandbox) -> None:
        outage = Outage("IMAP server")
        while not self.stopping.is_set():
            mailbox = self.mailbox()
            try:
                try:
                    await asyncio.to_thread(mailbox.connect)
                finally:
                    await off_loop(self.note_sign_in)
                while not self.stopping.is_set():
                    await asyncio.to_thread(
                        self.intake_pass, mailbox, sandbox, self._waker(self.wake_outbox)
                    )
                    outage.recovered()
                    if self.config.imap.idle and mailbox.has_idle:
                        # Short IDLE rounds keep shutdown and reload prompt:
                        # the process exits only when this thread returns, and
                        # SIGTERM must be answered within 10 s.
                        await asyncio.to_thread(mailbox.wait_for_mail, 5.0)
                    else:
                        # Without IDLE the scheduler's poll job wakes us.
                        self.wake_intake.clear()
                        await wait_for(self.wake_intake, self.config.imap.poll_seconds * 2)
            except TransientError as exc:
                heartbeats.record(self.sessions, "last_error", str(exc), self.clock())
                await self._sleep(outage.failed(exc))
            finally:
                await asyncio.to_thread(mailbox.close)

    async def _supervised(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run one of the daemon's loops, restarting it if it ever fails.

        The loops handle the failures they expect (servers away); anything
        else is a bug, and a daemon that silently stopped sending or reading
        mail would be worse than one that logs the bug and carries on.
        """
        while not self.stopping.is_set():
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the %s loop failed; restarting it in 5 seconds", name)
                await self._sleep(5.0)

    async def _sleep(self, seconds: float) -> None:
        await wait_for(self.stopping, seconds)

    async def run_forever(self, rules_dir: Path) -> None:
        """Run until SIGTERM or SIGINT; SIGHUP reloads the rules."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop)
        loop.add_signal_handler(signal.SIGINT, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload_rules, rules_dir)
        # Imported here: APScheduler ticks only the long-running daemon, and
        # `run --once` would pay for importing it and never start it.
        from mailbot.daemon.metronome import Metronome

        metronome = Metronome()

        async def tick_outbox() -> None:
            self.broadcast_due = True
            self.wake_outbox.set()
            self.wake_fallback.set()

        async def tick_poll() -> None:
            self.wake_intake.set()

        async def tick_due(reports: bool = False) -> None:
            try:
                report = await asyncio.to_thread(self.due_work, reports)
            except TransientError as exc:
                log.warning("scheduled jobs postponed: %s", exc)
                return
            if (
                report.escalated
                or report.breached
                or report.closed
                or report.reports
                or report.reminded
            ):
                self.wake_outbox.set()

        async def tick_reports() -> None:
            await tick_due(reports=True)

        metronome.every(30, tick_outbox, "outbox-retry")
        metronome.every(self.config.imap.poll_seconds, tick_poll, "mailbox-poll")
        metronome.every(self.config.scheduler.tick_seconds, tick_due, "sla-due")
        # Monthly reports fall due once a month; looking every ten minutes is
        # prompt enough and keeps their lookup out of the per-minute tick.
        metronome.every(max(600.0, self.config.scheduler.tick_seconds), tick_reports, "reports")
        if self.notifier.watchdog_seconds:
            # The ping runs on the event loop itself, so a loop that is stuck
            # stops pinging and systemd restarts the service.
            async def tick_alive() -> None:
                self.notifier.alive()

            metronome.every(self.notifier.watchdog_seconds, tick_alive, "watchdog")
        metronome.start()
        tasks = [
            asyncio.create_task(self._supervised("intake", self._intake_loop), name="intake"),
            asyncio.create_task(self._supervised("outbox", self.outbox_loop), name="outbox"),
        ]
        if self.config.fallback_smtp:
            fallback = self._supervised("fallback outbox", lambda: self.outbox_loop(fallback=True))
            tasks.append(asyncio.create_task(fallback, name="fallback"))
        log.info("mailbot running: %s as %s", self.config.imap.host, self.config.service.address)
        self.notifier.ready(f"reading {self.config.imap.host} as {self.config.service.address}")
        await self.stopping.wait()
        self.notifier.stopping()
        metronome.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("mailbot stopped")
