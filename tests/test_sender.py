"""The outbox sender's database cost per email: two statements, whatever the batch (issue 16)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, insert, select
from support import SUPPORT, local, migrated

from mailbot.daemon.sender import send_due
from mailbot.mail.smtp import SmtpSender, SmtpSettings
from mailbot.storage.db import make_engine, make_sessions
from mailbot.storage.models import Outbox

NOW = local(2026, 11, 23, 9, 30)


def _queue(url: str, count: int) -> None:
    rows = [
        {
            "message_id": f"<n{n}@mailbot.test>",
            "kind": "major_notice",
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
        for n in range(count)
    ]
    with make_engine(url).begin() as conn:
        conn.execute(insert(Outbox), rows)


def test_each_email_costs_one_claim_and_one_mark(db_url: str, smtp_sink: Any) -> None:
    migrated(db_url)
    _queue(db_url, 30)
    engine = make_engine(db_url)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        statements.append(sql.split(None, 1)[0].upper())

    async def send() -> Any:
        sender = SmtpSender(SmtpSettings(smtp_sink.host, smtp_sink.port, security="none"))
        try:
            return await send_due(make_sessions(engine), sender, now=NOW, max_attempts=3)
        finally:
            await sender.close()

    report = asyncio.run(send())
    assert report.sent == 30
    # One query for the batch's ids, then per email a claim and a mark.
    assert statements == ["SELECT"] + ["SELECT", "UPDATE"] * 30
    assert sorted(m.raw.split(b"\r\n", 1)[0] for m in smtp_sink.messages) == sorted(
        f"Message-ID: <n{n}@mailbot.test>".encode() for n in range(30)
    )
    with engine.connect() as conn:
        rows = conn.execute(select(Outbox.status, Outbox.attempts, Outbox.sent_at)).all()
    assert {tuple(r) for r in rows} == {("sent", 1, NOW)}


def test_several_connections_send_each_email_once_with_the_same_statements(
    db_url: str, smtp_sink: Any
) -> None:
    migrated(db_url)
    _queue(db_url, 30)
    engine = make_engine(db_url)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        statements.append(sql.split(None, 1)[0].upper())

    async def send() -> Any:
        settings = SmtpSettings(smtp_sink.host, smtp_sink.port, security="none")
        senders = [SmtpSender(settings) for _ in range(3)]
        try:
            return await send_due(make_sessions(engine), senders, now=NOW, max_attempts=3)
        finally:
            for sender in senders:
                await sender.close()

    report = asyncio.run(send())
    assert report.sent == 30
    # Still one query for the ids and a claim and a mark per email, whatever the lanes.
    assert sorted(statements) == sorted(["SELECT"] + ["SELECT", "UPDATE"] * 30)
    # Every email reached the relay exactly once...
    assert sorted(m.raw.split(b"\r\n", 1)[0] for m in smtp_sink.messages) == sorted(
        f"Message-ID: <n{n}@mailbot.test>".encode() for n in range(30)
    )
    # ...over more than one connection.
    assert len(set(smtp_sink.peers)) > 1
    with engine.connect() as conn:
        rows = conn.execute(select(Outbox.status, Outbox.attempts, Outbox.sent_at)).all()
    assert {tuple(r) for r in rows} == {("sent", 1, NOW)}
