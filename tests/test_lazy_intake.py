"""An empty pass imports no intake stage; the intake worker imports no database library.

Counts, never times: which modules a fresh process (the command line, or
the intake worker itself) imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import local, mail, make_config, migrated, write_config_file

from mailbot.daemon.sandbox import Budget, Sandbox
from mailbot.pipeline.records import RawMail, Triage
from mailbot.rules.loader import load_rules

# What handling an email needs and an empty pass does not: the stages and the
# rooms they act in, the MIME parser, the intake worker's module.
INTAKE = (
    "mailbot.pipeline.stages", "mailbot.pipeline.facing", "mailbot.pipeline.act",
    "mailbot.pipeline.compose", "mailparser", "mailbot.daemon.worker",
)  # fmt: skip
# What only the long-running daemon needs: the scheduler library that ticks it.
FOREVER = ("apscheduler", "mailbot.daemon.metronome")


def _imported_by_run_once(config: Path, watched: tuple[str, ...] = INTAKE) -> list[str]:
    """Run `mailbot run --once` in a fresh interpreter; which of ``watched`` it imported."""
    argv = ["--config", str(config), "--now", "2026-11-23T10:40", "run", "--once"]
    body = (
        "import json, sys\n"
        "from mailbot.cli.main import main\n"
        f"assert main({argv!r}) == 0\n"
        f"print(json.dumps(sorted(m for m in {watched!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_an_empty_run_once_imports_no_intake_stage(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)
    assert _imported_by_run_once(config) == []
    assert smtp_sink.messages == []


def test_run_once_does_not_import_the_daemons_scheduler(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)
    dovecot.deliver(mail("school-new-request"))
    assert _imported_by_run_once(config, FOREVER) == []
    assert len(smtp_sink.messages) == 2


def test_a_run_once_with_mail_imports_the_intake_stages(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    # The same probe sees the stages once there is mail to handle, and the
    # email is handled as ever: a confirmation and a team notice.
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)
    dovecot.deliver(mail("school-new-request"))
    assert _imported_by_run_once(config) == sorted(INTAKE)
    assert len(smtp_sink.messages) == 2 and dovecot.uids("INBOX") == []


def _imports_logged(stderr: str) -> set[str]:
    """The modules named in ``-X importtime`` lines (one per import a process made)."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_the_intake_worker_imports_no_database_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # The worker is a fresh interpreter that inherits the environment and
    # stderr: with PYTHONPROFILEIMPORTTIME it logs every import it makes
    # itself.  This (test) process read the variable at its own start, so
    # none of the lines are its own.
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}")
    rules = load_rules(config.rules.dir)
    raw = mail("school-new-request")
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")
    capfd.readouterr()
    with Sandbox(Budget(5.0, 60.0, 0)) as sandbox:
        [(_, prepared)] = sandbox.prepare(
            [RawMail(raw=raw, size=len(raw))],
            config=config,
            rules=rules,
            now=local(2026, 11, 23, 9, 5),
        )
    assert isinstance(prepared, Triage) and prepared.prepared
    assert prepared.msg is not None and prepared.msg.subject
    imported = _imports_logged(capfd.readouterr().err)
    # The log is the worker's: it imported the records and the parser it uses.
    assert {"mailbot.pipeline.records", "mailparser"} <= imported
    assert sorted(m for m in imported if m.split(".")[0] == "sqlalchemy") == []
    assert "mailbot.calls.store" not in imported and "mailbot.pipeline.stages" not in imported
    assert {"mailbot.daemon.worker", "mailbot.pipeline.facing"} <= imported


def test_building_the_configuration_looks_up_no_pydantic_plugins(tmp_path: Path) -> None:
    # Pydantic reads every installed distribution's entry points to find its
    # plugins; mailbot has none, so it asks pydantic not to look.
    config = write_config_file(tmp_path, url=f"sqlite:///{tmp_path / 'mailbot.db'}")
    body = (
        "import importlib.metadata as metadata, json, os\n"
        "os.environ.pop('PYDANTIC_DISABLE_PLUGINS', None)\n"
        "asked = []\n"
        "real = metadata.entry_points\n"
        "def counted(*args, **kwargs):\n"
        "    asked.append(kwargs.get('group'))\n"
        "    return real(*args, **kwargs)\n"
        "metadata.entry_points = counted\n"
        "from pathlib import Path\n"
        "from mailbot.config import load_config\n"
        "from mailbot.rules.loader import load_rules\n"
        f"config = load_config(Path({str(config)!r}))\n"
        "load_rules(config.rules.dir)\n"
        "print(json.dumps(asked))\n"
    )
    done = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_worker_refuses_any_use_of_the_store() -> None:
    # The worker's stages read nothing but the email: a stage that reached
    # for the database there fails loudly instead of quietly doing nothing.
    from mailbot.daemon.worker import _NoDatabase

    with pytest.raises(RuntimeError, match="no database"):
        _NoDatabase().is_processed("mid:x")
