"""Termly review packs end to end: real Dovecot and SMTP servers, `mailbot run --once`."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from reportcalls import Made, make_month
from support import parsed, write_config_file

from mailbot.cli.main import main
from mailbot.storage.db import make_engine, make_sessions, upgrade

PRIYA = "priya.shah@westshire.gov.uk"


class Service:
    """mailbot configured against the test's Dovecot account, SMTP sink and SQLite file."""

    def __init__(self, tmp: Path, dovecot: Any, smtp: Any) -> None:
        self.smtp = smtp
        url = f"sqlite:///{tmp / 'mailbot.db'}"
        upgrade(url)
        self.sessions = make_sessions(make_engine(url))
        self.config = write_config_file(tmp, url=url, imap=dovecot, smtp=smtp)

    def run_once(self, now: str) -> list[Any]:
        """Run once at ``now``; return the review packs the SMTP server received so far."""
        assert main(["--config", str(self.config), "--now", now, "run", "--once"]) == 0
        return [m for m in self.smtp.messages if m.kind == "review"]


@pytest.fixture
def service(tmp_path: Path, dovecot: Any, smtp_sink: Any) -> Service:
    return Service(tmp_path, dovecot, smtp_sink)


@pytest.fixture
def made(service: Service) -> list[Made]:
    return make_month(service.sessions)


def test_the_project_manager_gets_the_pack_with_inline_charts_and_the_csv_once(
    service: Service, made: list[Made]
) -> None:
    assert service.run_once("2026-12-18T17:30") == []
    sent = service.run_once("2026-12-19T00:05")
    assert [m.rcpt_tos for m in sent] == [(PRIYA,)]
    msg = parsed(sent[0])
    assert msg["Subject"] == "Service review Autumn 2026: All schools"
    body = msg.get_body(preferencelist=("html",))
    assert body is not None
    html = str(body.get_content())
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    images = {
        str(p["Content-ID"]).strip("<>"): p.get_content()
        for p in related.iter_parts()
        if p.get_content_type() == "image/png"
    }
    referenced = re.findall(r'<img src="cid:([^"]+)"', html)
    assert len(referenced) == 2 and set(referenced) == set(images)
    assert all(png.startswith(b"\x89PNG") for png in images.values())
    [attached] = [a for a in msg.iter_attachments() if a.get_content_type() == "text/csv"]
    assert attached.get_filename() == "review-autumn-2026.csv"
    rows = list(csv.DictReader(io.StringIO(str(attached.get_content()).lstrip("\ufeff"))))
    assert {r["ref"] for r in rows} == {m.ref for m in made if m.type != "problem"}
    plain = msg.get_body(preferencelist=("plain",))
    assert plain is not None and "SERVICE REVIEW: AUTUMN 2026" in str(plain.get_content())
    # Later runs, the same night and weeks on, send it no more.
    assert len(service.run_once("2026-12-19T00:10")) == 1
    assert len(service.run_once("2027-01-05T09:00")) == 1
