"""A call's life through `mailbot --now ... run --once` on real Dovecot, SMTP, PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from support import SHIPPED_RULES, bulk_rules, local, mail, parsed, write_config_file

from mailbot.calls import records
from mailbot.commands import actions
from mailbot.config import load_config
from mailbot.rules.loader import load_rules
from mailbot.storage.db import make_engine, make_sessions, transaction, upgrade

HEAD = "head@oakfield-primary.westshire.sch.uk"
SAM = "sam.okafor@westshire.gov.uk"
RAJ = "raj.patel@westshire.gov.uk"


def write_config(tmp_path: Path, dovecot: Any, smtp_sink: Any, url: str) -> Path:
    upgrade(url)
    return write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)


def mailbot(config: Path, now: str, *args: str) -> str:
    """Run the real command line at the instant ``now`` and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(config), "--now", now, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def received(smtp_sink: Any, since: int = 0) -> list[tuple[str, list[str], str]]:
    """(kind, recipients, plain text) of each email accepted, but the staff's call notices.

    New-call notices, relayed school replies and breach alerts are tested on their own; here
    they would only shift the positions this file's assertions count in.
    """
    out = []
    for m in smtp_sink.messages:
        if m.kind in ("new_call", "school_reply", "breach"):
            continue
        msg = parsed(m)
        part = msg.get_body(preferencelist=("plain",))
        text = str(part.get_content()) if part is not None else ""
        out.append((str(msg["X-Mailbot-Id"]), sorted(m.rcpt_tos), text))
    return out[since:]


def test_a_calls_life_from_confirmation_to_closure_notice(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    config = write_config(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'mb.db'}")
    dovecot.deliver(mail("school-new-request"))
    mailbot(config, "2026-11-23T09:05", "run", "--once")
    [(kind, to, text)] = received(smtp_sink)
    assert kind == "confirmation"
    assert "Fix:        within 2 days, by 9.05am on Wednesday 25 November" in text
    mailbot(config, "2026-11-23T09:30", "calls", "assign", "ICT-000001", "sam", "--by", SAM)

    # Level 1 at 65% of the fix time (Tuesday 11:47) to the assigned officer, once.
    mailbot(config, "2026-11-24T11:46", "run", "--once")
    assert len(received(smtp_sink)) == 1
    # Nobody answered the school by Tuesday 09:05: the response target's breach is told.
    [breach] = smtp_sink.of_kind("breach")
    assert sorted(breach.rcpt_tos) == sorted([SAM, RAJ])
    out = mailbot(config, "2026-11-24T11:47", "run", "--once")
    assert "escalated      ICT-000001 to level 1" in out
    mailbot(config, "2026-11-24T11:50", "run", "--once")
    [(kind, to, text)] = received(smtp_sink, 1)
    assert (kind, to) == ("escalation1", [SAM])
    assert "Oakfield Primary School" in text

    # Level 2 at 85% (Tuesday 15:23) to the officer and their line manager.
    mailbot(config, "2026-11-24T15:23", "run", "--once")
    [(kind, to, _)] = received(smtp_sink, 2)
    assert (kind, to) == ("escalation2", sorted([SAM, RAJ]))
    listing = mailbot(config, "2026-11-24T15:30", "calls", "list")
    assert "ICT-000001  open" in listing and "Wed 25 Nov 09:05" in listing

    # Solved: the school is told; three support days later it closes itself.
    mailbot(
        config, "2026-11-24T16:00", "calls", "update", "ICT-000001",
        "--status", "solved", "--message", "We restarted the filtering appliance.", "--by", SAM,
    )  # fmt: skip
    mailbot(config, "2026-11-24T16:01", "run", "--once")
    [(kind, to, text)] = received(smtp_sink, 3)
    assert kind == "solved" and HEAD in to
    assert "We restarted the filtering appliance." in text
    mailbot(config, "2026-11-27T15:59", "run", "--once")
    assert len(received(smtp_sink)) == 4
    out = mailbot(config, "2026-11-27T16:00", "run", "--once")
    assert "closed         ICT-000001" in out
    [(kind, to, text)] = received(smtp_sink, 4)
    assert kind == "closure" and HEAD in to
    shown = json.loads(mailbot(config, "2026-11-27T16:05", "calls", "show", "ICT-000001", "--json"))
    assert shown["status"] == "closed" and shown["escalation_level"] == 2


def test_reopen_then_recurrence_with_a_cross_referenced_call_and_a_problem_record(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    config = write_config(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'mb.db'}")
    dovecot.deliver(mail("school-new-request"))
    mailbot(config, "2026-11-23T09:05", "run", "--once")
    mailbot(config, "2026-11-23T14:00", "calls", "update", "ICT-000001", "--status", "solved")

    # A reply the next morning, within a support day of solving: reopened.
    dovecot.deliver(mail("school-reply-still-broken", n="<again-1@oakfield>"))
    out = mailbot(config, "2026-11-24T09:00", "run", "--once")
    assert "reopen" in out
    kinds = [k for k, _, _ in received(smtp_sink)]
    assert kinds == ["confirmation", "solved", "reopened"]

    # Solved again; a reply two support days later starts a new, linked call.
    mailbot(config, "2026-11-24T10:00", "calls", "update", "ICT-000001", "--status", "solved")
    dovecot.deliver(mail("school-reply-still-broken", n="<again-2@oakfield>"))
    out = mailbot(config, "2026-11-26T10:00", "run", "--once")
    assert "follow_up" in out and "ICT-000002" in out
    kind, to, text = received(smtp_sink)[-1]
    assert kind == "confirmation" and HEAD in to
    assert "This follows on from call ICT-000001" in text
    listing = json.loads(mailbot(config, "2026-11-26T10:05", "calls", "list", "--json"))
    by_ref = {c["ref"]: c for c in listing}
    assert by_ref["ICT-000002"]["related"] == ["ICT-000001", "ICT-000003"]
    assert by_ref["ICT-000003"]["type"] == "problem"
    assert by_ref["ICT-000003"]["related"] == ["ICT-000001", "ICT-000002"]
    # The problem record is internal: no email names it.
    assert not any("ICT-000003" in t for _, _, t in received(smtp_sink))


def _run_once(config: Path, now: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(config), "--now", now,
         "run", "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def test_two_processes_at_once_on_postgresql_send_each_escalation_and_closure_once(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, pg_url: str
) -> None:
    upgrade(pg_url)
    config = write_config_file(
        tmp_path, url=pg_url, imap=dovecot, smtp=smtp_sink, rules_dir=bulk_rules(tmp_path)
    )
    total = 30
    for n in range(total):
        raw = mail("school-new-request").replace(b"new-request-1@", f"pair-{n}@".encode())
        raw = raw.replace(b"<head@oakfield", f"<teacher{n}@oakfield".encode())
        dovecot.deliver(raw)
    mailbot(config, "2026-11-23T09:05", "run", "--once")
    assert len(received(smtp_sink)) == total

    procs = [_run_once(config, "2026-11-24T11:47") for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0], [p.communicate()[0] for p in procs]
    escalations = [r for r in received(smtp_sink, total) if r[0] == "escalation1"]
    ids = [email.message_from_bytes(m.raw)["Message-ID"] for m in smtp_sink.of_kind("escalation1")]
    assert len(escalations) == total and len(set(ids)) == total

    # Solve every call, then two processes at the closing instant.
    rules = load_rules(SHIPPED_RULES)
    sessions = make_sessions(make_engine(pg_url))
    cfg = load_config(config)
    by = records.Staff(actor=SAM, now=local(2026, 11, 24, 12, 0))
    for n in range(1, total + 1):
        with transaction(sessions) as session:
            call = actions.find_call(session, rules, f"ICT-{n:06d}")
            assert call is not None
            assert isinstance(actions.set_status(session, cfg, rules, call, "solved", by), str)
    mailbot(config, "2026-11-24T12:01", "run", "--once")
    before = len(received(smtp_sink))
    procs = [_run_once(config, "2026-11-27T12:00") for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    closures = [r for r in received(smtp_sink, before) if r[0] == "closure"]
    assert len(closures) == total
    assert len({tuple(r[1]) for r in closures}) == total
