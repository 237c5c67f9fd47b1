"""Tests for staff working a call by replying: commands, relay to the school, receipts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from support import (
    Env,
    authenticated,
    events_of,
    local,
    mail,
    make_env_with,
    of_kind,
    parsed,
    plain,
    show,
)

from mailbot.pipeline.records import Action

MONDAY_9 = local(2026, 11, 23, 9, 5)
TEN = local(2026, 11, 23, 10, 0)
SAM = "sam.okafor@westshire.gov.uk"
HEAD = "head@oakfield-primary.westshire.sch.uk"
SPOC = "t.reeves@oakfield-primary.westshire.sch.uk"
TEAM = "network-team@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """A mailbot holding ICT-000001 (Oakfield's slow internet, P2), on each database."""
    return make_env_with(tmp_path, db_url, "school-new-request", MONDAY_9)


def staff_mail(env: Env, name: str, now: datetime = TEN) -> None:
    notice = of_kind(env, "new_call")[0].message_id
    env.feed(mail(name, notice_id=notice), now)


def test_commands_at_the_top_of_a_reply_are_applied(env: Env) -> None:
    staff_mail(env, "staff-commands-and-words-for-the-school")
    shown = show(env)
    assert (shown["assignee"], shown["priority"], shown["status"]) == ("sam", "P1", "in_progress")


def test_each_change_is_an_event_naming_who_made_it(env: Env) -> None:
    staff_mail(env, "staff-commands-and-words-for-the-school")
    for kind, detail in (
        ("assigned", "nobody -> sam"),
        ("priority", "P2 -> P1"),
        ("status", "open -> in_progress"),
    ):
        [event] = events_of(env, kind)
        assert (event["actor"], event["detail"]) == (SAM, detail)


def test_the_words_below_the_commands_go_to_the_school_in_its_thread(env: Env) -> None:
    staff_mail(env, "staff-commands-and-words-for-the-school")
    [sent] = of_kind(env, "staff_reply")
    assert json.loads(sent.recipients) == [HEAD, SPOC]
    msg = parsed(sent)
    assert msg["From"].addresses[0].addr_spec == "ictsupport@westshire.gov.uk"
    assert msg["Subject"] == "Re: [ICT-000001] Internet very slow in the ICT suite"
    # The #priority above it was told to the school first, in the same thread.
    [targets] = of_kind(env, "targets_changed")
    assert parsed(targets)["In-Reply-To"] == of_kind(env, "confirmation")[0].message_id
    assert msg["In-Reply-To"] == targets.message_id
    body = plain(sent)
    assert body.startswith("Hello Helen, I am looking at the filtering appliance now")
    assert "#assign" not in body and "Original Message" not in body and "NEW P2" not in body
    assert "Sam Okafor" in body


def test_the_officers_words_to_the_school_stop_the_response_clock(env: Env) -> None:
    staff_mail(env, "staff-commands-and-words-for-the-school")
    assert show(env)["responded_at"] == TEN.isoformat()


def test_the_officer_gets_a_receipt_saying_what_was_done(env: Env) -> None:
    staff_mail(env, "staff-commands-and-words-for-the-school")
    [receipt] = of_kind(env, "receipt")
    assert json.loads(receipt.recipients) == [SAM]
    body = plain(receipt)
    assert body.startswith("DONE on ICT-000001:")
    assert "assigned to sam" in body and "priority P2 -> P1" in body
    assert f"your message went to the school: {HEAD}, {SPOC}" in body


def test_the_receipt_continues_the_staff_thread_under_one_subject(env: Env) -> None:
    staff_mail(env, "staff-commands-and-words-for-the-school")
    [notice] = of_kind(env, "new_call")
    [receipt] = of_kind(env, "receipt")
    assert parsed(receipt)["Subject"] == "Re: " + parsed(notice)["Subject"]
    assert parsed(receipt)["In-Reply-To"] == "<staff-commands-1@westshire.gov.uk>"
    assert notice.message_id in parsed(receipt)["References"]


def test_a_bad_command_is_explained_and_changes_nothing(env: Env) -> None:
    staff_mail(env, "staff-bad-priority")
    shown = show(env)
    assert (shown["assignee"], shown["priority"]) == (None, "P2")
    assert of_kind(env, "staff_reply") == []
    body = plain(of_kind(env, "receipt")[0])
    assert body.startswith("NOTHING DONE on ICT-000001")
    assert "#priority P7: no priority 'P7'; priorities are Critical, P1, P2, P3, P4" in body


def test_an_unknown_command_suggests_the_one_meant(env: Env) -> None:
    staff_mail(env, "staff-unknown-command")
    body = plain(of_kind(env, "receipt")[0])
    assert "there is no command #asign; did you mean #assign?" in body
    assert show(env)["assignee"] is None


def test_a_note_stays_internal(env: Env) -> None:
    staff_mail(env, "staff-note")
    [note] = events_of(env, "note")
    assert note["detail"].startswith("INTERNAL-ONLY the head wants this fixed before Ofsted")
    assert of_kind(env, "staff_reply") == []
    for row in env.outbox():
        if HEAD in json.loads(row.recipients):
            assert b"INTERNAL-ONLY" not in row.raw
    assert "kept as an internal note" in plain(of_kind(env, "receipt")[0])


def test_solved_puts_the_officers_words_in_the_solved_notice(env: Env) -> None:
    staff_mail(env, "staff-solved-with-words")
    assert show(env)["status"] == "solved"
    [notice] = of_kind(env, "solved")
    assert "We replaced the faulty switch in the ICT suite" in plain(notice)
    assert of_kind(env, "staff_reply") == []


def test_an_agreed_deadline_replaces_the_fix_target_with_its_reason(env: Env) -> None:
    staff_mail(env, "staff-deadline-agreed")
    shown = show(env)
    assert shown["revised_due_at"] == "2026-12-04T17:00:00+00:00"
    assert shown["revised_reason"] == "agreed with the head: a new switch must be ordered"
    assert shown["status"] == "awaiting_customer"
    assert "as agreed on the phone" in plain(of_kind(env, "staff_reply")[0])


def test_link_and_type_and_an_inline_note_together(env: Env) -> None:
    env.feed(
        mail("school-new-request").replace(b"new-request-1@", b"second@"),
        local(2026, 11, 23, 9, 30),
    )
    staff_mail(env, "staff-link-and-type")
    assert show(env)["related"] == ["ICT-000002"]
    assert show(env, "ICT-000002")["related"] == ["ICT-000001"]
    assert show(env)["type"] == "service_request"
    assert events_of(env, "note")[0]["detail"] == "same cabinet as the other call"


def test_a_reply_without_commands_is_relayed_to_the_school(env: Env) -> None:
    staff_mail(env, "staff-plain-reply")
    [sent] = of_kind(env, "staff_reply")
    assert "Could you tell me which room the slow machines are in?" in plain(sent)
    assert "DONE on ICT-000001" in plain(of_kind(env, "receipt")[0])


def test_help_lists_every_command_in_the_receipt(env: Env) -> None:
    staff_mail(env, "staff-help")
    body = plain(of_kind(env, "receipt")[0])
    for word in ("#assign", "#priority", "#status", "#deadline", "#link", "#note", "#type"):
        assert f"\n{word}" in body
    assert of_kind(env, "staff_reply") == []


def test_command_lines_from_a_school_are_ordinary_text(env: Env) -> None:
    confirmation = of_kind(env, "confirmation")[0].message_id
    env.feed(mail("school-writes-command-lines", confirmation_id=confirmation), TEN)
    shown = show(env)
    assert (shown["status"], shown["priority"]) == ("open", "P2")
    [relayed] = of_kind(env, "school_reply")
    assert "#status solved" in plain(relayed)
    assert of_kind(env, "receipt") == []


def test_another_school_cannot_reach_a_call_by_its_reference(env: Env) -> None:
    t = env.feed(mail("other-school-uses-anothers-reference"), TEN)
    # No spurious call for the other school: held for a human, the writer told.
    assert t.call is None and t.action is Action.NOT_THEIR_CALL and env.count_calls() == 1
    assert show(env)["status"] == "open"
    for row in env.outbox():
        if "head@st-marys-ce.westshire.sch.uk" in json.loads(row.recipients):
            assert b"ICT-000001" not in row.raw
            assert b"The internet has been very slow" not in row.raw


def test_the_same_staff_email_delivered_twice_is_acted_on_once(env: Env) -> None:
    staff_mail(env, "staff-commands-and-words-for-the-school")
    staff_mail(env, "staff-commands-and-words-for-the-school", local(2026, 11, 23, 10, 5))
    assert len(of_kind(env, "staff_reply")) == 1
    assert len(of_kind(env, "receipt")) == 1
    assert len(events_of(env, "priority")) == 1


def test_a_new_call_from_staff_applies_its_commands(env: Env) -> None:
    raw = (
        b"From: Sam Okafor <sam.okafor@westshire.gov.uk>\r\n"
        b"To: ictsupport@westshire.gov.uk\r\n"
        b"Subject: Core switch at the civic centre is failing\r\n"
        b"Message-ID: <staff-new-1@westshire.gov.uk>\r\n\r\n"
        b"#priority P1\r\n#take\r\n\r\nThe core switch keeps rebooting.\r\n"
    )
    t = env.feed(authenticated(raw), TEN)
    assert t.action is Action.OPEN_CALL and t.call is not None
    shown = show(env, t.call.ref)
    assert (shown["priority"], shown["assignee"]) == ("P1", "sam")
    assert "DONE on ICT-000002" in plain(of_kind(env, "receipt")[0])
