"""What the headteacher is asked, what they write back, and what the requester is told meanwhile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import Env, events_of, local, mail, make_env_with, of_kind, plain

LOGGED = local(2026, 11, 23, 9, 10)
JO = "j.baker@oakfield-primary.westshire.sch.uk"
HEAD = "head@oakfield-primary.westshire.sch.uk"
TEAM = "network-team@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """A mailbot where a teacher not on Oakfield's authorised list asked for an unblock."""
    return make_env_with(tmp_path, db_url, "school-service-request-unauthorised", LOGGED)


def words(text: str) -> str:
    return " ".join(text.split())


def test_the_heads_email_shows_the_words_of_the_request(env: Env) -> None:
    [asked] = of_kind(env, "authorisation_request")
    body = words(plain(asked))
    assert "Please could you unblock the website www.sciencekids.example for year 6?" in body
    assert "We need it for a topic next week." in body


def test_the_requesters_confirmation_says_it_waits_and_gives_no_targets(env: Env) -> None:
    [confirmation] = of_kind(env, "confirmation")
    assert json.loads(confirmation.recipients)[0] == JO
    body = plain(confirmation)
    assert "waiting for authorisation by Helen Marsh" in body
    assert "nothing will be done until it is given" in words(body)
    for target in ("Response:", "Fix:", "within 1 day", "within 1 week"):
        assert target not in body


def test_the_heads_words_under_authorise_reach_the_team(env: Env) -> None:
    request_id = of_kind(env, "authorisation_request")[0].message_id
    env.feed(mail("headteacher-authorises", request_id=request_id), local(2026, 11, 23, 11, 30))
    [update] = of_kind(env, "staff_update")
    assert json.loads(update.recipients) == [TEAM]
    body = plain(update)
    assert "Helen Marsh wrote:" in body and "Fine by me." in body
    # The quoted request under the head's reply is not passed on.
    assert "Original Message" not in body
    [event] = events_of(env, "authorisation_words")
    assert (event["actor"], event["detail"]) == (HEAD, "Fine by me.\nHelen")
    # Once authorised, the requester is given the targets.
    [told] = of_kind(env, "authorisation_result")
    assert "Response:" in plain(told) and "Fix:" in plain(told)


def test_the_heads_reply_delivered_twice_passes_the_words_on_once(env: Env) -> None:
    request_id = of_kind(env, "authorisation_request")[0].message_id
    raw = mail("headteacher-authorises", request_id=request_id)
    env.feed(raw, local(2026, 11, 23, 11, 30))
    env.feed(raw, local(2026, 11, 23, 11, 35))
    assert len(of_kind(env, "staff_update")) == 1
    assert len(events_of(env, "authorisation_words")) == 1
