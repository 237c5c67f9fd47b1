"""The authorisation exchange in words, end to end: real Dovecot and SMTP, `run --once`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import header, plain
from test_staff_end_to_end import HEAD, JO, SPOC, TEAM, Service, kinds


@pytest.fixture
def service(tmp_path: Path, dovecot: Any, smtp_sink: Any) -> Service:
    return Service(tmp_path, dovecot, smtp_sink)


def test_the_head_sees_the_request_and_the_team_sees_the_heads_words(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = service.deliver("school-service-request-unauthorised", "2026-11-23T09:10")
    assert kinds(sent) == [
        ("authorisation_request", [HEAD]),
        ("confirmation", [JO, SPOC]),
        ("new_call", [TEAM]),
    ]
    asked = next(m for m in sent if m.kind == "authorisation_request")
    assert "Please could you unblock the website www.sciencekids.example" in plain(asked)
    confirmation = plain(next(m for m in sent if m.kind == "confirmation"))
    assert "waiting for authorisation by Helen Marsh" in confirmation
    assert "Response:" not in confirmation and "Fix:" not in confirmation

    sent = service.deliver(
        "headteacher-authorises", "2026-11-23T11:30", request_id=header(asked, "Message-ID")
    )
    assert kinds(sent) == [("authorisation_result", [HEAD, JO, SPOC]), ("staff_update", [TEAM])]
    update = plain(next(m for m in sent if m.kind == "staff_update"))
    assert "Helen Marsh wrote:" in update and "Fine by me." in update
    told = plain(next(m for m in sent if m.kind == "authorisation_result"))
    assert "Response:" in told and "Fix:" in told
    events = service.call("ICT-000001", capsys)["events"]
    assert [e["detail"] for e in events if e["kind"] == "authorisation_words"] == [
        "Fine by me.\nHelen"
    ]
