"""Tests for what staff are sent: the new-call notice and the school's replies, relayed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import STAFF_KINDS, Env, local, mail, make_env, of_kind, parsed, plain

from mailbot.calls import records
from mailbot.commands import actions
from mailbot.daemon import jobs
from mailbot.pipeline.records import Action
from mailbot.storage.db import transaction
from mailbot.storage.models import Outbox

MONDAY_9 = local(2026, 11, 23, 9, 5)
TEAM = "network-team@westshire.gov.uk"
SAM = "sam.okafor@westshire.gov.uk"
PRIYA = "priya.shah@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """A configured mailbot on each supported database."""
    return make_env(tmp_path, db_url)


def confirmation_id(env: Env) -> str:
    return of_kind(env, "confirmation")[0].message_id


def test_a_new_call_is_announced_to_the_owning_team(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    [notice] = of_kind(env, "new_call")
    assert json.loads(notice.recipients) == [TEAM]
    assert parsed(notice)["Subject"] == (
        "[ICT-000001] Oakfield Primary School: Internet very slow in the ICT suite"
    )
    assert plain(notice).startswith("NEW P2 INCIDENT ICT-000001\n")


def test_the_new_call_notice_has_what_staff_need_to_act(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    body = plain(of_kind(env, "new_call")[0])
    assert "School:    Oakfield Primary School" in body
    assert "From:      Helen Marsh <head@oakfield-primary.westshire.sch.uk>" in body
    assert "Phone:     01632 960101" in body
    assert "Response:  by 9.05am on Tuesday 24 November" in body
    assert "Fix:       by 9.05am on Wednesday 25 November" in body
    assert "The internet has been very slow in the ICT suite" in body


def test_the_new_call_notice_puts_the_schools_words_near_the_top(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    lines = plain(of_kind(env, "new_call")[0]).splitlines()
    # The headline and the commands, then what the school wrote; the facts follow it.
    assert lines.index("Helen Marsh wrote:") <= 7
    assert lines[lines.index("Helen Marsh wrote:") + 2] == "Hello,"


def test_the_new_call_notice_lists_attachments(env: Env) -> None:
    raw = mail("attachments-named-unnamed-and-encoded").replace(
        b"From: Bursar <bursar@oakfield.sch.uk>",
        b"From: Helen Marsh <head@oakfield-primary.westshire.sch.uk>",
    )
    env.feed(raw, MONDAY_9)
    body = plain(of_kind(env, "new_call")[0])
    assert "Attachments:" in body and " KB)" in body


def test_a_complaint_goes_to_the_project_manager_not_the_team(env: Env) -> None:
    env.feed(mail("school-complaint"), MONDAY_9)
    [notice] = of_kind(env, "new_call")
    assert json.loads(notice.recipients) == [PRIYA]
    assert plain(notice).startswith("NEW P3 COMPLAINT")


def test_a_school_reply_is_relayed_to_the_team_while_unassigned(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    raw = mail("school-reply-outlook-quoted", confirmation_id=confirmation_id(env))
    env.feed(raw, local(2026, 11, 23, 10, 12))
    [relayed] = of_kind(env, "school_reply")
    assert json.loads(relayed.recipients) == [TEAM]
    body = plain(relayed)
    assert "It affects all 30 machines in the suite." in body
    assert "Original Message" not in body


def test_a_school_reply_goes_to_the_assigned_officer(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    with transaction(env.sessions) as session:
        call = actions.find_call(session, env.rules, "ICT-000001")
        assert call is not None
        actions.assign(session, env.rules, call, "sam", records.Staff(SAM, MONDAY_9))
    raw = mail("school-reply-outlook-quoted", confirmation_id=confirmation_id(env))
    env.feed(raw, local(2026, 11, 23, 10, 12))
    [relayed] = of_kind(env, "school_reply")
    assert json.loads(relayed.recipients) == [SAM]


def test_the_relayed_reply_continues_the_staff_thread(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    raw = mail("school-reply-outlook-quoted", confirmation_id=confirmation_id(env))
    env.feed(raw, local(2026, 11, 23, 10, 12))
    [notice] = of_kind(env, "new_call")
    [relayed] = of_kind(env, "school_reply")
    assert parsed(relayed)["In-Reply-To"] == notice.message_id


def test_automatic_mail_on_a_call_is_not_relayed(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    raw = mail("out-of-office-on-thread", confirmation_id=confirmation_id(env))
    env.feed(raw, local(2026, 11, 23, 9, 6))
    assert of_kind(env, "school_reply") == []


def test_staff_writing_on_a_call_is_not_relayed_back_to_staff(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    t = env.feed(mail("staff-writes-to-school"), local(2026, 11, 23, 11, 0))
    assert t.action is Action.APPEND
    assert of_kind(env, "school_reply") == []


def test_a_reply_that_reopens_a_call_tells_staff_it_was_reopened(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    with transaction(env.sessions) as session:
        call = actions.find_call(session, env.rules, "ICT-000001")
        assert call is not None
        by = records.Staff(SAM, local(2026, 11, 24, 10, 0))
        actions.set_status(session, env.config, env.rules, call, "solved", by)
    env.feed(mail("school-reply-still-broken", n="<again@x>"), local(2026, 11, 24, 15, 0))
    [relayed] = of_kind(env, "school_reply")
    assert plain(relayed).startswith("REOPENED: Helen Marsh's reply reopened ICT-000001")


def test_every_staff_email_on_a_call_has_one_subject_so_clients_thread_them(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    raw = mail("school-reply-outlook-quoted", confirmation_id=confirmation_id(env))
    env.feed(raw, local(2026, 11, 23, 10, 12))
    [notice] = of_kind(env, "new_call")
    [relayed] = of_kind(env, "school_reply")
    assert parsed(relayed)["Subject"] == "Re: " + parsed(notice)["Subject"]
    assert parsed(relayed)["References"].split()[-1] == notice.message_id


def test_a_follow_up_call_notice_names_the_earlier_call(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    with transaction(env.sessions) as session:
        call = actions.find_call(session, env.rules, "ICT-000001")
        assert call is not None
        by = records.Staff(SAM, local(2026, 11, 24, 10, 0))
        actions.set_status(session, env.config, env.rules, call, "solved", by)
    env.feed(mail("school-reply-still-broken", n="<again@x>"), local(2026, 11, 26, 10, 0))
    notices = of_kind(env, "new_call")
    assert "Follows on from ICT-000001" in plain(notices[-1])


def test_notices_to_staff_are_not_held_back_by_the_hourly_reply_limit(env: Env) -> None:
    for n in range(8):
        raw = mail("school-new-request").replace(b"new-request-1@", f"busy-{n}@".encode())
        env.feed(raw.replace(b"<head@", f"<teacher{n}@".encode()), local(2026, 11, 23, 9, n))
    assert len(of_kind(env, "new_call")) == 8


def test_a_staff_reply_to_the_notice_threads_onto_the_call(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    notice_id = of_kind(env, "new_call")[0].message_id
    raw = (
        mail("staff-reply-to-escalation")
        .replace(b"Subject: RE: [ICT-000001] Escalation level 1:", b"Subject: RE: Re:")
        .replace(b"Message-ID:", f"In-Reply-To: {notice_id}\nMessage-ID:".encode())
    )
    t = env.feed(raw, local(2026, 11, 23, 9, 30))
    assert t.action is Action.APPEND and t.call is not None and t.call.ref == "ICT-000001"
    assert t.thread_via == "threading headers"


def _staff_mail_of_every_kind(env: Env) -> list[Outbox]:
    """A new-call notice, a relayed reply, a receipt and an escalation for ICT-000001."""
    env.feed(mail("school-new-request"), MONDAY_9)
    notice = of_kind(env, "new_call")[0].message_id
    raw = mail("school-reply-outlook-quoted", confirmation_id=confirmation_id(env))
    env.feed(raw, local(2026, 11, 23, 10, 12))
    env.feed(mail("staff-commands-and-words-for-the-school", notice_id=notice), MONDAY_9)
    jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 24, 16, 0))
    return [o for o in env.outbox() if o.kind in STAFF_KINDS]


def test_every_staff_email_lists_the_commands_at_the_top(env: Env) -> None:
    rows = _staff_mail_of_every_kind(env)
    assert {o.kind for o in rows} >= {"new_call", "school_reply", "receipt"}
    assert any(o.kind.startswith("escalation") for o in rows)
    for row in rows:
        # A receipt first says what was done (a line per command), then the commands.
        top = plain(row).splitlines()[:12]
        assert any("#assign" in line for line in top), (row.kind, top)


def test_staff_emails_fit_a_narrow_screen(env: Env) -> None:
    school_words = set(mail("school-new-request").decode().splitlines())
    school_words |= set(mail("school-reply-outlook-quoted").decode().splitlines())
    for row in _staff_mail_of_every_kind(env):
        for line in plain(row).splitlines():
            if line.strip() and line not in school_words and "@" not in line:
                assert len(line) <= 76, (row.kind, line)


def test_the_schools_words_come_before_the_details_in_a_relayed_reply(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    raw = mail("school-reply-outlook-quoted", confirmation_id=confirmation_id(env))
    env.feed(raw, local(2026, 11, 23, 10, 12))
    lines = plain(of_kind(env, "school_reply")[0]).splitlines()
    assert lines.index("Helen Marsh wrote:") <= 6
