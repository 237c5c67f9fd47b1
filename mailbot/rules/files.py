"""The shape of each rule file, as pydantic models: what keys exist, their types and limits."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mailbot.rules.directory import Officer, School, Team
from mailbot.sla.calendar import Target

PRIORITIES = ("Critical", "P1", "P2", "P3", "P4")
CALL_TYPES = ("incident", "service_request", "change_request", "complaint")


class Rule(BaseModel):
    """A rule file's table: unknown keys are errors, and the loaded value never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- policy.toml -----------------------------------------------------------


class References(Rule):
    prefix: str = Field(default="ICT", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    width: int = Field(default=6, ge=3, le=12)


class Limits(Rule):
    max_message_mb: float = Field(default=15, gt=0)
    auto_replies_per_sender_per_hour: int = Field(default=5, ge=1)
    # A loop that stays under the hourly cap (an auto-acknowledger that strips
    # Auto-Submitted) still reaches this many replies a day: the address is then
    # blocked, answered no more and its mail held, until a human unblocks it.
    auto_replies_per_address_per_day: int = Field(default=30, ge=1)
    # Replies to strangers (addresses that are neither a school's nor staff)
    # can be aimed at a victim by forging From, so they are capped per domain
    # and overall, as well as per address.
    stranger_replies_per_domain_per_hour: int = Field(default=3, ge=1)
    stranger_replies_per_hour: int = Field(default=20, ge=1)
    # More new calls than this from one sender domain in an hour is a flood:
    # the rest are held for a human and the team below told once an hour.
    new_calls_per_domain_per_hour: int = Field(default=20, ge=1)
    flood_notice_team: str = "service-desk"


class UnknownSenders(Rule):
    # reply: one polite reply a day, no call, message kept for a human.
    # open: anyone may open a call.  hold: keep the message, say nothing.
    action: Literal["reply", "open", "hold"] = "reply"
    reply_interval_hours: float = Field(default=24, gt=0)


class Held(Rule):
    # The daily digest of the held queue (`mailbot held list`): sent to this
    # team when support opens on a working day, only when something waits.
    digest: bool = True
    digest_team: str = "service-desk"


class Satisfaction(Rule):
    # The closure notice invites a one-word rating by reply: a number from 1
    # to ``scale`` or one of ``words`` (each worth a number on the scale),
    # then any comment.  One rating per call; a later reply within
    # ``window_days`` of the closure replaces the earlier one.
    enabled: bool = True
    scale: int = Field(default=5, ge=2, le=10)
    words: dict[str, int] = Field(default_factory=lambda: {"good": 5, "ok": 3, "poor": 1})
    # Ratings at or below this are passed to the call's officer (or its team).
    poor_at_most: int = Field(default=2, ge=1)
    window_days: int = Field(default=14, ge=1, le=365)
    # Which call types are invited to rate (problems never are).
    call_types: tuple[
        Literal["incident", "service_request", "change_request", "complaint"], ...
    ] = (
        "incident",
        "service_request",
    )

    @field_validator("words")
    @classmethod
    def _words(cls, words: dict[str, int]) -> dict[str, int]:
        # Words are matched without regard to case, as one token.
        lowered = {w.strip().lower(): n for w, n in words.items()}
        for word, n in lowered.items():
            if not re.fullmatch(r"[a-z][a-z'-]{0,19}", word):
                raise ValueError(f"rating word {word!r} must be one word of letters")
            if n < 1:
                raise ValueError(f"rating word {word!r} must be worth 1 or more")
        return lowered


class Policy(Rule):
    references: References = References()
    limits: Limits = Limits()
    unknown_senders: UnknownSenders = UnknownSenders()
    held: Held = Held()
    satisfaction: Satisfaction = Satisfaction()

    @field_validator("satisfaction")
    @classmethod
    def _scale(cls, s: Satisfaction) -> Satisfaction:
        # Every word and the poor threshold must sit on the scale.
        over = [w for w, n in s.words.items() if n > s.scale]
        if over:
            raise ValueError(f"rating words {over} are worth more than the scale {s.scale}")
        if s.poor_at_most >= s.scale:
            raise ValueError("satisfaction.poor_at_most must be below the scale")
        return s


# --- classify.toml ---------------------------------------------------------


class Assign(Rule):
    type: Literal["incident", "service_request", "change_request", "complaint"] | None = None
    category: str | None = None
    priority: Literal["Critical", "P1", "P2", "P3", "P4"] | None = None
    team: str | None = None


class Match(Rule):
    sender: str | None = None
    subject: str | None = None
    body: str | None = None
    text: str | None = None

    @field_validator("sender", "subject", "body", "text")
    @classmethod
    def _valid_regex(cls, v: str | None) -> str | None:
        return _check_regex(v)


def _check_regex(v: str | None) -> str | None:
    """Refuse a pattern Python cannot compile, naming the problem."""
    if v is not None:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    return v


class ClassRule(Rule):
    name: str
    match: Match
    set: Assign


class Lift(Rule):
    """Raise a new call's priority when every pattern matches its subject and body."""

    name: str
    to: Literal["Critical", "P1", "P2", "P3", "P4"]
    all: tuple[str, ...] = Field(min_length=1)
    unless: str | None = None
    types: tuple[Literal["incident", "service_request", "change_request", "complaint"], ...] = (
        "incident",
    )

    @field_validator("all")
    @classmethod
    def _valid_patterns(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in v:
            _check_regex(pattern)
        return v

    @field_validator("unless")
    @classmethod
    def _valid_unless(cls, v: str | None) -> str | None:
        return _check_regex(v)


class Classification(Rule):
    default: Assign = Assign(type="incident", priority="P3", category="general")
    rule: tuple[ClassRule, ...] = ()
    lift: tuple[Lift, ...] = ()


# --- sla.toml --------------------------------------------------------------


class PriorityTarget(Rule):
    description: str
    response: str
    fix: str

    @field_validator("response", "fix")
    @classmethod
    def _valid_target(cls, v: str) -> str:
        Target.parse(v)
        return v


class Escalation(Rule):
    level: int = Field(ge=1)
    share: float = Field(gt=0, lt=1)
    notify: tuple[Literal["assignee", "line_manager", "team_lead", "project_manager"], ...]


class Term(Rule):
    start: date
    end: date
    # The termly service review this part belongs to, e.g. "autumn-2026":
    # the parts sharing a name make one review term.  Left out: the season
    # of the start (autumn from August, spring from January, summer from
    # April) and its year.
    name: str = Field(default="", pattern=r"^$|^[a-z0-9][a-z0-9-]{0,31}$")


class CalendarRules(Rule):
    zone: str = "Europe/London"
    term_hours: str = Field(default="08:00-17:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$")
    holiday_hours: str = Field(default="09:00-16:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$")
    terms: tuple[Term, ...] = ()
    closures: tuple[date, ...] = ()


class Lifecycle(Rule):
    # Statuses during which the fix clock stands still.
    pause_statuses: tuple[Literal["awaiting_customer", "in_progress"], ...] = ("awaiting_customer",)
    close_after: str = "3 days"
    reopen_within: str = "1 day"
    # A fresh email about the same fault this soon after a call was solved is
    # cross-referenced to it, like a late reply.
    recurrence_within: str = "2 weeks"
    # A problem record is opened once this many incidents recur in one chain.
    problem_after: int = Field(default=2, ge=2)

    @field_validator("close_after", "reopen_within", "recurrence_within")
    @classmethod
    def _valid_target(cls, v: str) -> str:
        Target.parse(v)
        return v


class Sla(Rule):
    priorities: dict[Literal["Critical", "P1", "P2", "P3", "P4"], PriorityTarget]
    escalation: tuple[Escalation, ...] = ()
    calendar: CalendarRules = CalendarRules()
    lifecycle: Lifecycle = Lifecycle()


# --- changes.toml, reports.toml ----------------------------------------------
# These files are optional: an installation that has not written one gets the
# defaults below, so upgrading never breaks a working rules directory.  The
# optional lists.toml and incidents.toml are shaped in incidentfiles.py.


class ChangeRules(Rule):
    """The electronic Change Advisory Board: who decides changes, and how."""

    # Officer ids or addresses of the board, and of the smaller emergency board.
    board: tuple[str, ...] = ()
    emergency_board: tuple[str, ...] = ()
    # "first": the first vote decides.  "quorum": `quorum` votes one way decide.
    decision: Literal["first", "quorum"] = "first"
    quorum: int = Field(default=2, ge=1)
    # How long the emergency board has to decide (support time or hours).
    emergency_deadline: str = "2 hours"
    # The priority an emergency change is worked at: raising one lifts the
    # call to it (a call already more urgent keeps its own), so the targets
    # counted from the approval are emergency ones.
    emergency_priority: Literal["Critical", "P1", "P2", "P3", "P4"] = "P1"

    @field_validator("emergency_deadline")
    @classmethod
    def _valid_target(cls, v: str) -> str:
        Target.parse(v)
        return v


class SchoolReport(Rule):
    """A school that asked for its own monthly report, and who receives it."""

    school: str
    to: tuple[str, ...] = ()


class ReviewRules(Rule):
    """The termly service review pack, emailed when each term ends."""

    # Officer ids or addresses who get the overall pack (default: the project manager).
    to: tuple[str, ...] = ()
    # Whether each school's headteachers also get the school's own pack.
    heads: bool = False


class ReportRules(Rule):
    """The monthly report: its aims, and who receives which version."""

    # Share of calls fixed within target the contract aims for, per call type.
    aims: dict[str, float] = Field(
        default_factory=lambda: {"incident": 0.97, "service_request": 0.87}
    )
    # Officer ids or addresses who get the overall report (default: the project manager).
    to: tuple[str, ...] = ()
    schools: tuple[SchoolReport, ...] = ()
    review: ReviewRules = Field(default_factory=lambda: ReviewRules())


# --- staff.toml and schools.toml ------------------------------------------


class StaffFile(Rule):
    project_manager: str | None = None
    team: tuple[Team, ...] = ()
    officer: tuple[Officer, ...] = ()


class SchoolsFile(Rule):
    school: tuple[School, ...] = ()
