"""Tests for the running daemon: IDLE pickup, rule reload on SIGHUP, clean stop."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from support import SHIPPED_RULES, SUPPORT, mail

from mailbot import calls
from mailbot.daemon import Outage
from mailbot.db import make_engine, make_sessions


def config_file(tmp_path: Path, dovecot: Any, smtp_sink: Any, rules: Path) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[service]
address = "{SUPPORT}"
[imap]
host = "{dovecot.host}"
port = {dovecot.port}
security = "none"
username = "{dovecot.username}"
password = "{dovecot.password}"
poll_seconds = 1
[smtp]
host = "{smtp_sink.host}"
port = {smtp_sink.port}
security = "none"
[database]
url = "{url}"
[rules]
dir = "{rules}"
""",
        encoding="utf-8",
    )
    return path, url


def wait_for(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailbot.cli", "--config", str(config), "run"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def test_daemon_picks_up_new_mail_and_stops_on_sigterm(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    config, url = config_file(tmp_path, dovecot, smtp_sink, SHIPPED_RULES)
    log = tmp_path / "daemon.log"
    proc = start(config, log)
    try:
        assert wait_for(lambda: "mailbot running" in log.read_text()), log.read_text()
        dovecot.deliver(mail("school-new-request"))
        assert wait_for(lambda: len(smtp_sink.messages) == 1), log.read_text()
        assert len(calls.list_calls(make_sessions(make_engine(url)))) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert "mailbot stopped" in log.read_text()


def test_sighup_with_broken_rules_keeps_the_last_good_rules(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    config, url = config_file(tmp_path, dovecot, smtp_sink, rules)
    log = tmp_path / "daemon.log"
    proc = start(config, log)
    try:
        assert wait_for(lambda: "mailbot running" in log.read_text()), log.read_text()
        staff = rules / "staff.toml"
        staff.write_text(staff.read_text().replace('line_manager = "raj"', 'line_manager = "x"'))
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "keeping the last good rules" in log.read_text())
        assert "staff.toml: officer (sam): line_manager" in log.read_text()
        # The daemon still works on the last good rules.
        dovecot.deliver(mail("school-new-request"))
        assert wait_for(lambda: len(smtp_sink.messages) == 1), log.read_text()
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert len(calls.list_calls(make_sessions(make_engine(url)))) == 1


def test_outage_is_logged_once_and_recovery_once(caplog: Any) -> None:
    outage = Outage("IMAP server")
    with caplog.at_level("WARNING"):
        waits = [outage.failed(OSError("refused")) for _ in range(5)]
        outage.recovered()
        outage.recovered()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "unavailable" in messages[0] and "back after 5 failed attempts" in messages[1]
    assert waits == sorted(waits) and waits[-1] > waits[0]
