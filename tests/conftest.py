"""Fixtures that start real servers on loopback (Dovecot, SMTP, PostgreSQL), and the test tiers.

A missing server program makes the fixture fail with the package to install;
tests never skip for want of a server.

The corpus tier (test_corpus_*.py) reads other projects' test mail from
MAILBOT_CORPUS.  Without it those modules are not collected and the run says
so in one line; with MAILBOT_REQUIRE_CORPUS=1 (as .ci/run sets) a run without
the corpus tier fails.  Tests that use a server fixture get the ``servers``
marker and those that write a database or files (tmp_path) the ``storage``
marker; ``sh scripts/test --fast`` runs the rest, the pure tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import PostgresServer
from servers import BARE_IMAP4REV1, WITHOUT_MOVE, DovecotServer, ImapAccount
from smtpserver import SmtpSink
from support import CORPUS

# --- the corpus tier --------------------------------------------------------------

CORPUS_TIER = "test_corpus_*.py"
HAVE_CORPUS = (CORPUS / "MANIFEST.tsv").is_file()
REQUIRE_CORPUS = os.environ.get("MAILBOT_REQUIRE_CORPUS", "") not in ("", "0")
# pytest reads this name: the corpus modules are not collected without a corpus.
collect_ignore_glob = [] if HAVE_CORPUS else [CORPUS_TIER]
# The corpus tests that ran, so that a required tier which ran none fails.
_corpus_tests_run: list[str] = []


def _in_corpus_tier(nodeid: str) -> bool:
    return Path(nodeid.split("::", 1)[0]).match(CORPUS_TIER)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "servers: the test starts or uses a server (not --fast)")
    config.addinivalue_line("markers", "storage: the test writes a database or files (not --fast)")
    if REQUIRE_CORPUS and not HAVE_CORPUS:
        raise pytest.UsageError(
            f"MAILBOT_REQUIRE_CORPUS is set but there is no corpus at {CORPUS} "
            "(set MAILBOT_CORPUS to the folder holding MANIFEST.tsv)"
        )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and _in_corpus_tier(report.nodeid):
        _corpus_tests_run.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A required corpus tier that ran no test (deselected, or its modules
    # renamed) must not pass unnoticed.
    if REQUIRE_CORPUS and not _corpus_tests_run and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not HAVE_CORPUS:
        terminalreporter.write_line(
            f"corpus tier: not run, no corpus at {CORPUS} (set MAILBOT_CORPUS to run it)"
        )
    elif REQUIRE_CORPUS and not _corpus_tests_run:
        terminalreporter.write_line("corpus tier: REQUIRED but no corpus test ran", red=True)


# --- the fast tier ------------------------------------------------------------------

# Fixtures that start or use a real server; a test using one is not pure.
SERVER_FIXTURES = frozenset(
    {
        "dovecot_server", "dovecot_without_move_server", "dovecot_bare_server",
        "smtp_sink", "smtp_sink_starttls", "postgres_server",
    }
)  # fmt: skip


# Every database and every file a test writes lives under a temporary path.
STORAGE_FIXTURES = frozenset({"tmp_path", "tmp_path_factory"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        # db_url reaches PostgreSQL through getfixturevalue, out of the static closure.
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("db_url") == "postgresql"
        if fixtures & SERVER_FIXTURES or on_postgres:
            item.add_marker(pytest.mark.servers)
        if fixtures & STORAGE_FIXTURES:
            item.add_marker(pytest.mark.storage)


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
