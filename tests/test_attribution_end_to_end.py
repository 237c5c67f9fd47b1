"""Attribution lines in other languages are stripped from stored and relayed text, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import header, plain
from test_staff_end_to_end import TEAM, Service, opened


@pytest.fixture
def service(tmp_path: Path, dovecot: Any, smtp_sink: Any) -> Service:
    return Service(tmp_path, dovecot, smtp_sink)


def test_german_attribution_is_kept_out_of_stored_and_relayed_text(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    confirmation, notice = opened(service)

    # The school answers in a German client: the officer gets its words only.
    sent = service.deliver(
        "school-reply-german-attribution", "2026-11-23T10:30", confirmation_id=confirmation
    )
    [relayed] = sent
    assert (relayed.kind, list(relayed.rcpt_tos)) == ("school_reply", [TEAM])
    assert "It affects all 30 machines in the suite." in plain(relayed)
    assert "schrieb" not in plain(relayed)

    # The officer's German client adds "Am ... schrieb ...:": the school never sees it.
    sent = service.deliver("staff-words-german-attribution", "2026-11-23T11:00", notice_id=notice)
    to_school = next(m for m in sent if m.kind == "staff_reply")
    assert plain(to_school).startswith("Hello Helen, the filtering appliance is being replaced")
    assert "schrieb" not in plain(to_school)
    assert "NEW P2 INCIDENT" not in plain(to_school)
    assert header(to_school, "To")

    stored = [m["text"] for m in service.call("ICT-000001", capsys)["messages"]]
    assert any("It affects all 30 machines" in t for t in stored)
    assert any("filtering appliance is being replaced" in t for t in stored)
    assert not any("schrieb" in t for t in stored)
