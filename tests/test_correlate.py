"""Tests for finding the reference tag in a subject."""

from __future__ import annotations

import pytest

from mailbot.pipeline.correlate import find_tag


@pytest.mark.parametrize(
    "subject",
    [
        "[ICT-000123] Internet very slow",
        "Re: [ICT-000123] Internet very slow",
        "RE: RE: [ICT-000123] Internet very slow",
        "AW: [ICT-000123] Internet very slow",
        "Fwd: Re: [ICT-000123] Internet very slow",
        "Internet very slow [ICT-000123]",
        "Re: Internet very slow [ict-000123]",
        "Re: [ ICT - 123 ] Internet very slow",
    ],
)
def test_tag_found_wherever_it_sits(subject: str) -> None:
    assert find_tag(subject, "ICT") in {"000123", "123"}


@pytest.mark.parametrize(
    "subject",
    ["ICT-000123 without brackets", "[HR-000123] other desk", "Re: Internet very slow", ""],
)
def test_no_tag_no_match(subject: str) -> None:
    assert find_tag(subject, "ICT") is None
