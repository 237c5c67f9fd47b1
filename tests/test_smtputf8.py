"""Internationalised addresses (RFC 6531/6532): sent with SMTPUTF8 where the relay offers it."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from smtpserver import SmtpSink
from sqlalchemy import select
from support import mail, write_config_file

from mailbot.cli.check import check_smtp
from mailbot.cli.main import main
from mailbot.config import load_config
from mailbot.errors import PermanentSendError
from mailbot.mail.mime import build, needs_smtputf8, valid_address
from mailbot.mail.outgoing import Outgoing
from mailbot.mail.smtp import SmtpSender, SmtpSettings
from mailbot.storage.db import make_engine, make_sessions
from mailbot.storage.models import Outbox

WIDE = "zoë.marsh@oakfield-primary.westshire.sch.uk"
NOW = "2026-11-23T09:05"


@pytest.fixture
def utf8_sink() -> Iterator[SmtpSink]:
    """A relay that offers SMTPUTF8, as Postfix, Exchange Online and Gmail do."""
    sink = SmtpSink(smtputf8=True)
    yield sink
    sink.close()


def from_wide_sender() -> bytes:
    """A school's new request from a person whose address is not ASCII."""
    raw = mail("school-new-request")
    return raw.replace(b"From: Helen Marsh <head@", "From: Zoë Marsh <zoë.marsh@".encode())


def outbox(url: str) -> list[Outbox]:
    with make_sessions(make_engine(url))() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def run_once(config: Path) -> None:
    assert main(["--config", str(config), "--now", NOW, "run", "--once"]) == 0


def test_internationalised_addresses_are_valid_to_send_to() -> None:
    assert valid_address(WIDE)
    assert valid_address("用户@例子.广告")
    assert valid_address("head@oakfield-primary.westshire.sch.uk")
    for bad in ("zoë marsh@x.example", "zoë@x.example>", "a\u0085b@x.example", "a\u00a0b@x"):
        assert not valid_address(bad), bad
    assert needs_smtputf8("a@b.example", WIDE) and not needs_smtputf8("a@b.example")


def test_email_to_an_internationalised_address_has_utf8_headers() -> None:
    out = Outgoing(
        kind="confirmation",
        to=(WIDE,),
        cc=("t.reeves@oakfield-primary.westshire.sch.uk",),
        subject="[ICT-000001] Café",
        text="Dear Zoë,\n",
        html="<p>Dear Zoë,</p>\n",
        message_id="<ICT-000001.confirmation.x@westshire.gov.uk>",
    )
    raw = build(
        out, from_name="Support", from_addr="ictsupport@westshire.gov.uk", now=datetime.now(UTC)
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    # RFC 6532: the address as it is, in UTF-8, never an encoded word.
    assert f"To: {WIDE}".encode() in head and b"=?" not in head
    parsed = email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)
    assert parsed["To"].addresses[0].addr_spec == WIDE


def test_wide_sender_gets_a_confirmation_through_a_relay_with_smtputf8(
    tmp_path: Path, dovecot: Any, utf8_sink: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=utf8_sink, timeout=5)
    dovecot.deliver(from_wide_sender())
    run_once(config)
    [confirmation] = utf8_sink.of_kind("confirmation")
    assert WIDE in confirmation.rcpt_tos and confirmation.smtputf8
    assert f"\r\nTo: {WIDE}\r\n".encode() in confirmation.raw
    # The team's notice has only ASCII addresses and goes without SMTPUTF8.
    [notice] = utf8_sink.of_kind("new_call")
    assert not notice.smtputf8
    assert {row.status for row in outbox(url)} == {"sent"}


def test_a_relay_without_smtputf8_fails_that_email_once_with_a_clear_reason(
    tmp_path: Path, dovecot: Any, smtp_sink: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink, timeout=5)
    dovecot.deliver(from_wide_sender())
    run_once(config)
    rows = {row.kind: row for row in outbox(url)}
    confirmation = rows["confirmation"]
    assert confirmation.status == "failed" and confirmation.attempts == 1
    assert f"does not offer SMTPUTF8, which the internationalised address(es) {WIDE} need" in (
        confirmation.last_error or ""
    )
    # The other mail is not held up behind it, and nothing reached the sink for Zoë.
    assert rows["new_call"].status == "sent"
    assert [m.kind for m in smtp_sink.messages] == ["new_call"]
    # Running again sends nothing more: the failure is final, not retried.
    run_once(config)
    assert [m.kind for m in smtp_sink.messages] == ["new_call"]


def test_a_refused_try_is_retried_and_delivered_once(
    tmp_path: Path, dovecot: Any, utf8_sink: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=utf8_sink, timeout=5)
    dovecot.deliver(from_wide_sender())
    utf8_sink.fail_next(1)
    run_once(config)
    assert utf8_sink.of_kind("confirmation") == []
    # The retry is due 30 s later; --now moves the clock, not the test.
    assert main(["--config", str(config), "--now", "2026-11-23T09:06", "run", "--once"]) == 0
    assert main(["--config", str(config), "--now", "2026-11-23T09:07", "run", "--once"]) == 0
    [confirmation] = utf8_sink.of_kind("confirmation")
    assert confirmation.smtputf8 and WIDE in confirmation.rcpt_tos


def test_sending_from_an_internationalised_address(
    utf8_sink: SmtpSink, smtp_sink: SmtpSink
) -> None:
    sender_address = "tîm-cymorth@ysgol.example"
    out = Outgoing(
        kind="confirmation",
        to=("head@oakfield-primary.westshire.sch.uk",),
        cc=(),
        subject="x",
        text="x\n",
        html="<p>x</p>\n",
        message_id="<x.1@ysgol.example>",
    )
    raw = build(out, from_name="Tîm", from_addr=sender_address, now=datetime.now(UTC))
    recipients = ["head@oakfield-primary.westshire.sch.uk"]

    async def send(sink: SmtpSink) -> None:
        sender = SmtpSender(SmtpSettings(host=sink.host, port=sink.port, security="none"))
        try:
            await sender.send(sender_address, recipients, raw)
        finally:
            await sender.close()

    asyncio.run(send(utf8_sink))
    [got] = utf8_sink.messages
    assert got.mail_from == sender_address and got.smtputf8
    with pytest.raises(PermanentSendError, match="does not offer SMTPUTF8"):
        asyncio.run(send(smtp_sink))
    assert smtp_sink.messages == []


def test_check_says_whether_the_relay_offers_smtputf8(
    tmp_path: Path, utf8_sink: SmtpSink, smtp_sink: SmtpSink
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    for sink, said in (
        (utf8_sink, "offers SMTPUTF8"),
        (smtp_sink, "no SMTPUTF8, so mail to internationalised addresses will fail"),
    ):
        config = load_config(write_config_file(tmp_path, url=url, smtp=sink, timeout=5))
        finding = check_smtp(config)
        assert finding.ok and finding.detail.endswith(said), finding
