"""An officer given a call by someone else is told, once, in the call's staff thread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import (
    Env,
    authenticated,
    events_of,
    header,
    local,
    make_env_with,
    of_kind,
    plain,
    recipients,
    write_config_file,
)

from mailbot.cli.main import main

LOGGED = local(2026, 11, 23, 9, 5)
TEN = local(2026, 11, 23, 10, 0)
SAM = "sam.okafor@westshire.gov.uk"
RAJ = "raj.patel@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """ICT-000001 logged Monday 09:05, unassigned, with the network team."""
    return make_env_with(tmp_path, db_url, "school-new-request", LOGGED)


def staff_reply(env: Env, sender: str, name: str, lines: str, n: int) -> bytes:
    """An officer's reply to the team's new-call notice, passing the server's checks."""
    notice = of_kind(env, "new_call")[0].message_id
    raw = (
        f'From: "{name}" <{sender}>\r\nTo: ictsupport@westshire.gov.uk\r\n'
        "Subject: RE: [ICT-000001] Oakfield Primary School: Internet very slow\r\n"
        f"In-Reply-To: {notice}\r\nMessage-ID: <assign-{n}@westshire.gov.uk>\r\n\r\n"
        f"{lines}\r\n"
    ).encode()
    return authenticated(raw)


def test_an_officer_assigned_by_someone_else_is_told_in_the_staff_thread(env: Env) -> None:
    raw = staff_reply(env, RAJ, "Raj Patel", "#assign sam", 1)
    env.feed(raw, TEN)
    [row] = of_kind(env, "assigned")
    assert recipients(row) == [SAM]
    assert "ASSIGNED TO YOU: Raj Patel assigned ICT-000001 to you." in plain(row)
    [notice] = of_kind(env, "new_call")
    assert header(row, "Subject") == f"Re: {header(notice, 'Subject')}"
    assert notice.message_id in header(row, "References")
    # The same email seen again (a redelivery) tells nobody twice.
    env.feed(raw, TEN)
    assert len(of_kind(env, "assigned")) == 1


def test_an_officer_who_takes_a_call_is_not_told_what_they_did(env: Env) -> None:
    env.feed(staff_reply(env, SAM, "Sam Okafor", "#take", 2), TEN)
    env.feed(staff_reply(env, SAM, "Sam Okafor", "#assign sam", 3), TEN)
    assert of_kind(env, "assigned") == []


def test_assigning_from_the_command_line_tells_the_officer(
    env: Env, tmp_path: Path, db_url: str
) -> None:
    config = write_config_file(tmp_path, url=db_url)
    argv = ["--config", str(config), "--now", "2026-11-23T10:00", "calls", "assign"]
    assert main([*argv, "ICT-000001", "sam", "--by", RAJ]) == 0
    [row] = of_kind(env, "assigned")
    assert recipients(row) == [SAM] and "Raj Patel assigned ICT-000001" in plain(row)


# Item 17: officers' own words to schools carry one signature and are not
# marked as an automatic reply.


def test_an_officers_reply_is_signed_once_and_not_marked_auto_replied(env: Env) -> None:
    words = "I have restarted the filter; please try again.\r\n\r\nThanks,\r\nSam"
    env.feed(staff_reply(env, SAM, "Sam Okafor", words, 4), TEN)
    [row] = of_kind(env, "staff_reply")
    text = plain(row)
    assert "please try again.\n\nThanks,\n\nSam Okafor\n" in text
    assert "\nSam\n" not in text
    assert header(row, "Auto-Submitted") == "no"


def test_a_last_line_that_is_not_the_officers_name_is_kept(env: Env) -> None:
    words = "The new switch arrives on Friday.\r\nSamples attached"
    env.feed(staff_reply(env, SAM, "Sam Okafor", words, 5), TEN)
    [row] = of_kind(env, "staff_reply")
    assert "The new switch arrives on Friday.\nSamples attached\n\nSam Okafor" in plain(row)


# Item 19: a command-line action's --by must name a staff member, and is recorded.


def test_an_incident_declared_by_someone_not_on_the_staff_is_refused(
    env: Env, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config_file(tmp_path, url=db_url)
    base = ["--config", str(config), "--now", "2026-11-23T10:00", "incidents"]
    assert main([*base, "declare", "Internet down", "--by", "nobody@example.org"]) == 2
    assert "is not an officer in staff.toml" in capsys.readouterr().err
    assert main([*base, "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # A staff member named by id is recorded by address.
    assert main([*base, "declare", "Internet down", "--by", "raj"]) == 0
    capsys.readouterr()
    assert main([*base, "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["declared_by"] == RAJ


def test_a_call_action_by_someone_not_on_the_staff_changes_nothing(
    env: Env, tmp_path: Path, db_url: str
) -> None:
    config = write_config_file(tmp_path, url=db_url)
    argv = ["--config", str(config), "--now", "2026-11-23T10:00", "calls"]
    assert main([*argv, "note", "ICT-000001", "hello", "--by", "nobody@example.org"]) == 2
    assert events_of(env, "note") == []
    assert main([*argv, "note", "ICT-000001", "hello", "--by", "Sam Okafor"]) == 0
    assert [e["actor"] for e in events_of(env, "note")] == [SAM]


def test_the_note_receipt_says_once_that_the_words_stayed_internal(env: Env) -> None:
    words = "#note\r\n\r\nThe head prefers a call after 3pm."
    env.feed(staff_reply(env, SAM, "Sam Okafor", words, 6), TEN)
    [row] = of_kind(env, "receipt")
    text = plain(row).lower()
    assert text.count("internal") == 1 and "school sees nothing" in text
    assert of_kind(env, "staff_reply") == []
