"""The frozen records that flow through the pipeline, and the context each stage gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

# The records' fields name these types only in annotations: importing them
# here would make the intake worker (which builds a Triage) and the daemon's
# empty pass import the call store and SQLAlchemy, the rules and the command
# grammar.  An unpickled record imports its values' own modules.
if TYPE_CHECKING:
    from datetime import datetime

    from mailbot.calls.rating import Rating
    from mailbot.calls.records import CallView, Classification, IncidentView, Worked
    from mailbot.calls.store import Store
    from mailbot.commands.grammar import Instructions
    from mailbot.config import Config
    from mailbot.mail.message import ParsedMessage
    from mailbot.mail.outgoing import Outgoing
    from mailbot.mail.screen import Screening
    from mailbot.rules.directory import Sender
    from mailbot.rules.loader import Rules


class Action(StrEnum):
    """What the pipeline decided to do with one email."""

    OPEN_CALL = "open_call"
    APPEND = "append"  # A person wrote on an existing call.
    RECORD = "record"  # Automatic mail on an existing call: kept, changes nothing.
    IGNORE = "ignore"  # Automatic mail with no call: kept, never answered.
    UNKNOWN_REPLY = "unknown_reply"  # A stranger: polite reply, kept for a human.
    HOLD = "hold"  # Kept for a human, nothing sent.
    OVERSIZE = "oversize"  # Over the size limit: explain, keep the headers.
    DUPLICATE = "duplicate"  # Already handled (a redelivery, or seen before a crash).
    REOPEN = "reopen"  # The school said soon after its call was solved that it is not fixed.
    THANKS = "thanks"  # The school thanked us on a solved call: recorded; it closes early.
    FOLLOW_UP = "follow_up"  # The school replied long after: a new, cross-referenced call.
    # Mail from a staff address that failed authentication: kept for a human,
    # and the address's owner warned (at most once an hour).
    UNVERIFIED = "unverified"
    # One more new call from a domain that already opened its hourly share:
    # kept for a human, and the desk told (once an hour per domain).
    FLOODED = "flooded"
    # From an address blocked as a mail loop: kept, never answered.
    BLOCKED = "blocked"
    # A school quoted another school's call reference: kept for a human, and
    # the writer told (once a day) that it is not one of their school's calls.
    NOT_THEIR_CALL = "not_their_call"
    # The requester rated a closed call by replying to its closure notice:
    # recorded (the latest within the window wins), the call stays closed.
    RATE = "rate"
    # A rating that came after the window closed: kept on the call, not counted.
    RATE_LATE = "rate_late"


@dataclass(frozen=True)
class RawMail:
    """One email as fetched: its bytes (or only its headers when oversize)."""

    raw: bytes
    size: int
    truncated: bool = False
    uid: int | None = None


@dataclass(frozen=True)
class RefusedDecision:
    """A decision by email (#authorise, a vote, #withdraw...) that did not prove its sender.

    Nothing in the email was carried out; ``person`` (whose address it came
    from) is told, in reply to ``answer_to``, the email of ours it should have
    answered (None when we never sent them one on this call).
    """

    person: str
    name: str
    command: str
    reason: str
    answer_to: str | None


@dataclass(frozen=True)
class Triage:
    """Everything known about one email so far; each stage returns a new one."""

    key: str
    raw: RawMail
    msg: ParsedMessage | None = None
    screening: Screening | None = None
    oversize: bool = False
    password_found: bool = False
    # The command lines at the top of the email and the words below them,
    # read once (after redaction) for every stage that asks.
    commands: Instructions | None = None
    sender: Sender | None = None
    call: CallView | None = None
    thread_via: str = ""
    # A staff email on a call that also went to the school (it counts as the
    # response, and its words need no relaying); worked out once, by act.
    staff_wrote_to_school: bool = False
    classification: Classification | None = None
    action: Action | None = None
    reason: str = ""
    message_row: int | None = None
    # For a follow-up, the solved or closed call the new one continues.
    previous: CallView | None = None
    # The active major incident a new call was linked to, if any.
    incident: IncidentView | None = None
    # What the commands at the top of a staff email (or a headteacher's
    # #authorise) did; None when the email carried none and relayed nothing.
    worked: Worked | None = None
    # A decision that did not come provably from its person's mailbox.
    refused_decision: RefusedDecision | None = None
    # The school's reply restarted a clock paused while awaiting the school.
    resumed: bool = False
    # The reference a school quoted in the subject that belongs to another
    # school's call (as the writer wrote it; nothing of the call is kept here).
    foreign_ref: str = ""
    # The rating this email gave its closed call (set by act for Action.RATE).
    rated: Rating | None = None
    outgoing: tuple[Outgoing, ...] = ()
    notes: tuple[str, ...] = field(default=())
    # Set when parse, screen and redact have already run (in the intake
    # worker process); those stages then pass the record through unchanged.
    prepared: bool = False
    # Set by a stage that has settled everything; later stages are skipped.
    finished: bool = False

    @property
    def parsed(self) -> ParsedMessage:
        """The parsed message; stages after parse may rely on it."""
        if self.msg is None:
            raise RuntimeError("stage ran before parse")
        return self.msg

    @property
    def instructions(self) -> Instructions:
        """The email's commands; stages after read_commands may rely on them."""
        if self.commands is None:
            raise RuntimeError("stage ran before read_commands")
        return self.commands


@dataclass(frozen=True)
class Context:
    """What every stage may consult: configuration, rules, the instant, the store."""

    config: Config
    rules: Rules
    now: datetime
    store: Store
