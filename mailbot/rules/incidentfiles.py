"""The shape of lists.toml and incidents.toml: lists, incidents, planned work, availability."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from mailbot.rules.files import Rule
from mailbot.sla.calendar import parse_hours

# Both files are optional: an installation that has not written one gets the
# defaults below, so upgrading never breaks a working rules directory.

Phase = Literal["nursery", "primary", "secondary", "special", "all-through"]


class DistributionList(Rule):
    """A list of school contacts, built at send time from the schools directory."""

    name: str = Field(min_length=1)
    # Contacts holding any of these roles; an empty list means every contact.
    roles: tuple[str, ...] = ()
    # Schools of these phases; an empty list means every school.
    phases: tuple[Phase, ...] = ()


class ListsFile(Rule):
    list: tuple[DistributionList, ...] = ()


# The services the SLA's availability clause covers, as staff name them.
SLA_SERVICES = (
    "email",
    "pupil email",
    "email filtering",
    "internet",
    "web filtering",
    "moodle",
    "web hosting",
)


def _opening_hours(text: str) -> None:
    """Check hours written "08:30-15:30" that open before they close."""
    opens, closes = parse_hours(text)
    if not opens < closes:
        raise ValueError(f"{text!r} must open before it closes")


class PlannedRules(Rule):
    """Planned maintenance: how it is numbered, announced, reminded and kept out of core time."""

    prefix: str = Field(default="PW", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    # The distribution lists its notices go to; empty means the incident lists.
    lists: tuple[str, ...] = ()
    # Work announced with less notice than this is refused (hours of clock time).
    min_notice_hours: int = Field(default=48, ge=0)
    # The reminder goes this many hours before the start (0: no reminder).
    reminder_hours: int = Field(default=24, ge=0)
    # School core time: term-time weekdays (bank holidays excluded) in these hours.
    core_time: str = "08:30-15:30"
    # What happens to work that falls in core time: "refuse" it, or "warn" and go ahead.
    in_core_time: Literal["refuse", "warn"] = "refuse"

    @field_validator("core_time")
    @classmethod
    def _valid_hours(cls, v: str) -> str:
        _opening_hours(v)
        return v


class AvailabilityRules(Rule):
    """The SLA's availability clause: its target and the hours it counts."""

    # "available on average 99.5% of the time".
    target: float = Field(default=0.995, gt=0, le=1)
    # Availability hours on term-time weekdays, and on weekdays in the holidays
    # (bank holidays excluded; the terms and bank holidays are sla.toml's).
    term_hours: str = "08:00-18:00"
    holiday_hours: str = "09:00-16:00"
    # Whether a partial outage counts as down time (otherwise it is listed
    # beside the figure but not counted).
    count_partial: bool = False

    @field_validator("term_hours", "holiday_hours")
    @classmethod
    def _valid_hours(cls, v: str) -> str:
        _opening_hours(v)
        return v


class IncidentRules(Rule):
    """How major incidents are broadcast and recognised."""

    prefix: str = Field(default="MI", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    # The distribution lists every declare, update and resolve goes to.
    lists: tuple[str, ...] = ()
    # Recipients queued into the outbox per scheduler tick, so that a large
    # broadcast never holds the database for long.
    batch: int = Field(default=200, ge=1, le=10000)
    # While an incident is active, a new call in the category of the call it
    # was declared on is linked to it (as well as any call matching its keywords).
    match_category: bool = True
    # The services incidents and planned work may name (the SLA's scope).
    services: tuple[str, ...] = SLA_SERVICES
    # [planned] in incidents.toml: planned maintenance.
    planned: PlannedRules = PlannedRules()
    # [availability] in incidents.toml: the SLA's availability figures.
    availability: AvailabilityRules = AvailabilityRules()

    @field_validator("services")
    @classmethod
    def _lower(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(" ".join(s.lower().split()) for s in v if s.strip())
