"""Tests for the schema migrations and the storage conventions."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from support import local

from mailbot.errors import Conflict
from mailbot.storage.db import alembic_config, make_engine, make_sessions, transaction, upgrade
from mailbot.storage.models import Base, Processed, ServiceState


def test_migrations_create_exactly_the_models_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Types differ only in name (UtcDateTime is stored as DateTime), so
    # compare tables, columns and indexes, which is what a migration must get right.
    structural = [d for d in diff if not (isinstance(d, list) or d[0] == "modify_type")]
    assert structural == []
    assert set(inspect(engine).get_table_names()) >= {"calls", "messages", "outbox", "processed"}


def _schema(engine: Engine) -> dict[str, object]:
    """Each table's columns, indexes and unique constraints, as plain comparable values."""
    found = inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
            sorted((i["name"] or "", tuple(i["column_names"])) for i in found.get_indexes(table)),
            sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in found.get_unique_constraints(table)
            ),
        )
        for table in sorted(found.get_table_names())
    }


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_upgrade_twice_is_harmless(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    with transaction(make_sessions(engine)) as s:
        s.add(ServiceState(key="k", value="v", at=local(2026, 7, 1, 10, 0)))
    schema = _schema(engine)
    head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
    assert head is not None and _revision(engine) == head
    upgrade(db_url)
    assert _schema(engine) == schema
    assert _revision(engine) == head
    with make_sessions(engine)() as s:
        assert [(r.key, r.value) for r in s.scalars(select(ServiceState))] == [("k", "v")]
    engine.dispose()


def test_times_come_back_aware_and_in_utc(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    sessions = make_sessions(make_engine(url))
    with transaction(sessions) as s:
        s.add(ServiceState(key="k", value="v", at=local(2026, 7, 1, 10, 0)))
    with sessions() as s:
        row = s.get(ServiceState, "k")
        assert row is not None
        assert row.at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC) and row.at.tzinfo is UTC


def test_naive_times_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    sessions = make_sessions(make_engine(url))
    with pytest.raises(Exception, match="naive datetime"), transaction(sessions) as s:
        s.add(ServiceState(key="k", value="v", at=datetime(2026, 7, 1, 10, 0)))


def test_second_record_of_the_same_email_is_a_conflict(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    sessions = make_sessions(make_engine(url))
    now = local(2026, 11, 23, 9, 0)
    with transaction(sessions) as s:
        s.add(Processed(key="mid:x", outcome="open_call", processed_at=now))
    with pytest.raises(Conflict), transaction(sessions) as s:
        s.add(Processed(key="mid:x", outcome="open_call", processed_at=now))


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_sqlite_files_are_private_under_a_permissive_umask(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    url = f"sqlite:///{db}"
    old = os.umask(0o022)
    try:
        upgrade(url)
        engine = make_engine(url)
        sessions = make_sessions(engine)
        with transaction(sessions) as session:
            session.add(ServiceState(key="probe", value="x", at=datetime(2026, 1, 5, tzinfo=UTC)))
        # A second connection while the first is open still finds 0600 files.
        with engine.connect() as conn, engine.connect() as other:
            conn.exec_driver_sql("SELECT 1")
            other.exec_driver_sql("SELECT 1")
            sides = [tmp_path / "m.db-wal", tmp_path / "m.db-shm"]
            assert all(p.exists() for p in sides)
            assert {p.name: _mode(p) for p in (db, *sides)} == {
                "m.db": 0o600,
                "m.db-wal": 0o600,
                "m.db-shm": 0o600,
            }
        engine.dispose()
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    db.touch()
    db.chmod(0o644)
    (tmp_path / "old.db-wal").touch()
    (tmp_path / "old.db-wal").chmod(0o644)
    make_engine(f"sqlite:///{db}").dispose()
    assert _mode(db) == 0o600
    assert _mode(tmp_path / "old.db-wal") == 0o600
