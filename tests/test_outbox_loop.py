"""The daemon's outbox loop: broadcast pass only when due, and database waits off the event loop."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any

from smtpserver import SmtpSink
from sqlalchemy import event, insert, select
from support import SUPPORT, local, mail, make_config, make_env, of_kind

from mailbot.daemon.connections import Outage
from mailbot.daemon.service import Daemon
from mailbot.incidents import incident
from mailbot.storage.db import make_engine, make_sessions, transaction
from mailbot.storage.models import Outbox

NOW = local(2026, 11, 23, 9, 30)
INCIDENT_TABLES = ("incident_updates", "deliveries")


def daemon_for(tmp: Path, url: str, smtp: SmtpSink, imap: Any = None) -> Daemon:
    env = make_env(tmp, url)
    servers: dict[str, Any] = {"smtp": (smtp.host, smtp.port)}
    if imap is not None:
        servers["imap"] = (imap.host, imap.port, imap.username, imap.password)
    config = make_config(tmp, url, **servers)
    return Daemon(
        config=config, rules=env.rules, sessions=make_sessions(make_engine(url)), clock=lambda: NOW
    )


def queue_one(url: str) -> None:
    row = {
        "message_id": "<n1@mailbot.test>",
        "kind": "new_call",
        "mail_from": SUPPORT,
        "recipients": '["head@school.example"]',
        "raw": b"Message-ID: <n1@mailbot.test>\r\nSubject: n1\r\n\r\nbody\r\n",
        "status": "pending",
        "attempts": 0,
        "created_at": NOW,
        "next_attempt_at": NOW,
        "last_error": "",
        "route": "smtp",
    }
    with make_engine(url).begin() as conn:
        conn.execute(insert(Outbox), [row])


def test_outbox_wakes_with_no_incident_run_no_broadcast_queries(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    daemon = daemon_for(tmp_path, url, smtp_sink)
    engine = daemon.sessions.kw["bind"]
    touched: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def note(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        if any(table in sql for table in INCIDENT_TABLES):
            touched.append(sql.split(None, 1)[0].upper())

    async def rounds(count: int) -> None:
        sender = daemon.sender()
        try:
            for _ in range(count):
                await daemon.outbox_round(sender, Outage("SMTP server"), fallback=False)
        finally:
            await sender.close()

    # The first round after start looks once, for a broadcast a crash
    # interrupted: notices to expand, people to catch up, deliveries to queue.
    asyncio.run(rounds(1))
    assert touched == ["SELECT", "SELECT", "SELECT"]
    # Later wakes (intake's replies) with no incident cost no broadcast query at all.
    touched.clear()
    asyncio.run(rounds(5))
    assert touched == []

    # An incident declared from the command line (another process) is found
    # when the periodic tick marks a pass due, and then broadcast in full.
    with transaction(daemon.sessions) as session:
        incident.declare(
            session, daemon.rules, title="Internet down", details="The link failed.",
            by=incident.By("raj.patel@westshire.gov.uk", NOW),
        )  # fmt: skip
    daemon.broadcast_due = True
    asyncio.run(rounds(3))
    sent = smtp_sink.of_kind("incident_notice")
    assert sent and len(sent) == len(of_kind_rows(daemon))
    # The pass that found nothing more left the flag down again.
    assert daemon.broadcast_due is False


def of_kind_rows(daemon: Daemon) -> list[Outbox]:
    with daemon.sessions() as session:
        return list(session.scalars(select(Outbox).where(Outbox.kind == "incident_notice")))


def test_an_email_with_a_major_command_marks_a_broadcast_due(
    tmp_path: Path, dovecot: Any, smtp_sink: SmtpSink
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    daemon = daemon_for(tmp_path, url, smtp_sink, imap=dovecot)
    daemon.broadcast_due = False
    mailbox = daemon.mailbox()
    mailbox.connect()
    try:
        dovecot.deliver(mail("school-new-request"))
        daemon.intake_pass(mailbox)
        # A school's request carries no #major command: no pass is due for it.
        assert daemon.broadcast_due is False
        env = make_env(tmp_path, url)
        notice = of_kind(env, "new_call")[0].message_id
        dovecot.deliver(mail("staff-declares-major-incident", notice_id=notice))
        report = daemon.intake_pass(mailbox)
    finally:
        mailbox.close()
    assert [o.incident_news for o in report.outcomes] == [True]
    assert daemon.broadcast_due is True


def test_sigterm_is_answered_while_the_outbox_waits_for_a_sqlite_lock(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    daemon = daemon_for(tmp_path, url, smtp_sink)
    daemon.broadcast_due = False
    queue_one(url)
    engine = daemon.sessions.kw["bind"]
    events: list[str] = []
    locked = threading.Event()
    release = threading.Event()

    def hold_the_write_lock() -> None:
        # Another process writing (the CLI, a second daemon): SQLite makes the
        # daemon's next write wait up to its busy timeout.  The fallback
        # release only keeps the test finite when the loop cannot answer.
        holder = sqlite3.connect(tmp_path / "mailbot.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(timeout=5)
        events.append("lock released")
        holder.execute("ROLLBACK")
        holder.close()

    holder = threading.Thread(target=hold_the_write_lock)

    @event.listens_for(engine, "before_cursor_execute")
    def lock_before_mark(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        # The email has been accepted by the relay; its mark now meets the lock.
        if sql.lstrip().upper().startswith("UPDATE") and not holder.is_alive():
            holder.start()
            locked.wait()
            events.append("mark waits for the lock")
            os.kill(os.getpid(), signal.SIGTERM)

    def answered() -> None:
        events.append("sigterm answered")
        daemon.stop()
        release.set()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, answered)
        try:
            task = asyncio.create_task(daemon.outbox_loop())
            await daemon.stopping.wait()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    asyncio.run(run())
    holder.join()
    # The loop answered SIGTERM while the mark was still waiting for the lock...
    assert events == ["mark waits for the lock", "sigterm answered", "lock released"]
    # ...and the email in hand was still recorded once the lock was free: sent once.
    with daemon.sessions() as session:
        assert session.scalars(select(Outbox.status)).all() == ["sent"]
    assert len(smtp_sink.messages) == 1
