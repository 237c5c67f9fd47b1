"""Change approval by the Change Advisory Board, through the pipeline, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from support import (
    SHIPPED_RULES,
    SUPPORT,
    Env,
    authenticated,
    events_of,
    header,
    local,
    mail,
    make_env,
    of_kind,
    plain,
    recipients,
)

from mailbot.approval import board as ecab
from mailbot.daemon import health, jobs
from mailbot.pipeline.records import Action
from mailbot.storage.db import make_engine, make_sessions
from mailbot.storage.models import Call, Vote

LOGGED = local(2026, 11, 23, 9, 5)
RAJ = "raj.patel@westshire.gov.uk"
DANA = "dana.whitfield@westshire.gov.uk"
PRIYA = "priya.shah@westshire.gov.uk"
SAM = "sam.okafor@westshire.gov.uk"
LUCY = "lucy.brennan@westshire.gov.uk"
TEAM = "network-team@westshire.gov.uk"
TOM = "t.reeves@oakfield-primary.westshire.sch.uk"
HEAD = "head@oakfield-primary.westshire.sch.uk"
JO = "j.baker@oakfield-primary.westshire.sch.uk"
OFFICERS = {
    RAJ: "Raj Patel",
    DANA: "Dana Whitfield",
    PRIYA: "Priya Shah",
    SAM: "Sam Okafor",
    LUCY: "Lucy Brennan",
}


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """The shipped rules: the first vote decides."""
    return make_env(tmp_path, db_url)


def rules_with(tmp_path: Path, changes: str) -> Path:
    """A copy of the shipped rules with another changes.toml."""
    folder = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, folder)
    (folder / "changes.toml").write_text(changes, encoding="utf-8")
    return folder


@pytest.fixture
def quorum(tmp_path: Path, db_url: str) -> Env:
    """Two approvals approve, two rejections reject, of a board of three."""
    folder = rules_with(
        tmp_path,
        'board = ["raj", "dana", "priya"]\nemergency_board = ["raj", "priya"]\n'
        'decision = "quorum"\nquorum = 2\n',
    )
    return make_env(tmp_path, db_url, folder)


# --- helpers -------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    status: str
    type: str
    board: str | None
    round: int
    due: datetime | None
    response_due: datetime | None


def state(env: Env, ref: str = "ICT-000001") -> State:
    with env.sessions() as s:
        call = s.scalars(select(Call).where(Call.ref == ref)).one()
        return State(
            call.status,
            call.type,
            call.change_board,
            call.change_round,
            call.change_due_at,
            call.response_due_at,
        )


def ballots(env: Env) -> list[tuple[int, str, str, str]]:
    with env.sessions() as s:
        return [
            (v.round, v.member, v.vote, v.reason) for v in s.scalars(select(Vote).order_by(Vote.id))
        ]


def logged(env: Env, name: str = "school-change-request", now: datetime = LOGGED) -> None:
    t = env.feed(mail(name), now)
    assert t.action is Action.OPEN_CALL


def review_id(env: Env, who: str = RAJ) -> str:
    """The review email mailbot sent ``who`` (each member gets one of their own).

    Someone not on the board answers a review forwarded to them: a member's.
    """
    reviews = of_kind(env, "change_review")
    theirs = [r for r in reviews if recipients(r) == [who]]
    return (theirs or reviews)[-1].message_id


def board_asked(env: Env, kind: str = "change_review") -> list[str]:
    """Who the board's emails went to, one email each (each carries its own reply token)."""
    rows = of_kind(env, kind)
    assert all(len(recipients(r)) == 1 for r in rows)
    return [recipients(r)[0] for r in rows]


_counter = iter(range(1, 10_000))


def as_sender(raw: bytes, address: str, name: str = "") -> bytes:
    """The same email from someone else, with a Message-ID of its own."""
    who = name or OFFICERS.get(address, "Someone")
    raw = re.sub(rb"^From: .*$", f"From: {who} <{address}>".encode(), raw, count=1, flags=re.M)
    mid = f"Message-ID: <resent-{next(_counter)}@{address.split('@')[1]}>".encode()
    return re.sub(rb"^Message-ID: .*$", mid, raw, count=1, flags=re.M)


def approve(env: Env, who: str, now: datetime) -> None:
    raw = as_sender(mail("board-member-approves", review_id=review_id(env, who)), who)
    env.feed(raw, now)


def reject(env: Env, who: str, now: datetime) -> None:
    raw = as_sender(mail("board-member-rejects", review_id=review_id(env, who)), who)
    env.feed(raw, now)


def staff_writes(env: Env, who: str, lines: str, now: datetime, ref: str = "ICT-000001") -> None:
    raw = (
        f"From: {OFFICERS[who]} <{who}>\r\nTo: {SUPPORT}\r\n"
        f"Subject: RE: [{ref}] Oakfield Primary School: a change\r\n"
        f"Message-ID: <staff-{next(_counter)}@westshire.gov.uk>\r\n\r\n{lines}\r\n"
    ).encode()
    t = env.feed(authenticated(raw), now)
    assert t.action is Action.APPEND


def last_receipt(env: Env) -> str:
    return plain(of_kind(env, "receipt")[-1])


def decision_id(env: Env) -> str:
    return of_kind(env, "change_decision")[-1].message_id


def confirmation_id(env: Env) -> str:
    return of_kind(env, "confirmation")[0].message_id


# --- going to the board --------------------------------------------------------


def test_a_change_request_goes_to_the_board_when_logged(env: Env) -> None:
    logged(env)
    found = state(env)
    assert (found.status, found.board, found.round) == ("awaiting_approval", "standard", 1)
    assert board_asked(env) == [RAJ, DANA, PRIYA]
    assert events_of(env, "change_review")[0]["detail"].startswith("round 1, standard board")


def test_the_boards_email_has_the_commands_on_top_then_the_request(env: Env) -> None:
    logged(env)
    body = plain(of_kind(env, "change_review")[0])
    lines = body.splitlines()
    assert lines[0] == "CHANGE FOR APPROVAL: ICT-000001"
    assert lines[2:4] == ["  #approve", "  #reject REASON"]
    assert "Could you add a firewall rule to open port 8443" in body
    assert "School:    Oakfield Primary School" in body
    assert f"From:      Tom Reeves <{TOM}>" in body


def test_the_boards_email_continues_the_calls_staff_thread(env: Env) -> None:
    logged(env)
    review = of_kind(env, "change_review")[0]
    subject = "Re: [ICT-000001] Oakfield Primary School: Please open port 8443 on the firewall"
    assert header(review, "Subject").startswith(subject)
    # Each member's review carries their reply token, so the team's notice in
    # the same thread never quotes it (another could replay it as a vote).
    notice = of_kind(env, "new_call")[0]
    quoted = header(notice, "In-Reply-To") + " " + header(notice, "References")
    assert all(r.message_id not in quoted for r in of_kind(env, "change_review"))


def test_the_requester_is_told_the_change_is_with_the_board(env: Env) -> None:
    logged(env)
    body = plain(of_kind(env, "confirmation")[0])
    assert "it needs the approval of our Change Advisory Board before we make it" in body
    assert "#withdraw" in body


def test_the_team_is_told_to_wait_for_the_board(env: Env) -> None:
    logged(env)
    notice = of_kind(env, "new_call")[0]
    assert recipients(notice) == [TEAM]
    assert "WITH THE CHANGE ADVISORY BOARD: no action" in plain(notice)


def test_a_change_under_review_neither_escalates_nor_counts_as_late(env: Env) -> None:
    logged(env)
    late = local(2026, 12, 18, 16, 0)
    assert jobs.run_due(env.sessions, env.config, env.rules, late).escalated == []
    assert health.check(env.sessions, late).past_target == 0
    assert health.check(env.sessions, late).open_calls == 1


def test_without_a_board_a_change_goes_straight_to_the_team(tmp_path: Path) -> None:
    folder = rules_with(tmp_path, "# no board yet\n")
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'none.db'}", folder)
    logged(env)
    assert state(env).status == "open"
    assert of_kind(env, "change_review") == []


def test_a_change_needing_authorisation_goes_to_the_board_once_authorised(env: Env) -> None:
    logged(env, "school-change-request-unauthorised")
    assert state(env).status == "awaiting_authorisation"
    assert of_kind(env, "change_review") == []
    asked = of_kind(env, "authorisation_request")[0].message_id
    env.feed(mail("headteacher-authorises", request_id=asked), local(2026, 11, 23, 11, 30))
    assert state(env).status == "awaiting_approval"
    assert board_asked(env) == [RAJ, DANA, PRIYA]
    assert "Please could you set up a domain redirect" in plain(of_kind(env, "change_review")[0])


def test_the_authorisation_notices_say_the_change_goes_to_the_board(env: Env) -> None:
    logged(env, "school-change-request-unauthorised")
    asked = of_kind(env, "authorisation_request")[0].message_id
    env.feed(mail("headteacher-authorises", request_id=asked), local(2026, 11, 23, 11, 30))
    told = plain(of_kind(env, "authorisation_result")[0])
    assert "it now goes to our Change Advisory Board" in told
    assert "so we are going ahead" not in told
    assert "no action until it is\napproved" in plain(of_kind(env, "staff_update")[0])


def test_staff_retyping_a_call_as_a_change_sends_it_to_the_board(env: Env) -> None:
    logged(env, "school-new-request")
    staff_writes(env, SAM, "#type change", local(2026, 11, 23, 10, 0))
    assert state(env).status == "awaiting_approval"
    assert board_asked(env) == [RAJ, DANA, PRIYA]
    told = plain(of_kind(env, "change_submitted")[0])
    # The school reported a fault; the change is the staff's idea, not its request,
    # so it is not offered #withdraw.
    assert "Our support staff propose a change for call ICT-000001" in told
    assert "#withdraw" not in told


# --- the first vote decides ----------------------------------------------------


def test_the_first_approval_opens_the_call_and_its_clock_starts_then(env: Env) -> None:
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    found = state(env)
    assert found.status == "open"
    # A change request is P3: respond within a support day of the approval.
    assert found.response_due == local(2026, 11, 24, 10, 30)
    assert ballots(env) == [(1, RAJ, "approve", "Low risk: one port to one host. Fine by me.\nRaj")]
    [vote] = events_of(env, "vote")
    assert (vote["actor"], vote["detail"].split(":")[0]) == (RAJ, "approve (round 1)")
    assert events_of(env, "change_approved")[0]["detail"] == "round 1: Raj Patel"


def test_approval_tells_the_school_the_next_step(env: Env) -> None:
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    [told] = of_kind(env, "change_decision")
    assert recipients(told) == [TOM]
    body = plain(told)
    assert "our Change Advisory Board has approved your change request ICT-000001" in body
    assert "Network and Filtering will now make the change." in body
    assert "by 10.30am on Tuesday 24 November" in body


def test_approval_goes_to_the_team_with_the_commands_on_top(env: Env) -> None:
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    [update] = of_kind(env, "change_update")
    assert recipients(update) == [TEAM, DANA, PRIYA]
    lines = plain(update).splitlines()
    assert lines[0] == "APPROVED: the Change Advisory Board approved ICT-000001."
    assert "#assign NAME" in "\n".join(lines[:6])
    # In the call's staff thread, after the team's new-call notice.
    assert header(update, "Subject").startswith("Re: [ICT-000001] Oakfield Primary School:")
    assert header(update, "In-Reply-To") == of_kind(env, "new_call")[0].message_id


def test_the_voter_gets_a_receipt(env: Env) -> None:
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    receipt = of_kind(env, "receipt")[0]
    assert recipients(receipt) == [RAJ]
    assert "approved (round 1)" in plain(receipt)


def test_an_approvers_words_stay_internal(env: Env) -> None:
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    assert of_kind(env, "staff_reply") == []
    assert all(b"Low risk" not in o.raw for o in env.to_schools())


def test_the_first_rejection_closes_the_call_and_tells_the_school_why(env: Env) -> None:
    logged(env)
    reject(env, DANA, local(2026, 11, 23, 10, 40))
    assert state(env).status == "closed"
    [told] = of_kind(env, "change_decision")
    body = plain(told)
    assert "has not approved your change request ICT-000001" in body
    assert "No firewall changes during the exam period" in body
    assert "reply to this email with #appeal on the first line" in body
    # The reason is the line after #reject, not the signature below it.
    assert "Dana" not in body


def test_a_rejection_tells_the_team_and_the_board(env: Env) -> None:
    logged(env)
    reject(env, DANA, local(2026, 11, 23, 10, 40))
    [update] = of_kind(env, "change_update")
    assert recipients(update) == [TEAM, RAJ, PRIYA]
    assert plain(update).startswith("REJECTED: the Change Advisory Board rejected ICT-000001")


def test_a_rejection_needs_a_reason(env: Env) -> None:
    logged(env)
    staff_writes(env, DANA, "#reject", local(2026, 11, 23, 10, 40))
    assert state(env).status == "awaiting_approval"
    assert ballots(env) == []
    assert "give the reason, which the school is told" in last_receipt(env)


def test_a_vote_after_the_decision_is_refused_with_a_clear_receipt(env: Env) -> None:
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    reject(env, DANA, local(2026, 11, 23, 10, 40))
    assert state(env).status == "open"
    assert "is not waiting for the board's decision: it has been approved" in last_receipt(env)
    assert len(ballots(env)) == 1


def test_only_board_members_may_vote(env: Env) -> None:
    logged(env)
    env.feed(
        mail("not-a-board-member-approves", review_id=review_id(env)), local(2026, 11, 23, 10, 35)
    )
    assert state(env).status == "awaiting_approval"
    assert ballots(env) == []
    body = last_receipt(env)
    assert "NOTHING DONE" in body
    assert "only the Change Advisory Board (raj, dana, priya) may vote" in body


def test_a_school_writing_approve_is_ordinary_text(env: Env) -> None:
    logged(env)
    raw = mail("school-approves-own-change", confirmation_id=confirmation_id(env))
    env.feed(raw, local(2026, 11, 23, 10, 20))
    assert state(env).status == "awaiting_approval"
    assert ballots(env) == []
    assert "#approve" in plain(of_kind(env, "school_reply")[0])


def test_staff_cannot_change_the_status_while_the_board_reviews(env: Env) -> None:
    logged(env)
    staff_writes(env, SAM, "#status in progress", local(2026, 11, 23, 10, 0))
    assert state(env).status == "awaiting_approval"
    assert "is with the Change Advisory Board" in last_receipt(env)


def test_staff_cannot_set_awaiting_approval_by_hand(env: Env) -> None:
    logged(env, "school-new-request")
    staff_writes(env, SAM, "#status awaiting approval", local(2026, 11, 23, 10, 0))
    assert state(env).status == "open"
    assert "reply #change (or #change emergency)" in last_receipt(env)


# --- a quorum ------------------------------------------------------------------


def test_under_a_quorum_one_approval_is_not_enough(quorum: Env) -> None:
    logged(quorum)
    approve(quorum, RAJ, local(2026, 11, 23, 10, 30))
    assert state(quorum).status == "awaiting_approval"
    assert "1 approve, 0 reject (2 needed either way)" in last_receipt(quorum)
    assert of_kind(quorum, "change_decision") == []


def test_under_a_quorum_two_approvals_approve(quorum: Env) -> None:
    logged(quorum)
    approve(quorum, RAJ, local(2026, 11, 23, 10, 30))
    reject(quorum, DANA, local(2026, 11, 23, 10, 40))
    approve(quorum, PRIYA, local(2026, 11, 23, 10, 50))
    assert state(quorum).status == "open"
    assert events_of(quorum, "change_approved")[0]["detail"] == "round 1: Raj Patel, Priya Shah"
    update = plain(of_kind(quorum, "change_update")[0])
    assert "Dana Whitfield: reject (No firewall changes" in update


def test_under_a_quorum_two_rejections_reject(quorum: Env) -> None:
    logged(quorum)
    reject(quorum, DANA, local(2026, 11, 23, 10, 40))
    reject(quorum, RAJ, local(2026, 11, 23, 10, 50))
    assert state(quorum).status == "closed"
    assert len(of_kind(quorum, "change_decision")) == 1


def test_a_member_voting_twice_in_a_round_is_answered_not_counted(quorum: Env) -> None:
    logged(quorum)
    approve(quorum, RAJ, local(2026, 11, 23, 10, 30))
    approve(quorum, RAJ, local(2026, 11, 23, 10, 45))
    assert state(quorum).status == "awaiting_approval"
    assert len(ballots(quorum)) == 1
    assert len(events_of(quorum, "vote")) == 1
    body = last_receipt(quorum)
    assert "you already voted to approve ICT-000001 in round 1" in body
    assert "each member's vote counts once" in body


@pytest.fixture
def everyone(tmp_path: Path, db_url: str) -> Env:
    """All three members must agree either way."""
    folder = rules_with(
        tmp_path, 'board = ["raj", "dana", "priya"]\ndecision = "quorum"\nquorum = 3\n'
    )
    return make_env(tmp_path, db_url, folder)


def test_a_split_board_that_can_no_longer_reach_the_quorum_rejects(everyone: Env) -> None:
    env = everyone
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    assert state(env).status == "awaiting_approval"
    reject(env, DANA, local(2026, 11, 23, 10, 40))
    # Priya's vote could make neither three approvals nor three rejections.
    assert state(env).status == "closed"
    body = plain(of_kind(env, "change_decision")[0])
    assert "the board could not agree (1 approved, 1 rejected; 3 were needed either way)" in body


@pytest.mark.parametrize(
    ("decision", "quorum", "size", "cast", "expected"),
    [
        ("first", 2, 3, [], None),
        ("first", 2, 3, ["reject"], "reject"),
        ("first", 2, 3, ["approve", "reject"], "approve"),
        ("quorum", 2, 3, ["approve"], None),
        ("quorum", 2, 3, ["approve", "approve"], "approve"),
        ("quorum", 2, 3, ["reject", "approve", "reject"], "reject"),
        ("quorum", 3, 3, ["approve", "reject"], "split"),
        ("quorum", 3, 4, ["approve", "reject"], None),
        ("quorum", 3, 4, ["approve", "reject", "reject"], None),
        ("quorum", 3, 4, ["approve", "reject", "approve", "reject"], "split"),
        # A quorum larger than the (emergency) board means every member.
        ("quorum", 3, 2, ["approve", "approve"], "approve"),
    ],
)
def test_the_decision_rule(
    decision: str, quorum: int, size: int, cast: list[str], expected: str | None
) -> None:
    assert ecab.tally(decision, quorum, size, cast) == expected


# --- appeals -------------------------------------------------------------------


def rejected(env: Env) -> None:
    logged(env)
    reject(env, DANA, local(2026, 11, 23, 10, 40))


def test_the_requester_appeals_and_the_board_reviews_again(env: Env) -> None:
    rejected(env)
    raw = mail("school-appeals-rejected-change", decision_id=decision_id(env))
    t = env.feed(raw, local(2026, 11, 23, 11, 30))
    assert (t.action, t.call and t.call.ref) == (Action.APPEND, "ICT-000001")
    found = state(env)
    assert (found.status, found.round) == ("awaiting_approval", 2)
    review = of_kind(env, "change_review")[-1]
    assert board_asked(env)[-3:] == [RAJ, DANA, PRIYA]
    body = plain(review)
    assert body.startswith("CHANGE FOR APPROVAL: ICT-000001 (round 2)")
    assert "APPEALED: the change was rejected in round 1." in body
    assert "No firewall changes during the exam period" in body
    assert "the exam board will not accept paper submissions" in body.replace("\n", " ")


def test_an_appeal_is_acknowledged_to_the_school_and_the_team(env: Env) -> None:
    rejected(env)
    env.feed(
        mail("school-appeals-rejected-change", decision_id=decision_id(env)),
        local(2026, 11, 23, 11, 30),
    )
    [told] = of_kind(env, "change_submitted")
    assert recipients(told) == [TOM]
    assert "Thank you for your appeal" in plain(told)
    update = of_kind(env, "change_update")[-1]
    assert recipients(update) == [TEAM]
    assert plain(update).startswith("APPEALED: Tom Reeves appealed")
    # The appeal is answered by these, not passed on as an ordinary reply.
    assert of_kind(env, "school_reply") == []


def test_a_member_votes_afresh_in_the_appeals_round(env: Env) -> None:
    rejected(env)
    env.feed(
        mail("school-appeals-rejected-change", decision_id=decision_id(env)),
        local(2026, 11, 23, 11, 30),
    )
    approve(env, DANA, local(2026, 11, 23, 12, 0))
    assert state(env).status == "open"
    assert [(r, m, v) for r, m, v, _ in ballots(env)] == [(1, DANA, "reject"), (2, DANA, "approve")]


def test_the_headteacher_may_appeal(env: Env) -> None:
    # The head appeals by replying to an email mailbot sent them: here the
    # request to authorise the change, which they did before the board said no.
    logged(env, "school-change-request-unauthorised")
    asked_head = of_kind(env, "authorisation_request")[0].message_id
    env.feed(mail("headteacher-authorises", request_id=asked_head), local(2026, 11, 23, 10, 0))
    reject(env, DANA, local(2026, 11, 23, 10, 40))
    assert state(env).status == "closed"
    raw = as_sender(
        mail("school-appeals-rejected-change", decision_id=asked_head), HEAD, "Helen Marsh"
    )
    env.feed(raw, local(2026, 11, 23, 11, 30))
    assert state(env).round == 2
    assert events_of(env, "change_appealed")[0]["detail"].startswith("Helen Marsh: ")


def test_someone_else_at_the_school_cannot_appeal(env: Env) -> None:
    rejected(env)
    raw = as_sender(
        mail("school-appeals-rejected-change", decision_id=decision_id(env)), JO, "Jo Baker"
    )
    env.feed(raw, local(2026, 11, 23, 11, 30))
    assert (state(env).status, state(env).round) == ("closed", 1)
    assert board_asked(env) == [RAJ, DANA, PRIYA]


def test_only_a_rejected_change_can_be_appealed(env: Env) -> None:
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    raw = mail("school-appeals-rejected-change", decision_id=decision_id(env))
    env.feed(raw, local(2026, 11, 23, 11, 30))
    assert (state(env).status, state(env).round) == ("open", 1)
    # Not an appeal, so the school's words reach the team as a reply.
    assert "#appeal" in plain(of_kind(env, "school_reply")[0])


# --- withdrawals ---------------------------------------------------------------


WITHDRAWN = local(2026, 11, 23, 12, 0)


def withdraw(env: Env) -> None:
    t = env.feed(mail("school-withdraws-change", confirmation_id=confirmation_id(env)), WITHDRAWN)
    assert t.action is Action.APPEND


def test_a_change_under_review_is_withdrawn_and_the_board_told(env: Env) -> None:
    logged(env)
    withdraw(env)
    assert state(env).status == "closed"
    [update] = of_kind(env, "change_update")
    assert recipients(update) == [RAJ, DANA, PRIYA]
    assert "the board need not vote" in plain(update)
    [told] = of_kind(env, "change_withdrawn")
    assert recipients(told) == [TOM]
    assert "As you asked, we have withdrawn your change request ICT-000001" in plain(told)


def test_an_approved_change_is_withdrawn_and_the_team_told(env: Env) -> None:
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    withdraw(env)
    assert state(env).status == "closed"
    update = of_kind(env, "change_update")[-1]
    assert recipients(update) == [TEAM]
    assert plain(update).startswith("WITHDRAWN: Tom Reeves withdrew ICT-000001")


def test_a_change_awaiting_the_school_is_withdrawn_and_the_team_told(env: Env) -> None:
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    staff_writes(env, SAM, "#status awaiting customer", local(2026, 11, 23, 11, 0))
    withdraw(env)
    assert state(env).status == "closed"
    assert recipients(of_kind(env, "change_update")[-1]) == [TEAM]


def test_a_change_awaiting_authorisation_can_be_withdrawn(env: Env) -> None:
    logged(env, "school-change-request-unauthorised")
    raw = mail("school-withdraws-change", confirmation_id=confirmation_id(env))
    env.feed(as_sender(raw, JO, "Jo Baker"), local(2026, 11, 23, 12, 0))
    assert state(env).status == "closed"
    assert recipients(of_kind(env, "change_withdrawn")[0]) == [JO, TOM]
    assert of_kind(env, "change_update") == []


def test_a_vote_after_withdrawal_is_refused(env: Env) -> None:
    logged(env)
    withdraw(env)
    approve(env, RAJ, local(2026, 11, 23, 12, 30))
    assert state(env).status == "closed"
    assert ballots(env) == []
    assert "is not waiting for the board's decision: the school withdrew it" in last_receipt(env)


def test_a_withdrawal_after_the_change_is_done_changes_nothing(env: Env) -> None:
    logged(env)
    approve(env, RAJ, local(2026, 11, 23, 10, 30))
    staff_writes(env, SAM, "#solved", local(2026, 11, 23, 11, 0))
    withdraw(env)
    assert state(env).status == "solved"
    assert of_kind(env, "change_withdrawn") == []
    # Neither a reopen nor a new call: the team reads it as a reply.
    assert env.count_calls() == 1
    assert "#withdraw" in plain(of_kind(env, "school_reply")[0])


# --- emergency changes ---------------------------------------------------------


def emergency(env: Env) -> None:
    logged(env, "school-new-request")
    notice = of_kind(env, "new_call")[0].message_id
    env.feed(mail("staff-raises-emergency-change", notice_id=notice), local(2026, 11, 23, 10, 0))


def test_staff_raise_an_emergency_change_for_the_emergency_board(env: Env) -> None:
    emergency(env)
    found = state(env)
    assert (found.status, found.type, found.board, found.round) == (
        "awaiting_approval",
        "change_request",
        "emergency",
        1,
    )
    # Two hours of support time.
    assert found.due == local(2026, 11, 23, 12, 0)
    review = of_kind(env, "change_review")[0]
    assert board_asked(env) == [RAJ, PRIYA]
    body = plain(review)
    assert body.startswith("EMERGENCY CHANGE FOR APPROVAL: ICT-000001\n")
    assert "Decision needed by 12 noon on Monday 23 November." in body
    assert "block 10.14.3.77 at the school's edge" in body


def test_an_emergency_change_is_receipted_and_the_school_told(env: Env) -> None:
    emergency(env)
    assert "sent to the emergency board (raj, priya)" in last_receipt(env)
    assert "emergency Change Advisory Board" in plain(of_kind(env, "change_submitted")[0])
    assert of_kind(env, "staff_reply") == []


def test_only_the_emergency_board_votes_on_an_emergency_change(env: Env) -> None:
    emergency(env)
    reject(env, DANA, local(2026, 11, 23, 10, 30))
    assert state(env).status == "awaiting_approval"
    assert "only the emergency Change Advisory Board (raj, priya)" in last_receipt(env)
    approve(env, PRIYA, local(2026, 11, 23, 10, 40))
    assert state(env).status == "open"


def test_staff_start_an_emergency_change_by_email(env: Env) -> None:
    t = env.feed(mail("staff-new-emergency-change"), local(2026, 11, 23, 9, 20))
    assert t.action is Action.OPEN_CALL
    found = state(env)
    assert (found.status, found.type, found.board) == (
        "awaiting_approval",
        "change_request",
        "emergency",
    )
    # Straight to the emergency board: the ordinary board is not asked first.
    review = of_kind(env, "change_review")[0]
    assert board_asked(env) == [RAJ, PRIYA]
    assert "the certificate on their web server expired" in plain(review)


def test_staff_send_a_call_to_the_ordinary_board(env: Env) -> None:
    logged(env, "school-new-request")
    staff_writes(env, SAM, "#change", local(2026, 11, 23, 10, 0))
    assert (state(env).board, state(env).status) == ("standard", "awaiting_approval")
    assert board_asked(env) == [RAJ, DANA, PRIYA]


def test_an_unknown_board_is_refused(env: Env) -> None:
    logged(env, "school-new-request")
    staff_writes(env, SAM, "#change tomorrow", local(2026, 11, 23, 10, 0))
    assert state(env).status == "open"
    assert "or #change emergency for the emergency board" in last_receipt(env)


def test_a_school_asking_for_an_emergency_change_is_told_only_staff_can(env: Env) -> None:
    logged(env, "school-new-request")
    raw = mail("school-asks-emergency-change", confirmation_id=confirmation_id(env))
    env.feed(raw, local(2026, 11, 23, 10, 15))
    found = state(env)
    assert (found.status, found.type, found.board) == ("open", "incident", None)
    [refused] = of_kind(env, "emergency_refused")
    assert recipients(refused) == [HEAD]
    body = plain(refused)
    assert "Only our support staff can raise emergency changes" in body
    assert "logged as an ordinary request on call ICT-000001" in body
    assert events_of(env, "emergency_refused")[0]["actor"] == HEAD
    # The email itself reaches the team like any reply.
    assert "#change emergency" in plain(of_kind(env, "school_reply")[0])


def test_a_schools_new_email_asking_for_an_emergency_change_is_logged_as_ordinary(env: Env) -> None:
    t = env.feed(mail("school-new-email-asks-emergency-change"), local(2026, 11, 23, 9, 30))
    assert t.action is Action.OPEN_CALL
    assert state(env).board == "standard"
    assert board_asked(env) == [RAJ, DANA, PRIYA]
    [refused] = of_kind(env, "emergency_refused")
    assert recipients(refused) == [TOM]
    assert (
        header(refused, "In-Reply-To")
        == "<school-emergency-new-1@oakfield-primary.westshire.sch.uk>"
    )


# --- the emergency board's deadline --------------------------------------------


def test_an_undecided_emergency_change_is_reminded_once_at_its_deadline(env: Env) -> None:
    emergency(env)
    tick = jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 23, 11, 59))
    assert tick.reminded == []
    for minute in (0, 5, 30):
        jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 23, 12, minute))
    reminder = of_kind(env, "change_reminder")[0]
    assert board_asked(env, "change_reminder") == [RAJ, PRIYA]
    assert plain(reminder).startswith("DECISION OVERDUE: emergency change ICT-000001")
    assert "decide by 12 noon on Monday 23 November" in plain(reminder).replace("\n", " ")
    assert len(events_of(env, "change_reminder")) == 1


def test_the_reminder_goes_to_the_project_manager_too(tmp_path: Path) -> None:
    folder = rules_with(tmp_path, 'board = ["raj", "dana"]\nemergency_board = ["raj", "dana"]\n')
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'pm.db'}", folder)
    emergency(env)
    jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 23, 13, 0))
    assert board_asked(env, "change_reminder") == [RAJ, DANA, PRIYA]


def test_a_decided_emergency_change_is_not_reminded(env: Env) -> None:
    emergency(env)
    approve(env, RAJ, local(2026, 11, 23, 11, 0))
    jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 23, 13, 0))
    assert of_kind(env, "change_reminder") == []


def test_two_schedulers_at_once_remind_once(env: Env) -> None:
    emergency(env)
    other = make_sessions(make_engine(env.config.database.url))
    at = local(2026, 11, 23, 12, 1)
    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(jobs.run_due, s, env.config, env.rules, at) for s in (env.sessions, other)
        ]
        reports = [r.result() for r in runs]
    assert sum(len(r.reminded) for r in reports) == 1
    assert board_asked(env, "change_reminder") == [RAJ, PRIYA]


# --- the staff emails are narrow -----------------------------------------------


def test_the_boards_and_teams_emails_fit_narrow_screens(quorum: Env) -> None:
    rejected(quorum)
    reject(quorum, RAJ, local(2026, 11, 23, 10, 50))
    quorum.feed(
        mail("school-appeals-rejected-change", decision_id=decision_id(quorum)),
        local(2026, 11, 23, 11, 30),
    )
    staff_writes(
        quorum, SAM, "#change emergency\n\nExam deadline; cannot wait.", local(2026, 11, 23, 11, 40)
    )
    jobs.run_due(quorum.sessions, quorum.config, quorum.rules, local(2026, 11, 23, 14, 0))
    school = (mail("school-change-request") + mail("school-appeals-rejected-change")).decode()
    kinds = ("change_review", "change_update", "change_reminder")
    emails = [o for o in quorum.outbox() if o.kind in kinds]
    assert {o.kind for o in emails} == set(kinds)
    for row in emails:
        for line in plain(row).splitlines():
            # The school's own words are quoted as written.
            assert len(line) <= 76 or line.strip() in school, (row.kind, line)


def test_a_crash_before_the_commit_leaves_the_reminder_due_and_it_is_sent_once(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    emergency(env)

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed mid-tick")

    monkeypatch.setattr(ecab.door, "send", crash)
    with pytest.raises(SystemExit):
        jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 23, 12, 1))
    assert state(env).due == local(2026, 11, 23, 12, 0)
    monkeypatch.undo()
    tick = jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 23, 12, 2))
    assert tick.reminded == ["ICT-000001"]
    assert board_asked(env, "change_reminder") == [RAJ, PRIYA]


# --- emergency changes read as emergencies; each email worded for its reader -----


def test_an_emergency_change_reads_as_one_to_the_board_with_emergency_priority(env: Env) -> None:
    emergency(env)
    review = plain(of_kind(env, "change_review")[0])
    assert "Request:   Emergency change request, P1" in review
    assert "Change request, P2" not in review
    # Raising it lifted the call to the rules' emergency priority, on the record.
    assert events_of(env, "priority")[0]["detail"] == "P2 -> P1"
    assert "priority P2 -> P1 (emergency change)" in last_receipt(env)


def test_the_school_is_not_offered_withdraw_on_an_emergency_change_staff_raised(env: Env) -> None:
    emergency(env)
    [told] = of_kind(env, "change_submitted")
    assert "urgent change for call ICT-000001" in plain(told)
    assert "#withdraw" not in plain(told)


def test_an_approved_emergency_change_has_emergency_timescales_and_no_withdraw(env: Env) -> None:
    emergency(env)
    approve(env, PRIYA, local(2026, 11, 23, 10, 40))
    body = plain(of_kind(env, "change_decision")[0])
    assert "emergency Change Advisory Board has approved the urgent change" in body
    assert "at P1 priority (System unavailable, major impact)" in body
    assert "Done:      within 1 day, by 10.40am on Tuesday 24 November" in body
    assert "#withdraw" not in body and "your change request" not in body


def test_the_school_cannot_withdraw_a_change_staff_raised(env: Env) -> None:
    emergency(env)
    submitted = of_kind(env, "change_submitted")[0].message_id
    raw = as_sender(mail("school-withdraws-change", confirmation_id=submitted), HEAD, "Helen Marsh")
    assert env.feed(raw, local(2026, 11, 23, 10, 20)).action is Action.APPEND
    # Nothing is withdrawn; the head's words reach the team like any reply.
    assert state(env).status == "awaiting_approval"
    assert of_kind(env, "change_withdrawn") == [] and events_of(env, "change_withdrawn") == []
    assert "#withdraw" in plain(of_kind(env, "school_reply")[0])


def test_a_rejected_emergency_change_offers_the_school_no_appeal(env: Env) -> None:
    emergency(env)
    reject(env, PRIYA, local(2026, 11, 23, 10, 40))
    body = plain(of_kind(env, "change_decision")[0])
    assert "emergency Change Advisory Board has not approved the urgent change" in body
    assert "#appeal" not in body
    assert "If the problem you reported is still there, reply to this email" in body
    update = plain(of_kind(env, "change_update")[-1])
    assert "The school has been told the reason." in update
    assert "how to appeal" not in update


def test_a_rejection_sent_to_the_headteacher_who_asked_does_not_refer_them_to_themselves(
    env: Env,
) -> None:
    raw = as_sender(mail("school-change-request"), HEAD, "Helen Marsh")
    assert env.feed(raw, LOGGED).action is Action.OPEN_CALL
    reject(env, DANA, local(2026, 11, 23, 10, 40))
    [told] = of_kind(env, "change_decision")
    assert recipients(told)[0] == HEAD
    body = plain(told)
    assert "reply to this email with #appeal on the first line" in body
    assert "headteacher" not in body
    assert "Helen Marsh" not in body.split("\n", 1)[1]


def test_a_rejection_tells_the_requester_that_they_or_their_headteacher_may_appeal(
    env: Env,
) -> None:
    logged(env)
    reject(env, DANA, local(2026, 11, 23, 10, 40))
    body = plain(of_kind(env, "change_decision")[0])
    assert "Either you or your headteacher (Helen Marsh) may appeal." in body
    assert "An appeal can come from" not in body


def test_a_crash_while_raising_an_emergency_change_lifts_the_priority_once_on_the_rerun(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged(env, "school-new-request")
    notice = of_kind(env, "new_call")[0].message_id
    raw = mail("staff-raises-emergency-change", notice_id=notice)

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed while the board's emails were queued")

    monkeypatch.setattr(ecab.door, "send", crash)
    with pytest.raises(SystemExit):
        env.feed(raw, local(2026, 11, 23, 10, 0))
    # Nothing of it was committed: not the priority, not the review.
    with env.sessions() as s:
        assert s.scalars(select(Call.priority)).one() == "P2"
    assert events_of(env, "priority") == [] and of_kind(env, "change_review") == []
    monkeypatch.undo()
    env.feed(raw, local(2026, 11, 23, 10, 1))
    env.feed(raw, local(2026, 11, 23, 10, 2))  # The same email seen again changes nothing.
    assert [e["detail"] for e in events_of(env, "priority")] == ["P2 -> P1"]
    assert board_asked(env) == [RAJ, PRIYA]
    assert len(of_kind(env, "change_submitted")) == 1


def test_staff_withdrawing_their_emergency_change_tell_the_school_it_was_theirs(env: Env) -> None:
    emergency(env)
    staff_writes(
        env, SAM, "#withdraw\n\nNot needed: the device was unplugged.", local(2026, 11, 23, 10, 30)
    )
    assert state(env).status == "closed"
    body = plain(of_kind(env, "change_withdrawn")[0])
    assert "Our support staff have withdrawn the urgent change they proposed" in body
    assert "your change request" not in body


def test_the_teams_notice_of_an_emergency_change_says_it_is_one(env: Env) -> None:
    env.feed(mail("staff-new-emergency-change"), local(2026, 11, 23, 9, 20))
    notice = plain(of_kind(env, "new_call")[0])
    assert notice.startswith("NEW P1 EMERGENCY CHANGE REQUEST ICT-000001\n")
    assert "WITH THE EMERGENCY CHANGE ADVISORY BOARD: no action" in notice


def test_status_lists_changes_for_the_board_and_flags_an_overdue_emergency_one(env: Env) -> None:
    logged(env)  # ICT-000001, Tom's firewall change, for the standard board.
    logged(env, "school-new-request")
    notice = of_kind(env, "new_call")[-1].message_id
    raw = mail("staff-raises-emergency-change", notice_id=notice)
    # ICT-000002, the head's slow internet, raised as an emergency change to decide by noon.
    env.feed(raw.replace(b"ICT-000001", b"ICT-000002"), local(2026, 11, 23, 10, 0))
    before = health.check(env.sessions, local(2026, 11, 23, 11, 59))
    assert before.board_total == 2
    # The emergency change is listed first: its deadline matters most.
    assert [(c.ref, c.board) for c in before.board] == [
        ("ICT-000002", "emergency"),
        ("ICT-000001", "standard"),
    ]
    assert not [p for p in before.problems(local(2026, 11, 23, 11, 59), 60) if "emergency" in p]
    late = local(2026, 11, 23, 12, 1)
    problems = health.check(env.sessions, late).problems(late, 60)
    assert any(
        "emergency change ICT-000002 still undecided after its deadline" in p for p in problems
    )
