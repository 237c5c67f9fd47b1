"""A worker process that prepares received mail (parse, screen, redact) within a budget.

A regular expression or an HTML pass that runs away holds the GIL, so no
thread can stop it and a daemon doing it in-process stops reading mail and
answering SIGTERM.  The passes that face a stranger's raw bytes therefore run
in one long-lived worker process per intake loop: it is fed a whole batch,
streams one prepared record back per email in order (so it parses the next
email while the main process does the database work for this one), and is
held to a CPU budget per email (a CPU timer inside the worker), an address
space limit, and a wall-clock bound enforced from outside (killed and
restarted).  Whatever happens to it, only the email it owed a result for is
refused; the caller parks that one and the batch goes on.

This module is the parent's side; the worker's loop is in ``worker``, which
is imported when the first worker starts (a pass that fetched no mail
never needs its parse and screen passes).
"""

from __future__ import annotations

import contextlib
import copyreg
import io
import logging
import multiprocessing
import pickle
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailbot.config import Config
    from mailbot.pipeline.records import RawMail, Triage
    from mailbot.rules.loader import Rules


log = logging.getLogger(__name__)

# The worker's exit status when an email overran its budget and would not
# stop when told (the CPU timer kept firing): the parent names the reason.
EXIT_OVER_BUDGET = 70


@dataclass(frozen=True)
class Budget:
    """What one email may cost the worker."""

    cpu_seconds: float
    wall_seconds: float
    memory_bytes: int  # 0: no address-space limit

    @classmethod
    def of(cls, config: Config) -> Budget:
        """The budget the [intake] section sets."""
        c = config.intake
        return cls(c.message_cpu_seconds, c.message_wall_seconds, c.worker_memory_mb * 1024 * 1024)


@dataclass(frozen=True)
class Refused:
    """An email the worker could not prepare, and why (for the Failed folder's record)."""

    reason: str
    detail: str = ""  # a traceback, for the log


# How often the parent looks at its stop flag while waiting for a result.
_POLL_SECONDS = 0.25
# How long a new worker may take to start (import mailbot, load settings).
_START_SECONDS = 120.0


class _Halted(Exception):
    """The caller asked to stop while an email was in the worker."""


def _pickled_settings(config: Config, rules: Rules) -> bytes:
    """Configuration and rules for the worker, without the compiled templates.

    The worker never renders a template, and compiled templates cannot be
    pickled; the worker receives an empty set in their place.
    """
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    # Imported here: the rules' module, which the caller has loaded already.
    from mailbot.rules.templates import Templates, placeholder

    table = copyreg.dispatch_table.copy()
    table[Templates] = lambda _t: (placeholder, ())
    pickler.dispatch_table = table
    pickler.dump((config, rules))
    return buffer.getvalue()


# --- the parent's side ----------------------------------------------------------


class Sandbox:
    """The parent's handle on the intake worker: start it, feed it, kill and restart it."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self._context = multiprocessing.get_context("spawn")
        self._proc: BaseProcess | None = None
        self._requests: Queue[Any] | None = None
        self._results: Connection | None = None
        self._settings: tuple[Config, Rules] | None = None
        self._ready = False
        self._seq = 0
        self._stopping = threading.Lock()
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def launch(self) -> None:
        """Start the worker unless it runs, without waiting for it to be ready.

        Starting takes a second or so (a fresh interpreter imports mailbot);
        launching early lets that overlap the IMAP login.
        """
        if self._proc is not None:
            return
        # Imported now: the worker's module imports the parse, screen and
        # redaction passes, which a pass that fetched no mail never needs.
        from mailbot.daemon.worker import serve

        requests: Queue[Any] = self._context.Queue()
        receiver, sender = self._context.Pipe(duplex=False)
        proc = self._context.Process(
            target=serve,
            args=(requests, sender, self.budget),
            name="mailbot-intake-worker",
            daemon=True,
        )
        proc.start()
        # Only the worker may hold the writing end, so its death reads as EOF here.
        sender.close()
        self._proc, self._requests, self._results = proc, requests, receiver
        self._settings = None
        self._ready = False

    def start(self, halt: threading.Event | None = None) -> None:
        """Start the worker unless it runs, and wait until it is ready."""
        self.launch()
        if self._ready:
            return
        try:
            got = self._receive(time.monotonic() + _START_SECONDS, halt)
        except _Halted:
            self.stop()
            raise
        if not isinstance(got, tuple) or got[0] != "ready":
            self.stop()
            raise RuntimeError(f"the intake worker did not start: {got}")
        self._ready = True

    def stop(self) -> None:
        """Kill the worker (it may be stopped or busy: only SIGKILL is sure to work)."""
        # At shutdown the daemon's loop and the intake thread may both stop
        # the worker; only one of them may take it.
        with self._stopping:
            proc, requests, results = self._proc, self._requests, self._results
            self._proc = self._requests = self._results = None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.kill()
        proc.join(10)
        if requests is not None:
            # Unsent requests to a dead worker are dropped, not waited for.
            requests.cancel_join_thread()
            requests.close()
        if results is not None:
            results.close()
        proc.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _receive(self, deadline: float, halt: threading.Event | None) -> object:
        """The worker's next message; None when it died or the deadline passed.

        Raises _Halted when ``halt`` is set, also when the halt is what broke
        the wait (the daemon kills the worker as it shuts down): an email cut
        short by a shutdown is not to blame and must not be parked.
        """
        while True:
            if halt is not None and halt.is_set():
                raise _Halted
            results = self._results
            left = deadline - time.monotonic()
            if results is None or left <= 0:
                break
            try:
                if results.poll(min(left, _POLL_SECONDS)):
                    got: object = results.recv()
                    return got
            except (EOFError, OSError):
                break
        if halt is not None and halt.is_set():
            raise _Halted
        return None

    def _why_lost(self, timed_out: bool) -> str:
        """Why the worker gave no result: its exit status, or the deadline."""
        proc = self._proc
        if proc is not None:
            proc.join(1.0)
        code = proc.exitcode if proc is not None else None
        if code is None:
            return (
                f"no result within {self.budget.wall_seconds:g} s; the worker was killed"
                if timed_out
                else "the worker stopped answering"
            )
        if code == EXIT_OVER_BUDGET:
            return f"over the CPU budget of {self.budget.cpu_seconds:g} s per email"
        if code < 0:
            return f"the worker was killed by {signal.Signals(-code).name}"
        return f"the worker exited with status {code}"

    def prepare(
        self,
        raws: Sequence[RawMail],
        *,
        config: Config,
        rules: Rules,
        now: datetime,
        halt: threading.Event | None = None,
    ) -> Iterator[tuple[RawMail, Triage | Refused]]:
        """Prepare a batch in the worker, yielding each email's result in order.

        When the worker dies or overruns, the email it owed is refused, the
        worker is restarted and the rest of the batch goes on.  When ``halt``
        is set the worker is killed and the iteration ends early: the
        remaining emails were not touched and stay in the mailbox.
        """
        pending = list(raws)
        try:
            while pending:
                try:
                    if self._proc is not None and not self._proc.is_alive():
                        # Died while idle (an administrator, the OOM killer):
                        # no email was in it, so none is to blame.
                        self.stop()
                        self.restarts += 1
                    self.start(halt)
                    self._send(pending, config, rules, now)
                    while pending:
                        got = self._result(self._seq - len(pending), halt)
                        if got is None:
                            reason = self._why_lost(timed_out=True)
                            self.stop()
                            self.restarts += 1
                            yield pending.pop(0), Refused(reason)
                            break
                        yield pending.pop(0), got
                except _Halted:
                    self.stop()
                    return
        finally:
            if pending:
                # Left early (halted, or the caller stopped for an outage):
                # requests may still be queued, so start afresh next time.
                self.stop()

    def _send(self, raws: list[RawMail], config: Config, rules: Rules, now: datetime) -> None:
        requests = self._requests
        if requests is None:
            raise RuntimeError("the intake worker is not running")
        last = self._settings
        if last is None or last[0] is not config or last[1] is not rules:
            # Rules are reloaded on SIGHUP; the worker gets the new ones.
            requests.put(("settings", _pickled_settings(config, rules), now))
            self._settings = (config, rules)
        for raw in raws:
            requests.put(("mail", self._seq, now, raw))
            self._seq += 1

    def _result(self, seq: int, halt: threading.Event | None) -> Triage | Refused | None:
        deadline = time.monotonic() + self.budget.wall_seconds
        while True:
            got = self._receive(deadline, halt)
            if got is None:
                return None
            if isinstance(got, tuple) and got[0] == seq:
                outcome: Triage | Refused = got[1]
                return outcome
            # A result for an email of an abandoned batch: skip it.
