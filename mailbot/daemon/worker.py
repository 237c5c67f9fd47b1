"""The intake worker process's side: prepare each email it is sent within a CPU budget.

The worker is a fresh interpreter (multiprocessing's spawn) that imports
this module to find its target, so this module and what it imports are
paid again for every batch that brings mail.  It therefore imports only
the stages that face the raw email (``pipeline.facing``) and the records
they pass, and no database library: the worker never queries one.
``sandbox`` is the parent's side, which starts, feeds and restarts it.
"""

from __future__ import annotations

import os
import pickle
import queue
import resource
import signal
import traceback
from dataclasses import replace
from multiprocessing.connection import Connection
from multiprocessing.queues import Queue
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, cast

# The settings' modules (config, rules) are imported here, before the worker
# reports ready, rather than by the first settings' unpickling: the memory
# limit is set at start, and they belong to the idle worker's footprint, not
# to the first email's budget.
from mailbot.config import Config
from mailbot.daemon.sandbox import EXIT_OVER_BUDGET, Budget, Refused
from mailbot.pipeline.facing import prepare
from mailbot.pipeline.records import Context, RawMail, Triage
from mailbot.rules.loader import Rules

if TYPE_CHECKING:
    from mailbot.calls.store import Store


class _NoDatabase:
    """The worker's stand-in for the call store: any use of it fails at once and loudly.

    The stages the worker runs read nothing but the email, the configuration
    and the rules; a stage that reached for the database here would be a bug.
    A real (detached) Store would import SQLAlchemy into every worker.
    """

    def __getattr__(self, name: str) -> NoReturn:
        raise RuntimeError(f"the intake worker has no database (asked for Store.{name})")


class _OverBudget(BaseException):
    """Raised in the worker by its CPU timer.

    A BaseException, so a library's ``except Exception`` cannot swallow it.
    """


_armed = False
_fired = 0


def _on_cpu_timer(signum: int, frame: FrameType | None) -> None:
    global _fired
    if not _armed:
        return
    _fired += 1
    if _fired > 3:
        # Told three times and still running: something swallowed the
        # exception.  Exit; the parent parks the email with this status.
        os._exit(EXIT_OVER_BUDGET)
    raise _OverBudget


def _limit_memory(limit: int) -> None:
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _prepare_one(raw: RawMail, ctx: Context, budget: Budget) -> Triage | Refused:
    """Parse, screen and redact one email under the CPU timer."""
    global _armed, _fired
    _fired = 0
    try:
        try:
            _armed = True
            signal.setitimer(signal.ITIMER_PROF, budget.cpu_seconds, 1.0)
            t = prepare(Triage(key="", raw=raw), ctx)
        finally:
            _armed = False
            signal.setitimer(signal.ITIMER_PROF, 0)
    except _OverBudget:
        return Refused(f"over the CPU budget of {budget.cpu_seconds:g} s per email")
    except MemoryError:
        limit = budget.memory_bytes // (1024 * 1024)
        return Refused(f"out of memory (the worker is limited to {limit} MB)")
    except Exception as exc:
        reason = f"could not be read: {type(exc).__name__}: {exc}"[:500]
        return Refused(reason, traceback.format_exc())
    # The parent has the bytes already; sending them back would double the traffic.
    return replace(t, raw=replace(raw, raw=b""))


def serve(requests: Queue[Any], results: Connection, budget: Budget) -> None:
    """The worker's main loop: settings, then emails, one result per email, in order."""
    # The parent decides when the worker stops: Ctrl-C and systemd's SIGTERM
    # to the whole service reach the worker too, and must not kill it under
    # an innocent email.  The parent kills it with SIGKILL.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGPROF, _on_cpu_timer)
    _limit_memory(budget.memory_bytes)
    results.send(("ready", os.getpid()))
    parent = os.getppid()
    ctx: Context | None = None
    while True:
        try:
            message = requests.get(timeout=1.0)
        except queue.Empty:
            # Orphaned (the parent was killed outright): nobody wants results.
            if os.getppid() != parent:
                return
            continue
        if message is None:
            return
        if message[0] == "settings":
            config, rules = cast("tuple[Config, Rules]", pickle.loads(message[1]))
            store = cast("Store", _NoDatabase())
            ctx = Context(config=config, rules=rules, now=message[2], store=store)
            continue
        _, seq, now, raw = message
        if ctx is None:
            raise RuntimeError("email sent to the intake worker before its settings")
        ctx = replace(ctx, now=now)
        results.send((seq, _prepare_one(raw, ctx, budget)))
