"""What the service logs: a line per email handled and sent, causes named, no secrets."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import Address, mail, write_config_file

from mailbot.cli.main import main

NOW = "2026-11-23T09:05"
MAILBOT = Path(sys.executable).with_name("mailbot")


def test_each_email_handled_and_sent_is_one_info_line(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink, timeout=5)
    dovecot.deliver(mail("school-new-request"))
    with caplog.at_level(logging.INFO, logger="mailbot"):
        assert main(["--config", str(config), "--now", NOW, "run", "--once"]) == 0
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("mailbot")]
    [handled] = [x for x in lines if x.startswith("email UID")]
    assert re.fullmatch(r"email UID \d+: open_call ICT-000001 \(.+\)", handled), handled
    sent = [x for x in lines if x.endswith(" sent")]
    assert len(sent) == len(smtp_sink.messages) == 2
    for line in sent:
        assert re.fullmatch(r"email [a-z_0-9]+ to \d+ recipient\(s\) <[^>]+> sent", line), line
    # The test account's password is a plain word, so only mailbot's own lines are searched.
    assert all(dovecot.password not in line for line in lines)


def test_an_smtp_outage_names_the_server_and_its_cause(
    tmp_path: Path, dovecot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(
        tmp_path, url=url, imap=dovecot, smtp=Address("127.0.0.1", 9), timeout=5
    )
    dovecot.deliver(mail("school-new-request"))
    with caplog.at_level(logging.INFO, logger="mailbot"):
        assert main(["--config", str(config), "--now", NOW, "run", "--once"]) == 0
    [retry] = [r.getMessage() for r in caplog.records if "will retry" in r.getMessage()]
    assert "cannot connect to SMTP 127.0.0.1:9" in retry
    assert re.match(r"email [a-z_0-9]+ to \d+ recipient\(s\) <", retry)


def _db_upgrade_log(tmp_path: Path, journal: bool) -> str:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url)
    read, write = os.pipe()
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    if journal:
        # systemd names the journal's stream by device and inode; here the
        # pipe stands in for it.
        st = os.fstat(write)
        env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    done = subprocess.run(
        [str(MAILBOT), "--log-level", "info", "--config", str(config), "db", "upgrade"],
        stderr=write,
        stdout=subprocess.DEVNULL,
        env=env,
        timeout=120,
        check=True,
    )
    os.close(write)
    with os.fdopen(read) as stream:
        text = stream.read()
    assert done.returncode == 0
    return text


def test_no_timestamps_when_stderr_is_the_journal(tmp_path: Path) -> None:
    journal = _db_upgrade_log(tmp_path, journal=True)
    assert journal and all(line.startswith("INFO ") for line in journal.splitlines()), journal


def test_timestamps_on_a_terminal_or_file(tmp_path: Path) -> None:
    plain = _db_upgrade_log(tmp_path, journal=False)
    assert plain and all(re.match(r"\d{4}-\d\d-\d\d ", x) for x in plain.splitlines()), plain


def test_log_level_option_silences_info(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, extra='[logging]\nlevel = "WARNING"\n')
    done = subprocess.run(
        [str(MAILBOT), "--config", str(config), "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "INFO" not in done.stderr
    done = subprocess.run(
        [str(MAILBOT), "--log-level", "INFO", "--config", str(config), "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "INFO" in done.stderr
