"""Planned maintenance end to end: Dovecot, SMTP, `run --once --now`, and a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from smtpserver import SmtpSink
from support import SUPPORT, authenticated, header, mail, parsed
from test_incidents_end_to_end import configure, expected, stop, wait_for

from mailbot.cli.main import main

ASKED = "2026-11-23T09:30"


def planned_notices(smtp: SmtpSink) -> list[tuple[str, str, str]]:
    """(recipient, Message-ID, first line) of every planned-maintenance notice accepted."""
    out = []
    for m in smtp.of_kind("planned_notice"):
        msg = parsed(m)
        part = msg.get_body(preferencelist=("plain",))
        first = str(part.get_content()).splitlines()[0] if part is not None else ""
        [rcpt] = m.rcpt_tos
        out.append((rcpt, str(msg["Message-ID"]), first))
    return out


def staff_email(notice: str, lines: str) -> bytes:
    return authenticated(
        (
            "From: Raj Patel <raj.patel@westshire.gov.uk>\r\n"
            f"To: {SUPPORT}\r\nSubject: RE: [ICT-000001] Oakfield Primary School: Internet\r\n"
            f"In-Reply-To: {notice}\r\nMessage-ID: <planned-e2e@westshire.gov.uk>\r\n\r\n"
            f"{lines}\r\n"
        ).encode()
    )


def test_announced_by_email_then_reminded_started_and_ended_each_once_by_run_once(
    tmp_path: Path, dovecot: Any, smtp_sink: SmtpSink
) -> None:
    config = configure(tmp_path, dovecot, smtp_sink)
    everyone = expected(tmp_path / "rules")

    def run_at(now: str) -> None:
        assert main(["--config", str(config), "--now", now, "run", "--once"]) == 0

    dovecot.deliver(mail("school-new-request"))
    run_at(ASKED)
    notice = header(smtp_sink.of_kind("new_call")[0], "Message-ID")
    lines = (
        "#planned Firewall upgrade; from 2026-11-28 18:00; to 2026-11-28 21:00; "
        "services internet, web filtering\r\n\r\nNew firewall hardware."
    )
    dovecot.deliver(staff_email(notice, lines))
    run_at(ASKED)
    receipt = parsed(smtp_sink.of_kind("receipt")[-1]).get_body(preferencelist=("plain",))
    assert receipt is not None and "announced PW-0001" in str(receipt.get_content())
    for now in (
        "2026-11-27T17:00",
        "2026-11-27T18:00",
        "2026-11-27T18:30",
        "2026-11-28T18:00",
        "2026-11-28T21:00",
        "2026-11-29T09:00",
    ):
        run_at(now)
    got = planned_notices(smtp_sink)
    for kind in ("PLANNED MAINTENANCE", "REMINDER", "STARTED", "COMPLETED"):
        ids = {(r, m) for r, m, first in got if first.startswith(f"{kind} PW-0001")}
        assert {r for r, _ in ids} == everyone
        assert len(ids) == len(everyone)
    assert len(got) == 4 * len(everyone)
    page = (tmp_path / "status" / "index.html").read_text(encoding="utf-8")
    assert "Firewall upgrade" not in page  # finished work leaves the page
    feed = (tmp_path / "status" / "feed.atom").read_text(encoding="utf-8")
    assert "[PW-0001] Planned: completed: Firewall upgrade" in feed


def start_at(config: Path, log: Path, now: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(config), "run"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "MAILBOT_NOW": now},
    )


def test_announce_and_start_notices_reach_everyone_once_despite_a_sigkill_mid_broadcast(
    tmp_path: Path, dovecot: Any, smtp_sink: SmtpSink
) -> None:
    config = configure(tmp_path, dovecot, smtp_sink)
    log = tmp_path / "daemon.log"
    everyone = expected(tmp_path / "rules")
    base = ["--config", str(config), "--now", ASKED, "planned"]
    window = ["--from", "2026-11-28 18:00", "--to", "2026-11-28 21:00"]
    assert main([*base, "announce", "Firewall upgrade", *window, "--services", "internet",
                 "--by", "raj"]) == 0  # fmt: skip
    # The daemon first runs at the start: the announcement and the start
    # notice go out together, slowly enough for the kill to land mid-way.
    smtp_sink.slow_down(0.02)
    proc = start_at(config, log, "2026-11-28T18:00")
    try:
        wait_for(lambda: len(planned_notices(smtp_sink)) >= 60, log)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert len(planned_notices(smtp_sink)) < 2 * len(everyone)
        smtp_sink.slow_down(0)
        proc = start_at(config, log, "2026-11-28T18:05")
        ids = lambda: {m for _, m, _ in planned_notices(smtp_sink)}  # noqa: E731
        wait_for(lambda: len(ids()) >= 2 * len(everyone), log)
    finally:
        stop(proc)
    got = planned_notices(smtp_sink)
    for kind in ("PLANNED MAINTENANCE", "STARTED"):
        ids = {(r, m) for r, m, first in got if first.startswith(f"{kind} PW-0001")}
        assert {r for r, _ in ids} == everyone
        assert len(ids) == len(everyone)
    # As for incidents: only the email accepted in the instant before the kill
    # may go twice, with the same Message-ID.
    by_id = Counter(mid for _, mid, _ in got)
    assert sum(n - 1 for n in by_id.values()) <= 1
    assert not any(first.startswith("REMINDER") for _, _, first in got)


def test_availability_from_an_incident_declared_and_resolved_by_email_less_planned_work(
    tmp_path: Path, dovecot: Any, smtp_sink: SmtpSink, capsys: Any
) -> None:
    config = configure(tmp_path, dovecot, smtp_sink)

    def run_at(now: str) -> None:
        assert main(["--config", str(config), "--now", now, "run", "--once"]) == 0

    dovecot.deliver(mail("school-new-request"))
    run_at("2026-11-30T08:50")
    notice = header(smtp_sink.of_kind("new_call")[0], "Message-ID")
    planned = "#planned Router swap; from 2026-12-05 18:00; to 2026-12-05 20:00; services internet"
    dovecot.deliver(staff_email(notice, planned))
    run_at("2026-11-30T08:55")
    declare = "#major declare Internet down\r\n#major services internet\r\n\r\nLink failed."
    dovecot.deliver(staff_email(notice, declare).replace(b"planned-e2e", b"declare-e2e"))
    run_at("2026-11-30T09:00")
    resolve = "#major resolve Link repaired."
    dovecot.deliver(staff_email(notice, resolve).replace(b"planned-e2e", b"resolve-e2e"))
    run_at("2026-11-30T12:00")
    capsys.readouterr()
    base = ["--config", str(config), "--now", "2026-12-07T09:00"]
    assert main([*base, "availability", "--month", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "internet          98.57%  MISSED  down 180 of 12600 minutes" in out
    assert "MI-0002 Internet down (full): 180 minutes" in out
    # In December the agreed work (a Saturday, outside the hours) takes nothing.
    assert main([*base, "availability", "--month", "2026-12", "--json"]) == 0
    december = json.loads(capsys.readouterr().out)
    [internet] = [s for s in december["services"] if s["service"] == "internet"]
    assert internet["down_minutes"] == 0
    assert [(i["ref"], i["outage"]) for i in internet["incidents"]] == [("PW-0001", "planned")]
