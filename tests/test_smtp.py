"""Tests for sending through a real SMTP server: TLS, reuse, and how failures are classed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mailbot.errors import PermanentSendError, TransientError
from mailbot.mail.smtp import SmtpSender, SmtpSettings

RAW = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n"


def send(settings: SmtpSettings, times: int = 1) -> None:
    async def go() -> None:
        sender = SmtpSender(settings)
        try:
            for _ in range(times):
                await sender.send("a@example.org", ["b@example.org"], RAW)
        finally:
            await sender.close()

    asyncio.run(go())


def test_starttls_with_verified_certificate_delivers(smtp_sink_starttls: Any) -> None:
    sink = smtp_sink_starttls
    send(SmtpSettings(host=sink.host, port=sink.port, security="starttls", ca_file=sink.ca_file))
    assert len(sink.messages) == 1


def test_starttls_refuses_an_unknown_certificate(smtp_sink_starttls: Any) -> None:
    sink = smtp_sink_starttls
    with pytest.raises(TransientError):
        send(SmtpSettings(host=sink.host, port=sink.port, security="starttls"))
    assert sink.messages == []


def test_one_connection_sends_many(smtp_sink: Any) -> None:
    send(SmtpSettings(host=smtp_sink.host, port=smtp_sink.port, security="none"), times=5)
    assert len(smtp_sink.messages) == 5


def test_temporary_refusal_is_transient(smtp_sink: Any) -> None:
    smtp_sink.fail_next(1, 451)
    with pytest.raises(TransientError):
        send(SmtpSettings(host=smtp_sink.host, port=smtp_sink.port, security="none"))


def test_permanent_refusal_is_permanent(smtp_sink: Any) -> None:
    smtp_sink.reject_all(550)
    with pytest.raises(PermanentSendError):
        send(SmtpSettings(host=smtp_sink.host, port=smtp_sink.port, security="none"))


def test_server_down_is_transient(smtp_sink: Any) -> None:
    smtp_sink.stop()
    with pytest.raises(TransientError):
        send(SmtpSettings(host=smtp_sink.host, port=smtp_sink.port, security="none", timeout=3))
