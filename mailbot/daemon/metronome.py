"""The metronome: APScheduler runs periodic jobs that read what is due from the database."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

Job = Callable[[], Awaitable[None]]


class Metronome:
    """Runs each job on a fixed interval inside the daemon's event loop.

    Jobs must be safe to run late or twice: they select due rows, so a missed
    tick is caught up by the next one rather than replayed.
    """

    def __init__(self) -> None:
        # APScheduler logs every run of every job at INFO; with ticks every
        # few seconds that would bury what the jobs themselves report.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    def every(self, seconds: float, job: Job, name: str) -> None:
        """Run ``job`` every ``seconds``; never two copies of one job at once."""
        self._scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    def start(self) -> None:
        """Start ticking (needs a running event loop)."""
        self._scheduler.start()

    def stop(self) -> None:
        """Stop ticking without waiting for running jobs."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
