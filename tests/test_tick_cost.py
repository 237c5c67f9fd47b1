"""The scheduler's tick costs what is due, not what is open: counted in statements and plans."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine
from support import Env, local, mail, make_env

from mailbot.daemon import jobs
from mailbot.storage.models import Call

# School-new-request, logged Monday 23 November 2026 09:05, reaches its first
# escalation level on Tuesday at 11:47 (see test_jobs.py).
LOGGED = local(2026, 11, 23, 9, 5)
LEVEL_1 = local(2026, 11, 24, 11, 47)
# The tables that grow with the number of calls: a tick must never read one whole.
PER_CALL_TABLES = ("calls", "messages", "events", "outbox", "attachments", "call_links")


@pytest.fixture
def statements() -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement (with its parameters) any engine runs while the test does."""
    seen: list[tuple[str, Any]] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", count)
    yield seen
    event.remove(Engine, "before_cursor_execute", count)


def _with_open_calls(folder: Path, open_calls: int) -> tuple[Env, Path]:
    """One call due for escalation at LEVEL_1, and ``open_calls`` more that are not due."""
    folder.mkdir(exist_ok=True)
    db = folder / "mailbot.db"
    env = make_env(folder, f"sqlite:///{db}")
    env.feed(mail("school-new-request"), LOGGED)
    table = Call.__table__
    later = LEVEL_1 + timedelta(days=60)
    with env.sessions() as session:
        first = dict(session.execute(select(table)).mappings().one())
        clones = [
            {
                **first,
                "id": n,
                "ref": f"ICT-{n:06d}",
                "response_due_at": later,
                "fix_due_at": later,
                "next_escalation_at": later,
                "breach_due_at": later,
            }
            for n in range(2, open_calls + 2)
        ]
        session.execute(insert(table), clones)
        session.commit()
    return env, db


def _tick(env: Env, statements: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    statements.clear()
    report = jobs.run_due(env.sessions, env.config, env.rules, LEVEL_1, reports=False)
    assert report.escalated == [("ICT-000001", 1)]
    return list(statements)


def test_a_tick_runs_the_same_statements_with_ten_or_four_hundred_open_calls(
    tmp_path: Path, statements: list[tuple[str, Any]]
) -> None:
    few, _ = _with_open_calls(tmp_path / "few", 10)
    many, _ = _with_open_calls(tmp_path / "many", 400)
    assert [s for s, _ in _tick(few, statements)] == [s for s, _ in _tick(many, statements)]


def test_no_statement_of_a_tick_reads_a_per_call_table_whole(
    tmp_path: Path, statements: list[tuple[str, Any]]
) -> None:
    env, db = _with_open_calls(tmp_path, 50)
    ran = _tick(env, statements)
    with sqlite3.connect(db) as plain:
        for statement, parameters in ran:
            if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                continue
            plan = plain.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            for step in (str(row[-1]) for row in plan):
                scanned = step.split()[1] if step.startswith("SCAN ") else ""
                assert scanned not in PER_CALL_TABLES, (statement, step)
