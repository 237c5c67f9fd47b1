"""Tests for per-message return paths (VERP): signed, recognised, the bounced contact flagged."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support import SUPPORT, Env, header, local, mail, make_env, write_config_file

from mailbot.cli.main import main
from mailbot.config import ServiceConfig
from mailbot.mail.parse import parse_message
from mailbot.mail.screen import Verdict, screen
from mailbot.storage import verp
from mailbot.storage.db import upgrade
from mailbot.storage.models import BouncedContact, VerpKey

MONDAY_9 = local(2026, 11, 23, 9, 5)
LATER = MONDAY_9 + timedelta(minutes=20)
HEAD = "head@oakfield-primary.westshire.sch.uk"
SPOC = "t.reeves@oakfield-primary.westshire.sch.uk"
KEY = b"k" * 32
MID = "<ICT-000001.confirmation.abc@westshire.gov.uk>"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def _confirmation(env: Env) -> Any:
    env.feed(mail("school-new-request"), MONDAY_9)
    return next(o for o in env.outbox() if o.kind == "confirmation")


def _flagged(env: Env) -> dict[str, BouncedContact]:
    with env.sessions() as s:
        return {b.address: b for b in s.scalars(select(BouncedContact))}


def _stripped_bounce(return_path: str, body: str) -> bytes:
    """A bounce with nothing left that says so but the address it was delivered to."""
    return (
        f"Delivered-To: {return_path}\n"
        "From: Helpful Person <someone@mx.example.net>\n"
        f"To: {return_path}\n"
        "Subject: hello\n"
        "Message-ID: <stripped-1@mx.example.net>\n"
        "\n"
        f"{body}\n"
    ).encode()


# --- The return path -----------------------------------------------------------


def test_return_path_is_the_service_address_with_a_signed_tag() -> None:
    service = ServiceConfig(address=SUPPORT)
    path = verp.return_path(service, KEY, MID)
    assert re.fullmatch(r"ictsupport\+b-[a-z2-7]{16}@westshire\.gov\.uk", path)
    assert re.fullmatch(verp.pattern(service), path)
    # Another email, or another database's key, gives another tag.
    assert verp.return_path(service, KEY, MID + "x") != path
    assert verp.return_path(service, b"j" * 32, MID) != path
    # The tag is an HMAC: a plain hash of the (guessable) Message-ID is not it.
    assert hashlib.sha256(MID.encode()).hexdigest()[:16] not in path


def test_verp_can_be_turned_off_and_the_separator_chosen() -> None:
    assert verp.return_path(ServiceConfig(address=SUPPORT, verp=False), KEY, MID) == SUPPORT
    dash = ServiceConfig(address=SUPPORT, verp_separator="-")
    assert verp.return_path(dash, KEY, MID).startswith("ictsupport-b-")
    assert re.fullmatch(verp.pattern(dash), verp.return_path(dash, KEY, MID))


def test_the_signing_key_is_made_once_by_the_migration(env: Env) -> None:
    with env.sessions() as s:
        keys = list(s.scalars(select(VerpKey)))
    assert len(keys) == 1 and len(bytes.fromhex(keys[0].secret)) == 32


def test_every_email_goes_out_with_its_own_signed_return_path(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    rows = env.outbox()
    with env.sessions() as s:
        key = verp.secret(s, MONDAY_9)
    service = env.config.service
    assert rows and all(r.mail_from == verp.return_path(service, key, r.message_id) for r in rows)


# --- Bounces to a return path ----------------------------------------------------


def test_bounce_to_return_path_with_every_other_header_stripped_is_never_answered(
    env: Env,
) -> None:
    row = _confirmation(env)
    before = len(env.outbox())
    t = env.feed(_stripped_bounce(row.mail_from, f"{HEAD}: mailbox unavailable"), LATER)
    assert t.screening is not None and t.screening.verdict is Verdict.BOUNCE
    assert env.count_calls() == 1
    assert len(env.outbox()) == before
    flagged = _flagged(env)
    assert set(flagged) == {HEAD}
    assert flagged[HEAD].outbox_id == row.id and flagged[HEAD].message_id == row.message_id
    assert flagged[HEAD].bounced_at == LATER


def test_a_second_bounce_counts_on_the_same_contact(env: Env) -> None:
    row = _confirmation(env)
    env.feed(_stripped_bounce(row.mail_from, f"{HEAD}: mailbox unavailable"), LATER)
    again = _stripped_bounce(row.mail_from, f"{HEAD}: still unavailable").replace(
        b"stripped-1", b"stripped-2"
    )
    env.feed(again, LATER + timedelta(hours=1))
    assert _flagged(env)[HEAD].bounces == 2


def test_bounce_of_an_email_to_one_contact_flags_it_without_naming_it(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    notice = next(o for o in env.outbox() if o.kind == "new_call")
    assert len(json.loads(notice.recipients)) == 1
    env.feed(_stripped_bounce(notice.mail_from, "It did not work."), LATER)
    assert set(_flagged(env)) == set(json.loads(notice.recipients))


def test_only_the_recipient_a_delivery_report_names_is_flagged(env: Env) -> None:
    row = _confirmation(env)
    assert set(json.loads(row.recipients)) == {HEAD, SPOC}
    dsn = (
        f"Return-Path: <>\nDelivered-To: {row.mail_from}\n"
        "From: Mail Delivery System <MAILER-DAEMON@mx.oakfield-primary.westshire.sch.uk>\n"
        f"To: {row.mail_from}\nSubject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\n\n'
        "--b1\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--b1\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.oakfield-primary.westshire.sch.uk\n\n"
        f"Final-Recipient: rfc822; {SPOC}\nAction: failed\nStatus: 5.1.1\n\n--b1--\n"
    ).encode()
    env.feed(dsn, LATER)
    assert set(_flagged(env)) == {SPOC}


def test_a_made_up_return_path_flags_nobody_and_is_not_answered(env: Env) -> None:
    row = _confirmation(env)
    before = len(env.outbox())
    # Well formed, but no email of mailbot's went out with it: a stranger
    # cannot make the tag for the confirmation without the database's key.
    forged = "ictsupport+b-aaaaaaaaaaaaaaaa@westshire.gov.uk"
    assert forged != row.mail_from
    t = env.feed(_stripped_bounce(forged, f"{HEAD}: mailbox unavailable"), LATER)
    assert t.screening is not None and t.screening.verdict is Verdict.BOUNCE
    assert _flagged(env) == {}
    assert env.count_calls() == 1 and len(env.outbox()) == before


def test_an_auto_reply_to_the_return_path_flags_nobody(env: Env) -> None:
    row = _confirmation(env)
    raw = mail("out-of-office-subject-and-wording").replace(
        b"To: ", f"Delivered-To: {row.mail_from}\nX-Old-To: ".encode(), 1
    )
    t = env.feed(raw, LATER)
    assert t.screening is not None and t.screening.verdict is Verdict.AUTO_REPLY
    assert _flagged(env) == {}


def test_screen_finds_the_return_path_in_each_delivery_header() -> None:
    service = ServiceConfig(address=SUPPORT)
    path = verp.return_path(service, KEY, MID)
    for name in ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To"):
        raw = f"{name}: {path}\nFrom: a@b.example\nSubject: hi\n\nhello\n".encode()
        result = screen(
            parse_message(raw),
            own_addresses=frozenset({SUPPORT}),
            own_return_path=verp.pattern(service),
        )
        assert (result.verdict, result.return_path) == (Verdict.BOUNCE, path), name


# --- End to end: SMTP sink, Dovecot, run --once, status -----------------------------


def test_bounce_of_a_confirmation_through_dovecot_is_recorded_and_shown_in_status(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)

    def cli(now: str, *args: str) -> None:
        assert main(["--config", str(config), "--now", now, *args]) == 0

    dovecot.deliver(mail("school-new-request"))
    cli("2026-11-23T09:05", "run", "--once")
    confirmation = next(m for m in smtp_sink.messages if m.kind == "confirmation")
    return_path = confirmation.mail_from
    assert re.fullmatch(r"ictsupport\+b-[a-z2-7]{16}@westshire\.gov\.uk", return_path)
    sent = len(smtp_sink.messages)

    # What lands in the mailbox: the receiving MTA writes the null sender as
    # Return-Path and the envelope recipient (the return path) as
    # Delivered-To / X-Original-To, as Postfix and Dovecot's LDA/LMTP do.
    bounce = (
        "Return-Path: <>\n"
        f"Delivered-To: {return_path}\n"
        f"X-Original-To: {return_path}\n"
        "From: Mail Delivery System <MAILER-DAEMON@mx.oakfield-primary.westshire.sch.uk>\n"
        f"To: {return_path}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Date: Mon, 23 Nov 2026 09:06:00 +0000\n"
        "Message-ID: <bounce-e2e@mx.oakfield-primary.westshire.sch.uk>\n\n"
        f"<{HEAD}>: host mx said: 550 5.1.1 mailbox unavailable\n"
    ).encode()
    dovecot.deliver(bounce)
    capsys.readouterr()
    cli("2026-11-23T09:10", "run", "--once")
    assert "ignore" in capsys.readouterr().out
    assert len(smtp_sink.messages) == sent  # Nothing answered the bounce.

    assert main(["--config", str(config), "--now", "2026-11-23T09:11", "status"]) in (0, 2)
    out = capsys.readouterr().out
    assert "bounced contacts      1" in out
    assert HEAD in out and header(confirmation, "Message-ID") in out


# --- Challenge-response answering mailbot's email ------------------------------------


def _answer(row: Any, sender: str, opening: str) -> bytes:
    return (
        f"From: {sender}\nTo: {SUPPORT}\n"
        "Subject: Re: [ICT-000001] Internet very slow in the ICT suite\n"
        f"In-Reply-To: {row.message_id}\nReferences: {row.message_id}\n"
        "Message-ID: <answer-1@mailguard.example>\n\n"
        f"{opening}\n\nhttps://mailguard.example/c/1\n"
    ).encode()


def test_challenge_from_an_address_mailbot_never_wrote_to_is_not_a_reply(env: Env) -> None:
    row = _confirmation(env)
    before = len(env.outbox())
    challenge = _answer(
        row,
        "Mail Guard <guard@mailguard.example>",
        "Hello. Before your email reaches Helen Marsh, please confirm you are human.",
    )
    t = env.feed(challenge, LATER)
    assert t.screening is not None and t.screening.verdict is Verdict.AUTO_REPLY
    assert "never wrote to" in t.screening.reason
    assert len(env.outbox()) == before  # Neither answered nor passed on to the school.


def test_the_schools_own_answer_in_the_same_words_is_a_person(env: Env) -> None:
    row = _confirmation(env)
    answer = _answer(
        row,
        f"Helen Marsh <{HEAD}>",
        "I was asked to confirm you are human by your system too. Nothing loads.",
    )
    t = env.feed(answer, LATER)
    assert t.screening is not None and t.screening.verdict is Verdict.HUMAN
