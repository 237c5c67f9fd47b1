"""The IMAP module against a real Dovecot: connecting, fetching, moving, waiting for mail."""

from __future__ import annotations

import imaplib
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from servers import ImapAccount, free_port

from mailbot.errors import TransientError
from mailbot.mail.imap import ImapSettings, Mailbox


def message(subject: str, body: bytes = b"Hello.\r\n") -> bytes:
    head = f"From: head@school.example\r\nTo: support@test.example\r\nSubject: {subject}\r\n"
    return head.encode() + b"\r\n" + body


def settings(account: ImapAccount, **overrides: Any) -> ImapSettings:
    """Plain IMAP on the account's port unless overridden."""
    values: dict[str, Any] = {
        "host": account.host,
        "port": account.port,
        "username": account.username,
        "password": account.password,
        "security": "none",
        "timeout": 10.0,
    }
    values.update(overrides)
    return ImapSettings(**values)


def subjects(fetched: list[Any]) -> list[str]:
    return [f.raw.split(b"Subject: ")[1].split(b"\r\n")[0].decode() for f in fetched]


@pytest.fixture
def mailbox(dovecot: ImapAccount) -> Iterator[Mailbox]:
    with Mailbox(settings(dovecot)) as connected:
        yield connected


# --- connecting ------------------------------------------------------------------


def test_connect_over_plain_text_selects_the_folder(dovecot: ImapAccount) -> None:
    with Mailbox(settings(dovecot)) as box:
        assert box.uidvalidity > 0


def test_connect_over_implicit_tls_trusts_the_given_ca(dovecot: ImapAccount) -> None:
    tls = settings(dovecot, port=dovecot.tls_port, security="ssl", ca_file=dovecot.ca_file)
    with Mailbox(tls) as box:
        assert box.uidvalidity > 0


def test_connect_with_starttls_trusts_the_given_ca(dovecot: ImapAccount) -> None:
    with Mailbox(settings(dovecot, security="starttls", ca_file=dovecot.ca_file)) as box:
        assert box.uidvalidity > 0


def test_tls_certificate_from_an_unknown_ca_raises_transient_error(dovecot: ImapAccount) -> None:
    with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
        Mailbox(settings(dovecot, port=dovecot.tls_port, security="ssl")).connect()


def test_connect_creates_the_processed_and_failed_folders(dovecot: ImapAccount) -> None:
    with Mailbox(settings(dovecot, processed_folder="Done", failed_folder="Parked")):
        pass
    assert dovecot.folders() == ["Done", "INBOX", "Parked"]


def test_connect_keeps_existing_folders_and_their_mail(dovecot: ImapAccount) -> None:
    dovecot.deliver(message("kept"), folder="Processed")
    with Mailbox(settings(dovecot)):
        pass
    assert len(dovecot.uids("Processed")) == 1


def test_connection_refused_raises_transient_error(dovecot: ImapAccount) -> None:
    with pytest.raises(TransientError, match="cannot reach"):
        Mailbox(settings(dovecot, port=free_port())).connect()


def test_wrong_password_raises_transient_error(dovecot: ImapAccount) -> None:
    with pytest.raises(TransientError, match="refused login"):
        Mailbox(settings(dovecot, password="wrong")).connect()


def test_a_missing_folder_raises_transient_error(dovecot: ImapAccount) -> None:
    with pytest.raises(TransientError, match="failed"):
        Mailbox(settings(dovecot, folder="Nowhere")).connect()


def test_commands_before_connecting_raise_transient_error(dovecot: ImapAccount) -> None:
    with pytest.raises(TransientError, match="not connected"):
        Mailbox(settings(dovecot)).fetch_new(limit=10, max_bytes=1000)


def test_uidvalidity_stays_the_same_across_reconnects(dovecot: ImapAccount) -> None:
    box = Mailbox(settings(dovecot))
    with box:
        first = box.uidvalidity
    with box:
        assert box.uidvalidity == first


def test_a_changed_uidvalidity_is_logged(
    dovecot: ImapAccount, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot.deliver(message("old"), folder="Support")
    box = Mailbox(settings(dovecot, folder="Support"))
    with box:
        before = box.uidvalidity
    recreate_folder(dovecot, "Support")
    with caplog.at_level(logging.WARNING, logger="mailbot.mail.imap"), box:
        assert box.uidvalidity != before
    assert "UIDVALIDITY of Support changed" in caplog.text


def recreate_folder(account: ImapAccount, folder: str) -> None:
    """Delete and create ``folder``, which gives it a new UIDVALIDITY."""
    client = imaplib.IMAP4(account.host, account.port)
    try:
        client.login(account.username, account.password)
        client.delete(folder)
        client.create(folder)
    finally:
        client.logout()


def test_capabilities_of_a_full_dovecot(mailbox: Mailbox) -> None:
    assert mailbox.has_idle and mailbox.has_move


def test_capabilities_of_a_bare_imap4rev1_server(dovecot_bare: ImapAccount) -> None:
    with Mailbox(settings(dovecot_bare)) as box:
        assert not box.has_idle and not box.has_move


# --- fetching ---------------------------------------------------------------------


def test_fetch_new_returns_messages_in_uid_order(dovecot: ImapAccount, mailbox: Mailbox) -> None:
    for n in (1, 2, 3):
        dovecot.deliver(message(f"call {n}"))
    fetched = mailbox.fetch_new(limit=10, max_bytes=100_000)
    assert [f.uid for f in fetched] == dovecot.uids("INBOX")
    assert subjects(fetched) == ["call 1", "call 2", "call 3"]


def test_fetch_new_returns_whole_messages_with_their_size(
    dovecot: ImapAccount, mailbox: Mailbox
) -> None:
    raw = message("whole")
    dovecot.deliver(raw)
    [fetched] = mailbox.fetch_new(limit=10, max_bytes=100_000)
    assert (fetched.raw, fetched.size, fetched.truncated) == (raw, len(raw), False)


def test_fetch_new_stops_at_the_limit(dovecot: ImapAccount, mailbox: Mailbox) -> None:
    for n in (1, 2, 3):
        dovecot.deliver(message(f"call {n}"))
    assert subjects(mailbox.fetch_new(limit=2, max_bytes=100_000)) == ["call 1", "call 2"]


def test_fetch_new_of_an_empty_folder_is_empty(mailbox: Mailbox) -> None:
    assert mailbox.fetch_new(limit=10, max_bytes=100_000) == []


def test_fetch_new_gives_only_the_header_of_an_oversize_message(
    dovecot: ImapAccount, mailbox: Mailbox
) -> None:
    dovecot.deliver(message("huge", body=b"x" * 76 + b"\r\n") * 3000)
    [fetched] = mailbox.fetch_new(limit=10, max_bytes=50_000)
    assert fetched.truncated and fetched.size > 200_000
    assert fetched.raw.startswith(b"From: head@school.example") and len(fetched.raw) < 200
    assert fetched.raw.endswith(b"Subject: huge\r\n\r\n")


def test_fetch_new_fetches_small_messages_whole_next_to_an_oversize_one(
    dovecot: ImapAccount, mailbox: Mailbox
) -> None:
    dovecot.deliver(message("huge", body=b"x" * 60_000))
    dovecot.deliver(message("small"))
    huge, small = mailbox.fetch_new(limit=10, max_bytes=50_000)
    assert huge.truncated and not small.truncated and small.raw == message("small")


def test_fetch_new_leaves_messages_unseen(dovecot: ImapAccount, mailbox: Mailbox) -> None:
    dovecot.deliver(message("unread"))
    mailbox.fetch_new(limit=10, max_bytes=100_000)
    client = imaplib.IMAP4(dovecot.host, dovecot.port)
    try:
        client.login(dovecot.username, dovecot.password)
        client.select("INBOX", readonly=True)
        _, data = client.fetch("1", "(FLAGS)")
    finally:
        client.logout()
    assert b"\\Seen" not in bytes(data[0])  # type: ignore[arg-type]


def test_fetch_new_skips_messages_flagged_deleted(dovecot: ImapAccount, mailbox: Mailbox) -> None:
    dovecot.deliver(message("going"))
    dovecot.deliver(message("staying"))
    client = imaplib.IMAP4(dovecot.host, dovecot.port)
    try:
        client.login(dovecot.username, dovecot.password)
        client.select("INBOX")
        client.store("1", "+FLAGS", "\\Deleted")
    finally:
        client.logout()
    assert subjects(mailbox.fetch_new(limit=10, max_bytes=100_000)) == ["staying"]


# --- moving -----------------------------------------------------------------------


def deliver_three_and_move_two(account: ImapAccount, box: Mailbox) -> None:
    for n in (1, 2, 3):
        account.deliver(message(f"call {n}"))
    first, _, third = box.fetch_new(limit=10, max_bytes=100_000)
    box.move([first.uid, third.uid], "Processed")


def test_move_moves_the_batch(dovecot: ImapAccount, mailbox: Mailbox) -> None:
    deliver_three_and_move_two(dovecot, mailbox)
    assert dovecot.fetch_all("INBOX") == [message("call 2")]
    assert dovecot.fetch_all("Processed") == [message("call 1"), message("call 3")]


def test_move_without_move_copies_and_expunges_by_uid(dovecot_without_move: ImapAccount) -> None:
    with Mailbox(settings(dovecot_without_move)) as box:
        assert not box.has_move
        deliver_three_and_move_two(dovecot_without_move, box)
    assert dovecot_without_move.fetch_all("INBOX") == [message("call 2")]
    assert dovecot_without_move.fetch_all("Processed") == [message("call 1"), message("call 3")]


def test_move_without_uidplus_copies_and_expunges(dovecot_bare: ImapAccount) -> None:
    with Mailbox(settings(dovecot_bare)) as box:
        deliver_three_and_move_two(dovecot_bare, box)
    assert dovecot_bare.fetch_all("INBOX") == [message("call 2")]
    assert dovecot_bare.fetch_all("Processed") == [message("call 1"), message("call 3")]


def test_move_of_messages_another_process_moved_moves_the_rest(
    dovecot: ImapAccount, mailbox: Mailbox
) -> None:
    for n in (1, 2):
        dovecot.deliver(message(f"call {n}"))
    first, second = (f.uid for f in mailbox.fetch_new(limit=10, max_bytes=100_000))
    with Mailbox(settings(dovecot)) as other:
        other.move([first], "Processed")
    mailbox.move([first, second], "Processed")
    assert dovecot.uids("INBOX") == []
    assert dovecot.fetch_all("Processed") == [message("call 1"), message("call 2")]


def test_moves_leave_no_expunge_responses_piling_up(dovecot: ImapAccount, mailbox: Mailbox) -> None:
    deliver_three_and_move_two(dovecot, mailbox)
    # imaplib's store of unsolicited responses, which would grow with every move.
    assert "EXPUNGE" not in mailbox._connected()._imap.untagged_responses


def test_move_to_a_missing_folder_raises_transient_error(
    dovecot: ImapAccount, mailbox: Mailbox
) -> None:
    dovecot.deliver(message("call"))
    [fetched] = mailbox.fetch_new(limit=10, max_bytes=100_000)
    with pytest.raises(TransientError, match="Nowhere"):
        mailbox.move([fetched.uid], "Nowhere")
    assert len(dovecot.uids("INBOX")) == 1


# --- waiting ----------------------------------------------------------------------


def deliver_soon(account: ImapAccount, raw: bytes) -> threading.Timer:
    timer = threading.Timer(0.3, account.deliver, args=(raw,))
    timer.start()
    return timer


def test_wait_for_mail_wakes_when_mail_is_delivered(dovecot: ImapAccount, mailbox: Mailbox) -> None:
    timer = deliver_soon(dovecot, message("new"))
    try:
        assert mailbox.wait_for_mail(30.0)
    finally:
        timer.join()


def test_wait_for_mail_returns_false_when_nothing_arrives(mailbox: Mailbox) -> None:
    assert not mailbox.wait_for_mail(1.0)


def test_mailbox_works_after_waiting(dovecot: ImapAccount, mailbox: Mailbox) -> None:
    timer = deliver_soon(dovecot, message("new"))
    try:
        mailbox.wait_for_mail(30.0)
    finally:
        timer.join()
    assert subjects(mailbox.fetch_new(limit=10, max_bytes=100_000)) == ["new"]


def test_wait_for_mail_without_idle_reports_mail_that_arrived(dovecot_bare: ImapAccount) -> None:
    with Mailbox(settings(dovecot_bare)) as box:
        dovecot_bare.deliver(message("new"))
        assert box.wait_for_mail(1.0)


def test_wait_for_mail_without_idle_reports_nothing_new(dovecot_bare: ImapAccount) -> None:
    with Mailbox(settings(dovecot_bare)) as box:
        assert not box.wait_for_mail(1.0)


# --- status and append ------------------------------------------------------------


def test_count_reports_the_messages_in_a_folder(dovecot: ImapAccount, mailbox: Mailbox) -> None:
    for n in (1, 2):
        dovecot.deliver(message(f"failed {n}"), folder="Failed")
    assert (mailbox.count("Failed"), mailbox.count("Processed")) == (2, 0)


def test_append_adds_a_message_to_a_folder(dovecot: ImapAccount, mailbox: Mailbox) -> None:
    mailbox.append("Processed", message("appended"))
    assert dovecot.fetch_all("Processed") == [message("appended")]
