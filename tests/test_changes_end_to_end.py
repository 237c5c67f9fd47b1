"""The eCAB round trip by email, end to end: real Dovecot, a real SMTP server, `run --once`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import header, plain
from test_staff_end_to_end import Service, kinds

TOM = "t.reeves@oakfield-primary.westshire.sch.uk"
HEAD = "head@oakfield-primary.westshire.sch.uk"
SPOC = TOM
RAJ = "raj.patel@westshire.gov.uk"
DANA = "dana.whitfield@westshire.gov.uk"
PRIYA = "priya.shah@westshire.gov.uk"
SAM = "sam.okafor@westshire.gov.uk"
TEAM = "network-team@westshire.gov.uk"
BOARD = sorted([RAJ, DANA, PRIYA])
# Each member gets a review of their own, carrying their own reply token.
REVIEWS = [("change_review", [member]) for member in BOARD]


@pytest.fixture
def service(tmp_path: Path, dovecot: Any, smtp_sink: Any) -> Service:
    return Service(tmp_path, dovecot, smtp_sink)


def one(sent: list[Any], kind: str) -> Any:
    [found] = [m for m in sent if m.kind == kind]
    return found


def to(sent: list[Any], kind: str, who: str) -> Any:
    """The email of ``kind`` sent to ``who`` alone."""
    [found] = [m for m in sent if m.kind == kind and tuple(m.rcpt_tos) == (who,)]
    return found


def requested(service: Service) -> Any:
    """Oakfield's ICT co-ordinator asks for a firewall rule; return the board's email."""
    sent = service.deliver("school-change-request", "2026-11-23T09:05")
    assert kinds(sent) == [
        *REVIEWS,
        ("confirmation", [TOM]),
        ("new_call", [TEAM]),
    ]
    assert "Change Advisory Board" in plain(one(sent, "confirmation"))
    return to(sent, "change_review", RAJ)


def test_a_board_member_approves_by_replying(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    review = requested(service)
    assert plain(review).startswith("CHANGE FOR APPROVAL: ICT-000001\n")
    sent = service.deliver(
        "board-member-approves", "2026-11-23T10:30", review_id=header(review, "Message-ID")
    )
    assert kinds(sent) == [
        ("change_decision", [TOM]),
        ("change_update", sorted([TEAM, DANA, PRIYA])),
        ("receipt", [RAJ]),
    ]
    assert "has approved your change request ICT-000001" in plain(one(sent, "change_decision"))
    assert plain(one(sent, "change_update")).startswith("APPROVED:")
    shown = service.call("ICT-000001", capsys)
    assert shown["status"] == "open"
    assert [e["actor"] for e in shown["events"] if e["kind"] == "vote"] == [RAJ]


def test_a_rejection_with_its_reason_then_an_appeal_then_approval(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    requested(service)
    review = next(
        m for m in service.smtp.messages if m.kind == "change_review" and m.rcpt_tos == (DANA,)
    )
    sent = service.deliver(
        "board-member-rejects", "2026-11-23T10:40", review_id=header(review, "Message-ID")
    )
    decision = one(sent, "change_decision")
    assert decision.rcpt_tos == (TOM,)
    assert "No firewall changes during the exam period" in plain(decision)
    assert "#appeal" in plain(decision)
    assert service.call("ICT-000001", capsys)["status"] == "closed"

    # The school replies to the decision with #appeal: a second round.
    sent = service.deliver(
        "school-appeals-rejected-change",
        "2026-11-23T11:30",
        decision_id=header(decision, "Message-ID"),
    )
    assert kinds(sent) == [
        *REVIEWS,
        ("change_submitted", [TOM]),
        ("change_update", [TEAM]),
    ]
    second = to(sent, "change_review", RAJ)
    assert plain(second).startswith("CHANGE FOR APPROVAL: ICT-000001 (round 2)")
    assert "Thank you for your appeal" in plain(one(sent, "change_submitted"))
    assert service.call("ICT-000001", capsys)["status"] == "awaiting_approval"

    sent = service.deliver(
        "board-member-approves", "2026-11-23T12:00", review_id=header(second, "Message-ID")
    )
    assert "has approved your change request" in plain(one(sent, "change_decision"))
    assert service.call("ICT-000001", capsys)["status"] == "open"


def test_the_school_withdraws_a_change_under_review(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    requested(service)
    confirmation = next(m for m in service.smtp.messages if m.kind == "confirmation")
    sent = service.deliver(
        "school-withdraws-change",
        "2026-11-23T12:00",
        confirmation_id=header(confirmation, "Message-ID"),
    )
    assert kinds(sent) == [("change_update", BOARD), ("change_withdrawn", [TOM])]
    assert "the board need not vote" in plain(one(sent, "change_update"))
    assert service.call("ICT-000001", capsys)["status"] == "closed"


def test_an_emergency_change_from_staff_and_its_deadline_reminder(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = service.deliver("school-new-request", "2026-11-23T09:05")
    notice = one(sent, "new_call")
    sent = service.deliver(
        "staff-raises-emergency-change", "2026-11-23T10:00", notice_id=header(notice, "Message-ID")
    )
    assert kinds(sent) == [
        ("change_review", [PRIYA]),
        ("change_review", [RAJ]),
        ("change_submitted", [HEAD, SPOC]),
        ("receipt", [SAM]),
    ]
    review = to(sent, "change_review", RAJ)
    assert "Decision needed by 12 noon on Monday 23 November." in plain(review)
    shown = service.call("ICT-000001", capsys)
    assert (shown["type"], shown["status"]) == ("change_request", "awaiting_approval")

    # Nobody decides: after the deadline the board and the project manager
    # (Priya, on the emergency board) are reminded once, however often it runs.
    service.cli("2026-11-23T12:10", "run", "--once")
    service.cli("2026-11-23T12:40", "run", "--once")
    reminders = [m for m in service.smtp.messages if m.kind == "change_reminder"]
    assert sorted(m.rcpt_tos for m in reminders) == [(PRIYA,), (RAJ,)]
    assert plain(reminders[0]).startswith("DECISION OVERDUE: emergency change ICT-000001")


def test_a_school_writing_change_emergency_is_told_only_staff_can(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = service.deliver("school-new-request", "2026-11-23T09:05")
    confirmation = one(sent, "confirmation")
    sent = service.deliver(
        "school-asks-emergency-change",
        "2026-11-23T10:15",
        confirmation_id=header(confirmation, "Message-ID"),
    )
    assert kinds(sent) == [("emergency_refused", [HEAD]), ("school_reply", [TEAM])]
    refused = one(sent, "emergency_refused")
    assert "Only our support staff can raise emergency changes" in plain(refused)
    assert "logged as an ordinary request on call ICT-000001" in plain(refused)
    assert header(refused, "In-Reply-To") == (
        "<head-emergency-1@oakfield-primary.westshire.sch.uk>"
    )
    shown = service.call("ICT-000001", capsys)
    assert (shown["type"], shown["status"]) == ("incident", "open")
    assert not [m for m in service.smtp.messages if m.kind == "change_review"]


def test_an_emergency_change_is_worded_and_timed_as_one_through_the_mailbox(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = service.deliver("school-new-request", "2026-11-23T09:05")
    notice = one(sent, "new_call")
    sent = service.deliver(
        "staff-raises-emergency-change", "2026-11-23T10:00", notice_id=header(notice, "Message-ID")
    )
    review = to(sent, "change_review", RAJ)
    assert "Request:   Emergency change request, P1" in plain(review)
    assert "#withdraw" not in plain(one(sent, "change_submitted"))
    sent = service.deliver(
        "board-member-approves", "2026-11-23T10:30", review_id=header(review, "Message-ID")
    )
    decision = one(sent, "change_decision")
    assert decision.rcpt_tos == (HEAD, SPOC)
    body = plain(decision)
    assert "emergency Change Advisory Board has approved the urgent change" in body
    assert "Done:      within 1 day, by 10.30am on Tuesday 24 November" in body
    assert "#withdraw" not in body
    shown = service.call("ICT-000001", capsys)
    assert (shown["priority"], shown["status"]) == ("P1", "open")
