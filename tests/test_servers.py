"""The server fixtures work: Dovecot on both ports, the SMTP sink, PostgreSQL."""

from __future__ import annotations

import imaplib
import smtplib
import ssl

import pytest
from pgserver import PostgresServer
from servers import DovecotServer, ImapAccount
from smtpserver import SmtpSink
from sqlalchemy import create_engine, inspect, text

MESSAGE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nHello there.\r\n"


def login_tls(account: ImapAccount) -> imaplib.IMAP4_SSL:
    context = ssl.create_default_context(cafile=account.ca_file)
    client = imaplib.IMAP4_SSL(account.host, account.tls_port, ssl_context=context)
    client.login(account.username, account.password)
    return client


def capabilities(account: ImapAccount) -> set[str]:
    client = imaplib.IMAP4(account.host, account.port)
    try:
        client.login(account.username, account.password)
        _, data = client.capability()
    finally:
        client.logout()
    return set(bytes(data[0]).decode().upper().split())


# --- Dovecot -------------------------------------------------------------------


@pytest.mark.servers  # starts Dovecot itself
def test_dovecot_that_cannot_start_fails_with_its_own_words() -> None:
    with pytest.raises(RuntimeError, match=r"(?s)Dovecot did not start.*no_such_setting"):
        DovecotServer.start(extra="no_such_setting = 1")


def test_dovecot_delivers_and_fetches_on_the_plain_port(dovecot: ImapAccount) -> None:
    dovecot.deliver(MESSAGE)
    dovecot.deliver(MESSAGE.replace(b"hello", b"second"))
    assert dovecot.uids("INBOX") == [1, 2]
    assert dovecot.fetch_all("INBOX") == [MESSAGE, MESSAGE.replace(b"hello", b"second")]


def test_dovecot_serves_implicit_tls_verified_by_the_fixture_ca(dovecot: ImapAccount) -> None:
    client = login_tls(dovecot)
    try:
        client.append("INBOX", "", None, MESSAGE)
        client.select("INBOX", readonly=True)
        _, parts = client.fetch("1", "(BODY.PEEK[])")
    finally:
        client.logout()
    assert parts[0][1] == MESSAGE  # type: ignore[index]


def test_dovecot_offers_starttls_on_the_plain_port(dovecot: ImapAccount) -> None:
    client = imaplib.IMAP4(dovecot.host, dovecot.port)
    try:
        client.starttls(ssl.create_default_context(cafile=dovecot.ca_file))
        typ, _ = client.login(dovecot.username, dovecot.password)
    finally:
        client.logout()
    assert typ == "OK"


def test_dovecot_certificate_fails_verification_without_the_fixture_ca(
    dovecot: ImapAccount,
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(dovecot.host, dovecot.tls_port, ssl_context=ssl.create_default_context())


def test_dovecot_refuses_a_wrong_password(dovecot: ImapAccount) -> None:
    client = imaplib.IMAP4(dovecot.host, dovecot.port)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.login(dovecot.username, "not-the-password")
    finally:
        client.shutdown()


def test_dovecot_gives_every_account_an_empty_mailbox(dovecot_server: DovecotServer) -> None:
    first, second = dovecot_server.new_account(), dovecot_server.new_account()
    first.deliver(MESSAGE)
    assert first.username != second.username
    assert second.uids("INBOX") == []


def test_dovecot_deliver_creates_the_folder_and_folders_lists_it(dovecot: ImapAccount) -> None:
    dovecot.deliver(MESSAGE, folder="Processed")
    assert dovecot.folders() == ["INBOX", "Processed"]
    assert len(dovecot.uids("Processed")) == 1


def test_dovecot_uids_of_a_missing_folder_is_empty(dovecot: ImapAccount) -> None:
    assert dovecot.uids("Nowhere") == []


def test_dovecot_offers_move_idle_and_uidplus_by_default(dovecot: ImapAccount) -> None:
    assert {"MOVE", "IDLE", "UIDPLUS"} <= capabilities(dovecot)


def test_dovecot_without_move_offers_uidplus_but_not_move(
    dovecot_without_move: ImapAccount,
) -> None:
    offered = capabilities(dovecot_without_move)
    assert "MOVE" not in offered and {"UIDPLUS", "IDLE"} <= offered


def test_bare_dovecot_offers_neither_move_nor_uidplus_nor_idle(dovecot_bare: ImapAccount) -> None:
    assert not {"MOVE", "UIDPLUS", "IDLE"} & capabilities(dovecot_bare)


# --- SMTP sink -----------------------------------------------------------------


def send(sink: SmtpSink) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.sendmail("bot@example.org", ["a@example.org", "b@example.org"], MESSAGE)


def test_smtp_sink_records_envelope_and_content(smtp_sink: SmtpSink) -> None:
    send(smtp_sink)
    [received] = smtp_sink.messages
    assert received.mail_from == "bot@example.org"
    assert received.rcpt_tos == ("a@example.org", "b@example.org")
    assert received.raw == MESSAGE


def test_smtp_sink_fails_the_next_messages_transiently(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(1)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(smtp_sink)
    send(smtp_sink)
    assert refused.value.smtp_code == 451 and len(smtp_sink.messages) == 1


def test_smtp_sink_rejects_everything_permanently(smtp_sink: SmtpSink) -> None:
    smtp_sink.reject_all(550)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(smtp_sink)
        assert refused.value.smtp_code == 550
    assert smtp_sink.messages == []


def test_smtp_sink_accepts_again_after_accept_all(smtp_sink: SmtpSink) -> None:
    smtp_sink.reject_all()
    smtp_sink.accept_all()
    send(smtp_sink)
    assert len(smtp_sink.messages) == 1


def test_smtp_sink_refuses_connections_while_stopped(smtp_sink: SmtpSink) -> None:
    smtp_sink.stop()
    with pytest.raises(ConnectionRefusedError):
        send(smtp_sink)
    smtp_sink.start()
    send(smtp_sink)
    assert len(smtp_sink.messages) == 1


def test_smtp_sink_offers_starttls_with_its_ca(smtp_sink_starttls: SmtpSink) -> None:
    sink = smtp_sink_starttls
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.starttls(context=ssl.create_default_context(cafile=sink.ca_file))
        client.sendmail("bot@example.org", ["a@example.org"], MESSAGE)
    assert [m.raw for m in sink.messages] == [MESSAGE]


# --- PostgreSQL ----------------------------------------------------------------


def test_postgres_answers_a_query(postgres: str) -> None:
    engine = create_engine(postgres)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version_num")).scalar_one()
    finally:
        engine.dispose()
    assert int(version) // 10000 == 15


def test_postgres_gives_each_test_a_fresh_empty_database(
    pg_url: str, postgres_server: PostgresServer
) -> None:
    engine = create_engine(pg_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x int)"))
    finally:
        engine.dispose()
    other = create_engine(postgres_server.new_database())
    try:
        assert inspect(other).get_table_names() == []
    finally:
        other.dispose()
