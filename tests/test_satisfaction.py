"""Satisfaction by email: the closure notice's invitation, the rating, and who is told."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support import (
    SUPPORT,
    Env,
    authenticated,
    events_of,
    local,
    make_env,
    of_kind,
    plain,
    recipients,
    show,
)
from test_jobs import HEAD, SAM, act, logged, tick

from mailbot.calls import door
from mailbot.calls.rating import Rating, read_rating
from mailbot.daemon import jobs
from mailbot.pipeline.records import Action, Triage
from mailbot.reports import job, monthly
from mailbot.rules.files import Satisfaction
from mailbot.sla.months import Month

SOLVED = local(2026, 11, 24, 10, 0)
CLOSED = local(2026, 11, 27, 10, 0)
RATED = local(2026, 11, 27, 14, 0)
OTHER = "office@oakfield-primary.westshire.sch.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def closed(env: Env, *, assign: bool = True) -> str:
    """A call logged, (assigned to Sam,) solved and closed by the scheduler, its notice sent."""
    ref = logged(env)
    if assign:
        act(env, ref, SOLVED, "assign", "sam")
    act(env, ref, SOLVED, "status", "solved")
    assert tick(env, CLOSED).closed == [ref]
    return ref


def closure_id(env: Env) -> str:
    [row] = of_kind(env, "closure")
    return row.message_id


def reply(
    env: Env,
    body: str,
    when: datetime,
    *,
    n: int = 1,
    sender: str = HEAD,
    answers: str | None = None,
    extra: str = "",
    signed: bool = True,
) -> Triage:
    """The requester (or ``sender``) replies to the closure notice (or to ``answers``)."""
    parent = closure_id(env) if answers is None else answers
    raw = (
        f"From: Helen Marsh <{sender}>\r\n"
        f"To: {SUPPORT}\r\n"
        "Subject: RE: [ICT-000001] Closed: Internet very slow in the ICT suite\r\n"
        "Date: Fri, 27 Nov 2026 14:00:00 +0000\r\n"
        f"Message-ID: <rating-{n}@oakfield-primary.westshire.sch.uk>\r\n"
        f"In-Reply-To: {parent}\r\nReferences: {parent}\r\n"
        f"{extra}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n\r\nHelen Marsh\r\nHeadteacher\r\n"
    ).encode()
    return env.feed(authenticated(raw) if signed else raw, when)


def with_satisfaction(env: Env, **changes: object) -> None:
    policy = env.rules.policy
    rules = policy.satisfaction.model_copy(update=changes)
    env.rules = dataclasses.replace(
        env.rules, policy=policy.model_copy(update={"satisfaction": rules})
    )


# --- reading a rating ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", Rating(5, "5", "")),
        ("4 - quick and friendly", Rating(4, "4", "quick and friendly")),
        ("4/5 thanks", Rating(4, "4", "thanks")),
        ("Good!", Rating(5, "Good", "")),
        ("  ok, took a while\nbut fine\n\nHelen", Rating(3, "ok", "took a while\nbut fine")),
        ("5\r\n\r\nHelen Marsh", Rating(5, "5", "")),
        ("POOR. Nobody came back to us.", Rating(1, "POOR", "Nobody came back to us.")),
        ("6", None),
        ("0", None),
        ("Could you also look at the projector?", None),
        ("Goodness me", None),
        ("", None),
    ],
)
def test_a_rating_is_the_first_word_of_the_reply(text: str, expected: Rating | None) -> None:
    assert read_rating(text, Satisfaction()) == expected


def test_the_scale_and_words_come_from_the_rules() -> None:
    rules = Satisfaction(scale=3, words={"Happy": 3, "unhappy": 1}, poor_at_most=1)
    assert read_rating("happy", rules) == Rating(3, "happy", "")
    assert read_rating("4", rules) is None and read_rating("good", rules) is None


def test_reading_a_long_reply_is_linear() -> None:
    found = read_rating("2 " + "slow " * 100_000, Satisfaction())
    assert found is not None and found.score == 2 and len(found.comment) == 2000


# --- the invitation -------------------------------------------------------------------


def test_the_closure_notice_invites_a_rating(env: Env) -> None:
    ref = closed(env)
    text = plain(of_kind(env, "closure")[0])
    assert "Reply with 1 to 5 (5 is best), or Good / OK / Poor" in text
    assert "it does not reopen the call" in text
    assert show(env, ref)["status"] == "closed"


def test_a_call_closed_a_second_time_is_not_invited_again(env: Env) -> None:
    ref = closed(env)
    act(env, ref, local(2026, 11, 30, 9, 0), "status", "open")
    act(env, ref, local(2026, 11, 30, 10, 0), "status", "solved")
    assert tick(env, local(2026, 12, 3, 10, 0)).closed == [ref]
    first, second = of_kind(env, "closure")
    assert "Reply with 1 to 5" in plain(first) and "Reply with" not in plain(second)


def test_a_call_type_the_rules_leave_out_is_not_invited(env: Env) -> None:
    with_satisfaction(env, call_types=("service_request",))
    closed(env)
    assert "Reply with 1 to 5" not in plain(of_kind(env, "closure")[0])
    t = reply(env, "5", RATED)
    assert t.action is Action.FOLLOW_UP and show(env)["rating"] is None


def test_ratings_switched_off_invite_nobody(env: Env) -> None:
    with_satisfaction(env, enabled=False)
    closed(env)
    assert "Reply with" not in plain(of_kind(env, "closure")[0])


def test_the_wording_and_scale_follow_the_rules(env: Env) -> None:
    with_satisfaction(env, scale=10, words={"great": 10, "poor": 2})
    closed(env)
    assert "Reply with 1 to 10 (10 is best), or Great / Poor" in plain(of_kind(env, "closure")[0])


# --- the rating -------------------------------------------------------------------------


def test_the_requesters_reply_rates_the_call_and_changes_nothing_else(env: Env) -> None:
    ref = closed(env)
    before = len(env.outbox())
    t = reply(env, "4 - quick and friendly, thank you", RATED)
    assert t.action is Action.RATE
    found = show(env, ref)
    assert found["status"] == "closed" and env.count_calls() == 1
    assert found["rating"]["score"] == 4
    assert found["rating"]["comment"] == "quick and friendly, thank you"
    [rated] = events_of(env, "rated")
    assert rated["detail"] == "4: quick and friendly, thank you"
    # Nobody is answered and nobody told of a good rating: never a second prompt.
    assert len(env.outbox()) == before


def test_a_thank_you_word_after_the_rating_still_rates_rather_than_thanks(env: Env) -> None:
    closed(env)
    t = reply(env, "Good, thanks for sorting it", RATED)
    assert t.action is Action.RATE and show(env)["rating"]["score"] == 5


def test_the_latest_rating_within_the_window_wins(env: Env) -> None:
    closed(env)
    reply(env, "Poor", RATED, n=1)
    reply(env, "OK - it was sorted in the end", local(2026, 12, 2, 9, 0), n=2)
    rating = show(env)["rating"]
    assert (rating["score"], rating["word"]) == (3, "OK")
    assert rating["comment"] == "it was sorted in the end"
    assert len(events_of(env, "rated")) == 2 and env.count_calls() == 1


def test_a_rating_after_the_window_is_kept_but_not_counted(env: Env) -> None:
    closed(env)
    reply(env, "4", RATED, n=1)
    t = reply(env, "1 - it broke again", local(2026, 12, 14, 10, 0), n=2)
    assert t.action is Action.RATE_LATE
    assert show(env)["rating"]["score"] == 4 and env.count_calls() == 1
    assert len(events_of(env, "rating_late")) == 1 and of_kind(env, "poor_rating") == []


def test_an_automatic_reply_never_rates(env: Env) -> None:
    closed(env)
    t = reply(env, "5", RATED, extra="Auto-Submitted: auto-replied\r\n")
    assert t.action is Action.RECORD and show(env)["rating"] is None


def test_someone_else_at_the_school_cannot_rate_the_call(env: Env) -> None:
    closed(env)
    t = reply(env, "1", RATED, sender=OTHER)
    assert t.action is Action.HOLD and "not from the call's requester" in t.reason
    assert show(env)["rating"] is None and env.count_calls() == 1
    assert of_kind(env, "poor_rating") == []


def test_a_forged_rating_that_answers_no_closure_notice_does_not_count(env: Env) -> None:
    closed(env)
    # The subject names the call and From is the requester's, but only the
    # requester received the closure notice's Message-ID.
    t = reply(env, "1 terrible", RATED, answers="<ICT-000001.closure@westshire.gov.uk>")
    assert t.action is Action.HOLD and "not a reply to the closure notice" in t.reason
    assert show(env)["rating"] is None and of_kind(env, "poor_rating") == []


def test_a_rating_our_server_could_not_vouch_for_does_not_count(env: Env) -> None:
    closed(env)
    t = reply(env, "1", RATED, signed=False)
    assert t.action is Action.HOLD and show(env)["rating"] is None


def test_a_reply_that_is_no_rating_is_handled_as_before(env: Env) -> None:
    closed(env)
    t = reply(env, "The internet is very slow again this morning.", RATED)
    assert t.action is Action.FOLLOW_UP and t.call is not None and t.call.ref == "ICT-000002"


# --- who is told ------------------------------------------------------------------------


def test_a_poor_rating_goes_to_the_assigned_officer_with_the_comment(env: Env) -> None:
    closed(env)
    reply(env, "Poor. Nobody told us when the engineer was coming.", RATED)
    [row] = of_kind(env, "poor_rating")
    assert recipients(row) == [SAM]
    text = plain(row)
    assert 'rated it 1 of 5 ("Poor")' in text
    assert "Nobody told us when the engineer was coming." in text
    assert show(env)["status"] == "closed"


def test_a_poor_rating_on_an_unassigned_call_goes_to_its_team(env: Env) -> None:
    closed(env, assign=False)
    reply(env, "1", RATED)
    [row] = of_kind(env, "poor_rating")
    assert recipients(row) == ["network-team@westshire.gov.uk"]
    assert "No comment was given." in plain(row)


def test_a_good_rating_is_not_sent_to_anyone(env: Env) -> None:
    closed(env)
    reply(env, "5", RATED)
    assert of_kind(env, "poor_rating") == []


def test_a_redelivered_poor_rating_is_passed_on_once(env: Env) -> None:
    closed(env)
    first = reply(env, "2 slow", RATED)
    again = reply(env, "2 slow", RATED)
    assert first.action is Action.RATE and again.action is Action.DUPLICATE
    assert len(of_kind(env, "poor_rating")) == 1 and len(events_of(env, "rated")) == 1


# --- the monthly report ----------------------------------------------------------------


def november(env: Env, school: str | None = None) -> monthly.Report:
    figures = job.figures_for(
        env.sessions, env.rules, Month(2026, 11), school, local(2026, 12, 1, 8, 0)
    )
    found = env.rules.directory.school(school) if school else None
    return monthly.compose(env.config, env.rules, figures, found, lambda c: c.filename)


def test_the_monthly_report_gives_the_count_mean_and_comments(env: Env) -> None:
    closed(env)
    reply(env, "1 - nobody told us when the engineer was coming", RATED, n=1)
    reply(env, "2 - slow, but sorted", local(2026, 11, 28, 9, 0), n=2)
    report = november(env)
    assert "Satisfaction: 1 rated, mean 2.0 of 5" in report.text
    assert "ICT-000001 Oakfield Primary School (2): slow, but sorted" in report.text
    assert "nobody told us" not in report.text  # The latest rating replaced the first.
    assert "mean rating <strong>2.0</strong> of 5" in report.html
    school = november(env, "oakfield-primary")
    assert "Satisfaction: 1 rated, mean 2.0 of 5" in school.text


def test_a_month_without_ratings_says_so(env: Env) -> None:
    closed(env)
    assert "Satisfaction: no call was rated" in november(env).text
    assert "No call was rated this month." in november(env).html


def test_a_rating_given_in_december_counts_in_december(env: Env) -> None:
    closed(env)
    reply(env, "4", local(2026, 12, 2, 9, 0))
    assert "Satisfaction: no call was rated" in november(env).text


# --- exactly once under a crash ---------------------------------------------------------


def test_a_crash_while_closing_leaves_the_call_to_close_and_invite_once(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = logged(env)
    act(env, ref, SOLVED, "status", "solved")

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed mid-tick")

    monkeypatch.setattr(jobs.door, "send", crash)
    with pytest.raises(SystemExit):
        tick(env, CLOSED)
    assert show(env, ref)["status"] == "solved" and of_kind(env, "closure") == []
    monkeypatch.undo()
    assert tick(env, CLOSED).closed == [ref]
    tick(env, local(2026, 11, 30, 10, 0))
    [closure] = of_kind(env, "closure")
    assert "Reply with 1 to 5" in plain(closure)
    assert reply(env, "5", RATED).action is Action.RATE


def test_a_crash_while_passing_on_a_poor_rating_records_it_and_tells_once(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed(env)
    real = door.send

    def crash(store: object, config: object, rules: object, out: Any, now: object) -> object:
        if out.kind == "poor_rating":
            raise SystemExit("killed while queueing the officer's notice")
        return real(store, config, rules, out, now)  # type: ignore[arg-type]

    monkeypatch.setattr(door, "send", crash)
    with pytest.raises(SystemExit):
        reply(env, "1 - nobody came", RATED)
    assert show(env)["rating"] is None and of_kind(env, "poor_rating") == []
    monkeypatch.undo()
    assert reply(env, "1 - nobody came", RATED).action is Action.RATE
    assert reply(env, "1 - nobody came", RATED).action is Action.DUPLICATE
    assert len(of_kind(env, "poor_rating")) == 1 and len(events_of(env, "rated")) == 1


def test_rules_whose_words_leave_the_scale_are_refused() -> None:
    from pydantic import ValidationError

    from mailbot.rules.files import Policy

    with pytest.raises(ValidationError, match="worth more than the scale"):
        Policy(satisfaction=Satisfaction(scale=3, words={"good": 5}, poor_at_most=1))
    with pytest.raises(ValidationError, match="poor_at_most must be below the scale"):
        Policy(satisfaction=Satisfaction(scale=3, words={"good": 3}, poor_at_most=3))
    with pytest.raises(ValidationError, match="one word of letters"):
        Satisfaction(words={"very good": 5})
