"""Record the daemon's heartbeat and report on its health for `mailbot status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.calls.store import unverified_since
from mailbot.daemon import store
from mailbot.storage import verp
from mailbot.storage.db import Sessions
from mailbot.storage.models import ServiceState


@dataclass(frozen=True)
class Health:
    """The numbers an administrator wants at a glance."""

    last_poll: datetime | None
    last_error: str
    last_error_at: datetime | None
    outbox_pending: int
    outbox_failed: int
    oldest_pending: datetime | None
    open_calls: int
    near_target: int
    past_target: int
    # Contacts an email of mailbot's bounced from (VERP), and the latest few.
    bounced_total: int = 0
    bounced: tuple[verp.BouncedContactView, ...] = ()
    # Emails from staff addresses held because they could not be verified.
    unverified_day: int = 0
    # Why the OAuth2 grant mailbot signs in to the mail servers with is refused.
    sign_in_problem: str = ""
    # Received emails by outcome (open_call, append, held...), for --json and --prometheus.
    processed: tuple[tuple[str, int], ...] = ()

    def problems(self, now: datetime, poll_seconds: float) -> list[str]:
        """Plain-language reasons the service is not healthy (empty when it is)."""
        found = []
        if self.sign_in_problem:
            found.append(f"mail sign-in refused: {self.sign_in_problem}")
        if self.last_poll is None:
            found.append("the mailbox has never been polled successfully")
        elif now - self.last_poll > timedelta(seconds=max(300, 5 * poll_seconds)):
            found.append(f"no successful mailbox poll since {self.last_poll.isoformat()}")
        if self.outbox_failed:
            found.append(f"{self.outbox_failed} outgoing email(s) failed permanently")
        if self.oldest_pending and now - self.oldest_pending > timedelta(minutes=15):
            found.append(f"outgoing email waiting since {self.oldest_pending.isoformat()}")
        return found


def check(sessions: Sessions, now: datetime) -> Health:
    """Read the health figures from the database (indexed queries only)."""
    with sessions() as session:

        def state(key: str) -> ServiceState | None:
            return session.get(ServiceState, key)

        poll, error = state("last_poll"), state("last_error")
        sign_in = state("sign_in_problem")
        pending, failed, oldest = store.outbox_backlog(session)
        open_calls, near, past = store.call_counts(session, now)
        unverified = unverified_since(session, now - timedelta(days=1))
        bounced_total, bounced = verp.recent(session, limit=10)
        processed = tuple(sorted(store.processed_by_outcome(session).items()))
    return Health(
        last_poll=datetime.fromisoformat(poll.value) if poll else None,
        last_error=error.value if error else "",
        last_error_at=error.at if error else None,
        outbox_pending=pending,
        outbox_failed=failed,
        oldest_pending=oldest.replace(tzinfo=now.tzinfo)
        if oldest and oldest.tzinfo is None
        else oldest,
        open_calls=open_calls,
        near_target=near,
        past_target=past,
        bounced_total=bounced_total,
        bounced=bounced,
        unverified_day=unverified,
        sign_in_problem=sign_in.value if sign_in else "",
        processed=processed,
    )
