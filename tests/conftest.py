"""Fixtures that start real servers: Dovecot, PostgreSQL and an SMTP sink on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from servers import Dovecot, Postgres, SmtpSink


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    server = Dovecot.start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """The private Dovecot, logged in as a fresh user with an empty mailbox."""
    dovecot_server.new_user()
    return dovecot_server


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    server = Postgres.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres_server: Postgres) -> str:
    """A fresh, empty PostgreSQL database."""
    return postgres_server.new_database()
