"""Tests for spotting missing call-logging details."""

from __future__ import annotations

from mailbot.calls.details import missing_details


def test_bare_report_asks_for_everything() -> None:
    missing = missing_details("Help please", known_phone=False)
    assert missing == (
        "a contact telephone number",
        "when it last worked",
        "how many people or devices are affected",
        "any error messages, word for word",
    )


def test_full_report_asks_for_nothing() -> None:
    text = (
        "The internet has been slow since this morning for all 30 pupils in the ICT suite. "
        "Browsers show the error ERR_TIMED_OUT. Call me on 01632 960101."
    )
    assert missing_details(text, known_phone=False) == ()


def test_known_phone_is_not_asked_for() -> None:
    assert "a contact telephone number" not in missing_details("Help", known_phone=True)


def test_phone_in_text_counts() -> None:
    assert "a contact telephone number" not in missing_details(
        "ring 07700 900123", known_phone=False
    )
