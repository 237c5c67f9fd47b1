"""The demo runs end to end on its embedded servers and tells what happened."""

from __future__ import annotations

import asyncio
import contextlib
import io

import pytest

from mailbot.demo.run import run_demo

# The demo starts its own embedded IMAP and SMTP servers.
pytestmark = pytest.mark.servers

# The demo takes several seconds, so it runs once for the module and each test
# checks its own part of that one run's story.


@pytest.fixture(scope="module")
def demo_out() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert asyncio.run(run_demo(speed=0)) == 0
    return out.getvalue()


def test_demo_shows_each_case_handled(demo_out: str) -> None:
    out = demo_out
    assert "open call as ICT-000001" in out
    assert "-> mailbot sent: [ICT-000001] Internet very slow in the ICT suite" in out
    assert "append as ICT-000001" in out
    assert "record as ICT-000001" in out
    assert "mailbot: ignore: " in out
    assert "unknown reply" in out
    assert "Please change that password now" in out and "Tr0ub4dor" not in out
    assert "picked up when we reopen" in out
    assert "(message too large)" in out


def test_demo_moves_the_clock_through_escalation_solving_and_closure(demo_out: str) -> None:
    out = demo_out
    assert "mailbot: ICT-000001 reached escalation level 1" in out
    assert "-> mailbot sent: [ICT-000001] Solved: Internet very slow in the ICT suite" in out
    assert "mailbot: ICT-000001 closed itself and the school is told" in out
    assert "-> mailbot sent: [ICT-000001] Closed: Internet very slow in the ICT suite" in out


def test_demo_ends_with_a_major_incident_declared_reported_and_resolved(demo_out: str) -> None:
    out = demo_out
    assert "declared MI-0001: Internet service down across all schools" in out
    assert "-> mailbot sent 7 x incident_notice: [MI-0001] Major incident" in out
    assert "-> mailbot sent 1 x incident_status: Re: [ICT-000005] No internet" in out
    # The head whose report became the incident is told so, in her thread.
    assert "-> mailbot sent 1 x incident_status: Re: [ICT-000004] Internet down" in out
    assert "resolved MI-0001; 2 linked calls solved and their schools told" in out
    assert "mailbot kept the status page up to date" in out


def test_demo_shows_planned_maintenance_announced_reminded_and_started(demo_out: str) -> None:
    out = demo_out
    assert "Raj announces planned work: '#planned Firewall upgrade; from ...'" in out
    assert "x planned_notice: [PW-0002] Planned maintenance: Firewall upgrade" in out
    assert "| PLANNED MAINTENANCE PW-0002: Firewall upgrade" in out
    assert "| REMINDER PW-0002: Firewall upgrade" in out
    assert "| STARTED PW-0002: Firewall upgrade" in out


def test_demo_shows_a_rating_by_email(demo_out: str) -> None:
    out = demo_out
    assert "mailbot: rate on ICT-000001: rates ICT-000001 2 of 5" in out
    assert "-> mailbot sent: Re: [ICT-000001] Poor rating:" in out
    assert "Helen Marsh rated it 2 of 5." in out
    assert "rating 2 of 5: fixed in the end, but nobody told us the engineer was coming." in out
