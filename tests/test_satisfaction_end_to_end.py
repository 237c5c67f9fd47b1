"""Satisfaction by email through `mailbot --now ... run --once` on real Dovecot and SMTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support import SUPPORT, authenticated, mail, parsed
from test_sla_end_to_end import HEAD, SAM, mailbot, write_config

OTHER = "office@oakfield-primary.westshire.sch.uk"


def answer(closure_id: str, body: str, n: int, *, sender: str = HEAD, extra: str = "") -> bytes:
    """A reply to the closure notice, as the school's mail server would pass it on."""
    raw = (
        f"From: Helen Marsh <{sender}>\r\nTo: {SUPPORT}\r\n"
        "Subject: RE: [ICT-000001] Closed: Internet very slow in the ICT suite\r\n"
        "Date: Fri, 27 Nov 2026 16:30:00 +0000\r\n"
        f"Message-ID: <rate-{n}@oakfield-primary.westshire.sch.uk>\r\n"
        f"In-Reply-To: {closure_id}\r\nReferences: {closure_id}\r\n{extra}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n\r\nHelen\r\n"
    ).encode()
    return authenticated(raw)


def test_a_rating_by_email_is_shown_and_a_poor_one_reaches_the_officer(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    config = write_config(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'mb.db'}")
    dovecot.deliver(mail("school-new-request"))
    mailbot(config, "2026-11-23T09:05", "run", "--once")
    mailbot(config, "2026-11-23T09:30", "calls", "assign", "ICT-000001", "sam", "--by", SAM)
    mailbot(
        config, "2026-11-24T16:00", "calls", "update", "ICT-000001",
        "--status", "solved", "--message", "Switch replaced.", "--by", SAM,
    )  # fmt: skip
    mailbot(config, "2026-11-27T16:00", "run", "--once")
    [closure] = smtp_sink.of_kind("closure")
    text = parsed(closure).get_body(preferencelist=("plain",)).get_content()
    assert "Reply with 1 to 5 (5 is best), or Good / OK / Poor" in text
    closure_id = str(parsed(closure)["Message-ID"])
    before = len(smtp_sink.to_schools())

    # An out-of-office, and someone else at the school, rate nothing.
    auto = "Auto-Submitted: auto-replied\r\n"
    dovecot.deliver(answer(closure_id, "1 I am out of the office", 1, extra=auto))
    dovecot.deliver(answer(closure_id, "1", 2, sender=OTHER))
    mailbot(config, "2026-11-27T16:30", "run", "--once")
    shown = json.loads(mailbot(config, "2026-11-27T16:31", "calls", "show", "ICT-000001", "--json"))
    assert shown["rating"] is None and smtp_sink.of_kind("poor_rating") == []

    # The requester's poor rating goes to Sam; the call stays closed, nobody is asked again.
    dovecot.deliver(answer(closure_id, "Poor - three visits to fix one switch", 3))
    mailbot(config, "2026-11-27T16:40", "run", "--once")
    [poor] = smtp_sink.of_kind("poor_rating")
    assert list(poor.rcpt_tos) == [SAM]
    body = parsed(poor).get_body(preferencelist=("plain",)).get_content()
    assert "three visits to fix one switch" in body
    assert len(smtp_sink.to_schools()) == before
    out = mailbot(config, "2026-11-27T16:45", "calls", "show", "ICT-000001")
    assert "rating             1 (Poor)" in out
    assert "rating comment     three visits to fix one switch" in out
    assert "status             closed" in out
    listing = json.loads(mailbot(config, "2026-11-27T16:46", "calls", "list", "--json"))
    assert [c["ref"] for c in listing] == ["ICT-000001"]

    # The monthly report counts it.
    out_dir = tmp_path / "report"
    mailbot(config, "2026-12-01T08:00", "report", "--month", "2026-11", "--out", str(out_dir))
    page = (out_dir / "report.html").read_text()
    assert "mean rating <strong>1.0</strong> of 5" in page
