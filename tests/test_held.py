"""The held queue (issue 15 part 5): mail kept for a human is listed, dismissed on the record.

The pipeline tests run on SQLite and PostgreSQL; the command line runs end
to end through Dovecot, the daemon and the SMTP sink.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from support import (
    Env,
    local,
    mail,
    make_env,
    of_kind,
    parsed,
    plain,
    recipients,
    show,
    write_config_file,
)

from mailbot.calls import heldreply
from mailbot.calls.store import Store
from mailbot.cli.held import open_call
from mailbot.cli.main import main
from mailbot.config import load_config
from mailbot.daemon import health, jobs
from mailbot.daemon.service import Daemon
from mailbot.errors import MailbotError
from mailbot.rules.loader import load_rules
from mailbot.storage import held, parked
from mailbot.storage.db import make_engine, make_sessions, upgrade
from mailbot.storage.models import HeldDecision

NOW = local(2026, 11, 23, 9, 5)
STRANGER = "someone@elsewhere.example"


def stranger_mail(n: int, subject: str = "Can you fix our printer?") -> bytes:
    """A plain email from an address that is neither a school nor staff."""
    return (
        f"From: Pat Someone <{STRANGER}>\r\n"
        "To: ictsupport@westshire.gov.uk\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <stranger-{n}@elsewhere.example>\r\n"
        "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
        "\r\n"
        "Hello, our printer jams every morning.\r\n"
    ).encode()


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def test_a_strangers_email_waits_in_the_queue_and_a_schools_call_does_not(env: Env) -> None:
    assert str(env.feed(stranger_mail(1), NOW).action) == "unknown_reply"
    assert str(env.feed(mail("school-new-request"), NOW).action) == "open_call"
    with env.sessions() as session:
        [waiting] = held.waiting(session)
        assert held.count_waiting(session) == 1
    assert (waiting.sender, waiting.subject) == (STRANGER, "Can you fix our printer?")
    assert waiting.outcome == "unknown_reply" and "unknown sender" in waiting.why


def test_forged_staff_mail_and_a_blocked_loop_wait_in_the_queue(env: Env) -> None:
    forged = stranger_mail(1).replace(
        f"Pat Someone <{STRANGER}>".encode(), b"Priya Shah <priya.shah@westshire.gov.uk>"
    )
    assert str(env.feed(forged, NOW).action) == "unverified"
    with env.sessions() as session, session.begin():
        Store(session, "", 0).block(STRANGER, at=NOW, reason="test: a loop")
    assert str(env.feed(stranger_mail(2), NOW).action) == "blocked"
    with env.sessions() as session:
        outcomes = [(h.sender, h.outcome) for h in held.waiting(session)]
    assert outcomes == [("priya.shah@westshire.gov.uk", "unverified"), (STRANGER, "blocked")]


def test_a_dismissed_email_leaves_the_queue_once_and_the_decision_is_kept(env: Env) -> None:
    env.feed(stranger_mail(1), NOW)
    env.feed(stranger_mail(2, "Second try"), NOW + timedelta(minutes=5))
    with env.sessions() as session:
        first, second = held.waiting(session)
    later = NOW + timedelta(hours=1)
    with env.sessions() as session, session.begin():
        assert held.decide(session, first.id, action="dismissed", by="dana", at=later, detail="")
    with env.sessions() as session, session.begin():
        # A second decision on the same email is refused, not recorded twice.
        assert not held.decide(session, first.id, action="dismissed", by="sam", at=later, detail="")
    with env.sessions() as session:
        assert [h.id for h in held.waiting(session)] == [second.id]
        [row] = session.scalars(select(HeldDecision)).all()
        assert (row.message_id, row.by, row.action) == (int(first.id), "dana", "dismissed")


def test_a_parked_email_is_in_the_queue_under_its_own_id_and_can_be_dismissed(env: Env) -> None:
    env.feed(stranger_mail(1), NOW)
    reason = "over the CPU budget of 5 s per email"
    parked.record(env.sessions, parked.describe(stranger_mail(2, "Huge"), 7, reason, NOW))
    with env.sessions() as session:
        stored, kept = held.waiting(session)
        assert held.count_waiting(session) == 2
    assert kept.id.startswith("p") and not stored.id.startswith("p")
    assert (kept.subject, kept.outcome) == ("Huge", "parked") and reason in kept.why
    later = NOW + timedelta(hours=1)
    with env.sessions() as session, session.begin():
        assert held.decide(session, kept.id, action="dismissed", by="dana", at=later, detail="")
        assert not held.decide(session, "p999", action="dismissed", by="dana", at=later, detail="")
        assert not held.decide(session, "nonsense", action="dismissed", by="d", at=later, detail="")
    with env.sessions() as session:
        assert [h.id for h in held.waiting(session)] == [stored.id]
        [row] = session.scalars(select(HeldDecision)).all()
        assert (row.parked_id, row.message_id) == (int(kept.id[1:]), None)


def test_status_lists_the_oldest_held_emails_and_reads_no_stored_body(env: Env) -> None:
    # Fourteen held emails, stored and parked, received in an order that
    # interleaves the two kinds; status shows the count and the oldest ten.
    for n in range(14):
        at = NOW + timedelta(minutes=n)
        if n % 3 == 2:
            parked.record(env.sessions, parked.describe(stranger_mail(n, f"Mail {n}"), n, "x", at))
        else:
            env.feed(stranger_mail(n, f"Mail {n}"), at)
    statements: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    engine = env.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        figures = health.check(env.sessions, NOW + timedelta(hours=1))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert figures.held_total == 14
    assert [h.subject for h in figures.held] == [f"Mail {n}" for n in range(10)]
    with env.sessions() as session:
        assert list(figures.held) == held.waiting(session)[:10]
        assert held.find(session, figures.held[2].id) == figures.held[2]
        assert held.find(session, figures.held[3].id) == figures.held[3]
        assert held.find(session, "p999") is None and held.find(session, "x1") is None
    # The held emails' bodies are not read to show ten subjects.
    assert not [s for s in statements if "body_text" in s]


DESK = "servicedesk@westshire.gov.uk"
WORDS = "Hello Pat, this address is for schools; please ask your school office."


def test_an_officers_reply_goes_to_the_sender_once_threaded_and_leaves_the_queue(
    env: Env,
) -> None:
    env.feed(stranger_mail(1), NOW)
    with env.sessions() as session:
        [waiting] = held.waiting(session)
    later = NOW + timedelta(hours=1)
    sent_to = heldreply.reply(env.sessions, env.config, env.rules, waiting.id, WORDS, "dana", later)
    assert sent_to == STRANGER
    [answer] = of_kind(env, "held_reply")
    assert recipients(answer) == [STRANGER]
    assert WORDS in plain(answer) and "Dana Whitfield" in plain(answer)
    headers = parsed(answer)
    assert headers["In-Reply-To"] == "<stranger-1@elsewhere.example>"
    assert headers["Subject"] == "Re: Can you fix our printer?"
    with pytest.raises(MailbotError):
        # A second answer (a rerun, or a colleague) sends nothing.
        heldreply.reply(env.sessions, env.config, env.rules, waiting.id, WORDS, "priya", later)
    assert len(of_kind(env, "held_reply")) == 1
    with env.sessions() as session:
        assert held.waiting(session) == []
        [row] = session.scalars(select(HeldDecision)).all()
        assert (row.action, row.by, row.detail) == (
            "replied",
            "dana.whitfield@westshire.gov.uk",
            WORDS,
        )


def test_a_held_email_opened_for_a_school_becomes_its_call_once(env: Env) -> None:
    env.feed(stranger_mail(1), NOW)
    with env.sessions() as session:
        [waiting] = held.waiting(session)
    later = NOW + timedelta(hours=1)
    ref = open_call(env.sessions, env.rules, waiting.id, "oakfield-primary", "dana", later)
    with pytest.raises(MailbotError):
        open_call(env.sessions, env.rules, waiting.id, "oakfield-primary", "dana", later)
    with pytest.raises(MailbotError, match="no school"):
        open_call(env.sessions, env.rules, "1", "nowhere", "dana", later)
    call = show(env, ref)
    assert (call["school"], call["requester"]) == ("oakfield-primary", STRANGER)
    assert call["subject"] == "Can you fix our printer?"
    assert [m["subject"] for m in call["messages"]] == ["Can you fix our printer?"]
    assert any("from held email" in e["detail"] for e in call["events"])
    with env.sessions() as session:
        assert held.waiting(session) == []
        [row] = session.scalars(select(HeldDecision)).all()
        assert (row.action, row.detail) == ("opened", ref)


def test_a_reply_by_someone_not_an_officer_records_and_sends_nothing(env: Env) -> None:
    env.feed(stranger_mail(1), NOW)
    with env.sessions() as session:
        [waiting] = held.waiting(session)
    with pytest.raises(MailbotError, match="not an officer"):
        heldreply.reply(env.sessions, env.config, env.rules, waiting.id, WORDS, "mallory", NOW)
    assert of_kind(env, "held_reply") == []
    with env.sessions() as session:
        assert [h.id for h in held.waiting(session)] == [waiting.id]


def tick(env: Env, now: datetime) -> bool:
    return jobs.run_due(env.sessions, env.config, env.rules, now, reports=False).held_digest


def test_the_digest_goes_to_the_desk_once_a_day_after_support_opens(env: Env) -> None:
    early = local(2026, 11, 23, 7, 30)
    env.feed(stranger_mail(1), early)
    assert not tick(env, early)  # Support opens at 08:00.
    opened = local(2026, 11, 23, 8, 0)
    assert tick(env, opened)
    assert not tick(env, opened + timedelta(hours=3))
    [digest] = of_kind(env, "held_digest")
    assert recipients(digest) == [DESK]
    text = plain(digest)
    assert STRANGER in text and "Can you fix our printer?" in text and "1 email is held" in text
    # The next working day it is sent again while the email still waits.
    assert tick(env, local(2026, 11, 24, 8, 1))
    assert len(of_kind(env, "held_digest")) == 2


def test_no_digest_when_nothing_waits_or_at_the_weekend(env: Env) -> None:
    env.feed(stranger_mail(1), NOW)
    # Held after support opened: it waits for the next working day's digest.
    assert not tick(env, NOW + timedelta(minutes=30))
    assert not tick(env, local(2026, 11, 28, 10, 0))  # A Saturday: no support.
    with env.sessions() as session, session.begin():
        [waiting] = held.waiting(session)
        held.decide(session, waiting.id, action="dismissed", by="dana", at=NOW, detail="")
    assert not tick(env, local(2026, 11, 30, 8, 30))
    assert of_kind(env, "held_digest") == []


def test_mail_held_during_the_day_is_in_the_next_days_digest(env: Env) -> None:
    env.feed(stranger_mail(1), NOW)
    assert not tick(env, NOW + timedelta(hours=2))
    assert tick(env, local(2026, 11, 24, 8, 5))
    [digest] = of_kind(env, "held_digest")
    assert "Can you fix our printer?" in plain(digest)


# --- end to end: Dovecot, the daemon, the SMTP sink, the command line ----------------------


def _daemon(path: Path, now: datetime) -> Daemon:
    config = load_config(path)
    return Daemon(
        config=config,
        rules=load_rules(config.rules.dir),
        sessions=make_sessions(make_engine(config.database.url)),
        clock=lambda: now,
    )


def test_held_list_and_dismiss_through_the_mailbox(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    path = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)
    dovecot.deliver(stranger_mail(1, "Printer \x1b[31mjam"))
    dovecot.deliver(stranger_mail(2, "Another question"))
    report, _, _ = asyncio.run(_daemon(path, NOW).run_once())
    assert [o.action for o in report.outcomes] == ["unknown_reply", "hold"]
    assert len([m for m in smtp_sink.messages if STRANGER in m.rcpt_tos]) == 1

    base = ["--config", str(path), "--now", (NOW + timedelta(hours=1)).isoformat()]
    capsys.readouterr()
    assert main([*base, "held", "list", "--json"]) == 0
    shown, second = json.loads(capsys.readouterr().out)
    assert shown["sender"] == STRANGER and shown["outcome"] == "unknown_reply"
    assert main([*base, "held", "list"]) == 0
    text = capsys.readouterr().out
    assert STRANGER in text and "\x1b" not in text

    main([*base, "status"])
    assert "held for a human      2" in capsys.readouterr().out
    assert main([*base, "held", "dismiss", str(shown["id"]), "--by", "dana"]) == 0
    assert main([*base, "held", "dismiss", str(shown["id"]), "--by", "dana"]) == 1
    reply = [*base, "held", "reply", second["id"], WORDS, "--by", "dana"]
    assert main(reply) == 0
    assert main(reply) == 1  # Answered already: nothing is sent twice.
    for minutes in (61, 62):
        asyncio.run(_daemon(path, NOW + timedelta(minutes=minutes)).run_once())
    [answer] = smtp_sink.of_kind("held_reply")
    assert list(answer.rcpt_tos) == [STRANGER] and WORDS in plain(answer)
    capsys.readouterr()
    assert main([*base, "held", "list"]) == 0
    assert "nothing held" in capsys.readouterr().out
    main([*base, "status"])
    assert "held for a human      0" in capsys.readouterr().out


def test_the_digest_is_sent_once_through_the_mailbox_even_when_the_run_is_repeated(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    path = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)
    dovecot.deliver(stranger_mail(1))
    asyncio.run(_daemon(path, local(2026, 11, 23, 7, 0)).run_once())
    assert smtp_sink.of_kind("held_digest") == []
    for minutes in (0, 1, 30):
        asyncio.run(_daemon(path, local(2026, 11, 23, 8, minutes)).run_once())
    [digest] = smtp_sink.of_kind("held_digest")
    assert list(digest.rcpt_tos) == [DESK]


def test_held_open_through_the_mailbox_and_the_command_line(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    path = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)
    dovecot.deliver(stranger_mail(1))
    asyncio.run(_daemon(path, NOW).run_once())
    base = ["--config", str(path), "--now", (NOW + timedelta(hours=1)).isoformat()]
    main([*base, "held", "list", "--json"])
    [shown] = json.loads(capsys.readouterr().out)
    opening = [*base, "held", "open", shown["id"], "--school", "oakfield-primary", "--by", "dana"]
    assert main(opening) == 0
    assert "opened as ICT-000001" in capsys.readouterr().out
    assert main(opening) == 1
    capsys.readouterr()
    assert main([*base, "calls", "show", "ICT-000001", "--json"]) == 0
    call = json.loads(capsys.readouterr().out)
    assert (call["school"], call["requester"]) == ("oakfield-primary", STRANGER)
