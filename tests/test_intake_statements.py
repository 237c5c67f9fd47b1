"""What intake costs the database per email: SQL statements counted through real Dovecot (issue 16).

Each new request is fetched from a private Dovecot and passed through the
real intake pass (fetch, pipeline, commit, move) with every statement the
database driver executes counted.  The bounds are what the Core statements
and the per-batch signing keys made of it (about 28 a request before), then
the guard's facts of all an email's recipients in one statement and the
emails of one stage written together (one statement per table); the
tests also check that every request still opened its call and queued both
emails, so the count cannot fall by doing less.  The two lookups of calls a
new request makes (the flood cap, the recurrence check) must read by index,
not every call ever opened: SQLite's own query plan for the statement as
executed says which.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session
from support import bulk_rules, local, mail, make_config

from mailbot.daemon.service import Daemon
from mailbot.rules.loader import load_rules
from mailbot.storage.db import make_engine, make_sessions, upgrade
from mailbot.storage.models import Call, Outbox

NOW = local(2026, 11, 23, 9, 5)
# One request alone, including what a batch costs once (the look-up of parked
# mail, the heartbeat, the two signing keys).
ONE_REQUEST = 19
# Each request of a batch of twenty, on average.
PER_REQUEST_IN_BATCH = 15


def school_mail(n: int) -> bytes:
    """A distinct request from a distinct teacher at one school."""
    raw = mail("school-new-request").replace(b"new-request-1@", f"counted-{n}@".encode())
    raw = raw.replace(b"Internet very slow", f"Printer {n} jammed".encode())
    return raw.replace(b"<head@oakfield", f"<teacher{n}@oakfield".encode())


def intake_statements(
    tmp_path: Path, dovecot: Any, n: int, orm: list[str] | None = None
) -> tuple[list[tuple[str, Any]], Engine, Daemon]:
    """Deliver ``n`` new requests, run one intake pass, and return its SQL statements.

    ``orm``, when given, collects the statements run through the ORM's
    execution (entity queries), a subset of them.
    """
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    config = make_config(
        tmp_path,
        url,
        imap=(dovecot.host, dovecot.port, dovecot.username, dovecot.password),
        rules_dir=bulk_rules(tmp_path),
    )
    engine = make_engine(url)
    daemon = Daemon(
        config=config,
        rules=load_rules(config.rules.dir),
        sessions=make_sessions(engine),
        clock=lambda: NOW,
    )
    for i in range(n):
        dovecot.deliver(school_mail(i))
    mailbox = daemon.mailbox()
    mailbox.connect()
    executed: list[tuple[str, Any]] = []

    def count(*args: Any) -> None:
        executed.append((args[2], args[3]))

    def through_orm(state: ORMExecuteState) -> None:
        if orm is not None:
            orm.append(str(state.statement))

    event.listen(engine, "before_cursor_execute", count)
    event.listen(Session, "do_orm_execute", through_orm)
    try:
        report = daemon.intake_pass(mailbox)
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(Session, "do_orm_execute", through_orm)
        mailbox.close()
    assert [o.action for o in report.outcomes] == ["open_call"] * n
    return executed, engine, daemon


def _opened_and_queued(daemon: Daemon) -> tuple[int, dict[str, int]]:
    with daemon.sessions() as s:
        calls = s.scalar(select(func.count(Call.id))) or 0
        kinds = dict(s.execute(select(Outbox.kind, func.count()).group_by(Outbox.kind)).all())
    return calls, {str(k): int(v) for k, v in kinds.items()}


def test_a_new_request_costs_at_most_19_sql_statements(tmp_path: Path, dovecot: Any) -> None:
    executed, _engine, daemon = intake_statements(tmp_path, dovecot, 1)
    assert len(executed) <= ONE_REQUEST, len(executed)
    assert _opened_and_queued(daemon) == (1, {"confirmation": 1, "new_call": 1})
    assert dovecot.uids("INBOX") == []


def test_each_of_a_batch_of_20_new_requests_costs_at_most_15_sql_statements(
    tmp_path: Path, dovecot: Any
) -> None:
    executed, _engine, daemon = intake_statements(tmp_path, dovecot, 20)
    assert len(executed) <= 20 * PER_REQUEST_IN_BATCH, len(executed) / 20
    assert _opened_and_queued(daemon) == (20, {"confirmation": 20, "new_call": 20})
    assert dovecot.uids("INBOX") == []


def test_the_flood_and_recurrence_lookups_of_a_new_request_read_calls_by_index(
    tmp_path: Path, dovecot: Any
) -> None:
    """Neither lookup may read every call ever opened: SQLite's plan for each uses an index."""
    executed, engine, _daemon = intake_statements(tmp_path, dovecot, 3)
    lookups = {
        # The flood cap's count of the domain's calls within the hour, by
        # the domain and the hour both (0008), not every call of the hour.
        "flood": ("SELECT count(calls.id)", "ix_calls_domain_created"),
        # The recurrence check's look for the school's recently solved incidents.
        "recurrence": ("WHERE calls.school_id = ?", "ix_calls_school_solved"),
    }
    for name, (marker, index) in lookups.items():
        found = [(sql, params) for sql, params in executed if marker in sql]
        assert len(found) == 3, (name, len(found))
        sql, params = found[-1]
        with engine.connect() as connection:
            plan = " ".join(
                str(row[-1])
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            )
        assert re.search(rf"USING (COVERING )?INDEX {index}\b", plan), (name, plan)
        assert "SCAN calls" not in plan, (name, plan)


def test_a_batch_of_new_requests_runs_no_orm_entity_query_per_email(
    tmp_path: Path, dovecot: Any
) -> None:
    """The recurrence check and the look for an active incident are Core statements.

    Through the ORM, an entity query cost several times the statement itself
    (and they nearly always find nothing); only what a batch reads once (the
    parked mail, the heartbeat, the two signing keys) still goes through it.
    """
    orm: list[str] = []
    _executed, _engine, daemon = intake_statements(tmp_path, dovecot, 5, orm)
    assert [s for s in orm if "FROM calls" in s or "FROM incidents" in s] == []
    assert len(orm) <= 4, orm
    assert _opened_and_queued(daemon) == (5, {"confirmation": 5, "new_call": 5})
