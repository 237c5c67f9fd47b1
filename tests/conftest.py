"""Fixtures that start real servers on loopback: Dovecot, an aiosmtpd sink and PostgreSQL.

A missing server program makes the fixture fail with the package to install;
tests never skip for want of a server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import PostgresServer
from servers import BARE_IMAP4REV1, WITHOUT_MOVE, DovecotServer, ImapAccount
from smtpserver import SmtpSink

# --- Dovecot: one server per capability set, one fresh user per test ----------


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    server = DovecotServer.start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> ImapAccount:
    """An account with an empty mailbox on the private Dovecot (all capabilities)."""
    return dovecot_server.new_account()


@pytest.fixture(scope="session")
def dovecot_without_move_server() -> Iterator[DovecotServer]:
    server = DovecotServer.start(capability=WITHOUT_MOVE)
    yield server
    server.stop()


@pytest.fixture
def dovecot_without_move(dovecot_without_move_server: DovecotServer) -> ImapAccount:
    """An account on a Dovecot that does not offer MOVE (UIDPLUS and IDLE remain)."""
    return dovecot_without_move_server.new_account()


@pytest.fixture(scope="session")
def dovecot_bare_server() -> Iterator[DovecotServer]:
    server = DovecotServer.start(capability=BARE_IMAP4REV1)
    yield server
    server.stop()


@pytest.fixture
def dovecot_bare(dovecot_bare_server: DovecotServer) -> ImapAccount:
    """An account on a Dovecot offering plain IMAP4rev1: no MOVE, UIDPLUS or IDLE."""
    return dovecot_bare_server.new_account()


# --- SMTP ----------------------------------------------------------------------


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP server that records every message and can be told to refuse."""
    sink = SmtpSink()
    yield sink
    sink.close()


@pytest.fixture
def smtp_sink_starttls() -> Iterator[SmtpSink]:
    """The same sink offering STARTTLS with a certificate signed by ``ca_file``."""
    sink = SmtpSink(starttls=True)
    yield sink
    sink.close()


# --- PostgreSQL ----------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres(postgres_server: PostgresServer) -> str:
    """The URL of the session's ``mailbot`` database (shared by every test that uses it)."""
    return postgres_server.url("mailbot")


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, empty database of this test's own."""
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each supported kind: a SQLite file, or one of ``pg_url``."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'mailbot.db'}"
