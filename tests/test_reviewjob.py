"""The scheduler sends each term's review pack when the term ends, each exactly once."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from reportcalls import make_month
from sqlalchemy import func, select
from support import SHIPPED_RULES, Env, local, make_env

from mailbot.calls import door
from mailbot.daemon import jobs
from mailbot.reports import reviewpack
from mailbot.storage.db import make_engine, make_sessions
from mailbot.storage.models import Outbox, ReviewRun

PRIYA = "priya.shah@westshire.gov.uk"
END = local(2026, 12, 19, 0, 0)


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def packs(env: Env) -> list[tuple[str, list[str]]]:
    """The review packs in the outbox: (subject, recipients), in order."""
    with env.sessions() as s:
        rows = s.scalars(select(Outbox).where(Outbox.kind == "review").order_by(Outbox.id))
        return [(_subject(r.raw), json.loads(r.recipients)) for r in rows]


def _subject(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])


def tick(env: Env, now: datetime) -> jobs.TickReport:
    return jobs.run_due(env.sessions, env.config, env.rules, now)


def reviews(report: jobs.TickReport) -> list[str]:
    return [line for line in report.reports if line.startswith("review ")]


AUTUMN_OVERALL = [("Service review Autumn 2026: All schools", [PRIYA])]


def test_nothing_is_sent_before_the_term_has_ended(env: Env) -> None:
    make_month(env.sessions)
    for now in (local(2026, 12, 18, 9, 0), local(2026, 12, 18, 23, 59)):
        assert reviews(tick(env, now)) == []
    assert packs(env) == []


def test_the_project_manager_gets_the_overall_pack_once_when_the_term_ends(env: Env) -> None:
    make_month(env.sessions)
    assert len(reviews(tick(env, END))) == 1
    for now in (local(2026, 12, 19, 0, 1), local(2027, 1, 5, 9, 0), local(2027, 3, 26, 12, 0)):
        assert reviews(tick(env, now)) == []
    assert packs(env) == AUTUMN_OVERALL


def test_a_late_first_tick_still_sends_the_pack_once(env: Env) -> None:
    make_month(env.sessions)
    assert len(reviews(tick(env, local(2027, 1, 11, 10, 0)))) == 1
    assert reviews(tick(env, local(2027, 1, 11, 10, 1))) == []
    assert packs(env) == AUTUMN_OVERALL


def test_two_schedulers_at_once_send_the_pack_once(env: Env) -> None:
    make_month(env.sessions)
    other = make_sessions(make_engine(env.config.database.url))
    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(jobs.run_due, s, env.config, env.rules, END) for s in (env.sessions, other)
        ]
        done = [r.result() for r in runs]
    assert sum(len(reviews(d)) for d in done) == 1
    assert packs(env) == AUTUMN_OVERALL
    with env.sessions() as s:
        assert s.scalar(select(func.count(ReviewRun.id))) == 1


@pytest.mark.parametrize("where", ["composing", "queueing"])
def test_a_crash_loses_nothing_and_the_next_tick_sends_the_pack_once(
    env: Env, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    make_month(env.sessions)

    def crash(*args: object, **kw: object) -> object:
        raise OSError("disk full")

    # Composing fails before the transaction; queueing fails inside it, after
    # the pack's review_runs row was written, which must roll back with it.
    target = (reviewpack, "email") if where == "composing" else (door, "send")
    with monkeypatch.context() as patched:
        patched.setattr(*target, crash)
        assert reviews(tick(env, END)) == []
    with env.sessions() as s:
        assert s.scalar(select(func.count(ReviewRun.id))) == 0
    assert packs(env) == []
    assert len(reviews(tick(env, local(2026, 12, 19, 0, 1)))) == 1
    tick(env, local(2026, 12, 19, 0, 2))
    assert packs(env) == AUTUMN_OVERALL


def test_a_term_with_nothing_in_it_sends_no_pack_and_is_not_looked_at_again(env: Env) -> None:
    assert reviews(tick(env, END)) == []
    assert packs(env) == []
    with env.sessions() as s:
        assert list(s.scalars(select(ReviewRun.audience))) == ["overall"]


def test_with_heads_on_each_schools_headteachers_get_their_schools_own_pack(
    tmp_path: Path, db_url: str
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    toml = rules / "reports.toml"
    toml.write_text(toml.read_text().replace("heads = false", "heads = true"))
    env = make_env(tmp_path, db_url, rules_dir=rules)
    made = make_month(env.sessions)
    tick(env, END)
    got = dict((tuple(to), subject) for subject, to in packs(env))
    heads = {
        school.id: tuple(c.email for c in school.with_role("headteacher"))
        for school in env.rules.directory.schools
        if school.with_role("headteacher")
    }
    assert got[(PRIYA,)] == "Service review Autumn 2026: All schools"
    for school in env.rules.directory.schools:
        if school.id in heads:
            assert got[heads[school.id]] == f"Service review Autumn 2026: {school.name}"
    assert len(got) == 1 + len(heads)
    # A school's pack lists its own calls alone.
    with env.sessions() as s:
        raws = {
            tuple(json.loads(r.recipients)): r.raw
            for r in s.scalars(select(Outbox).where(Outbox.kind == "review"))
        }
    msg = email.message_from_bytes(raws[heads["riverside-academy"]], policy=email.policy.default)
    [attached] = [a for a in msg.iter_attachments() if a.get_content_type() == "text/csv"]
    refs = {line.split(",")[0] for line in str(attached.get_content()).splitlines()[1:]}
    mine = {m.ref for m in made if m.school == "riverside-academy"}
    assert refs and refs <= mine
