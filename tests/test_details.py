"""Tests for spotting missing call-logging details."""

from __future__ import annotations

from mailbot.calls.details import missing_details


def test_bare_report_asks_for_everything() -> None:
    missing = missing_details("Help please", known_phone=False)
    assert missing == (
        "a contact telephone number",
        "when it last worked",
        "what happened just before it stopped working",
        "how many people or devices are affected",
        "any error messages, word for word",
    )


def test_full_report_asks_for_nothing() -> None:
    text = (
        "The internet has been slow since this morning for all 30 pupils in the ICT suite. "
        "Browsers show the error ERR_TIMED_OUT after the update. Call me on 01632 960101."
    )
    assert missing_details(text, known_phone=False) == ()


def test_known_phone_is_not_asked_for() -> None:
    assert "a contact telephone number" not in missing_details("Help", known_phone=True)


def test_phone_in_text_counts() -> None:
    assert "a contact telephone number" not in missing_details(
        "ring 07700 900123", known_phone=False
    )


def test_requests_are_asked_what_a_request_needs_not_fault_questions() -> None:
    missing = missing_details("New mailbox please", known_phone=True, call_type="service_request")
    assert missing == ("who it is for (names, or how many people)", "the date you need it by")


def test_changes_are_asked_why_when_and_what_it_affects() -> None:
    missing = missing_details("Firewall rule", known_phone=True, call_type="change_request")
    assert missing == (
        "why the change is needed",
        "when it should be made",
        "who or what it will affect",
    )


def test_complaints_are_asked_no_questions() -> None:
    assert missing_details("Not happy", known_phone=False, call_type="complaint") == ()


def test_an_unknown_name_is_asked_for_first() -> None:
    missing = missing_details("Help", known_phone=True, known_name=False)
    assert missing[0].startswith("your name")
