"""Tests for the scheduler's jobs and the life of a call, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from support import Env, local, mail, make_env, of_kind, plain, recipients, show

from mailbot.calls import records
from mailbot.commands import actions
from mailbot.daemon import jobs
from mailbot.pipeline.records import Action
from mailbot.storage.db import make_engine, make_sessions, transaction
from mailbot.storage.models import Call

# School-new-request is logged Monday 23 November 2026 09:05 as a P2 for the
# network team: response due Tue 09:05, fix due Wed 09:05 (1080 support
# minutes); level 1 at 702 minutes (Tue 11:47), level 2 at 918 (Tue 15:23).
LOGGED = local(2026, 11, 23, 9, 5)
LEVEL_1 = local(2026, 11, 24, 11, 47)
LEVEL_2 = local(2026, 11, 24, 15, 23)
SAM = "sam.okafor@westshire.gov.uk"
RAJ = "raj.patel@westshire.gov.uk"
PRIYA = "priya.shah@westshire.gov.uk"
HEAD = "head@oakfield-primary.westshire.sch.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """A configured mailbot on each supported database."""
    return make_env(tmp_path, db_url)


def logged(env: Env) -> str:
    t = env.feed(mail("school-new-request"), LOGGED)
    assert t.call is not None
    return t.call.ref


def tick(env: Env, now: datetime) -> jobs.TickReport:
    return jobs.run_due(env.sessions, env.config, env.rules, now)


def act(env: Env, ref: str, now: datetime, step: str, *args: str) -> str:
    by = records.Staff(actor=SAM, now=now)
    with transaction(env.sessions) as session:
        call = actions.find_call(session, env.rules, ref)
        assert call is not None
        if step == "assign":
            result = actions.assign(session, env.rules, call, args[0], by)
        elif step == "priority":
            result = actions.set_priority(session, env.rules, call, args[0], by)
        elif step == "deadline":
            result = actions.set_deadline(session, env.rules, call, args[0], args[1], by)
        else:
            result = actions.set_status(
                session, env.config, env.rules, call, args[0], by, *args[1:]
            )
    assert isinstance(result, str), result
    return result


def test_level_1_goes_to_the_assigned_officer_at_65_percent(env: Env) -> None:
    ref = logged(env)
    act(env, ref, LOGGED, "assign", "sam")
    assert tick(env, LEVEL_1).escalated == [(ref, 1)]
    [row] = of_kind(env, "escalation1")
    assert recipients(row) == [SAM]


def test_nothing_escalates_a_minute_before_its_instant(env: Env) -> None:
    logged(env)
    report = tick(env, local(2026, 11, 24, 11, 46))
    assert report.escalated == [] and of_kind(env, "escalation1") == []


def test_unassigned_call_escalates_to_the_team_lead(env: Env) -> None:
    logged(env)
    tick(env, LEVEL_1)
    [row] = of_kind(env, "escalation1")
    assert recipients(row) == [RAJ]


def test_level_2_goes_to_the_officer_and_their_line_manager(env: Env) -> None:
    ref = logged(env)
    act(env, ref, LOGGED, "assign", "sam")
    tick(env, LEVEL_1)
    assert tick(env, LEVEL_2).escalated == [(ref, 2)]
    [row] = of_kind(env, "escalation2")
    assert recipients(row) == [SAM, RAJ]


def test_unassigned_level_2_goes_to_the_lead_and_the_leads_manager(env: Env) -> None:
    logged(env)
    tick(env, LEVEL_1)
    tick(env, LEVEL_2)
    [row] = of_kind(env, "escalation2")
    assert recipients(row) == [RAJ, PRIYA]


def test_each_level_fires_once_however_often_the_tick_runs(env: Env) -> None:
    ref = logged(env)
    for minute in (47, 48, 50):
        tick(env, local(2026, 11, 24, 11, minute))
    assert len(of_kind(env, "escalation1")) == 1
    assert show(env, ref)["escalation_level"] == 1


def test_a_late_tick_sends_only_the_highest_level_reached_and_records_both(env: Env) -> None:
    ref = logged(env)
    assert tick(env, local(2026, 11, 24, 16, 0)).escalated == [(ref, 2)]
    assert of_kind(env, "escalation1") == [] and len(of_kind(env, "escalation2")) == 1
    kinds = [e["kind"] for e in show(env, ref)["events"]]  # type: ignore[index]
    assert "escalation1" in kinds and "escalation2" in kinds


def test_escalation_says_which_call_which_school_and_how_long_is_left(env: Env) -> None:
    logged(env)
    tick(env, LEVEL_1)
    [row] = of_kind(env, "escalation1")
    msg = email.message_from_bytes(row.raw, policy=email.policy.default)
    # The escalation continues the staff thread, so it keeps that thread's subject.
    assert msg["Subject"].startswith("Re: [ICT-000001] Oakfield Primary School: ")
    text = plain(row, normalise=False)
    assert text.startswith("ESCALATION LEVEL 1 - ICT-000001")
    # 11:47 Tuesday to 09:05 Wednesday: 313 + 65 support minutes.
    assert "6 hours 18 minutes of support time left" in text
    assert "very slow in the ICT suite" in text


def test_staff_reply_to_an_escalation_lands_on_the_call(env: Env) -> None:
    ref = logged(env)
    tick(env, LEVEL_1)
    t = env.feed(mail("staff-reply-to-escalation"), local(2026, 11, 24, 11, 55))
    assert t.action is Action.APPEND and t.call is not None and t.call.ref == ref


def test_a_paused_call_does_not_escalate(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 23, 10, 0), "status", "awaiting_customer")
    assert tick(env, local(2026, 11, 25, 12, 0)).escalated == []
    assert show(env, ref)["next_escalation_at"] is None


def test_resuming_after_a_pause_puts_the_escalation_back_later(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 23, 10, 0), "status", "awaiting_customer")
    act(env, ref, local(2026, 11, 23, 12, 0), "status", "open")
    # Two support hours paused: level 1 moves from 11:47 to 13:47 (GMT in November).
    assert show(env, ref)["next_escalation_at"] == "2026-11-24T13:47:00+00:00"


def test_a_revised_deadline_replaces_the_target_and_keeps_its_reason(env: Env) -> None:
    ref = logged(env)
    act(env, ref, LOGGED, "deadline", "2026-12-04", "agreed with head")
    found = show(env, ref)
    assert found["fix_due_at"] == "2026-12-04T17:00:00+00:00"
    assert found["revised_reason"] == "agreed with head"


def test_raising_the_priority_recomputes_the_targets_from_the_clock_start(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 23, 9, 30), "priority", "P1")
    found = show(env, ref)
    assert found["response_due_at"] == "2026-11-23T10:05:00+00:00"
    assert found["fix_due_at"] == "2026-11-24T09:05:00+00:00"


def test_staff_copying_the_school_stops_the_response_clock(env: Env) -> None:
    ref = logged(env)
    env.feed(mail("staff-writes-to-school"), local(2026, 11, 23, 11, 0))
    assert show(env, ref)["responded_at"] == "2026-11-23T11:00:00+00:00"


def test_the_confirmation_does_not_count_as_the_response(env: Env) -> None:
    ref = logged(env)
    assert of_kind(env, "confirmation") and show(env, ref)["responded_at"] is None


def test_solving_tells_the_school_and_stops_escalations(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved", "Switch replaced.")
    [row] = of_kind(env, "solved")
    assert recipients(row)[0] == HEAD
    assert "Switch replaced." in plain(row, normalise=False)
    assert tick(env, LEVEL_2).escalated == []


def test_a_solved_call_closes_after_three_support_days_with_a_notice(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    assert tick(env, local(2026, 11, 27, 9, 59)).closed == []
    assert tick(env, local(2026, 11, 27, 10, 0)).closed == [ref]
    [row] = of_kind(env, "closure")
    assert recipients(row)[0] == HEAD
    assert show(env, ref)["status"] == "closed"


def test_the_closure_notice_is_sent_once_however_often_the_tick_runs(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    for day in (27, 28, 30):
        tick(env, local(2026, 11, day, 12, 0))
    assert len(of_kind(env, "closure")) == 1 and show(env, ref)["status"] == "closed"


def test_the_closure_notice_continues_the_schools_thread(env: Env) -> None:
    logged(env)
    act(env, "ICT-000001", local(2026, 11, 24, 10, 0), "status", "solved")
    tick(env, local(2026, 11, 27, 10, 0))
    [solved] = of_kind(env, "solved")
    [closure] = of_kind(env, "closure")
    msg = email.message_from_bytes(closure.raw, policy=email.policy.default)
    assert msg["In-Reply-To"] == solved.message_id
    assert "<new-request-1@oakfield-primary.westshire.sch.uk>" in msg["References"]


def test_a_school_reply_soon_after_solving_reopens_the_call_and_says_so(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    t = env.feed(mail("school-reply-still-broken", n="<again-1@x>"), local(2026, 11, 25, 9, 0))
    assert t.action is Action.REOPEN and env.count_calls() == 1
    [row] = of_kind(env, "reopened")
    assert "we have reopened call ICT-000001" in plain(row, normalise=False)
    found = show(env, ref)
    assert found["status"] == "open" and found["close_due_at"] is None


def test_a_reopened_call_escalates_again_with_the_solved_time_paused(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 24, 10, 0), "status", "solved")
    env.feed(mail("school-reply-still-broken", n="<again-1@x>"), local(2026, 11, 24, 12, 0))
    # Two support hours solved: level 1 moves from 11:47 to 13:47.
    assert tick(env, local(2026, 11, 24, 13, 46)).escalated == []
    assert tick(env, local(2026, 11, 24, 13, 47)).escalated == [(ref, 1)]


def test_a_reply_after_the_reopen_window_opens_a_cross_referenced_call(env: Env) -> None:
    logged(env)
    act(env, "ICT-000001", local(2026, 11, 24, 10, 0), "status", "solved")
    t = env.feed(mail("school-reply-still-broken", n="<again-1@x>"), local(2026, 11, 25, 10, 1))
    assert t.action is Action.FOLLOW_UP and t.call is not None
    assert t.call.ref == "ICT-000002"
    assert "ICT-000001" in show(env, "ICT-000002")["related"]  # type: ignore[operator]
    [_, confirmation] = of_kind(env, "confirmation")
    assert "This follows on from call ICT-000001" in plain(confirmation, normalise=False)
    assert show(env, "ICT-000001")["status"] == "solved"


def test_a_recurring_incident_opens_a_problem_record_linking_both(env: Env) -> None:
    logged(env)
    act(env, "ICT-000001", local(2026, 11, 24, 10, 0), "status", "solved")
    env.feed(mail("school-reply-still-broken", n="<again-1@x>"), local(2026, 11, 26, 10, 0))
    with env.sessions() as s:
        problem = s.scalar(select(Call).where(Call.type == "problem"))
    assert problem is not None
    related = show(env, problem.ref)["related"]
    assert related == ["ICT-000001", "ICT-000002"]
    # A problem record is internal: nobody is emailed about it.
    assert not [o for o in env.outbox() if o.call_id == problem.id]


def test_a_further_recurrence_joins_the_same_problem_record(env: Env) -> None:
    logged(env)
    act(env, "ICT-000001", local(2026, 11, 24, 10, 0), "status", "solved")
    env.feed(mail("school-reply-still-broken", n="<again-1@x>"), local(2026, 11, 26, 10, 0))
    act(env, "ICT-000002", local(2026, 11, 26, 12, 0), "status", "solved")
    env.feed(mail("school-reply-still-broken", n="<again-2@x>"), local(2026, 12, 2, 10, 0))
    with env.sessions() as s:
        problems = list(s.scalars(select(Call).where(Call.type == "problem")))
    assert len(problems) == 1
    assert show(env, problems[0].ref)["related"] == ["ICT-000001", "ICT-000002", "ICT-000004"]


def test_a_reply_to_a_closed_call_opens_a_new_one(env: Env) -> None:
    logged(env)
    act(env, "ICT-000001", local(2026, 11, 24, 10, 0), "status", "solved")
    tick(env, local(2026, 11, 27, 10, 0))
    t = env.feed(mail("school-reply-still-broken", n="<again-1@x>"), local(2026, 11, 30, 9, 0))
    assert t.action is Action.FOLLOW_UP
    assert show(env, "ICT-000001")["status"] == "closed"


def test_a_bad_priority_is_refused_and_changes_nothing(env: Env) -> None:
    ref = logged(env)
    with transaction(env.sessions) as session:
        call = actions.find_call(session, env.rules, ref)
        assert call is not None
        by = records.Staff(actor=SAM, now=LOGGED)
        result = actions.set_priority(session, env.rules, call, "P7", by)
    assert isinstance(result, records.Refused) and "P1" in result.message
    assert show(env, ref)["priority"] == "P2"


def test_every_change_is_an_event_with_who_and_when(env: Env) -> None:
    ref = logged(env)
    act(env, ref, local(2026, 11, 23, 9, 30), "assign", "sam")
    act(env, ref, local(2026, 11, 23, 9, 31), "priority", "P1")
    events = show(env, ref)["events"]
    assert {
        "at": "2026-11-23T09:30:00+00:00",
        "actor": SAM,
        "kind": "assigned",
        "detail": "nobody -> sam",
    } in events  # type: ignore[operator]
    assert {
        "at": "2026-11-23T09:31:00+00:00",
        "actor": SAM,
        "kind": "priority",
        "detail": "P2 -> P1",
    } in events  # type: ignore[operator]


def test_a_call_that_fails_to_escalate_neither_blocks_the_others_nor_is_lost(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        raw = mail("school-new-request").replace(b"new-request-1@", f"many-{n}@".encode())
        env.feed(raw.replace(b"<head@", f"<teacher{n}@".encode()), LOGGED)
    real = jobs.notices.escalation

    def broken(config: object, rules: object, call: object, *a: object, **kw: object) -> object:
        if getattr(call, "ref", "") == "ICT-000002":
            raise RuntimeError("template exploded")
        return real(config, rules, call, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs.notices, "escalation", broken)
    report = tick(env, LEVEL_1)
    assert sorted(report.escalated) == [("ICT-000001", 1), ("ICT-000003", 1)]
    assert show(env, "ICT-000002")["escalation_level"] == 0
    monkeypatch.setattr(jobs.notices, "escalation", real)
    assert tick(env, LEVEL_1).escalated == [("ICT-000002", 1)]
    assert len(of_kind(env, "escalation1")) == 3


def test_a_crash_before_the_commit_leaves_the_escalation_due_and_it_is_sent_once(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged(env)

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed mid-tick")

    monkeypatch.setattr(jobs.door, "send", crash)
    with pytest.raises(SystemExit):
        tick(env, LEVEL_1)
    assert show(env, "ICT-000001")["escalation_level"] == 0
    monkeypatch.undo()
    assert tick(env, LEVEL_1).escalated == [("ICT-000001", 1)]
    assert len(of_kind(env, "escalation1")) == 1


def test_two_schedulers_at_once_send_each_escalation_once(env: Env) -> None:
    for n in range(12):
        raw = mail("school-new-request").replace(b"new-request-1@", f"twin-{n}@".encode())
        env.feed(raw.replace(b"<head@", f"<teacher{n}@".encode()), LOGGED)
    other = make_sessions(make_engine(env.config.database.url))
    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(jobs.run_due, s, env.config, env.rules, LEVEL_1)
            for s in (env.sessions, other)
        ]
        reports = [r.result() for r in runs]
    assert sum(len(r.escalated) for r in reports) == 12
    assert len(of_kind(env, "escalation1")) == 12
