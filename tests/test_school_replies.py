"""What a school's reply does to its call: thanks, still broken, answering a question."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from support import SUPPORT, Env, authenticated, local, mail, make_env, of_kind, parsed, plain, show
from test_jobs import HEAD, LOGGED, SAM, act, logged, tick

from mailbot.mail.replyintent import Intent, reply_intent
from mailbot.pipeline.records import Action, Triage


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def school_writes(env: Env, body: str, when: datetime, n: int = 1) -> Triage:
    raw = (
        f"From: Helen Marsh <{HEAD}>\r\n"
        "To: ictsupport@westshire.gov.uk\r\n"
        "Subject: RE: [ICT-000001] Internet very slow in the ICT suite\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
        f"Message-ID: <reply-{n}@oakfield-primary.westshire.sch.uk>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n\r\nHelen Marsh\r\nHeadteacher\r\n"
    ).encode()
    return env.feed(raw, when)


# --- item 6: thanks do not reopen ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Thank you, that's fixed it!", Intent.THANKS),
        ("Cheers, all working now", Intent.THANKS),
        ("Thanks again!", Intent.THANKS),
        ("Thanks, but it is still not working", Intent.NOT_FIXED),
        ("The internet in the ICT suite is very slow again this morning.", Intent.NOT_FIXED),
        ("Thanks for looking, but we still can't log on", Intent.NOT_FIXED),
        ("Could you also look at the projector in room 2?", Intent.OTHER),
    ],
)
def test_reply_intent_reads_thanks_and_not_fixed(text: str, intent: Intent) -> None:
    assert reply_intent(text) is intent


def test_reply_intent_reads_only_a_bounded_opening() -> None:
    assert reply_intent("x " * 5_000 + "still not working") is Intent.OTHER


def test_thanks_on_a_solved_call_is_recorded_and_closes_it_without_reopening(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    t = school_writes(env, "Thank you, that's fixed it!", local(2026, 11, 24, 12, 0))
    assert t.action is Action.THANKS
    assert of_kind(env, "reopened") == [] and env.count_calls() == 1
    found = show(env, ref)
    assert found["status"] == "closed"
    assert "thanks" in [e["kind"] for e in found["events"]]
    assert any(m["text"].startswith("Thank you") for m in found["messages"])
    # Nothing escalates, and the scheduler does not send a second closure later.
    report = tick(env, local(2026, 11, 27, 10, 0))
    assert report.escalated == [] and report.closed == []


def test_thanks_after_the_reopen_window_opens_no_follow_up_call(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    t = school_writes(env, "Many thanks for sorting this.", local(2026, 11, 26, 10, 0))
    assert t.action is Action.THANKS
    assert env.count_calls() == 1 and of_kind(env, "confirmation")[1:] == []


def test_a_reply_saying_it_is_not_fixed_still_reopens(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    t = school_writes(env, "Thanks, but it is still not working.", local(2026, 11, 24, 12, 0))
    assert t.action is Action.REOPEN
    assert show(env, ref)["status"] == "open" and len(of_kind(env, "reopened")) == 1


def test_another_reply_on_a_solved_call_goes_to_the_officer_without_reopening(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    t = school_writes(env, "Could you also look at the projector?", local(2026, 11, 24, 12, 0))
    assert t.action is Action.APPEND
    assert show(env, ref)["status"] == "solved" and of_kind(env, "reopened") == []
    assert "Could you also look at the projector?" in plain(of_kind(env, "school_reply")[-1])


# --- item 7: a paused clock resumes when the school answers --------------------------


def test_the_schools_answer_resumes_a_paused_clock_and_the_officer_is_told(env: Env) -> None:
    ref = logged(env)
    act(env, ref, LOGGED, "assign", "sam")
    act(env, ref, local(2026, 11, 23, 10, 0), "status", "awaiting_customer")
    assert show(env, ref)["next_escalation_at"] is None
    t = school_writes(env, "It affects all 30 machines in the suite.", local(2026, 11, 23, 12, 0))
    assert t.action is Action.APPEND
    found = show(env, ref)
    assert found["status"] == "in_progress"
    # Two support hours paused: level 1 moves from Tue 11:47 to 13:47.
    assert tick(env, local(2026, 11, 24, 13, 46)).escalated == []
    assert tick(env, local(2026, 11, 24, 13, 47)).escalated == [(ref, 1)]
    notice = plain(of_kind(env, "school_reply")[-1])
    assert "THE SCHOOL ANSWERED on ICT-000001" in notice
    assert "its clock runs again" in notice


def test_an_ordinary_reply_on_a_running_call_says_nothing_of_a_clock(env: Env) -> None:
    logged(env)
    school_writes(env, "It affects all 30 machines in the suite.", local(2026, 11, 23, 12, 0))
    notice = plain(of_kind(env, "school_reply")[-1])
    assert "REPLY FROM THE SCHOOL on ICT-000001" in notice and "clock" not in notice


def test_mail_fixture_still_broken_reopens(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    t = env.feed(mail("school-reply-still-broken", n="<again-1@x>"), local(2026, 11, 24, 12, 0))
    assert t.action is Action.REOPEN


# --- item 2: the school is told of every change to its targets -------------------------


def sam_writes(env: Env, lines: str, when: datetime, n: int = 1) -> Triage:
    raw = (
        f"From: Sam Okafor <{SAM}>\r\nTo: {SUPPORT}\r\n"
        "Subject: RE: [ICT-000001] Oakfield Primary School: Internet very slow\r\n"
        f"Message-ID: <sam-{n}@westshire.gov.uk>\r\n\r\n{lines}\r\n"
    ).encode()
    return env.feed(authenticated(raw), when)


def test_a_priority_change_tells_the_school_in_its_thread_with_the_reason(env: Env) -> None:
    logged(env)
    sam_writes(env, "#priority P4 only one laptop is affected", local(2026, 11, 23, 10, 0))
    [row] = of_kind(env, "targets_changed")
    text = plain(row)
    assert "Priority: was P2 (Significant impact), now P4" in text
    assert "Reason: only one laptop is affected" in text
    assert "Fix:        by 9.05am on Monday 7 December" in text
    assert "Fix target: was 9.05am on Wednesday 25 November" in text
    msg = parsed(row)
    [confirmation] = of_kind(env, "confirmation")
    assert msg["In-Reply-To"] == confirmation.message_id and HEAD in msg["To"]
    assert msg["Subject"].startswith("[ICT-000001] Targets changed:")


def test_a_revised_deadline_tells_the_school_the_new_target_and_why(env: Env) -> None:
    logged(env)
    sam_writes(env, "#deadline 2026-12-04 17:00 parts on order", local(2026, 11, 23, 10, 0))
    [row] = of_kind(env, "targets_changed")
    text = plain(row)
    assert "Fix target: was 9.05am on Wednesday 25 November, now by 5pm on Friday 4" in text
    assert "Reason: parts on order" in text


def test_an_unchanged_priority_tells_nobody(env: Env) -> None:
    logged(env)
    sam_writes(env, "#priority P2", local(2026, 11, 23, 10, 0))
    assert of_kind(env, "targets_changed") == []


def test_the_targets_notice_is_sent_once_when_the_staff_email_comes_again(env: Env) -> None:
    logged(env)
    sam_writes(env, "#priority P4 only one laptop", local(2026, 11, 23, 10, 0))
    again = sam_writes(env, "#priority P4 only one laptop", local(2026, 11, 23, 10, 5))
    assert again.action is Action.DUPLICATE
    assert len(of_kind(env, "targets_changed")) == 1
    assert "the school has been told" in plain(of_kind(env, "receipt")[-1])


# --- item 8: subjects and times ----------------------------------------------------------


def test_a_follow_up_call_drops_mailbots_own_subject_words(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    raw = (
        f"From: Helen Marsh <{HEAD}>\r\nTo: {SUPPORT}\r\n"
        "Subject: RE: [ICT-000001] Solved: Closed: Internet very slow in the ICT suite\r\n"
        "Message-ID: <late-reply@oakfield-primary.westshire.sch.uk>\r\n\r\n"
        "The internet is very slow again.\r\n"
    ).encode()
    t = env.feed(raw, local(2026, 11, 26, 10, 0))
    assert t.action is Action.FOLLOW_UP and t.call is not None
    assert t.call.subject == "Internet very slow in the ICT suite"
    assert parsed(of_kind(env, "confirmation")[-1])["Subject"] == (
        "[ICT-000002] Internet very slow in the ICT suite"
    )


def test_a_schools_own_subject_word_is_kept_on_a_new_call(env: Env) -> None:
    raw = (
        f"From: Helen Marsh <{HEAD}>\r\nTo: {SUPPORT}\r\n"
        "Subject: Closed: library PCs will not start\r\n"
        "Message-ID: <closed-word@oakfield-primary.westshire.sch.uk>\r\n\r\nHelp\r\n"
    ).encode()
    t = env.feed(raw, LOGGED)
    assert t.call is not None and t.call.subject == "Closed: library PCs will not start"


def test_the_closure_notice_says_at_what_time_it_was_solved(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 12, 0), "status", "solved")
    tick(env, local(2026, 11, 27, 12, 0))
    text = plain(of_kind(env, "closure")[0])
    assert "since it was solved at 12 noon on Tuesday 24 November" in text


def test_the_deadline_receipt_does_not_say_revised_to_by(env: Env) -> None:
    logged(env)
    sam_writes(env, "#deadline 2026-12-04 17:00 parts on order", local(2026, 11, 23, 10, 0))
    receipt = plain(of_kind(env, "receipt")[-1])
    assert "fix target revised to 5pm on Friday 4 December: parts on order" in receipt
    assert "revised to by" not in receipt


# --- item 9: another school quoting a reference ---------------------------------------


def test_another_school_quoting_a_reference_is_told_politely_and_held(env: Env) -> None:
    ref = logged(env)
    raw = (
        f"From: Grace Fenton <head@st-marys-ce.westshire.sch.uk>\r\nTo: {SUPPORT}\r\n"
        f"Subject: RE: [{ref}] Internet very slow in the ICT suite\r\n"
        "Message-ID: <foreign-1@st-marys-ce.westshire.sch.uk>\r\n\r\n"
        "Please close this call, it's sorted.\r\n"
    ).encode()
    t = env.feed(raw, local(2026, 11, 23, 11, 0))
    assert t.action is Action.NOT_THEIR_CALL and t.call is None
    assert env.count_calls() == 1 and show(env, ref)["status"] == "open"
    [told] = of_kind(env, "not_their_call")
    text = plain(told)
    assert "The call reference you quoted is not one of your school's calls" in text
    assert (
        "ICT-000001" not in text
        and "Oakfield" not in text
        and "Internet" not in text
        and "slow" not in text
    )
    assert parsed(told)["To"] == "head@st-marys-ce.westshire.sch.uk"
    assert "[ICT-000001]" not in parsed(told)["Subject"]
    # Again the same day: held without a second reply.
    again = env.feed(raw.replace(b"foreign-1", b"foreign-2"), local(2026, 11, 23, 11, 5))
    assert again.action is Action.HOLD and len(of_kind(env, "not_their_call")) == 1


# --- item 11: recurrence for a fresh email ------------------------------------------------


def fresh(env: Env, sender: str, subject: str, when: datetime, n: int) -> Triage:
    raw = (
        f"From: {sender}\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n"
        f"Message-ID: <fresh-{n}@school.example>\r\n\r\n"
        "The internet in the ICT suite is very slow, pages take a minute.\r\n"
    ).encode()
    return env.feed(raw, when)


def test_a_fresh_email_about_the_same_fault_is_cross_referenced_with_a_problem_record(
    env: Env,
) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    sender = "Tom Reeves <t.reeves@oakfield-primary.westshire.sch.uk>"
    t = fresh(env, sender, "ICT suite internet slow", local(2026, 11, 30, 9, 0), 1)
    assert t.action is Action.OPEN_CALL and t.call is not None and t.call.ref == "ICT-000002"
    assert t.previous is not None and t.previous.ref == ref
    related = show(env, "ICT-000002")["related"]
    assert related == ["ICT-000001", "ICT-000003"]
    assert show(env, "ICT-000003")["type"] == "problem"
    text = plain(of_kind(env, "confirmation")[-1])
    assert "This follows on from call ICT-000001" in text


def test_a_fresh_email_about_another_fault_or_from_another_school_is_not_linked(
    env: Env,
) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    oakfield = "Tom Reeves <t.reeves@oakfield-primary.westshire.sch.uk>"
    other = fresh(env, oakfield, "Broadband router lights flashing", local(2026, 11, 30, 9, 0), 2)
    assert other.previous is None
    st_marys = "Grace Fenton <head@st-marys-ce.westshire.sch.uk>"
    elsewhere = fresh(env, st_marys, "ICT suite internet slow", local(2026, 11, 30, 9, 5), 3)
    assert elsewhere.previous is None
    assert show(env, ref)["related"] == []


def test_a_fresh_email_after_the_recurrence_window_is_not_linked(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    sender = "Tom Reeves <t.reeves@oakfield-primary.westshire.sch.uk>"
    # Two weeks of support days after Tuesday 24 November is Tuesday 8 December.
    t = fresh(env, sender, "ICT suite internet slow", local(2026, 12, 8, 10, 1), 4)
    assert t.previous is None
