"""Issue 14 items 20-23 end to end: Dovecot, the SMTP relays and `mailbot run --once`.

One incident, moved on with ``--now``: the reporter is told their call is now
a major incident (23); while school email is down the broadcast goes by the
fallback relay to alternative addresses only, and when it is back those it
could not reach get one catch-up through the usual relay (20); the status
page and its feed stay true and link (21); and a school's reply to the
resolution notice becomes a follow-up of the incident (22).
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from smtpserver import SmtpSink
from support import SHIPPED_RULES, SUPPORT, authenticated, header, mail, parsed, write_config_file

from mailbot.cli.main import main
from mailbot.storage.db import upgrade

HELEN = "head@oakfield-primary.westshire.sch.uk"
GRACE = "head@st-marys-ce.westshire.sch.uk"
CLAIRE = "head@brookfield-high.westshire.sch.uk"
ATOM = "{http://www.w3.org/2005/Atom}"
URL = "https://status.westshire.example/"


@pytest.fixture
def fallback_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.close()


def configure(tmp: Path, dovecot: Any, smtp: SmtpSink, fallback: SmtpSink) -> Path:
    rules = tmp / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    url = f"sqlite:///{tmp / 'mailbot.db'}"
    upgrade(url)
    extra = f"""
[fallback_smtp]
host = "{fallback.host}"
port = {fallback.port}
security = "none"
[status_page]
dir = "{tmp / "status"}"
url = "{URL}"
phone = "01632 960000"
"""
    return write_config_file(tmp, url=url, imap=dovecot, smtp=smtp, rules_dir=rules, extra=extra)


def run_once(config: Path, now: str) -> None:
    assert main(["--config", str(config), "--now", now, "run", "--once"]) == 0


def staff_email(notice: str, tag: str, lines: str) -> bytes:
    return authenticated(
        (
            "From: Raj Patel <raj.patel@westshire.gov.uk>\r\n"
            f"To: {SUPPORT}\r\nSubject: RE: [ICT-000001] Oakfield Primary School: Internet\r\n"
            f"In-Reply-To: {notice}\r\nMessage-ID: <{tag}@westshire.gov.uk>\r\n\r\n{lines}\r\n"
        ).encode()
    )


def texts_to(sink: SmtpSink, kind: str, address: str) -> list[str]:
    """The plain text of each email of ``kind`` the relay accepted for ``address``."""
    found = []
    for m in sink.of_kind(kind):
        if address in m.rcpt_tos:
            part = parsed(m).get_body(preferencelist=("plain",))
            assert part is not None
            found.append(str(part.get_content()).replace("\r\n", "\n"))
    return found


def test_an_email_down_incident_from_report_to_follow_up_through_the_real_servers(
    tmp_path: Path, dovecot: Any, smtp_sink: SmtpSink, fallback_sink: SmtpSink
) -> None:
    config = configure(tmp_path, dovecot, smtp_sink, fallback_sink)
    dovecot.deliver(mail("school-new-request"))
    run_once(config, "2026-11-23T09:05")
    notice = header(smtp_sink.of_kind("new_call")[0], "Message-ID")

    # 23: the reporter hears that their call is now a major incident.
    declare = "#major declare School email is down\r\n#major email down\r\n\r\nNo mail arrives."
    dovecot.deliver(staff_email(notice, "declare", declare))
    run_once(config, "2026-11-23T09:30")
    [told] = texts_to(smtp_sink, "incident_status", HELEN)
    assert "We have declared it a major incident" in told
    assert "MI-0001: School email is down" in told

    # While email is down the notices leave by the fallback relay, to alternative
    # addresses only; the status page's footer does not tell schools to email.
    assert smtp_sink.of_kind("incident_notice") == []
    alt = {r for m in fallback_sink.of_kind("incident_notice") for r in m.rcpt_tos}
    assert alt == {"helen.marsh.oakfield@gmail.example", "aisha.rahman.work@outlook.example"}
    html = (tmp_path / "status" / "index.html").read_text(encoding="utf-8")
    assert "to report a problem, telephone 01632 960000" in html
    assert "email ictsupport@" not in html
    # 21: the status address is a link in the notice's HTML.
    html_part = parsed(fallback_sink.of_kind("incident_notice")[0]).get_body(("html",))
    assert html_part is not None and f'<a href="{URL}">' in str(html_part.get_content())

    dovecot.deliver(staff_email(notice, "u1", "#major update Mailboxes are being restored."))
    run_once(config, "2026-11-23T10:00")
    assert texts_to(smtp_sink, "incident_notice", GRACE) == []

    # 20: email is back; Grace, unreachable so far, gets one catch-up with it all.
    back = "#major email up\r\n#major update Mail is flowing again."
    dovecot.deliver(staff_email(notice, "u2", back))
    run_once(config, "2026-11-23T11:00")
    run_once(config, "2026-11-23T11:01")
    [caught_up] = texts_to(smtp_sink, "incident_notice", GRACE)
    assert caught_up.startswith("MAJOR INCIDENT MI-0001: School email is down")
    for words in ("No mail arrives.", "Mailboxes are being restored.", "Mail is flowing again."):
        assert words in caught_up
    # Helen, reached at her alternative address all along, gets UPDATE 2 as usual.
    [usual] = texts_to(smtp_sink, "incident_notice", HELEN)
    assert usual.startswith("UPDATE 2 on MI-0001")

    # 21: the page, not rewritten for an hour, still says only what is true.
    run_once(config, "2026-11-23T12:10")
    html = (tmp_path / "status" / "index.html").read_text(encoding="utf-8")
    assert "ongoing since 9.30am on Monday 23 November 2026" in html
    assert "ongoing for" not in html
    feed = ET.fromstring((tmp_path / "status" / "feed.atom").read_bytes())
    assert [
        link.get("href") for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self"
    ] == [f"{URL.rstrip('/')}/feed.atom"]

    # 22: Claire replies to the resolution notice; it is linked and she is asked.
    dovecot.deliver(staff_email(notice, "resolve", "#major resolve All mail delivered."))
    run_once(config, "2026-11-23T12:30")
    [resolution] = [m for m in smtp_sink.of_kind("incident_notice") if CLAIRE in m.rcpt_tos][-1:]
    assert texts_to(smtp_sink, "incident_notice", CLAIRE)[-1].startswith("RESOLVED MI-0001")
    reply = (
        f"From: Claire Dunn <{CLAIRE}>\r\nTo: {SUPPORT}\r\n"
        f"Subject: Re: {header(resolution, 'Subject')}\r\n"
        f"In-Reply-To: {header(resolution, 'Message-ID')}\r\n"
        "Message-ID: <claire-after@brookfield-high.westshire.sch.uk>\r\n\r\n"
        "We still cannot send email from Brookfield. Nobody can log on to mail.\r\n"
    ).encode()
    teams_before = len(smtp_sink.of_kind("new_call"))
    dovecot.deliver(reply)
    run_once(config, "2026-11-23T13:00")
    [asked] = texts_to(smtp_sink, "incident_followup", CLAIRE)
    assert "Does your school still have this problem?" in asked
    assert len(smtp_sink.of_kind("new_call")) == teams_before
    # A day on, the follow-up has not escalated.
    run_once(config, "2026-11-25T09:00")
    for kind in ("escalation1", "escalation2", "breach"):
        assert smtp_sink.of_kind(kind) == [], kind
