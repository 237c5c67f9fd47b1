"""Monthly reports end to end: real Dovecot and SMTP servers, `mailbot run --once`."""

from __future__ import annotations

import csv
import io
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from reportcalls import SCHOOL_NAMES, Made, count, make_month
from support import mail, parsed, write_config_file

from mailbot.cli.main import main
from mailbot.storage.db import make_engine, make_sessions, upgrade

PRIYA = "priya.shah@westshire.gov.uk"
COLE = "m.cole@riverside-academy.westshire.sch.uk"
RIVERSIDE = "riverside-academy"


class Service:
    """mailbot configured against the test's Dovecot account, SMTP sink and SQLite file."""

    def __init__(self, tmp: Path, dovecot: Any, smtp: Any) -> None:
        self.dovecot, self.smtp = dovecot, smtp
        url = f"sqlite:///{tmp / 'mailbot.db'}"
        upgrade(url)
        self.sessions = make_sessions(make_engine(url))
        self.config = write_config_file(tmp, url=url, imap=dovecot, smtp=smtp)

    def run_once(self, now: str) -> list[Any]:
        """Run once at ``now``; return the reports the SMTP server received so far."""
        assert main(["--config", str(self.config), "--now", now, "run", "--once"]) == 0
        return [m for m in self.smtp.messages if m.kind == "report"]


@pytest.fixture
def service(tmp_path: Path, dovecot: Any, smtp_sink: Any) -> Service:
    return Service(tmp_path, dovecot, smtp_sink)


@pytest.fixture
def made(service: Service) -> list[Made]:
    return make_month(service.sessions)


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def csv_of(msg: EmailMessage) -> list[dict[str, str]]:
    [attachment] = [a for a in msg.iter_attachments() if a.get_content_type() == "text/csv"]
    return list(csv.DictReader(io.StringIO(str(attachment.get_content()).lstrip("\ufeff"))))


def to_whom(sent: list[Any], address: str) -> EmailMessage:
    [found] = [m for m in sent if m.rcpt_tos == (address,)]
    return parsed(found)


def test_the_project_manager_gets_the_html_report_with_inline_charts_and_the_csv(
    service: Service, made: list[Made]
) -> None:
    sent = service.run_once("2026-12-01T09:00")
    assert sorted(m.rcpt_tos for m in sent) == [(COLE,), (PRIYA,)]
    msg = to_whom(sent, PRIYA)
    assert msg["Subject"] == "Monthly report November 2026: All schools"
    html = html_of(msg)
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    images = {
        str(p["Content-ID"]).strip("<>"): p.get_content()
        for p in related.iter_parts()
        if p.get_content_type() == "image/png"
    }
    referenced = re.findall(r'<img src="cid:([^"]+)"', html)
    assert len(referenced) == 2 and set(referenced) == set(images)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images.values())
    rows = csv_of(msg)
    assert {r["ref"] for r in rows} == count(made)["rows"]
    assert len({r["school"] for r in rows}) == 3


def test_a_school_receives_only_its_own_version(service: Service, made: list[Made]) -> None:
    sent = service.run_once("2026-12-01T09:00")
    msg = to_whom(sent, COLE)
    assert msg["Subject"] == "Monthly report November 2026: Riverside Academy"
    rows = csv_of(msg)
    assert {r["school"] for r in rows} == {SCHOOL_NAMES[RIVERSIDE]}
    assert {r["ref"] for r in rows} == count(made, RIVERSIDE)["rows"]
    html = html_of(msg)
    text = str(msg.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    for other in (m for m in made if m.school != RIVERSIDE):
        assert other.ref not in html and other.ref not in text
        assert other.subject not in html and other.subject not in text
    assert "Oakfield" not in html and "St Mary" not in html


def test_reports_go_once_whatever_runs_after_and_normal_mail_goes_on(
    service: Service, made: list[Made]
) -> None:
    assert service.run_once("2026-12-01T07:30") == []  # Support opens at 08:00.
    assert len(service.run_once("2026-12-01T09:00")) == 2
    service.dovecot.deliver(mail("school-new-request"))
    assert len(service.run_once("2026-12-01T09:30")) == 2
    assert len(service.run_once("2026-12-02T09:00")) == 2
    assert any(m.kind == "confirmation" for m in service.smtp.messages)
