"""Start-up does only what is needed: --version imports nothing heavy, no worker for no mail."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import local, make_config

from mailbot import __version__
from mailbot.daemon.sandbox import Sandbox
from mailbot.daemon.service import Daemon
from mailbot.rules.loader import load_rules
from mailbot.storage.db import make_engine, make_sessions, upgrade

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
