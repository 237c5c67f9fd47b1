"""A SIGKILL while several SMTP connections send: at most one email is sent twice (issue 16)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from servers import free_port
from sqlalchemy import insert, select
from support import SUPPORT, local, migrated

from mailbot.daemon.sender import send_due
from mailbot.mail.smtp import SmtpSender, SmtpSettings
from mailbot.storage.db import make_engine, make_sessions
from mailbot.storage.models import Outbox

NOW = local(2026, 11, 23, 9, 30)
ROOT = Path(__file__).resolve().parents[1]
EMAILS = 120
CONNECTIONS = 4

# The sending process: the outbox sender over several connections, as the daemon runs it.
CHILD = """
import asyncio, sys
from datetime import datetime
from mailbot.daemon.sender import send_due
from mailbot.mail.smtp import SmtpSender, SmtpSettings
from mailbot.storage.db import make_engine, make_sessions

url, port, lanes, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

async def main():
    settings = SmtpSettings("127.0.0.1", port, security="none")
    senders = [SmtpSender(settings) for _ in range(lanes)]
    sessions = make_sessions(make_engine(url))
    await send_due(sessions, senders, now=datetime.fromisoformat(now), max_attempts=3)

asyncio.run(main())
"""


class Relay:
    """Accepts every message; at chosen ones it stalls the database or kills the sender.

    At message ``stall_at`` it takes SQLite's write lock for half a second, so
    the sender cannot record what it sends; at message ``kill_at`` it kills
    the sender with SIGKILL after accepting it, the worst instant there is.
    With ``check`` it also notes, as each message arrives, how many accepted
    before it are not yet recorded as sent.
    """

    def __init__(self, db: Path, stall_at: int = 0, kill_at: int = 0) -> None:
        self.db = db
        self.stall_at = stall_at
        self.kill_at = kill_at
        self.victim = 0
        self.accepted: list[str] = []
        self.unrecorded: list[int] = []
        self.lock = threading.Lock()

    def _unrecorded(self) -> int:
        with sqlite3.connect(self.db) as conn:
            sent = {r for (r,) in conn.execute("SELECT message_id FROM outbox WHERE status='sent'")}
        return len(set(self.accepted) - sent)

    def _stall(self) -> None:
        conn = sqlite3.connect(self.db, timeout=10, check_same_thread=False, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        threading.Timer(0.5, lambda: (conn.rollback(), conn.close())).start()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        first = bytes(envelope.original_content).split(b"\r\n", 1)[0].decode()
        message_id = first.removeprefix("Message-ID: ")
        with self.lock:
            self.unrecorded.append(self._unrecorded())
            self.accepted.append(message_id)
            count = len(self.accepted)
        if count == self.stall_at:
            self._stall()
        if count == self.kill_at and self.victim:
            os.kill(self.victim, signal.SIGKILL)
        return "250 2.0.0 OK"


def _queue(url: str) -> None:
    rows = [
        {
            "message_id": f"<n{n}@mailbot.test>",
            "kind": "incident_notice",
            "mail_from": SUPPORT,
            "recipients": f'["head{n}@school.example"]',
            "raw": f"Message-ID: <n{n}@mailbot.test>\r\nSubject: n{n}\r\n\r\nbody\r\n".encode(),
            "status": "pending",
            "attempts": 0,
            "created_at": NOW,
            "next_attempt_at": NOW,
            "last_error": "",
            "route": "smtp",
        }
        for n in range(EMAILS)
    ]
    with make_engine(url).begin() as conn:
        conn.execute(insert(Outbox), rows)


async def _send_rest(url: str, port: int) -> None:
    settings = SmtpSettings("127.0.0.1", port, security="none")
    senders = [SmtpSender(settings) for _ in range(CONNECTIONS)]
    try:
        await send_due(make_sessions(make_engine(url)), senders, now=NOW, max_attempts=3)
    finally:
        for sender in senders:
            await sender.close()


def test_a_sigkill_with_several_connections_sends_at_most_one_email_twice(tmp_path: Path) -> None:
    db = tmp_path / "mailbot.db"
    url = f"sqlite:///{db}"
    migrated(url)
    _queue(url)
    # The database stalls after the 40th message; the kill comes three messages
    # later, when on each of the other connections a message could have been
    # accepted meanwhile without being recorded.
    relay = Relay(db, stall_at=40, kill_at=43)
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(port), str(CONNECTIONS), NOW.isoformat()],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        relay.victim = child.pid
        assert child.wait(timeout=120) == -signal.SIGKILL
        # Time for the stall to end, then the next run sends the rest.
        time.sleep(0.6)
        asyncio.run(_send_rest(url, port))
    finally:
        controller.stop()

    counts = Counter(relay.accepted)
    # Every email reached the relay, by its own Message-ID...
    assert set(counts) == {f"<n{n}@mailbot.test>" for n in range(EMAILS)}
    # ...and only the one accepted at the instant of the kill went twice.
    assert sum(n - 1 for n in counts.values()) <= 1, [m for m, n in counts.items() if n > 1]
    with make_engine(url).connect() as conn:
        assert set(conn.scalars(select(Outbox.status))) == {"sent"}


def test_each_message_goes_to_the_relay_only_once_the_one_before_is_recorded(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mailbot.db"
    url = f"sqlite:///{db}"
    migrated(url)
    _queue(url)
    relay = Relay(db, stall_at=10)
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        asyncio.run(_send_rest(url, port))
    finally:
        controller.stop()
    assert len(relay.accepted) == EMAILS
    # As each message arrived, every one accepted before it was recorded as
    # sent: so a crash at any instant could repeat at most that one message.
    assert set(relay.unrecorded) == {0}
