"""A reason for every missed target, end to end: real Dovecot and SMTP, `run --once`."""

from __future__ import annotations

import csv
import io
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from support import parsed, plain
from test_staff_end_to_end import SAM, Service, opened

PRIYA = "priya.shah@westshire.gov.uk"
WHY = "the replacement switch was out of stock until Friday"


@pytest.fixture
def service(tmp_path: Path, dovecot: Any, smtp_sink: Any) -> Service:
    return Service(tmp_path, dovecot, smtp_sink)


def test_a_late_solve_asks_why_and_the_report_shows_the_answer(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    _, notice = opened(service)  # P2, logged 9.05am Monday 23 November.
    service.deliver("staff-deadline-short", "2026-11-23T10:00", notice_id=notice)

    # Solved on Friday, after the revised deadline: the receipt asks why.
    sent = service.deliver("staff-solved-with-words", "2026-11-27T10:00", notice_id=notice)
    [receipt] = [m for m in sent if m.kind == "receipt"]
    assert list(receipt.rcpt_tos) == [SAM]
    words = " ".join(plain(receipt).split())
    assert "ICT-000001 was solved after its fix target (12 noon on Thursday 26 November)" in words
    assert "#reason" in words

    # The officer answers with #reason: recorded, shown, and not asked again.
    sent = service.deliver("staff-reason", "2026-11-27T11:00", notice_id=notice)
    [receipt] = [m for m in sent if m.kind == "receipt"]
    assert f"reason for missing the fix target recorded: {WHY}" in " ".join(plain(receipt).split())
    assert "solved after its fix target" not in plain(receipt)
    assert service.call("ICT-000001", capsys)["missed_reason"] == WHY

    # The monthly report to the project manager shows it, and both targets.
    service.cli("2026-12-01T09:00", "run", "--once")
    [report] = [m for m in service.smtp.messages if m.kind == "report" and PRIYA in m.rcpt_tos]
    msg: EmailMessage = parsed(report)
    html_part = msg.get_body(preferencelist=("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    assert WHY in html and "25 Nov 2026 09:05" in html and "26 Nov 2026 12:00" in html
    [attachment] = [a for a in msg.iter_attachments() if a.get_content_type() == "text/csv"]
    rows = csv.DictReader(io.StringIO(str(attachment.get_content()).lstrip("\ufeff")))
    row = next(r for r in rows if r["ref"] == "ICT-000001")
    assert (row["outcome"], row["missed_reason"], row["original_fix_target"]) == (
        "missed",
        WHY,
        "2026-11-25 09:05",
    )
