"""Major incidents end to end: a real daemon, Dovecot, SMTP, 300 contacts, and a SIGKILL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from smtpserver import SmtpSink
from support import SHIPPED_RULES, SUPPORT, authenticated, header, mail, parsed, write_config_file

from mailbot.storage.db import upgrade

SCHOOLS = 150
NOW = "2026-11-23T09:30"


def directory(rules: Path) -> None:
    """A copy of the shipped rules with 150 schools of two contacts each (300 contacts)."""
    shutil.copytree(SHIPPED_RULES, rules)
    lines = []
    for n in range(SCHOOLS):
        phase = "secondary" if n % 2 else "primary"
        lines += [
            "[[school]]",
            f'id = "school-{n:03d}"',
            f'name = "School {n:03d}"',
            f'phase = "{phase}"',
            f'domains = ["school-{n:03d}.westshire.sch.uk"]',
            "[[school.contacts]]",
            f'name = "Head {n:03d}"',
            f'email = "head@school-{n:03d}.westshire.sch.uk"',
            'roles = ["headteacher"]',
            f'alt_email = "head.{n:03d}@alt.example"',
            "[[school.contacts]]",
            f'name = "Network Manager {n:03d}"',
            f'email = "network@school-{n:03d}.westshire.sch.uk"',
            'roles = ["network_manager", "spoc"]',
            f'alt_email = "network.{n:03d}@alt.example"',
        ]
    original = (SHIPPED_RULES / "schools.toml").read_text(encoding="utf-8")
    (rules / "schools.toml").write_text(original + "\n" + "\n".join(lines) + "\n", "utf-8")


def expected(rules: Path, email_down: bool = False) -> set[str]:
    """Who the shipped lists (all headteachers, secondary network managers) reach.

    Worked out here from the directory file itself, not by mailbot's code.
    While school email is down only contacts with an alternative address can
    be reached, at that address.
    """
    data = tomllib.loads((rules / "schools.toml").read_text(encoding="utf-8"))
    found = set()
    for school in data["school"]:
        for contact in school.get("contacts", []):
            roles = set(contact.get("roles", []))
            secondary = school["phase"] in ("secondary", "all-through")
            if "headteacher" in roles or ("network_manager" in roles and secondary):
                if not email_down:
                    found.add(contact["email"])
                elif contact.get("alt_email"):
                    found.add(contact["alt_email"])
    return found


def configure(tmp: Path, dovecot: Any, smtp: SmtpSink, fallback: SmtpSink | None = None) -> Path:
    rules = tmp / "rules"
    directory(rules)
    url = f"sqlite:///{tmp / 'mailbot.db'}"
    upgrade(url)
    spare = (
        f'[fallback_smtp]\nhost = "{fallback.host}"\nport = {fallback.port}\nsecurity = "none"\n'
        if fallback
        else ""
    )
    extra = f"""{spare}
[scheduler]
tick_seconds = 1
[status_page]
dir = "{tmp / "status"}"
url = "https://status.westshire.example/"
"""
    return write_config_file(
        tmp, url=url, imap=dovecot, smtp=smtp, rules_dir=rules, extra=extra, poll_seconds=1
    )


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(config), "run"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "MAILBOT_NOW": NOW},
    )


def wait_for(predicate: Any, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out; daemon log:\n" + log.read_text()[-4000:])


def notices(smtp: SmtpSink) -> list[tuple[str, str, str]]:
    """(recipient, Message-ID, first line) of every incident notice accepted."""
    out = []
    for m in smtp.of_kind("incident_notice"):
        msg = parsed(m)
        part = msg.get_body(preferencelist=("plain",))
        first = str(part.get_content()).splitlines()[0] if part is not None else ""
        [rcpt] = m.rcpt_tos
        out.append((rcpt, str(msg["Message-ID"]), first))
    return out


def staff_email(notice: str, message_id: str, lines: str) -> bytes:
    return authenticated(
        (
            "From: Raj Patel <raj.patel@westshire.gov.uk>\r\n"
            f"To: {SUPPORT}\r\nSubject: RE: [ICT-000001] Oakfield Primary School: Internet\r\n"
            f"In-Reply-To: {notice}\r\nMessage-ID: <{message_id}@westshire.gov.uk>\r\n\r\n"
            f"{lines}\r\n"
        ).encode()
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_declare_update_resolve_reach_everyone_once_despite_a_sigkill_mid_broadcast(
    tmp_path: Path, dovecot: Any, smtp_sink: SmtpSink
) -> None:
    config = configure(tmp_path, dovecot, smtp_sink)
    log = tmp_path / "daemon.log"
    everyone = expected(tmp_path / "rules")
    proc = start(config, log)
    try:
        wait_for(lambda: "mailbot running" in log.read_text(), log)
        dovecot.deliver(mail("school-new-request"))
        wait_for(lambda: bool(smtp_sink.of_kind("new_call")), log)
        notice = header(smtp_sink.of_kind("new_call")[0], "Message-ID")

        # Slow the relay so that the kill lands while the broadcast is going out.
        smtp_sink.slow_down(0.02)
        declare = (
            "#major declare Internet service down across all schools\r\n"
            "#major keywords internet\r\n\r\nLink failed."
        )
        dovecot.deliver(staff_email(notice, "declare", declare))
        wait_for(lambda: len(notices(smtp_sink)) >= 60, log)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        killed_at = len(notices(smtp_sink))
        assert killed_at < len(everyone), "the kill came after the broadcast had finished"

        smtp_sink.slow_down(0)
        proc = start(config, log)
        wait_for(lambda: {r for r, _, _ in notices(smtp_sink)} >= everyone, log)

        # During the incident a school's own report is linked and answered with its status.
        dovecot.deliver(mail("school-reports-internet-down"))
        wait_for(lambda: bool(smtp_sink.of_kind("incident_status")), log)

        dovecot.deliver(staff_email(notice, "update", "#major update Engineers are on site."))
        wait_for(lambda: len({m for _, m, _ in notices(smtp_sink)}) >= 2 * len(everyone), log)
        dovecot.deliver(staff_email(notice, "resolve", "#major resolve Repaired at 11:40."))
        wait_for(lambda: len({m for _, m, _ in notices(smtp_sink)}) >= 3 * len(everyone), log)
        wait_for(lambda: len(smtp_sink.of_kind("solved")) >= 2, log)
    finally:
        stop(proc)

    got = notices(smtp_sink)
    by_id = Counter(mid for _, mid, _ in got)
    # Each recipient has exactly one notice of each kind, by Message-ID...
    for kind in ("MAJOR INCIDENT MI-0001", "UPDATE 1 on MI-0001", "RESOLVED MI-0001"):
        ids = {(r, m) for r, m, first in got if first.startswith(kind)}
        assert {r for r, _ in ids} == everyone
        assert len(ids) == len(everyone)
    # ...and nobody else got one.  The one email SMTP cannot make safe is the
    # one accepted by the relay in the instant before the kill, before the
    # commit that records it: it may be sent again, with the same Message-ID.
    assert {r for r, _, _ in got} == everyone
    assert sum(n - 1 for n in by_id.values()) <= 1, [m for m, n in by_id.items() if n > 1]
    solved = smtp_sink.of_kind("solved")
    assert {r for m in solved for r in m.rcpt_tos} >= {
        "head@oakfield-primary.westshire.sch.uk",
        "head@brookfield-high.westshire.sch.uk",
    }
    assert "Engineers are on site." in (tmp_path / "status" / "index.html").read_text() or (
        "Repaired at 11:40." in (tmp_path / "status" / "index.html").read_text()
    )


@pytest.fixture
def fallback_sink() -> Any:
    sink = SmtpSink()
    yield sink
    sink.close()


def test_with_school_email_down_broadcasts_go_to_alternative_addresses_by_the_fallback_route(
    tmp_path: Path, dovecot: Any, smtp_sink: SmtpSink, fallback_sink: SmtpSink
) -> None:
    config = configure(tmp_path, dovecot, smtp_sink, fallback_sink)
    dovecot.deliver(mail("school-new-request"))
    from mailbot.cli.main import main

    base = ["--config", str(config), "--now", NOW]
    assert main([*base, "run", "--once"]) == 0
    notice = header(smtp_sink.of_kind("new_call")[0], "Message-ID")
    lines = "#major declare School email is down\r\n#major email down\r\n\r\nUse phones."
    dovecot.deliver(staff_email(notice, "email-down", lines))
    assert main([*base, "run", "--once"]) == 0
    assert notices(smtp_sink) == []
    got = notices(fallback_sink)
    reachable = expected(tmp_path / "rules", email_down=True)
    assert {r for r, _, _ in got} == reachable
    assert len(got) == len(reachable)
    # The receipt to the officer still leaves by the usual relay.
    assert smtp_sink.of_kind("receipt")
