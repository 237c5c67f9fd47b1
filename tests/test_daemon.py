"""Tests for the running daemon: IDLE pickup, rule reload on SIGHUP, clean stop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from support import SHIPPED_RULES, mail, write_config_file

from mailbot.calls import listing
from mailbot.daemon.connections import Outage
from mailbot.storage.db import make_engine, make_sessions


def config_file(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, rules: Path, extra: str = ""
) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    path = write_config_file(
        tmp_path, url=url, imap=dovecot, smtp=smtp_sink, rules_dir=rules, name=False,
        extra=extra, poll_seconds=1,
    )  # fmt: skip
    return path, url


def wait_for(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def start(config: Path, log: Path, now: str | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MAILBOT_NOW": now} if now else None
    return subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(config), "run"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
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
        assert wait_for(lambda: len(smtp_sink.to_schools()) == 1), log.read_text()
        assert len(listing.list_calls(make_sessions(make_engine(url)))) == 1
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
        assert wait_for(lambda: len(smtp_sink.to_schools()) == 1), log.read_text()
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert len(listing.list_calls(make_sessions(make_engine(url)))) == 1


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


def test_scheduler_escalates_and_polls_without_idle_in_the_running_daemon(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    extra = "[scheduler]\ntick_seconds = 0.5\n"
    config, _ = config_file(tmp_path, dovecot, smtp_sink, SHIPPED_RULES, extra)
    text = config.read_text().replace("poll_seconds = 1", "poll_seconds = 1\nidle = false")
    config.write_text(text)
    dovecot.deliver(mail("school-new-request"))
    once = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(config), "--now",
         "2026-11-23T09:05", "run", "--once"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert once.returncode == 0, once.stdout + once.stderr
    log = tmp_path / "daemon.log"
    # The daemon runs at the instant Level 1 falls due (65% of the fix time).
    proc = start(config, log, now="2026-11-24T11:47")
    try:
        assert wait_for(lambda: len(smtp_sink.of_kind("escalation1")) == 1), log.read_text()
        [escalation] = smtp_sink.of_kind("escalation1")
        assert list(escalation.rcpt_tos) == ["raj.patel@westshire.gov.uk"]
        # The response target (Tuesday 09:05) passed unmet too: told once.
        assert wait_for(lambda: len(smtp_sink.of_kind("breach")) == 1), log.read_text()
        raw = mail("school-new-request").replace(b"new-request-1@", b"polled-1@")
        dovecot.deliver(raw.replace(b"<head@", b"<teacher@"))
        assert wait_for(lambda: len(smtp_sink.to_schools()) == 2), log.read_text()
        time.sleep(1.5)  # Several more ticks: nothing is sent twice.
        assert len(smtp_sink.to_schools()) == 2 and len(smtp_sink.messages) == 6
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert "ICT-000001 escalated to level 1" in log.read_text()
