"""Read-only snapshots of calls and incidents, and what staff actions say about themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CallView:
    """A read-only snapshot of a call, for stages that must not touch the database."""

    id: int
    ref: str
    status: str
    type: str
    priority: str
    school_id: str | None
    requester_email: str | None
    requester_name: str
    subject: str
    created_at: datetime
    clock_start_at: datetime | None
    response_due_at: datetime | None
    fix_due_at: datetime | None
    escalation_level: int = 0
    assignee: str | None = None
    missing: tuple[str, ...] = ()
    solved_at: datetime | None = None
    team: str | None = None
    category: str = "general"
    incident_id: int | None = None
    # The board reviewing (or that reviewed) a change: "standard" or "emergency".
    change_board: str | None = None
    # When the closure notice invited the requester to rate the call, if it did.
    rating_invited_at: datetime | None = None


@dataclass(frozen=True)
class IncidentView:
    """A read-only snapshot of a major incident and its latest notice."""

    id: int
    ref: str
    title: str
    status: str
    email_down: bool
    declared_at: datetime
    resolved_at: datetime | None
    latest_kind: str
    latest_text: str
    latest_at: datetime
    seq: int


@dataclass(frozen=True)
class Classification:
    """How the rules classify a new call."""

    type: str
    category: str
    priority: str
    team: str | None
    rule: str


@dataclass(frozen=True)
class Worked:
    """What the commands in one email (or one command line) did, for the receipt.

    ``refused`` explains each command that could not be carried out; when it is
    not empty nothing was changed and nothing was sent.  ``sent_to`` lists who
    received the writer's words; ``internal`` says they were kept as a note.
    """

    ref: str
    done: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    sent_to: tuple[str, ...] = ()
    internal: bool = False
    help: bool = False
    # The fix target the call was solved after, in words, when nobody has
    # said why it was missed: the receipt asks for a #reason.
    missed_target: str = ""


@dataclass(frozen=True)
class Refused:
    """Why a requested change was not made; nothing was changed."""

    message: str


@dataclass(frozen=True)
class Staff:
    """Who is acting, and the moment they act."""

    actor: str
    now: datetime
