"""Tests for recognising senders from the schools and staff directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.rules.directory import Directory, SenderKind
from mailbot.rules.loader import load_rules

SHIPPED = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture(scope="module")
def directory() -> Directory:
    return load_rules(SHIPPED).directory


def test_contact_address_identifies_school_and_contact(directory: Directory) -> None:
    sender = directory.identify("head@oakfield-primary.westshire.sch.uk")
    assert sender.kind is SenderKind.SCHOOL
    assert sender.school is not None and sender.school.id == "oakfield-primary"
    assert sender.contact is not None and sender.contact.name == "Helen Marsh"
    assert sender.name == "Helen Marsh"


def test_unlisted_address_on_school_domain_is_that_school(directory: Directory) -> None:
    sender = directory.identify("new.teacher@brookfield-high.westshire.sch.uk", "New Teacher")
    assert sender.kind is SenderKind.SCHOOL
    assert sender.school is not None and sender.school.id == "brookfield-high"
    assert sender.contact is None


def test_staff_address_is_staff(directory: Directory) -> None:
    sender = directory.identify("sam.okafor@westshire.gov.uk")
    assert sender.kind is SenderKind.STAFF
    assert sender.officer is not None and sender.officer.id == "sam"


def test_other_address_is_unknown(directory: Directory) -> None:
    assert directory.identify("someone@gmail.example").kind is SenderKind.UNKNOWN


def test_lookalike_domain_is_not_the_school(directory: Directory) -> None:
    sender = directory.identify("head@oakfield-primary.westshire.sch.uk.evil.example")
    assert sender.kind is SenderKind.UNKNOWN


def test_no_address_is_none(directory: Directory) -> None:
    assert directory.identify(None).kind is SenderKind.NONE


def test_spoc_role_lookup(directory: Directory) -> None:
    school = directory.school("riverside-academy")
    assert school is not None
    assert [c.name for c in school.with_role("spoc")] == ["Aisha Rahman"]
