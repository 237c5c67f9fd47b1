"""Record the daemon's heartbeat and report on its health for `mailbot status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.calls.store import unverified_since
from mailbot.daemon import store
from mailbot.incidents import store as incidents
from mailbot.storage import held, verp
from mailbot.storage.db import Sessions
from mailbot.storage.held import HeldMail
from mailbot.storage.models import ServiceState

# How many of each kind of thing that needs a person `status` lists by name
# (the counts cover them all).
LISTED = 10


@dataclass(frozen=True)
class LateCall:
    """An open call whose fix target has passed."""

    ref: str
    priority: str
    school_id: str | None
    assignee: str | None
    fix_due_at: datetime


@dataclass(frozen=True)
class BoardChange:
    """A change waiting for a Change Advisory Board's decision."""

    ref: str
    school_id: str | None
    board: str
    round: int
    # An emergency change's decision deadline (None for the standard board).
    due_at: datetime | None


@dataclass(frozen=True)
class ActiveIncident:
    """A major incident not yet resolved."""

    ref: str
    title: str
    declared_at: datetime
    email_down: bool


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
    # What needs a person: the calls past target (the first LISTED of
    # ``past_target``), changes waiting for a board, active major incidents
    # and emails held for a human (the longest waiting first).
    late: tuple[LateCall, ...] = ()
    board_total: int = 0
    board: tuple[BoardChange, ...] = ()
    incidents: tuple[ActiveIncident, ...] = ()
    held_total: int = 0
    held: tuple[HeldMail, ...] = ()

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
        if self.past_target:
            refs = ", ".join(c.ref for c in self.late)
            more = ", ..." if self.past_target > len(self.late) else ""
            found.append(f"{self.past_target} call(s) past their fix target: {refs}{more}")
        for change in self.board:
            if change.due_at is not None and change.due_at < now:
                found.append(
                    f"emergency change {change.ref} still undecided after its deadline "
                    f"{change.due_at.isoformat()}"
                )
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
        late = tuple(
            LateCall(c.ref, c.priority, c.school_id, c.assignee, c.fix_due_at)
            for c in store.past_target(session, now, LISTED)
            if c.fix_due_at is not None
        )
        board_total, changes = store.awaiting_board(session, LISTED)
        board = tuple(
            BoardChange(c.ref, c.school_id, c.change_board or "standard", c.change_round,
                        c.change_due_at)
            for c in changes
        )  # fmt: skip
        active = tuple(
            ActiveIncident(i.ref, i.title, i.declared_at, i.email_down)
            for i in incidents.active(session)
        )
        held_total, waiting = held.count_waiting(session), held.waiting(session, limit=LISTED)
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
        late=late,
        board_total=board_total,
        board=board,
        incidents=active,
        held_total=held_total,
        held=tuple(waiting),
    )
