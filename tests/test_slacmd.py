"""Tests for `mailbot sla deadline`: answers from the rules alone, as text or JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import ROOT

from mailbot.cli.main import main

EXAMPLE = str(ROOT / "config.example.toml")


def deadline(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(["--config", EXAMPLE, "sla", "deadline", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_p2_late_friday_is_due_monday_and_tuesday_at_the_same_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    [row] = deadline(capsys, "--priority", "P2", "--at", "2026-11-20T16:30")
    assert row["priority"] == "P2"
    assert row["logged"] == "2026-11-20T16:30:00+00:00"
    assert row["response_due"] == "2026-11-23T16:30:00+00:00"
    assert row["fix_due"] == "2026-11-24T16:30:00+00:00"


def test_p1_at_quarter_to_five_on_friday_must_be_answered_by_quarter_to_nine_monday(
    capsys: pytest.CaptureFixture[str],
) -> None:
    [row] = deadline(capsys, "--priority", "P1", "--at", "2026-11-20T16:45")
    assert row["response_due"] == "2026-11-23T08:45:00+00:00"


def test_good_friday_2027_starts_the_clock_at_nine_on_the_tuesday_in_summer_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    [row] = deadline(capsys, "--priority", "P1", "--at", "2027-03-26T10:00")
    assert row["start"] == "2027-03-30T09:00:00+01:00"


def test_escalations_list_each_level_at_its_share_of_the_fix_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    [row] = deadline(capsys, "--priority", "P2", "--at", "2026-11-20T16:30")
    assert row["escalations"] == [
        {"level": 1, "at": "2026-11-24T10:12:00+00:00"},
        {"level": 2, "at": "2026-11-24T13:48:00+00:00"},
    ]


def test_several_instants_give_one_answer_each_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = deadline(
        capsys, "--priority", "p3", "--at", "2026-11-23T09:00", "--at", "2026-12-24T15:00"
    )
    assert [r["logged"] for r in rows] == ["2026-11-23T09:00:00+00:00", "2026-12-24T15:00:00+00:00"]
    assert all(r["priority"] == "P3" for r in rows)


def test_an_instant_with_an_offset_is_taken_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    [row] = deadline(capsys, "--priority", "2", "--at", "2026-11-20T17:30+01:00")
    assert row["logged"] == "2026-11-20T16:30:00+00:00"


def test_without_at_the_answer_is_for_the_now_instant(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", EXAMPLE, "--now", "2026-11-20T16:30", "sla", "deadline",
                 "--priority", "P2", "--json"])  # fmt: skip
    assert code == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["fix_due"] == "2026-11-24T16:30:00+00:00"


def test_text_answer_says_the_times_in_plain_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", EXAMPLE, "sla", "deadline", "--priority", "P2",
                 "--at", "2026-11-20T16:30"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "fix due" in out and "4.30pm on Tuesday 24 November" in out


def test_an_unknown_priority_is_refused_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--config", EXAMPLE, "sla", "deadline", "--priority", "P7",
                 "--at", "2026-11-20T16:30"]) == 2  # fmt: skip
    assert "priorities are Critical, P1, P2, P3, P4" in capsys.readouterr().err


def test_an_unreadable_instant_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", EXAMPLE, "sla", "deadline", "--priority", "P2",
                 "--at", "next tuesday"]) == 2  # fmt: skip
    assert "not an ISO 8601 time" in capsys.readouterr().err
