"""The schools and staff directories, and who a sender address belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mailbot.mail.names import person_name

ROLES = frozenset(
    {
        "headteacher",
        "ict_coordinator",
        "bursar",
        "network_manager",
        "teacher",
        "office",
        "spoc",
    }
)

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Rule):
    """A person at a school the team may write to."""

    name: str
    email: str = Field(pattern=_EMAIL)
    roles: tuple[str, ...] = ()
    phone: str = ""
    alt_email: str | None = Field(default=None, pattern=_EMAIL)

    @field_validator("email", "alt_email")
    @classmethod
    def _lower(cls, v: str | None) -> str | None:
        return v.lower() if v else v

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - ROLES)
        if unknown:
            raise ValueError(
                f"unknown role {unknown[0]!r}; known roles: {', '.join(sorted(ROLES))}"
            )
        return v


class School(_Rule):
    """A school the service supports."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    phase: Literal["nursery", "primary", "secondary", "special", "all-through"]
    address: str = ""
    domains: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    # Names or addresses allowed to raise service requests and changes.
    authorised: tuple[str, ...] = ()

    @field_validator("domains", "addresses")
    @classmethod
    def _lower_all(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(x.lower().strip() for x in v)

    def contact_for(self, address: str) -> Contact | None:
        """Return the contact with this address, if the school lists one."""
        return next((c for c in self.contacts if c.email == address), None)

    def with_role(self, role: str) -> tuple[Contact, ...]:
        """Return the school's contacts holding ``role``."""
        return tuple(c for c in self.contacts if role in c.roles)

    def is_authorised(self, name: str, address: str | None) -> bool:
        """Whether a person (by name or address) may raise service requests and changes.

        Headteachers are always authorised; the list holds names or addresses,
        compared without regard to case or spacing.
        """
        wanted = {" ".join(name.lower().split())} if name.strip() else set()
        if address:
            wanted.add(address.lower())
            contact = self.contact_for(address.lower())
            if contact is not None:
                if "headteacher" in contact.roles:
                    return True
                wanted.add(" ".join(contact.name.lower().split()))
        allowed = {" ".join(a.lower().split()) for a in self.authorised}
        return bool(wanted & allowed)


class Officer(_Rule):
    """A member of the support team."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str
    email: str = Field(pattern=_EMAIL)
    team: str
    line_manager: str | None = None

    @field_validator("email")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class Team(_Rule):
    """A group of officers with a shared address and a lead."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    address: str = Field(pattern=_EMAIL)
    lead: str


class SenderKind(StrEnum):
    """What the pipeline knows about who sent a message."""

    SCHOOL = "school"
    STAFF = "staff"
    # A staff address on mail that failed the receiving server's authentication
    # checks: possibly forged, so it is neither trusted nor answered.
    UNVERIFIED = "unverified"
    UNKNOWN = "unknown"
    NONE = "none"


@dataclass(frozen=True)
class Sender:
    """The identified sender of one message."""

    kind: SenderKind
    address: str | None
    name: str
    school: School | None = None
    contact: Contact | None = None
    officer: Officer | None = None


@dataclass(frozen=True)
class Directory:
    """Schools and staff, indexed for lookup by address and domain."""

    schools: tuple[School, ...]
    officers: tuple[Officer, ...]
    teams: tuple[Team, ...]
    project_manager: str | None
    _by_address: dict[str, School] = field(init=False, repr=False, compare=False)
    _by_domain: dict[str, School] = field(init=False, repr=False, compare=False)
    _officers: dict[str, Officer] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_address: dict[str, School] = {}
        by_domain: dict[str, School] = {}
        for school in self.schools:
            for addr in (*school.addresses, *(c.email for c in school.contacts)):
                by_address[addr] = school
            for domain in school.domains:
                by_domain[domain] = school
        # The indexes are derived once here so every lookup is a dict access.
        object.__setattr__(self, "_by_address", by_address)
        object.__setattr__(self, "_by_domain", by_domain)
        object.__setattr__(self, "_officers", {o.email: o for o in self.officers})

    def school(self, school_id: str) -> School | None:
        """Return the school with this id."""
        return next((s for s in self.schools if s.id == school_id), None)

    def officer(self, officer_id: str) -> Officer | None:
        """Return the officer with this id."""
        return next((o for o in self.officers if o.id == officer_id), None)

    def team(self, team_id: str) -> Team | None:
        """Return the team with this id."""
        return next((t for t in self.teams if t.id == team_id), None)

    def is_staff_address(self, address: str) -> bool:
        """Whether ``address`` is an officer's or a team's own address."""
        wanted = address.lower()
        officers: dict[str, Officer] = self._officers
        return wanted in officers or any(t.address.lower() == wanted for t in self.teams)

    def identify(self, address: str | None, name: str = "") -> Sender:
        """Say whether ``address`` is staff, a school (by address, then domain) or unknown."""
        if not address:
            return Sender(SenderKind.NONE, None, name)
        officers: dict[str, Officer] = self._officers
        if address in officers:
            officer = officers[address]
            return Sender(SenderKind.STAFF, address, name or officer.name, officer=officer)
        by_address: dict[str, School] = self._by_address
        school = by_address.get(address)
        if school is None:
            domain = address.rsplit("@", 1)[-1]
            by_domain: dict[str, School] = self._by_domain
            school = by_domain.get(domain)
        if school is None:
            return Sender(SenderKind.UNKNOWN, address, name)
        contact = school.contact_for(address)
        # The directory knows its contacts' names best; otherwise the display
        # name, turned round from "Surname, Forename", unless it names a mailbox.
        display = (contact.name if contact else "") or person_name(name)
        return Sender(SenderKind.SCHOOL, address, display, school=school, contact=contact)
