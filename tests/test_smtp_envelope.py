"""Plain envelope addresses: the bytes aiosmtplib's sendmail sends, with no re-parsing."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Callable, Sequence
from typing import Any

import aiosmtplib
import pytest
from aiosmtplib.protocol import normalize_message_line_endings
from hypothesis import given
from hypothesis import strategies as st

from mailbot.errors import PermanentSendError, TransientError
from mailbot.mail.smtp import SmtpSender, SmtpSettings, transmitted_size

# A lone LF, a line starting with a dot and no final line ending: the SIZE and
# the DATA both have to account for them.
RAW = b"From: a@example.org\r\nSubject: hi\r\n\r\nhello\n.dot line\r\nlast"


class Transcript:
    """A scripted SMTP server on loopback that keeps every byte each client sent."""

    def __init__(self, rcpt_codes: Callable[[bytes], int] = lambda _line: 250) -> None:
        self.rcpt_codes = rcpt_codes
        self.sessions: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = bytearray()
        self.sessions.append(b"")
        index = len(self.sessions) - 1
        writer.write(b"220 transcript ready\r\n")
        in_data = False
        while line := await reader.readline():
            got += line
            self.sessions[index] = bytes(got)
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    writer.write(b"250 queued\r\n")
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-transcript\r\n250-SIZE 10000000\r\n250 8BITMIME\r\n")
            elif verb == b"RCPT":
                code = self.rcpt_codes(line)
                writer.write(f"{code} {'ok' if code < 400 else 'no'}\r\n".encode())
            elif verb == b"DATA":
                in_data = True
                writer.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            else:
                writer.write(b"250 ok\r\n")
        writer.close()


async def _transcripts(
    mail_from: str, recipients: Sequence[str], server: Transcript
) -> tuple[bytes, bytes, str, str]:
    """What aiosmtplib's sendmail sent, what SmtpSender sent, and how each ended."""
    await server.start()
    outcome = ["sent", "sent"]
    try:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port)
        await client.connect()
        try:
            await client.sendmail(mail_from, list(recipients), RAW)
        except aiosmtplib.SMTPRecipientsRefused:
            outcome[0] = "refused"
        await client.quit()
        # Both clients greet with the default local name, so the transcripts compare.
        sender = SmtpSender(SmtpSettings("127.0.0.1", server.port, security="none"))
        try:
            await sender.send(mail_from, recipients, RAW)
        except (PermanentSendError, TransientError):
            outcome[1] = "refused"
        await sender.close()
    finally:
        await server.stop()
    return server.sessions[0], server.sessions[1], outcome[0], outcome[1]


@pytest.mark.parametrize(
    ("mail_from", "recipients"),
    [
        ("support@ict.westshire.gov.uk", ["head@oakfield-primary.westshire.sch.uk"]),
        ("b+x7k2@ict.example", ["o'brien@school.example", "a.b-c@x.example"]),
        # Not in plain form: these still go through sendmail's own parsing.
        ("support@ict.example", ['"john doe"@school.example']),
        ("Support <support@ict.example>", ["head@school.example"]),
    ],
)
def test_the_envelope_on_the_wire_is_byte_for_byte_what_sendmail_sends(
    mail_from: str, recipients: list[str]
) -> None:
    reference, ours, _, _ = asyncio.run(_transcripts(mail_from, recipients, Transcript()))
    assert b"MAIL FROM:" in reference and b"\r\n.\r\n" in reference
    assert ours == reference


def test_refused_recipients_end_the_same_way_as_with_sendmail() -> None:
    # One recipient refused for good, the other refused for now: both clients
    # reset the envelope, and mailbot calls the whole refusal temporary.
    server = Transcript(lambda line: 550 if b"gone@" in line else 451)
    reference, ours, theirs, mine = asyncio.run(
        _transcripts("support@ict.example", ["gone@school.example", "busy@school.example"], server)
    )
    assert b"RSET" in reference
    assert ours == reference
    assert theirs == mine == "refused"


def test_a_partial_refusal_still_sends_to_the_others_as_sendmail_does() -> None:
    server = Transcript(lambda line: 550 if b"gone@" in line else 250)
    reference, ours, theirs, mine = asyncio.run(
        _transcripts("support@ict.example", ["gone@school.example", "head@school.example"], server)
    )
    assert b"\r\n.\r\n" in reference
    assert ours == reference
    assert theirs == mine == "sent"


def test_plain_addresses_are_not_parsed_again_when_sending(
    smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    original = email.utils.parseaddr

    def counting(address: str, *args: Any, **kwargs: Any) -> tuple[str, str]:
        parsed.append(address)
        return original(address, *args, **kwargs)

    # aiosmtplib checks and quotes envelope addresses with email.utils.parseaddr.
    monkeypatch.setattr(email.utils, "parseaddr", counting)

    async def go() -> None:
        sender = SmtpSender(SmtpSettings(smtp_sink.host, smtp_sink.port, security="none"))
        try:
            for n in range(3):
                await sender.send("support@ict.example", [f"head{n}@school.example"], RAW)
        finally:
            await sender.close()

    asyncio.run(go())
    assert parsed == []
    assert [(m.mail_from, m.rcpt_tos) for m in smtp_sink.messages] == [
        ("support@ict.example", (f"head{n}@school.example",)) for n in range(3)
    ]


def test_an_address_that_is_not_plain_is_still_checked_by_aiosmtplib(
    smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    original = email.utils.parseaddr

    def counting(address: str, *args: Any, **kwargs: Any) -> tuple[str, str]:
        parsed.append(address)
        return original(address, *args, **kwargs)

    monkeypatch.setattr(email.utils, "parseaddr", counting)

    async def go() -> None:
        sender = SmtpSender(SmtpSettings(smtp_sink.host, smtp_sink.port, security="none"))
        try:
            await sender.send("support@ict.example", ['"john doe"@school.example'], RAW)
        finally:
            await sender.close()

    asyncio.run(go())
    # A quoted local part is left to aiosmtplib, which parses and quotes it.
    assert '"john doe"@school.example' in parsed
    assert [m.rcpt_tos for m in smtp_sink.messages] == [('"john doe"@school.example',)]


@given(st.binary(max_size=200).map(lambda b: b.replace(b"x", b"\r").replace(b"y", b"\n")))
def test_the_size_announced_is_the_size_data_transmits(raw: bytes) -> None:
    assert transmitted_size(raw) == len(normalize_message_line_endings(raw))
