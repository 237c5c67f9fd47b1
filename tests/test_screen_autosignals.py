"""Tests for the screen's signals of bounce addresses, mail gateways and challenge-response mail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.mail import screenfacts, screenwords
from mailbot.mail.parse import parse_message
from mailbot.mail.screen import Screening, Verdict, screen

MAIL = Path(__file__).resolve().parent / "mail"
OWN = frozenset({"ictsupport@westshire.gov.uk"})


def verdict_of(name: str) -> Screening:
    msg = parse_message((MAIL / f"{name}.eml").read_bytes())
    return screen(msg, own_addresses=OWN)


# --- Bounces delivered to a bounce address -----------------------------------


def test_bounce_relayed_to_a_list_bounce_address_is_a_bounce() -> None:
    result = verdict_of("list-relayed-bounce")
    assert result.verdict is Verdict.BOUNCE
    assert "parents-bounces+" in result.reason


def test_mail_delivered_to_a_list_owner_address_is_a_bounce() -> None:
    result = verdict_of("list-owner-delivered-bounce")
    assert result.verdict is Verdict.BOUNCE
    assert "governors-owner@" in result.reason


def test_person_copying_a_list_owner_is_still_a_person() -> None:
    assert verdict_of("person-copies-list-owner").verdict is Verdict.HUMAN


@pytest.mark.parametrize(
    "address",
    [
        "staff-bounces+ictsupport=westshire.gov.uk@lists.example.org",
        "bounce-4471-ictsupport=westshire.gov.uk@news.example.com",
        "bounces+12345-ab12-ictsupport=westshire.gov.uk@em.example.net",
        "owner-parents@lists.example.org",
        "srs0=ab12=xy=westshire.gov.uk=ictsupport@forwarder.example",
        "prvs=1234abcd5=ictsupport@westshire.gov.uk",
    ],
)
def test_every_kind_of_bounce_address_in_delivered_to_is_a_bounce(address: str) -> None:
    raw = (
        f"Delivered-To: {address}\nFrom: Someone <someone@example.org>\n"
        "To: ictsupport@westshire.gov.uk\nSubject: about your message\n\n"
        "It did not arrive.\n"
    ).encode()
    assert screen(parse_message(raw), own_addresses=OWN).verdict is Verdict.BOUNCE


# --- Virus scanners, content filters and gateways ----------------------------


def test_gateway_notice_with_encoded_word_subject_is_a_bounce() -> None:
    raw = (MAIL / "gateway-virus-notice-encoded-subject.eml").read_bytes()
    assert b"=?utf-8?q?Message_blocked" in raw  # The subject really is an encoded word.
    result = verdict_of("gateway-virus-notice-encoded-subject")
    assert result.verdict is Verdict.BOUNCE
    assert "Message blocked: virus found" in result.reason


def test_gateway_delivery_failure_with_japanese_encoded_subject_is_a_bounce() -> None:
    assert (
        b"=?iso-2022-jp?b?" in (MAIL / "gateway-delivery-failure-japanese-subject.eml").read_bytes()
    )
    assert verdict_of("gateway-delivery-failure-japanese-subject").verdict is Verdict.BOUNCE


@pytest.mark.parametrize(
    "subject",
    [
        # Quoted by the gateway: new.
        '"=?utf-8?B?VW5kZWxpdmVyYWJsZTo=?= Spring term dates"',
        # A charset nobody knows, and words split mid-way: these already
        # worked before the gateway signals and are kept as guards.
        "=?x-unknown?Q?Mail_delivery_failed?=",
        "=?UTF-8?B?VW5kZWxpdmVy?= =?UTF-8?B?YWJsZTog?= Spring term dates",
    ],
)
def test_encoded_word_bounce_subjects_are_decoded_before_matching(subject: str) -> None:
    raw = (
        "From: Relay <relay@gw.oakfield.sch.uk>\nTo: ictsupport@westshire.gov.uk\n"
        f"Subject: {subject}\n\n"
        "This message was created automatically by mail delivery software.\n"
    ).encode()
    assert screen(parse_message(raw), own_addresses=OWN).verdict is Verdict.BOUNCE


def test_notice_from_an_antivirus_sender_is_a_bounce() -> None:
    result = verdict_of("antivirus-sender-notice")
    assert result.verdict is Verdict.BOUNCE
    assert "antivirus@" in result.reason


def test_person_forwarding_a_blocked_email_is_still_a_person() -> None:
    assert verdict_of("person-forwards-blocked-email").verdict is Verdict.HUMAN


# --- Challenge-response -----------------------------------------------------


def test_confirm_you_are_human_from_a_confirmation_address_is_automatic() -> None:
    result = verdict_of("challenge-confirm-human")
    assert result.verdict is Verdict.AUTO_REPLY
    assert "challenge-response" in result.reason


def test_tmda_challenge_is_automatic_even_titled_as_a_reply() -> None:
    result = verdict_of("challenge-tmda-header")
    assert result.verdict is Verdict.AUTO_REPLY
    assert "TMDA" in result.reason


def test_challenge_told_by_subject_and_opening_is_automatic() -> None:
    assert verdict_of("challenge-held-until-confirmed").verdict is Verdict.AUTO_REPLY


def test_person_asking_about_challenge_mail_is_still_a_person() -> None:
    assert verdict_of("person-asks-about-challenge-mail").verdict is Verdict.HUMAN


# --- Linearity ----------------------------------------------------------------


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The length of the text each regular-expression search of the screen saw."""
    seen: list[int] = []
    real = screenfacts.search

    def counting(pattern: str, text: str) -> object:
        seen.append(len(text))
        return real(pattern, text)

    monkeypatch.setattr(screenfacts, "search", counting)
    yield seen


def _hostile(shape: str, n: int) -> bytes:
    head = "From: MAILER-DAEMON-like <x@example.org>\nTo: ictsupport@westshire.gov.uk\n"
    if shape == "blank lines":
        return (head + "Subject: hello\n\n" + "\n" * n + "final-recipient: x\n").encode()
    if shape == "lines of spaces":
        return (head + "Subject: hello\n\n" + " \n" * (n // 2)).encode()
    if shape == "one long line":
        return (head + "Subject: hello\n\n" + "a " * (n // 2)).encode()
    if shape == "bracketed subject":
        return (head + "Subject: " + "[" * n + "\n\nhi\n").encode()
    if shape == "spaced subject":
        return (head + "Subject: re" + " " * n + "x\n\nhi\n").encode()
    raise AssertionError(shape)


SHAPES = ["blank lines", "lines of spaces", "one long line", "bracketed subject", "spaced subject"]


@pytest.mark.parametrize("shape", SHAPES)
def test_screen_searches_bounded_windows_and_grows_linearly(
    shape: str, searches: list[int]
) -> None:
    """Every search sees at most one window; the total text searched grows with the input.

    20 KB of blank lines through `^\\s*...` patterns once took 31 s: each of
    20,000 line starts re-scanned the rest of the text.  Now no search sees
    more than a window, so a message of four times the size costs at most
    about four times as many searched characters.
    """
    totals = []
    for n in (4_000, 16_000):
        searches.clear()
        screen(parse_message(_hostile(shape, n)), own_addresses=OWN)
        assert max(searches) <= screenfacts.WINDOW
        totals.append(sum(searches))
    assert totals[1] <= 4.4 * totals[0]


def test_body_windows_never_exceed_the_window_and_cover_long_lines() -> None:
    line = "x" * 5_000 + " this is the mail system at host mx.example " + "y" * 5_000
    windows = screenfacts.windows(line)
    assert all(len(w) <= screenfacts.WINDOW for w in windows)
    assert any("this is the mail system at host" in w for w in windows)
    assert screenfacts.windows("\n" * 20_000) == ()


def test_no_line_anchored_pattern_runs_on_across_lines() -> None:
    """`^\\s*` after a line anchor is the quadratic shape; `^[ \\t]*` is used instead."""
    groups = [v for k, v in vars(screenwords).items() if k.isupper() and isinstance(v, tuple)]
    patterns = [p for group in groups for p in group if isinstance(p, str)]
    assert patterns
    assert not [p for p in patterns if "^\\s" in p]
