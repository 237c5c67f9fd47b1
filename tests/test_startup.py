"""Start-up does only what is needed: --version imports nothing heavy, no worker for no mail."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import local, make_config, write_config_file

from mailbot import __version__
from mailbot.daemon.sandbox import Sandbox
from mailbot.daemon.service import Daemon
from mailbot.rules.loader import load_rules
from mailbot.storage.db import (
    bundled_heads,
    head_revision,
    is_current,
    make_engine,
    make_sessions,
    upgrade,
)

HEAVY = ("sqlalchemy", "pydantic", "jinja2", "alembic", "matplotlib", "mailbot.cli.main")


def test_version_is_answered_without_importing_the_command_line() -> None:
    probe = (
        "import sys\n"
        "from mailbot.cli.launch import main\n"
        "code = main(['--version'])\n"
        f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"mailbot {__version__}", "0 []"]


def test_the_full_command_line_knows_version_too() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "--verbose", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == f"mailbot {__version__}"


def test_an_empty_mailbox_starts_no_worker_and_a_full_one_does(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    config = make_config(
        tmp_path,
        url,
        imap=(dovecot.host, dovecot.port, dovecot.username, dovecot.password),
        smtp=(smtp_sink.host, smtp_sink.port),
    )
    launches: list[int] = []
    real = Sandbox.launch

    def counted(self: Sandbox) -> None:
        launches.append(1)
        real(self)

    monkeypatch.setattr(Sandbox, "launch", counted)
    now = local(2026, 11, 23, 9, 5)
    daemon = Daemon(
        config=config,
        rules=load_rules(config.rules.dir),
        sessions=make_sessions(make_engine(url)),
        clock=lambda: now,
    )
    report, _, _ = asyncio.run(daemon.run_once())
    assert report.outcomes == [] and launches == []
    dovecot.deliver((Path(__file__).parent / "mail" / "school-new-request.eml").read_bytes())
    report, sent, _ = asyncio.run(daemon.run_once())
    assert len(report.outcomes) == 1 and sent.sent == 2 and launches


def test_the_head_read_from_the_migration_files_is_alembics(tmp_path: Path) -> None:
    assert bundled_heads() == head_revision(f"sqlite:///{tmp_path / 'mailbot.db'}")


def test_run_migrates_a_new_database_and_skips_alembic_on_a_current_one(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)
    probe = (
        "import sys\n"
        "from mailbot.cli.main import main\n"
        f"args = ['--config', {str(config)!r}, '--now', '2026-11-23T10:40', 'run', '--once']\n"
        "code = main(args)\n"
        "print(code, 'alembic' in sys.modules)\n"
    )

    def run() -> str:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()[-1]

    # A new database is migrated (Alembic needed)...
    assert run() == "0 True"
    assert is_current(make_engine(url))
    # ...and a current one is recognised with one query, without importing Alembic.
    assert run() == "0 False"


def test_the_command_line_imports_no_oauth_library_until_an_account_needs_one() -> None:
    probe = (
        "import sys\n"
        "import mailbot.cli.main\n"
        "print(sorted(m for m in ('msal', 'google.auth', 'requests') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
