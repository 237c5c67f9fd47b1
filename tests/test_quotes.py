"""Tests for stripping quoted history from replies."""

from __future__ import annotations

import pytest

from mailbot.mail import quotes
from mailbot.mail.quotes import strip_quoted

# --- Client formats -------------------------------------------------------------------


def test_text_without_quotes_is_returned_unchanged() -> None:
    text = "The projector in room 4 has no picture.\n\nThanks,\nAnna"
    assert strip_quoted(text) == text


def test_nothing_new_returns_the_whole_text() -> None:
    text = "> The projector is broken.\n> Please help.\n"
    assert strip_quoted(text) == text


def test_outlook_original_message_separator() -> None:
    text = "Fixed now, thanks.\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\n\nBroken.\n"
    assert strip_quoted(text) == "Fixed now, thanks.\n"


def test_outlook_header_block_without_separator() -> None:
    text = (
        "Still broken.\n\nFrom: ICT Support <ictsupport@westshire.gov.uk>\n"
        "Sent: 10 November 2026 09:00\nTo: Anna\nSubject: RE: Projector\n\nHave you tried?\n"
    )
    assert strip_quoted(text) == "Still broken.\n"


def test_german_outlook_header_block() -> None:
    text = (
        "Geht wieder.\n\nVon: Support\nGesendet: Montag, 9. November 2026 10:00\nAn: Anna\n\nAlt.\n"
    )
    assert strip_quoted(text) == "Geht wieder.\n"


def test_attribution_split_over_two_lines() -> None:
    text = (
        "Yes, every laptop.\n\n"
        "On Tue, 10 Nov 2026 at 09:00, ICT Support <ictsupport@westshire.gov.uk>\n"
        "wrote:\n> Is it every laptop?\n"
    )
    assert strip_quoted(text) == "Yes, every laptop.\n"


def test_attribution_without_quote_marks_below() -> None:
    text = "Yes.\n\nOn 10 Nov 2026, at 09:00, Support wrote:\n\nIs it every laptop?\n"
    assert strip_quoted(text) == "Yes.\n"


def test_french_attribution_over_a_bottom_posted_reply() -> None:
    text = "Le 10/11/2026 09:00, Support a écrit :\n> Est-ce réparé ?\n\nOui, merci.\n"
    assert strip_quoted(text) == "Oui, merci.\n"


def test_russian_attribution_wrapped_by_the_client() -> None:
    text = (
        '10.11.2026 09:00 пользователь "Support" <\n'
        "support@example.org> написал:\n\n> Готово?\nДа\n"
    )
    assert strip_quoted(text) == "Да\n"


def test_reply_above_this_line_delimiter() -> None:
    text = "Thanks, that worked.\n\n-- Reply above this line --\n\nCall WS-1234 has been updated.\n"
    assert strip_quoted(text) == "Thanks, that worked.\n"


def test_answers_between_quoted_parts_are_kept() -> None:
    text = (
        "On Tue, 10 Nov 2026, Support wrote:\n> Which room?\n\nRoom 4.\n\n"
        "> Since when?\n\nSince Monday.\n"
    )
    assert strip_quoted(text) == "Room 4.\nSince Monday.\n"


def test_quote_line_wrapped_without_its_marker_is_dropped() -> None:
    text = (
        "At 09:00 10.11.2026, you wrote:\n"
        "> We would love it if this could be fixed; on our server we are\n"
        "running\n> an old version.\n\nHello again,\nhere is more detail.\n"
    )
    assert strip_quoted(text) == "Hello again,\nhere is more detail.\n"


def test_dash_list_is_not_taken_for_a_signature() -> None:
    text = "These are broken:\n\n-printer in room 4\n-projector in the hall\n\nThanks\nAnna\n"
    assert strip_quoted(text) == text


def test_dash_name_sign_off_is_a_signature() -> None:
    assert strip_quoted("Sorted, thanks.\n\n-Anna\n") == "Sorted, thanks.\n"


def test_sentence_starting_with_on_is_not_an_attribution() -> None:
    text = "On Monday the wifi in the hall stopped.\nOn Tuesday it came back.\n"
    assert strip_quoted(text) == text


def test_german_attribution_with_the_writer_after_the_verb() -> None:
    text = (
        "Danke, geht wieder.\n\n"
        "Am 23.11.2026 um 09:05 schrieb ICT Support <ictsupport@westshire.gov.uk>:\n"
        "> Ist es jeder Laptop?\n"
    )
    assert strip_quoted(text) == "Danke, geht wieder.\n"


def test_german_attribution_wrapped_before_the_address_without_quote_marks() -> None:
    text = (
        "Danke.\n\nAm Mo., 23. Nov. 2026 um 09:05 Uhr schrieb ICT Support <\n"
        "ictsupport@westshire.gov.uk>:\n\nIhr Anruf ICT-000001\n"
    )
    assert strip_quoted(text) == "Danke.\n"


def test_dutch_and_swedish_attributions() -> None:
    dutch = "Bedankt.\n\nOp 23 nov. 2026 om 09:05 schreef ICT Support <s@example.org>:\n> Oud\n"
    swedish = "Tack.\n\nDen 23 nov. 2026 kl. 09:05 skrev ICT Support <s@example.org>:\n> Gammal\n"
    assert strip_quoted(dutch) == "Bedankt.\n"
    assert strip_quoted(swedish) == "Tack.\n"


def test_a_sentence_naming_the_verb_is_not_an_attribution() -> None:
    text = "Am Montag schrieb der Lehrer an die Tafel: nichts geht.\n\nDanke\n"
    assert strip_quoted(text) == text


def test_attribution_check_reads_each_line_at_most_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lines that could each be the first half of a wrapped German attribution:
    # every one is tried alone and joined to the one above, never more.
    lines = ["Danke"] + ["Am 3.12.2026 um 10:15 schrieb Sam <"] * 2000
    calls: list[int] = []
    real = quotes._ends_attribution

    def counted(text: str) -> bool:
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(quotes, "_ends_attribution", counted)
    quotes.strip_quoted("\n".join(lines) + "\n")
    assert len(calls) <= 2 * len(lines)
    assert max(calls) <= 2 * max(len(line) for line in lines) + 1
