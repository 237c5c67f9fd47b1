"""The per-email budget: the intake worker, the Failed folder's record, SIGTERM while stuck."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support import local, mail, write_config_file

from mailbot.calls import listing
from mailbot.cli import main
from mailbot.config import Config, load_config
from mailbot.daemon import intake
from mailbot.daemon.connections import imap_settings
from mailbot.daemon.sandbox import Budget, Sandbox
from mailbot.daemon.service import Daemon
from mailbot.mail.imap import Mailbox
from mailbot.rules.loader import load_rules
from mailbot.storage import parked
from mailbot.storage.db import make_engine, make_sessions, upgrade
from mailbot.storage.models import ParkedMail

NOW = local(2026, 11, 23, 9, 5)


def school_mail(n: int) -> bytes:
    """A distinct request from a distinct teacher."""
    raw = mail("school-new-request").replace(b"new-request-1@", f"budget-{n}@".encode())
    raw = raw.replace(b"Internet very slow", f"Printer {n} jammed".encode())
    return raw.replace(b"<head@oakfield", f"<teacher{n}@oakfield".encode())


def nested_lists(megabytes: int) -> bytes:
    """An HTML-only email of nested lists: far more work than any CPU budget in these tests.

    Even a linear HTML pass must decode and convert megabytes of markup,
    which costs far more than the 0.1 s budget used below; an ordinary
    email costs well under a tenth of that.
    """
    unit = "<ul><li>Please fix the printer "
    body = unit * (megabytes * 1_000_000 // len(unit))
    return (
        "From: Ann Lee <ann@oakfield-primary.westshire.sch.uk>\r\n"
        "To: ictsupport@westshire.gov.uk\r\n"
        "Subject: Printer list\r\n"
        "Message-ID: <lists-1@oakfield-primary.westshire.sch.uk>\r\n"
        "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        f"<html><body>{body}</body></html>\r\n"
    ).encode()


def setup(tmp_path: Path, dovecot: Any, smtp_sink: Any, intake_toml: str) -> tuple[Path, Config]:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    path = write_config_file(
        tmp_path, url=url, imap=dovecot, smtp=smtp_sink, extra=f"[intake]\n{intake_toml}\n"
    )
    return path, load_config(path)


def daemon(config: Config) -> Daemon:
    return Daemon(
        config=config,
        rules=load_rules(config.rules.dir),
        sessions=make_sessions(make_engine(config.database.url)),
        clock=lambda: NOW,
    )


def records(config: Config) -> list[ParkedMail]:
    with make_sessions(make_engine(config.database.url))() as session:
        return list(session.scalars(select(ParkedMail).order_by(ParkedMail.id)))


def subjects(config: Config) -> list[str]:
    return sorted(
        r["subject"] for r in listing.list_calls(make_sessions(make_engine(config.database.url)))
    )


def test_email_over_the_cpu_budget_is_parked_with_its_reason_and_the_batch_goes_on(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = setup(tmp_path, dovecot, smtp_sink, "message_cpu_seconds = 0.1")
    dovecot.deliver(school_mail(1))
    dovecot.deliver(nested_lists(10))
    dovecot.deliver(school_mail(2))
    report, sent, _ = asyncio.run(daemon(config).run_once())
    assert [o.action for o in report.outcomes] == ["open_call", "open_call"]
    assert subjects(config) == [
        "Printer 1 jammed in the ICT suite",
        "Printer 2 jammed in the ICT suite",
    ]
    assert sent.sent == 4
    [failed] = dovecot.fetch_all("Failed")
    assert b"Subject: Printer list" in failed
    assert dovecot.uids("INBOX") == [] and len(dovecot.uids("Processed")) == 2
    [row] = records(config)
    assert row.reason == "over the CPU budget of 0.1 s per email"
    assert row.sender == "ann@oakfield-primary.westshire.sch.uk"
    assert row.subject == "Printer list"
    assert row.message_id == "<lists-1@oakfield-primary.westshire.sch.uk>"
    assert row.uid == report.failed[0]
    capsys.readouterr()
    main.main(["--config", str(path), "--now", "2026-11-23T09:06", "status"])
    out = capsys.readouterr().out
    assert "parked emails         1" in out
    assert (
        f"UID {row.uid} ann@oakfield-primary.westshire.sch.uk 'Printer list': "
        "over the CPU budget of 0.1 s per email"
    ) in out


def test_worker_stopped_in_an_email_parks_that_email_and_the_batch_goes_on(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    # The worker is stopped (SIGSTOP) before the batch reaches it: to mailbot
    # this is an email that never finishes.
    _, config = setup(tmp_path, dovecot, smtp_sink, "message_wall_seconds = 8")
    for n in (1, 2, 3):
        dovecot.deliver(school_mail(n))
    first = dovecot.uids("INBOX")[0]
    sessions = make_sessions(make_engine(config.database.url))
    with Sandbox(Budget.of(config)) as sandbox, Mailbox(imap_settings(config)) as mailbox:
        sandbox.start()
        stopped = sandbox.pid
        assert stopped is not None
        os.kill(stopped, signal.SIGSTOP)
        report = intake.run_batch(
            mailbox,
            sessions=sessions,
            config=config,
            rules=load_rules(config.rules.dir),
            now=NOW,
            sandbox=sandbox,
        )
        assert sandbox.restarts == 1 and sandbox.pid != stopped
    assert report.failed == [first] and len(report.outcomes) == 2
    assert subjects(config) == [
        "Printer 2 jammed in the ICT suite",
        "Printer 3 jammed in the ICT suite",
    ]
    [failed] = dovecot.fetch_all("Failed")
    assert b"Printer 1 jammed" in failed
    [row] = records(config)
    assert row.uid == first
    assert row.reason == "no result within 8 s; the worker was killed"
    assert not os.path.exists(f"/proc/{stopped}")


def _waiting_on_worker(thread: threading.Thread) -> bool:
    """Whether ``thread`` is inside the sandbox, waiting for the worker's result."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == "_receive":
            return True
        frame = frame.f_back
    return False


def test_worker_killed_in_an_email_parks_only_that_email(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    _, config = setup(tmp_path, dovecot, smtp_sink, "message_wall_seconds = 600")
    for n in (1, 2, 3):
        dovecot.deliver(school_mail(n))
    first = dovecot.uids("INBOX")[0]
    sessions = make_sessions(make_engine(config.database.url))
    rules = load_rules(config.rules.dir)
    reports: list[intake.BatchReport] = []
    with Sandbox(Budget.of(config)) as sandbox, Mailbox(imap_settings(config)) as mailbox:
        sandbox.start()
        worker = sandbox.pid
        assert worker is not None
        # Held still so that it is certainly in the first email when killed.
        os.kill(worker, signal.SIGSTOP)

        def batch() -> None:
            reports.append(
                intake.run_batch(
                    mailbox,
                    sessions=sessions,
                    config=config,
                    rules=rules,
                    now=NOW,
                    sandbox=sandbox,
                )
            )

        thread = threading.Thread(target=batch)
        thread.start()
        deadline = time.monotonic() + 120
        while not _waiting_on_worker(thread) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_on_worker(thread)
        os.kill(worker, signal.SIGKILL)
        thread.join(300)
        assert not thread.is_alive()
    [report] = reports
    assert report.failed == [first] and len(report.outcomes) == 2
    assert len(subjects(config)) == 2
    [row] = records(config)
    assert row.uid == first and row.reason == "the worker was killed by SIGKILL"
    assert b"Printer 1 jammed" in dovecot.fetch_all("Failed")[0]


def test_parked_email_seen_again_after_a_crash_is_moved_without_a_second_record(
    tmp_path: Path,
    dovecot: Any,
    smtp_sink: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, config = setup(tmp_path, dovecot, smtp_sink, "message_cpu_seconds = 0.1")
    dovecot.deliver(nested_lists(10))

    def die(self: Mailbox, uids: Any, folder: str) -> None:
        raise KeyboardInterrupt("killed after the record, before the move")

    monkeypatch.setattr(Mailbox, "move", die)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(daemon(config).run_once())
    monkeypatch.undo()
    assert len(dovecot.uids("INBOX")) == 1 and len(records(config)) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mailbot.daemon.intake"):
        report, _, _ = asyncio.run(daemon(config).run_once())
    assert len(report.failed) == 1 and report.outcomes == []
    assert dovecot.uids("INBOX") == [] and len(dovecot.uids("Failed")) == 1
    assert len(records(config)) == 1
    # Recognised from its record, not parked a second time.
    assert "was parked on" in caplog.text and "parked in Failed" not in caplog.text


def test_parked_record_is_written_once_on_both_databases(db_url: str) -> None:
    upgrade(db_url)
    sessions = make_sessions(make_engine(db_url))
    raw = nested_lists(1)
    note = parked.describe(raw, 7, "over the CPU budget of 5 s per email", NOW)
    parked.record(sessions, note)
    parked.record(sessions, parked.describe(raw, 8, "a second attempt", NOW))
    total, [row] = parked.recent(sessions, 10)
    assert total == 1 and row.uid == 7 and row.reason.startswith("over the CPU budget")
    assert set(parked.known(sessions, {note.key, "raw:other"})) == {note.key}


def test_email_that_exhausts_the_worker_memory_is_parked(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    # The limit is set just above what the idle worker uses, so an ordinary
    # email fits and a 10 MB one cannot be decoded.
    probe = Sandbox(Budget(5.0, 60.0, 0))
    probe.start()
    status = Path(f"/proc/{probe.pid}/status").read_text()
    probe.stop()
    idle_kb = int(
        next(line for line in status.splitlines() if line.startswith("VmSize")).split()[1]
    )
    limit_mb = idle_kb // 1024 + 24
    _, config = setup(tmp_path, dovecot, smtp_sink, f"worker_memory_mb = {limit_mb}")
    dovecot.deliver(school_mail(1))
    dovecot.deliver(nested_lists(10))
    dovecot.deliver(school_mail(2))
    report, _, _ = asyncio.run(daemon(config).run_once())
    assert len(report.outcomes) == 2 and len(report.failed) == 1
    [row] = records(config)
    assert row.reason == f"out of memory (the worker is limited to {limit_mb} MB)"
    assert b"Subject: Printer list" in dovecot.fetch_all("Failed")[0]


def _worker_of(pid: int) -> int | None:
    """The intake worker among the children of process ``pid`` (not the resource tracker)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            return int(entry.name)
    return None


def test_daemon_with_its_worker_stuck_stops_on_sigterm_and_loses_nothing(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    path = write_config_file(
        tmp_path, url=url, imap=dovecot, smtp=smtp_sink, poll_seconds=1,
        extra="[intake]\nmessage_wall_seconds = 600\n",
    )  # fmt: skip
    log = tmp_path / "daemon.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(path), "run"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    worker = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (
            "mailbot running" not in log.read_text() or worker is None
        ):
            worker = _worker_of(proc.pid)
            time.sleep(0.1)
        assert worker is not None, log.read_text()
        # The worker freezes: the email it is given never finishes.
        os.kill(worker, signal.SIGSTOP)
        dovecot.deliver(school_mail(1))
        deadline = time.monotonic() + 120
        while "1 email(s) fetched" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "1 email(s) fetched" in log.read_text(), log.read_text()
        proc.send_signal(signal.SIGTERM)
        # The product's promise: SIGTERM is answered within 10 s.
        assert proc.wait(timeout=10) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "mailbot stopped" in log.read_text()
    # The stopped worker was killed, not left behind.
    assert not Path(f"/proc/{worker}").exists()
    # Nothing lost: the email waits in the inbox and is handled on restart.
    assert len(dovecot.uids("INBOX")) == 1 and dovecot.uids("Failed") == []
    again = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(path), "run", "--once"],
        capture_output=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert [r["subject"] for r in listing.list_calls(make_sessions(make_engine(url)))] == [
        "Printer 1 jammed in the ICT suite"
    ]
    assert dovecot.uids("INBOX") == [] and len(dovecot.uids("Processed")) == 1
