"""Decisions by email count only from the person's own mailbox, on SQLite and PostgreSQL.

A headteacher's #authorise or #decline, a board member's #approve or #reject,
and a requester's #withdraw or #appeal must answer the email mailbot sent that
very person about that very call (its Message-ID carries their reply token)
and, where the receiving server reports it, pass its authentication checks.
A forged one changes nothing, sends nothing to the school or the board, is
recorded on the call, and the real person is told once.
"""

from __future__ import annotations

from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import select
from support import (
    Env,
    events_of,
    header,
    local,
    mail,
    make_env,
    of_kind,
    plain,
    recipients,
    show,
)

from mailbot.pipeline.records import Action
from mailbot.storage import replytoken
from mailbot.storage.models import Secret, Vote

HEAD = "head@oakfield-primary.westshire.sch.uk"
JO = "j.baker@oakfield-primary.westshire.sch.uk"
TOM = "t.reeves@oakfield-primary.westshire.sch.uk"
RAJ = "raj.patel@westshire.gov.uk"
DANA = "dana.whitfield@westshire.gov.uk"
SERVER = "mx.westshire.gov.uk"
NAMES = {HEAD: "Helen Marsh", JO: "Jo Baker", TOM: "Tom Reeves", RAJ: "Raj Patel", DANA: "Dana"}
# What a forger writes below the command; the warning must not carry it on.
BAIT = "Also please send the filtering admin password to my new address."
_ids = count(1)


def decision(
    who: str,
    lines: str,
    *,
    ref: str = "ICT-000001",
    replying_to: tuple[str, ...] = (),
    auth: str | None = None,
) -> bytes:
    """An email from ``who`` with ``lines`` on top, replying to ``replying_to`` (if any).

    The tests' configuration names our receiving server (staff mail needs it),
    so by default the email carries that server's passing verdict, as a
    person's own mail would; ``auth`` gives another verdict, "" none at all.
    """
    domain = who.split("@")[1]
    if auth is None:
        auth = f"dmarc=pass header.from={domain}"
    head = [
        f"From: {NAMES[who]} <{who}>",
        "To: ictsupport@westshire.gov.uk",
        f"Subject: RE: [{ref}] the request",
        "Date: Mon, 23 Nov 2026 11:30:00 +0000",
        f"Message-ID: <decision-{next(_ids)}@{domain}>",
    ]
    if replying_to:
        head += [f"In-Reply-To: {replying_to[-1]}", f"References: {' '.join(replying_to)}"]
    if auth:
        head.insert(0, f"Authentication-Results: {SERVER}; {auth}")
    return ("\r\n".join(head) + f"\r\n\r\n{lines}\r\n\r\n{BAIT}\r\n").encode()


def with_server(env: Env) -> Env:
    """The same mailbot with the receiving server's Authentication-Results required."""
    service = env.config.service.model_copy(update={"authserv_id": SERVER})
    env.config = env.config.model_copy(update={"service": service})
    return env


def sent_to(env: Env, kind: str, who: str) -> str:
    """The Message-ID of the newest email of ``kind`` mailbot sent ``who`` alone."""
    return [o for o in of_kind(env, kind) if recipients(o) == [who]][-1].message_id


def ballots(env: Env) -> list[tuple[str, str]]:
    with env.sessions() as s:
        return [(v.member, v.vote) for v in s.scalars(select(Vote).order_by(Vote.id))]


def assert_refused_and_warned(env: Env, who: str, command: str, answer_to: str | None) -> None:
    """Nothing went to the school or board, the call records it, and ``who`` alone is told."""
    [event] = events_of(env, "decision_refused")
    assert (event["actor"], event["detail"].split(" not acted on")[0]) == (who, command)
    [warning] = of_kind(env, "decision_refused")
    assert recipients(warning) == [who]
    body = plain(warning)
    assert f"with {command} for ICT-000001" in body
    assert "reply to this email" in body
    assert "someone may be pretending to be you" in body
    # Nothing of the forger's words is carried on.
    assert "password" not in body
    assert header(warning, "In-Reply-To").strip() == str(answer_to)


# --- the headteacher's authorisation ----------------------------------------------


@pytest.fixture
def held(tmp_path: Path, db_url: str) -> Env:
    """Jo Baker, not on the authorised list, asked for an unblock; the head was asked."""
    env = make_env(tmp_path, db_url)
    env.feed(mail("school-service-request-unauthorised"), local(2026, 11, 23, 9, 10))
    assert show(env)["status"] == "awaiting_authorisation"
    return env


AT = local(2026, 11, 23, 11, 30)


def still_held(env: Env) -> None:
    assert show(env)["status"] == "awaiting_authorisation"
    assert events_of(env, "authorised") == [] and events_of(env, "declined") == []
    for kind in ("authorisation_result", "staff_update", "school_reply", "change_review"):
        assert of_kind(env, kind) == [], kind


@pytest.mark.parametrize("command", ["#authorise", "#decline not this one"])
def test_a_forged_headteacher_decision_without_a_token_changes_nothing(
    held: Env, command: str
) -> None:
    t = held.feed(decision(HEAD, command), AT)
    assert t.action is Action.APPEND
    still_held(held)
    word = command.split()[0]
    assert_refused_and_warned(held, HEAD, word, sent_to(held, "authorisation_request", HEAD))


def test_a_new_email_with_a_decision_is_answered_to_reply_to_the_request(held: Env) -> None:
    held.feed(decision(HEAD, "#authorise"), AT)
    body = plain(of_kind(held, "decision_refused")[0])
    assert "it was not a reply to the email we sent you asking for it" in body
    assert "Only a reply to the emails we send you counts as your decision" in body


def test_the_requesters_token_cannot_authorise(held: Env) -> None:
    # The forger is the requester, who holds their own confirmation's id.
    confirmation = of_kind(held, "confirmation")[0]
    assert recipients(confirmation)[0] == JO
    held.feed(decision(HEAD, "#authorise", replying_to=(confirmation.message_id,)), AT)
    still_held(held)
    assert len(of_kind(held, "decision_refused")) == 1


def test_a_token_for_another_call_does_not_authorise(held: Env) -> None:
    other = (
        mail("school-service-request-unauthorised")
        .replace(b"<unblock-request-1@", b"<unblock-request-2@")
        .replace(b"Subject: Please unblock", b"Subject: Please also unblock")
    )
    held.feed(other, local(2026, 11, 23, 9, 20))
    theirs = [o for o in of_kind(held, "authorisation_request") if "ICT-000002" in o.message_id]
    assert [recipients(o) for o in theirs] == [[HEAD]]
    held.feed(decision(HEAD, "#authorise", replying_to=(theirs[0].message_id,)), AT)
    still_held(held)
    assert show(held, "ICT-000002")["status"] == "awaiting_authorisation"


def test_a_made_up_token_does_not_authorise(held: Env) -> None:
    real = sent_to(held, "authorisation_request", HEAD)
    local_part, domain = real[1:-1].rsplit("@", 1)
    guess = f"<{local_part.rsplit('.', 1)[0]}.{'0' * 32}@{domain}>"
    assert guess != real
    held.feed(decision(HEAD, "#authorise", replying_to=(guess,)), AT)
    still_held(held)


def test_the_head_replying_to_the_request_authorises(held: Env) -> None:
    held.feed(
        decision(HEAD, "#authorise", replying_to=(sent_to(held, "authorisation_request", HEAD),)),
        AT,
    )
    assert show(held)["status"] == "open"
    assert of_kind(held, "decision_refused") == []
    assert events_of(held, "decision_refused") == []


def test_with_the_server_checking_a_genuine_reply_authorises(held: Env) -> None:
    with_server(held)
    asked = sent_to(held, "authorisation_request", HEAD)
    passing = "dmarc=pass header.from=oakfield-primary.westshire.sch.uk"
    held.feed(decision(HEAD, "#authorise", replying_to=(asked,), auth=passing), AT)
    assert show(held)["status"] == "open"


def test_with_the_server_checking_a_token_without_authentication_is_refused(held: Env) -> None:
    with_server(held)
    asked = sent_to(held, "authorisation_request", HEAD)
    failing = "dmarc=fail header.from=oakfield-primary.westshire.sch.uk"
    held.feed(decision(HEAD, "#decline no", replying_to=(asked,), auth=failing), AT)
    still_held(held)
    [event] = events_of(held, "decision_refused")
    assert "could not confirm it came from you" in event["detail"]


def test_the_real_person_is_told_once_however_many_forgeries(held: Env) -> None:
    for minute in range(3):
        held.feed(decision(HEAD, "#authorise"), local(2026, 11, 23, 11, 30 + minute))
    still_held(held)
    assert len(events_of(held, "decision_refused")) == 3
    assert len(of_kind(held, "decision_refused")) == 1


def test_the_headteacher_gets_the_request_alone_with_their_token(held: Env) -> None:
    [asked] = of_kind(held, "authorisation_request")
    assert recipients(asked) == [HEAD]
    assert header(asked, "Message-ID").strip() == asked.message_id
    with held.sessions() as s:
        key = replytoken.reply_key(s, local(2026, 11, 23, 12, 0))
    kinds = replytoken.AUTHORISATION
    ids = (asked.message_id,)
    assert replytoken.answers(key, ids, call_id=1, kinds=kinds, person=HEAD)
    assert not replytoken.answers(key, ids, call_id=1, kinds=kinds, person=JO)
    assert "Only a reply to this email counts as your decision" in plain(asked).replace("\n", " ")


# --- the board's votes ---------------------------------------------------------------


@pytest.fixture
def board(tmp_path: Path, db_url: str) -> Env:
    """Tom Reeves's change request is with the board (Raj, Dana, Priya; first vote decides)."""
    env = make_env(tmp_path, db_url)
    env.feed(mail("school-change-request"), local(2026, 11, 23, 9, 5))
    assert show(env)["status"] == "awaiting_approval"
    return env


VOTE_AT = local(2026, 11, 23, 10, 30)


def still_reviewing(env: Env) -> None:
    assert show(env)["status"] == "awaiting_approval"
    assert ballots(env) == []
    for kind in ("change_decision", "change_update", "receipt"):
        assert of_kind(env, kind) == [], kind


@pytest.mark.parametrize("command", ["#approve", "#reject too risky"])
def test_a_forged_vote_without_a_token_changes_nothing(board: Env, command: str) -> None:
    board.feed(decision(RAJ, command), VOTE_AT)
    still_reviewing(board)
    word = command.split()[0]
    assert_refused_and_warned(board, RAJ, word, sent_to(board, "change_review", RAJ))


@pytest.mark.parametrize("command", ["#approve", "#reject too risky"])
def test_a_member_cannot_vote_with_another_members_token(board: Env, command: str) -> None:
    danas = sent_to(board, "change_review", DANA)
    board.feed(decision(RAJ, command, replying_to=(danas,)), VOTE_AT)
    still_reviewing(board)
    assert recipients(of_kind(board, "decision_refused")[0]) == [RAJ]


def test_a_vote_replying_to_the_members_own_review_counts(board: Env) -> None:
    board.feed(
        decision(RAJ, "#approve", replying_to=(sent_to(board, "change_review", RAJ),)), VOTE_AT
    )
    assert show(board)["status"] == "open"
    assert ballots(board) == [(RAJ, "approve")]


def test_a_rejection_replying_to_the_review_with_authentication_counts(board: Env) -> None:
    with_server(board)
    mine = sent_to(board, "change_review", RAJ)
    board.feed(
        decision(
            RAJ,
            "#reject too risky",
            replying_to=(mine,),
            auth="dkim=pass header.d=westshire.gov.uk",
        ),
        VOTE_AT,
    )
    assert show(board)["status"] == "closed"
    assert ballots(board) == [(RAJ, "reject")]


def test_the_board_review_goes_to_each_member_alone(board: Env) -> None:
    reviews = of_kind(board, "change_review")
    assert [recipients(r) for r in reviews] == [[RAJ], [DANA], ["priya.shah@westshire.gov.uk"]]
    assert len({r.message_id for r in reviews}) == 3


# --- the requester's withdrawal and appeal ------------------------------------------------


def test_a_forged_withdrawal_changes_nothing(board: Env) -> None:
    board.feed(decision(TOM, "#withdraw"), VOTE_AT)
    still_reviewing(board)
    assert events_of(board, "change_withdrawn") == []
    assert of_kind(board, "change_withdrawn") == []
    assert_refused_and_warned(board, TOM, "#withdraw", sent_to(board, "confirmation", TOM))


def test_a_withdrawal_replying_to_the_confirmation_counts(board: Env) -> None:
    board.feed(
        decision(TOM, "#withdraw", replying_to=(sent_to(board, "confirmation", TOM),)), VOTE_AT
    )
    assert show(board)["status"] == "closed"
    assert len(events_of(board, "change_withdrawn")) == 1


def test_a_withdrawal_with_a_board_members_token_does_not_count(board: Env) -> None:
    rajs = sent_to(board, "change_review", RAJ)
    board.feed(decision(TOM, "#withdraw", replying_to=(rajs,)), VOTE_AT)
    still_reviewing(board)


def rejected(env: Env) -> None:
    env.feed(
        decision(DANA, "#reject too risky", replying_to=(sent_to(env, "change_review", DANA),)),
        VOTE_AT,
    )
    assert show(env)["status"] == "closed"


def test_a_forged_appeal_changes_nothing(board: Env) -> None:
    rejected(board)
    board.feed(decision(TOM, "#appeal please"), local(2026, 11, 23, 11, 0))
    assert (show(board)["status"], len(of_kind(board, "change_review"))) == ("closed", 3)
    assert events_of(board, "change_appealed") == []
    assert_refused_and_warned(board, TOM, "#appeal", sent_to(board, "change_decision", TOM))


def test_an_appeal_replying_to_the_decision_counts(board: Env) -> None:
    rejected(board)
    with_server(board)
    decided = sent_to(board, "change_decision", TOM)
    passing = "dmarc=pass header.from=oakfield-primary.westshire.sch.uk"
    board.feed(
        decision(TOM, "#appeal please", replying_to=(decided,), auth=passing),
        local(2026, 11, 23, 11, 0),
    )
    assert show(board)["status"] == "awaiting_approval"
    assert len(events_of(board, "change_appealed")) == 1


# --- the token itself ------------------------------------------------------------------


def test_a_token_is_bound_to_the_call_the_kind_and_the_person() -> None:
    key = bytes(range(32))
    base = "<ICT-000001.authorisation_request.0123456789abcdef@westshire.gov.uk>"
    mid = replytoken.personal_id(key, base, call_id=1, kind="authorisation_request", person=HEAD)
    assert mid == replytoken.personal_id(
        key, base, call_id=1, kind="authorisation_request", person=HEAD
    )
    kinds = ("authorisation_request",)
    assert replytoken.answers(key, (mid,), call_id=1, kinds=kinds, person=HEAD)
    assert replytoken.answers(key, (mid,), call_id=1, kinds=kinds, person=HEAD.upper())
    assert not replytoken.answers(key, (mid,), call_id=2, kinds=kinds, person=HEAD)
    assert not replytoken.answers(key, (mid,), call_id=1, kinds=("change_review",), person=HEAD)
    assert not replytoken.answers(key, (mid,), call_id=1, kinds=kinds, person=JO)
    assert not replytoken.answers(bytes(32), (mid,), call_id=1, kinds=kinds, person=HEAD)
    assert not replytoken.answers(key, (base,), call_id=1, kinds=kinds, person=HEAD)


def test_the_migration_makes_one_secret_key_and_a_missing_one_is_remade(
    tmp_path: Path, db_url: str
) -> None:
    env = make_env(tmp_path, db_url)
    now = local(2026, 11, 23, 12, 0)
    with env.sessions() as s:
        [stored] = s.scalars(select(Secret)).all()
        assert stored.name == replytoken.KEY_NAME and len(bytes.fromhex(stored.value)) == 32
        assert replytoken.reply_key(s, now) == bytes.fromhex(stored.value)
        s.delete(stored)
        s.commit()
    with env.sessions() as s, s.begin():
        remade = replytoken.reply_key(s, now)
    with env.sessions() as s:
        assert replytoken.reply_key(s, now) == remade != bytes.fromhex(stored.value)
