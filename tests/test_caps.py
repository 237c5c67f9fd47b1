"""Caps on automatic mail (issue 11 items 5, 6, 8): backscatter, floods and loops.

Pipeline tests run on SQLite and PostgreSQL; the flood and the loop also run
end to end through Dovecot and the SMTP sink.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from support import (
    SHIPPED_RULES,
    Env,
    header,
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

from mailbot.calls.store import Store
from mailbot.cli.main import main
from mailbot.config import Config, load_config
from mailbot.daemon.service import Daemon
from mailbot.pipeline.records import RawMail, Triage
from mailbot.rules.loader import load_rules
from mailbot.storage.db import make_engine, make_sessions, upgrade
from mailbot.storage.models import AutoReply, BlockedAddress

NOW = local(2026, 11, 23, 9, 5)
OAKFIELD = "oakfield-primary.westshire.sch.uk"
SPOC = f"t.reeves@{OAKFIELD}"
HEAD = f"head@{OAKFIELD}"
DESK = "servicedesk@westshire.gov.uk"
SPAM = "BUY CHEAP PILLS online now"


def letter(
    sender: str,
    subject: str,
    mid: str,
    body: str = "Hello, the internet is slow in class 3 since this morning.",
    *,
    name: str = "",
    top: str = "",
) -> bytes:
    """A plain email from ``sender``; ``top`` is header lines put first (Authentication-Results)."""
    lines = [
        *([top] if top else []),
        f"From: {name} <{sender}>" if name else f"From: {sender}",
        "To: ictsupport@westshire.gov.uk",
        f"Subject: {subject}",
        "Date: Mon, 23 Nov 2026 09:00:00 +0000",
        f"Message-ID: <{mid}>",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        "",
        body,
        "",
    ]
    return "\r\n".join(lines).encode()


def rules_with(tmp: Path, **policy: str) -> Path:
    """A copy of the shipped rules with policy.toml lines replaced (old line -> new line)."""
    folder = tmp / "rules"
    shutil.copytree(SHIPPED_RULES, folder)
    path = folder / "policy.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in policy.items():
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return folder


def feed_oversize(env: Env, raw: bytes, now: datetime) -> Triage:
    """Feed the headers of an email the mailbox reported as 20 MB (as the daemon does)."""
    from mailbot.daemon.intake import process

    raw_mail = RawMail(raw=raw, size=20_000_000, truncated=True)
    return process(raw_mail, sessions=env.sessions, config=env.config, rules=env.rules, now=now)


def sent_to(env: Env, address: str) -> list[str]:
    """The kinds of every outbox email whose envelope includes ``address``."""
    return [row.kind for row in env.outbox() if address in recipients(row)]


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


# --- 5. backscatter ---------------------------------------------------------------


def test_a_forged_strangers_subject_and_name_are_not_quoted_back(env: Env) -> None:
    raw = letter("victim@elsewhere.example", SPAM, "spam-1@x", "Cheap pills!", name="PILLS SHOP")
    t = env.feed(raw, NOW)
    assert str(t.action) == "unknown_reply"
    [reply] = of_kind(env, "unknown_sender")
    assert recipients(reply) == ["victim@elsewhere.example"]
    assert "PILLS" not in header(reply, "Subject").upper()
    assert "PILLS" not in plain(reply).upper()


def test_a_forged_strangers_oversize_email_is_answered_without_its_subject(env: Env) -> None:
    t = feed_oversize(env, letter("victim@elsewhere.example", SPAM, "spam-big@x"), NOW)
    assert str(t.action) == "oversize"
    [reply] = of_kind(env, "oversize")
    assert "PILLS" not in header(reply, "Subject").upper()
    assert "PILLS" not in plain(reply).upper()
    assert "15 MB" in plain(reply)


def test_an_open_service_confirms_a_strangers_call_without_quoting_it(
    tmp_path: Path, db_url: str
) -> None:
    rules = rules_with(tmp_path, **{'action = "reply"': 'action = "open"'})
    env = make_env(tmp_path, db_url, rules_dir=rules)
    raw = letter("victim@elsewhere.example", SPAM, "spam-2@x", name="PILLS SHOP")
    assert str(env.feed(raw, NOW).action) == "open_call"
    [confirmation] = of_kind(env, "confirmation")
    assert header(confirmation, "Subject").startswith("[ICT-000001]")
    assert "PILLS" not in header(confirmation, "Subject").upper()
    assert "PILLS" not in plain(confirmation).upper()


def test_a_stranger_our_server_vouched_for_is_answered_in_the_usual_words(env: Env) -> None:
    config = env.config.model_copy(
        update={"service": env.config.service.model_copy(update={"authserv_id": "mx.w.gov.uk"})}
    )
    env = Env(config, env.rules, env.sessions)
    passed = (
        "Authentication-Results: mx.w.gov.uk; dkim=pass header.d=parents.example; "
        "dmarc=pass header.from=parents.example"
    )
    env.feed(letter("pat@parents.example", "School places", "p-1@x", top=passed), NOW)
    failed = "Authentication-Results: mx.w.gov.uk; dkim=fail header.d=parents.example"
    env.feed(letter("sam@parents.example", "Cheap tickets", "p-2@x", top=failed), NOW)
    subjects = [header(row, "Subject") for row in of_kind(env, "unknown_sender")]
    assert subjects == ["Re: School places", "Re: your email"]


def test_replies_to_strangers_are_capped_per_domain_and_overall(env: Env) -> None:
    # Ten forged senders at one domain within the hour: three are answered.
    for n in range(10):
        raw = letter(f"person{n}@victim.example", "hello", f"v-{n}@x")
        env.feed(raw, NOW + timedelta(minutes=n))
    assert len(of_kind(env, "unknown_sender")) == 3
    # Thirty more at thirty domains: the overall cap of twenty an hour holds.
    for n in range(30):
        raw = letter(f"someone@place{n}.example", "hello", f"w-{n}@x")
        env.feed(raw, NOW + timedelta(minutes=10 + n))
    assert len(of_kind(env, "unknown_sender")) == 20
    # An hour later strangers are answered again.
    env.feed(letter("later@victim.example", "hello", "v-late@x"), NOW + timedelta(minutes=130))
    assert len(of_kind(env, "unknown_sender")) == 21


# --- 6. flooding a school ---------------------------------------------------------------


def made_up_teacher(n: int) -> bytes:
    """A request from a made-up address at Oakfield's domain, with an incident's words."""
    return letter(
        f"teacher{n}@{OAKFIELD}",
        f"Internet very slow in room {n}",
        f"flood-{n}@{OAKFIELD}",
        name=f"Teacher {n}",
    )


def test_a_flood_from_one_schools_domain_is_held_after_the_hourly_cap(env: Env) -> None:
    actions = [
        str(env.feed(made_up_teacher(n), NOW + timedelta(minutes=n)).action) for n in range(40)
    ]
    assert actions.count("open_call") == 20
    assert actions.count("flooded") == 20
    assert env.count_calls() == 20
    # The school's single point of contact is copied at most five times an hour.
    assert len(sent_to(env, SPOC)) == 5
    # One notice to the desk for the whole flood, naming the domain.
    [notice] = of_kind(env, "flood_notice")
    assert recipients(notice) == [DESK]
    assert OAKFIELD in header(notice, "Subject")


def test_after_the_hour_the_domain_opens_calls_again_and_the_desk_is_told_again(
    env: Env,
) -> None:
    for n in range(25):
        env.feed(made_up_teacher(n), NOW + timedelta(minutes=n))
    assert env.count_calls() == 20 and len(of_kind(env, "flood_notice")) == 1
    later = NOW + timedelta(minutes=90)
    assert str(env.feed(made_up_teacher(100), later).action) == "open_call"
    for n in range(101, 122):
        env.feed(made_up_teacher(n), later + timedelta(minutes=n - 100))
    assert len(of_kind(env, "flood_notice")) == 2


def test_copies_are_capped_per_recipient_not_only_per_to_address(env: Env) -> None:
    # Six real teachers (six To addresses) in an hour: the SPOC, copied on
    # each confirmation, gets five.
    for n in range(6):
        env.feed(made_up_teacher(n), NOW + timedelta(minutes=n))
    confirmations = of_kind(env, "confirmation")
    assert len(confirmations) == 6
    assert sum(SPOC in recipients(row) for row in confirmations) == 5
    # The sixth goes to its teacher with the SPOC left off, header and envelope.
    assert recipients(confirmations[-1]) == [f"teacher5@{OAKFIELD}"]
    assert parsed(confirmations[-1])["Cc"] is None


# --- 8. loops with stripped headers ---------------------------------------------------------


LOOPER = f"helpdesk@{OAKFIELD}"


def acknowledgement(n: int) -> bytes:
    """A second helpdesk's acknowledgement that strips Auto-Submitted and threading."""
    return letter(
        LOOPER,
        f"Ticket {4700 + n} logged",
        f"loop-{n}@{OAKFIELD}",
        f"Your message has been logged as ticket {4700 + n}. An engineer will be in touch.",
        name="Oakfield Helpdesk",
    )


def run_loop(env: Env, rounds: int, start: datetime = NOW) -> list[str]:
    """About five rounds an hour (every 13 minutes), each answered by the other side."""
    return [
        str(env.feed(acknowledgement(n), start + timedelta(minutes=13 * n)).action)
        for n in range(rounds)
    ]


def test_a_loop_under_the_hourly_cap_is_blocked_after_the_daily_cap(env: Env) -> None:
    actions = run_loop(env, 60)  # thirteen hours
    # The first 30 rounds are answered (under the hourly cap); the
    # 31st opens a call whose reply the guard refuses, blocking the address.
    assert actions[:31] == ["open_call"] * 31
    assert actions[31:] == ["blocked"] * 29
    assert env.count_calls() == 31
    assert len([k for k in sent_to(env, LOOPER) if k == "confirmation"]) == 30
    with env.sessions() as session:
        assert Store(session, "", 0).is_blocked(LOOPER)
    # The team heard about 31 calls, not 60.
    assert len(of_kind(env, "new_call")) == 31


def test_a_blocked_address_stays_blocked_the_next_day_until_a_human_clears_it(
    env: Env,
) -> None:
    run_loop(env, 40)
    next_day = NOW + timedelta(days=2)
    assert str(env.feed(acknowledgement(500), next_day).action) == "blocked"
    with env.sessions() as session, session.begin():
        assert Store(session, "", 0).unblock(LOOPER, at=next_day, by="admin") == 1
    after = str(env.feed(acknowledgement(501), next_day + timedelta(minutes=1)).action)
    assert after == "open_call"
    assert sent_to(env, LOOPER)[-1] == "confirmation"


def test_a_spoc_copied_on_a_loop_is_not_blocked_by_it(env: Env) -> None:
    run_loop(env, 60)
    with env.sessions() as session:
        assert not Store(session, "", 0).is_blocked(SPOC)
    own = mail("school-new-request").replace(b"<head@", b"<t.reeves@")
    assert str(env.feed(own, NOW + timedelta(hours=13)).action) == "open_call"


def test_a_solved_notice_from_a_command_passes_the_loop_guard_and_is_counted(
    env: Env,
) -> None:
    env.feed(mail("school-new-request"), NOW)
    notice = of_kind(env, "new_call")[0].message_id

    def counted() -> int:
        with env.sessions() as session:
            query = select(func.count(AutoReply.id)).where(
                AutoReply.address == HEAD, AutoReply.kind == "solved"
            )
            return session.scalar(query) or 0

    with env.sessions() as session, session.begin():
        Store(session, "", 0).block(HEAD, at=NOW, reason="test: a loop")
    env.feed(mail("staff-solved-with-words", notice_id=notice), local(2026, 11, 23, 10, 0))
    assert show(env)["status"] == "solved"
    # The solved notice, composed inside the #solved handler, is addressed to
    # the blocked requester: with nobody left in To it is not sent at all.
    assert of_kind(env, "solved") == []
    assert counted() == 0
    assert [e["detail"] for e in show(env)["events"] if e["kind"] == "reply_suppressed"] == [
        "solved"
    ]


def test_a_solved_notice_is_counted_for_the_hourly_cap(env: Env) -> None:
    env.feed(mail("school-new-request"), NOW)
    notice = of_kind(env, "new_call")[0].message_id
    env.feed(mail("staff-solved-with-words", notice_id=notice), local(2026, 11, 23, 10, 0))
    with env.sessions() as session:
        query = select(func.count(AutoReply.id)).where(
            AutoReply.address == HEAD, AutoReply.kind == "solved"
        )
        assert session.scalar(query) == 1


# --- end to end: Dovecot, the daemon, the SMTP sink, the command line ----------------------


def _daemon(config: Config, now: datetime) -> Daemon:
    return Daemon(
        config=config,
        rules=load_rules(config.rules.dir),
        sessions=make_sessions(make_engine(config.database.url)),
        clock=lambda: now,
    )


def _live(tmp_path: Path, dovecot: Any, smtp_sink: Any) -> tuple[Config, Path]:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    path = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)
    return load_config(path), path


def test_a_flood_through_the_mailbox_opens_twenty_calls_and_tells_the_desk_once(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    config, _ = _live(tmp_path, dovecot, smtp_sink)
    outcomes = []
    # Forty emails in an hour, collected in batches as a daemon would.
    for batch in range(8):
        for n in range(batch * 5, batch * 5 + 5):
            dovecot.deliver(made_up_teacher(n))
        report, _, _ = asyncio.run(_daemon(config, NOW + timedelta(minutes=7 * batch)).run_once())
        outcomes += [o.action for o in report.outcomes]
    assert outcomes.count("open_call") == 20 and outcomes.count("flooded") == 20
    assert len([m for m in smtp_sink.messages if SPOC in m.rcpt_tos]) == 5
    [notice] = smtp_sink.of_kind("flood_notice")
    assert list(notice.rcpt_tos) == [DESK]
    assert len(smtp_sink.of_kind("new_call")) == 20
    # Every email, held or not, left the inbox with a record.
    assert dovecot.uids("INBOX") == [] and len(dovecot.uids("Processed")) == 40


def test_a_loop_through_the_mailbox_is_blocked_shown_in_status_and_cleared_by_a_human(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    config, path = _live(tmp_path, dovecot, smtp_sink)
    rounds = 40
    for n in range(rounds):
        dovecot.deliver(acknowledgement(n))
        asyncio.run(_daemon(config, NOW + timedelta(minutes=13 * n)).run_once())
    to_looper = [m for m in smtp_sink.messages if LOOPER in m.rcpt_tos]
    assert len(to_looper) == 30
    assert len(smtp_sink.of_kind("new_call")) == 31
    assert dovecot.uids("INBOX") == [] and len(dovecot.uids("Processed")) == rounds

    later = (NOW + timedelta(minutes=13 * rounds)).isoformat()
    assert main(["--config", str(path), "--now", later, "status"]) == 2
    shown = capsys.readouterr().out
    assert "blocked addresses     1" in shown and LOOPER in shown
    assert main(["--config", str(path), "senders", "list"]) == 0
    assert LOOPER in capsys.readouterr().out

    # Still blocked the next day, whatever it sends.
    next_day = NOW + timedelta(days=1, hours=12)
    dovecot.deliver(acknowledgement(900))
    report, _, _ = asyncio.run(_daemon(config, next_day).run_once())
    assert [o.action for o in report.outcomes] == ["blocked"]

    cleared_at = (next_day + timedelta(minutes=5)).isoformat()
    args = ["--config", str(path), "--now", cleared_at, "senders", "unblock", LOOPER]
    assert main([*args, "--by", "dana"]) == 0
    assert main(["--config", str(path), "senders", "unblock", LOOPER]) == 1
    with make_sessions(make_engine(config.database.url))() as session:
        row = session.scalars(select(BlockedAddress)).one()
        assert (row.address, row.cleared_by) == (LOOPER, "dana")
    capsys.readouterr()
    assert main(["--config", str(path), "--now", cleared_at, "senders", "list"]) == 0
    assert "no blocked addresses" in capsys.readouterr().out

    dovecot.deliver(acknowledgement(901))
    report, _, _ = asyncio.run(_daemon(config, next_day + timedelta(minutes=10)).run_once())
    assert [o.action for o in report.outcomes] == ["open_call"]
    assert len([m for m in smtp_sink.messages if LOOPER in m.rcpt_tos]) == 31


def test_a_broadcast_goes_through_the_door_skips_blocked_addresses_and_is_not_counted(
    env: Env,
) -> None:
    from mailbot.incidents import broadcast, incident
    from mailbot.storage.db import transaction

    blocked = "head@little-acorns.westshire.sch.uk"
    with env.sessions() as session, session.begin():
        Store(session, "", 0).block(blocked, at=NOW, reason="test: a loop")
    with transaction(env.sessions) as session:
        incident.declare(
            session, env.rules, title="Internet down", details="The link failed.",
            by=incident.By("raj.patel@westshire.gov.uk", NOW), email_down=False,
        )  # fmt: skip
    total = len(broadcast.recipients(env.rules, False))
    while broadcast.run(env.sessions, env.config, env.rules, NOW).queued:
        pass
    notices = of_kind(env, "incident_notice")
    assert len(notices) == total - 1
    assert all(blocked not in recipients(row) for row in notices)
    with env.sessions() as session:
        assert session.scalar(select(func.count(AutoReply.id))) == 0


def test_rules_check_names_an_unknown_flood_notice_team(tmp_path: Path) -> None:
    from mailbot.errors import RulesError

    folder = rules_with(
        tmp_path, **{'flood_notice_team = "service-desk"': 'flood_notice_team = "nobody"'}
    )
    with pytest.raises(RulesError) as caught:
        load_rules(folder)
    assert any("flood_notice_team" in p and "nobody" in p for p in caught.value.problems)
