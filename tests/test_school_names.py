"""How mailbot greets a school and what it asks: names, shared mailboxes, questions by call type."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

import pytest
from support import Env, local, make_env, plain

from mailbot.mail.names import person_name

MONDAY_9 = local(2026, 11, 23, 9, 5)
_ids = itertools.count(1)


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def new_mail(env: Env, sender: str, subject: str, body: str, when: datetime = MONDAY_9) -> str:
    raw = (
        f"From: {sender}\r\nTo: ictsupport@westshire.gov.uk\r\nSubject: {subject}\r\n"
        "Date: Mon, 23 Nov 2026 09:02:11 +0000\r\n"
        f"Message-ID: <names-{next(_ids)}@school.example>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()
    env.feed(raw, when)
    return plain(env.to_schools()[-1])


@pytest.mark.parametrize(
    ("display", "name"),
    [
        ("Rahman, Aisha", "Aisha Rahman"),
        ("Helen Marsh (Head)", "Helen Marsh"),
        ('"O\'Brien, Mary-Jane"', "Mary-Jane O'Brien"),
        ("Helen Marsh", "Helen Marsh"),
        ("Oakfield Primary Office", ""),
        ("ICT Team", ""),
        ("admissions@school.example", ""),
        ("", ""),
    ],
)
def test_person_name_turns_surname_first_round_and_refuses_mailboxes(
    display: str, name: str
) -> None:
    assert person_name(display) == name


def test_person_name_is_bounded() -> None:
    assert person_name("a, " + "b" * 100_000) == ""


# --- item 4: names ---------------------------------------------------------------


def test_surname_first_is_turned_round_in_the_greeting(env: Env) -> None:
    text = new_mail(
        env,
        '"Rahman, Aisha" <a.rahman@riverside-academy.westshire.sch.uk>',
        "Projector in S4",
        "The projector in S4 shows no picture since this morning.",
    )
    assert "Dear Aisha Rahman," in text and "Rahman, Aisha" not in text


def test_a_known_contact_is_greeted_by_the_directory_name(env: Env) -> None:
    text = new_mail(
        env,
        '"HMARSH" <head@oakfield-primary.westshire.sch.uk>',
        "Printer jammed",
        "The Year 2 printer keeps jamming.",
    )
    assert "Dear Helen Marsh," in text


# --- item 3: the name is asked when unknown; questions by call type -------------------


def test_a_shared_office_mailbox_is_not_greeted_by_its_name_and_is_asked_a_name(
    env: Env,
) -> None:
    text = new_mail(
        env,
        '"Oakfield Primary Office" <office@oakfield-primary.westshire.sch.uk>',
        "Printer jammed",
        "The Year 2 printer keeps jamming.",
    )
    assert "Dear colleague," in text and "Dear Oakfield" not in text
    assert "  - your name (this email came from a shared or unnamed mailbox)" in text


def test_an_address_with_no_name_is_asked_a_name(env: Env) -> None:
    text = new_mail(
        env,
        "j.smith@oakfield-primary.westshire.sch.uk",
        "Printer jammed",
        "The Year 2 printer keeps jamming.",
    )
    assert "Dear colleague," in text and "your name" in text


def test_a_named_contact_is_not_asked_a_name(env: Env) -> None:
    text = new_mail(
        env,
        "Helen Marsh <head@oakfield-primary.westshire.sch.uk>",
        "Printer jammed",
        "The Year 2 printer keeps jamming.",
    )
    assert "your name" not in text


def test_a_request_is_not_asked_fault_questions(env: Env) -> None:
    text = new_mail(
        env,
        "Helen Marsh <head@oakfield-primary.westshire.sch.uk>",
        "New mailbox",
        "We need a new mailbox please.",
    )
    assert "when it last worked" not in text and "error messages" not in text
    assert "the date you need it by" in text and "who it is for" in text


def test_an_incident_is_asked_what_happened_just_before(env: Env) -> None:
    text = new_mail(
        env,
        "Helen Marsh <head@oakfield-primary.westshire.sch.uk>",
        "Printer jammed",
        "The Year 2 printer keeps jamming.",
    )
    assert "what happened just before it stopped working" in text
    assert "when it last worked" in text
