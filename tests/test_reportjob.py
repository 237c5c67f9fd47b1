"""The scheduler sends last month's reports on the first working day, each exactly once."""

from __future__ import annotations

import email
import email.policy
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from reportcalls import make_month
from sqlalchemy import event, func, select
from support import SHIPPED_RULES, Env, local, make_env

from mailbot.daemon import jobs
from mailbot.reports import job
from mailbot.rules.loader import load_rules
from mailbot.sla.months import Month
from mailbot.storage.db import make_engine, make_sessions, transaction
from mailbot.storage.models import Call, Outbox, ReportRun

PRIYA = "priya.shah@westshire.gov.uk"
COLE = "m.cole@riverside-academy.westshire.sch.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def reports(env: Env) -> list[tuple[str, list[str]]]:
    """The reports in the outbox: (subject, recipients), in order."""
    with env.sessions() as s:
        rows = s.scalars(select(Outbox).where(Outbox.kind == "report").order_by(Outbox.id))
        return [(_subject(r.raw), json.loads(r.recipients)) for r in rows]


def _subject(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])


def tick(env: Env, now: datetime) -> jobs.TickReport:
    return jobs.run_due(env.sessions, env.config, env.rules, now)


def one_call_in(env: Env, logged: datetime) -> None:
    """A call solved in time in the month of ``logged``, so that month has a report."""
    with transaction(env.sessions) as session:
        session.add(
            Call(
                ref="ICT-000900", status="solved", type="incident", priority="P2",
                school_id="riverside-academy", subject="Projector", created_at=logged,
                updated_at=logged, fix_due_at=logged.replace(hour=16), solved_at=logged,
            )
        )  # fmt: skip


NOVEMBER_REPORTS = [
    ("Monthly report November 2026: All schools", [PRIYA]),
    ("Monthly report November 2026: Riverside Academy", [COLE]),
]


def test_the_first_working_day_of_december_2026_is_tuesday_the_first() -> None:
    cal = load_rules(SHIPPED_RULES).calendar
    assert job.due_month(cal, local(2026, 12, 1, 7, 59)) is None
    assert job.due_month(cal, local(2026, 12, 1, 8, 0)) == Month(2026, 11)
    assert job.due_month(cal, local(2026, 12, 31, 23, 59)) == Month(2026, 11)


def test_may_2027_reports_wait_past_the_weekend_and_the_bank_holiday() -> None:
    cal = load_rules(SHIPPED_RULES).calendar
    for before in (local(2027, 5, 1, 10, 0), local(2027, 5, 3, 10, 0), local(2027, 5, 4, 7, 59)):
        assert job.due_month(cal, before) is None, before
    assert job.due_month(cal, local(2027, 5, 4, 8, 0)) == Month(2027, 4)


def test_nothing_is_sent_before_the_first_working_day(env: Env) -> None:
    make_month(env.sessions)
    for now in (local(2026, 12, 1, 0, 0), local(2026, 12, 1, 7, 59)):
        assert tick(env, now).reports == []
    assert reports(env) == []


def test_the_overall_and_each_schools_report_go_once_on_the_first_working_day(env: Env) -> None:
    make_month(env.sessions)
    first = tick(env, local(2026, 12, 1, 8, 0))
    assert len(first.reports) == 2
    assert reports(env) == NOVEMBER_REPORTS


def test_repeated_and_late_ticks_send_nothing_more(env: Env) -> None:
    make_month(env.sessions)
    for now in (
        local(2026, 12, 1, 8, 0),
        local(2026, 12, 1, 8, 1),
        local(2026, 12, 2, 12, 0),
        local(2026, 12, 24, 9, 0),
    ):
        tick(env, now)
    assert reports(env) == NOVEMBER_REPORTS


def test_a_late_first_tick_still_sends_the_reports_once(env: Env) -> None:
    make_month(env.sessions)
    assert len(tick(env, local(2026, 12, 14, 10, 0)).reports) == 2
    assert tick(env, local(2026, 12, 14, 10, 1)).reports == []
    assert reports(env) == NOVEMBER_REPORTS


def test_two_schedulers_at_once_send_each_report_once(env: Env) -> None:
    make_month(env.sessions)
    other = make_sessions(make_engine(env.config.database.url))
    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(jobs.run_due, s, env.config, env.rules, local(2026, 12, 1, 8, 0))
            for s in (env.sessions, other)
        ]
        done = [r.result() for r in runs]
    assert sum(len(d.reports) for d in done) == 2
    assert sorted(reports(env)) == sorted(NOVEMBER_REPORTS)
    with env.sessions() as s:
        assert s.scalar(select(func.count(ReportRun.id))) == 2


def test_may_2027_reports_go_on_tuesday_the_fourth(env: Env) -> None:
    one_call_in(env, local(2027, 4, 20, 10, 0))
    assert tick(env, local(2027, 5, 3, 12, 0)).reports == []
    assert len(tick(env, local(2027, 5, 4, 8, 0)).reports) == 2
    tick(env, local(2027, 5, 4, 9, 0))
    assert [subject for subject, _ in reports(env)] == [
        "Monthly report April 2027: All schools",
        "Monthly report April 2027: Riverside Academy",
    ]


def test_a_month_with_nothing_in_it_sends_no_report_and_is_not_looked_at_again(env: Env) -> None:
    assert tick(env, local(2026, 12, 1, 9, 0)).reports == []
    assert reports(env) == []
    with env.sessions() as s:
        runs = sorted(s.scalars(select(ReportRun.audience).where(ReportRun.month == "2026-11")))
    assert runs == ["overall", "school:riverside-academy"]


def count_statements(env: Env, now: datetime) -> int:
    engine = env.sessions.kw["bind"]
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        job.send_due(env.sessions, env.config, env.rules, now)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len([s for s in seen if not s.upper().startswith(("BEGIN", "ROLLBACK", "COMMIT"))])


def test_before_the_reports_are_due_the_job_asks_the_database_nothing(env: Env) -> None:
    make_month(env.sessions)
    assert count_statements(env, local(2026, 12, 1, 7, 30)) == 0


def test_once_the_reports_are_sent_the_job_costs_one_lookup(env: Env) -> None:
    make_month(env.sessions)
    tick(env, local(2026, 12, 1, 8, 0))
    assert count_statements(env, local(2026, 12, 1, 8, 1)) == 1
