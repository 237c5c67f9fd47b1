"""Breach alerts and escalations in the staff thread: told once, in order, never contradicting."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from support import Env, events_of, header, local, mail, make_env, of_kind, plain, recipients

from mailbot.calls import records
from mailbot.commands import actions
from mailbot.daemon import jobs
from mailbot.storage.db import transaction

# School-new-request is logged Monday 23 November 2026 09:05 as a P2 for the
# network team: response due Tue 09:05, fix due Wed 09:05; escalation level 1
# at Tue 11:47, level 2 at Tue 15:23.
LOGGED = local(2026, 11, 23, 9, 5)
RESPONSE_DUE = local(2026, 11, 24, 9, 5)
FIX_DUE = local(2026, 11, 25, 9, 5)
SAM = "sam.okafor@westshire.gov.uk"
RAJ = "raj.patel@westshire.gov.uk"
PRIYA = "priya.shah@westshire.gov.uk"


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


def assign_sam(env: Env, ref: str) -> None:
    with transaction(env.sessions) as session:
        call = actions.find_call(session, env.rules, ref)
        assert call is not None
        actions.assign(session, env.rules, call, "sam", records.Staff(actor=SAM, now=LOGGED))


def test_a_missed_response_target_tells_the_lead_and_manager_once(env: Env) -> None:
    ref = logged(env)
    assert tick(env, local(2026, 11, 24, 9, 4)).breached == []
    assert tick(env, RESPONSE_DUE).breached == [(ref, "response")]
    for minute in (6, 7, 30):
        assert tick(env, local(2026, 11, 24, 9, minute)).breached == []
    [row] = of_kind(env, "breach")
    # Unassigned: the team's lead stands for the call, and the lead's manager is told.
    assert recipients(row) == [RAJ, PRIYA]
    text = plain(row)
    assert "RESPONSE TARGET MISSED - ICT-000001" in text
    assert "9.05am on Tuesday 24 November" in text
    assert len(events_of(env, "breach_response")) == 1


def test_an_assigned_call_tells_its_officer_and_their_line_manager(env: Env) -> None:
    ref = logged(env)
    assign_sam(env, ref)
    tick(env, RESPONSE_DUE)
    [row] = of_kind(env, "breach")
    assert recipients(row) == [SAM, RAJ]


def test_a_response_in_time_leaves_only_the_fix_target_to_breach(env: Env) -> None:
    ref = logged(env)
    with transaction(env.sessions) as session:
        call = actions.find_call(session, env.rules, ref)
        assert call is not None
        by = records.Staff(actor=SAM, now=local(2026, 11, 23, 10, 0))
        assert isinstance(
            actions.reply_to_school(session, env.config, env.rules, call, "On it.", by, "r1"), str
        )
    assert tick(env, RESPONSE_DUE).breached == []
    assert tick(env, FIX_DUE).breached == [(ref, "fix")]
    [row] = of_kind(env, "breach")
    assert "FIX TARGET MISSED - ICT-000001" in plain(row)
    assert tick(env, local(2026, 11, 25, 12, 0)).breached == []


def test_a_solved_or_paused_call_does_not_breach(env: Env) -> None:
    ref = logged(env)
    with transaction(env.sessions) as session:
        call = actions.find_call(session, env.rules, ref)
        assert call is not None
        by = records.Staff(actor=SAM, now=local(2026, 11, 23, 10, 0))
        actions.set_status(session, env.config, env.rules, call, "awaiting_customer", by)
    assert tick(env, FIX_DUE).breached == []
    assert of_kind(env, "breach") == []


def test_a_late_tick_tells_both_targets_once_each(env: Env) -> None:
    ref = logged(env)
    assert tick(env, local(2026, 11, 25, 10, 0)).breached == [(ref, "response"), (ref, "fix")]
    assert tick(env, local(2026, 11, 25, 11, 0)).breached == []
    assert len(of_kind(env, "breach")) == 2


def test_a_crash_before_the_commit_leaves_the_breach_due_and_it_is_told_once(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged(env)

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed mid-tick")

    monkeypatch.setattr(jobs.door, "send", crash)
    with pytest.raises(SystemExit):
        tick(env, RESPONSE_DUE)
    assert events_of(env, "breach_response") == []
    monkeypatch.undo()
    assert tick(env, RESPONSE_DUE).breached == [("ICT-000001", "response")]
    assert len(of_kind(env, "breach")) == 1


def test_escalations_and_breaches_continue_the_staff_thread(env: Env) -> None:
    logged(env)
    tick(env, RESPONSE_DUE)
    tick(env, local(2026, 11, 24, 11, 47))
    [notice] = of_kind(env, "new_call")
    [breach] = of_kind(env, "breach")
    [escalation] = of_kind(env, "escalation1")
    topic = header(notice, "Subject")
    assert header(breach, "Subject") == f"Re: {topic}"
    assert header(escalation, "Subject") == f"Re: {topic}"
    assert header(breach, "In-Reply-To") == header(notice, "Message-ID")
    assert header(escalation, "In-Reply-To") == header(breach, "Message-ID")
    assert header(notice, "Message-ID") in header(escalation, "References")


def test_an_escalation_after_the_fix_target_says_overdue_not_a_share(env: Env) -> None:
    logged(env)
    # The first tick comes after the fix target: level 2 is the level reached.
    tick(env, local(2026, 11, 25, 10, 0))
    [row] = of_kind(env, "escalation2")
    text = plain(row)
    assert "overdue" in text and "Fix was due 9.05am on Wednesday 25 November" in text
    assert "% of the time" not in text and "passed." not in text.split("overdue")[0]


def test_an_escalation_before_the_fix_target_gives_its_share_and_time_left(env: Env) -> None:
    logged(env)
    tick(env, local(2026, 11, 24, 11, 47))
    [row] = of_kind(env, "escalation1")
    text = plain(row)
    assert "65% of the time to fix this call has passed." in text
    assert "overdue" not in text
