"""Tests for requests that wait for the headteacher's authorisation, by email and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import Env, authenticated, local, mail, make_env, make_env_with, of_kind, plain, show

from mailbot.daemon import jobs
from mailbot.pipeline.records import Action

LOGGED = local(2026, 11, 23, 9, 10)
HEAD = "head@oakfield-primary.westshire.sch.uk"
SPOC = "t.reeves@oakfield-primary.westshire.sch.uk"
JO = "j.baker@oakfield-primary.westshire.sch.uk"
TEAM = "network-team@westshire.gov.uk"
SAM = "sam.okafor@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """A mailbot where a teacher not on Oakfield's authorised list asked for an unblock."""
    return make_env_with(tmp_path, db_url, "school-service-request-unauthorised", LOGGED)


def request_id(env: Env) -> str:
    return of_kind(env, "authorisation_request")[0].message_id


def test_a_request_from_someone_not_authorised_waits_for_the_head(env: Env) -> None:
    shown = show(env)
    assert (shown["type"], shown["status"]) == ("service_request", "awaiting_authorisation")
    [asked] = of_kind(env, "authorisation_request")
    assert json.loads(asked.recipients) == [HEAD]
    body = plain(asked)
    assert "Jo Baker has asked" in body and "#authorise" in body and "#decline" in body


def test_the_requester_is_told_it_needs_authorisation(env: Env) -> None:
    [confirmation] = of_kind(env, "confirmation")
    assert json.loads(confirmation.recipients)[0] == JO
    assert "needs the authorisation of Helen Marsh" in plain(confirmation)


def test_the_team_is_told_it_is_waiting_and_need_not_act(env: Env) -> None:
    [notice] = of_kind(env, "new_call")
    assert json.loads(notice.recipients) == [TEAM]
    assert "WAITING FOR THE HEADTEACHER'S AUTHORISATION" in plain(notice)


def test_a_waiting_request_never_escalates(env: Env) -> None:
    report = jobs.run_due(env.sessions, env.config, env.rules, local(2026, 12, 18, 16, 0))
    assert report.escalated == []
    assert not [o for o in env.outbox() if o.kind.startswith("escalation")]
    assert show(env)["next_escalation_at"] is None


def test_an_authorised_person_is_not_held(tmp_path: Path) -> None:
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'ok.db'}")
    raw = mail("school-service-request-unauthorised").replace(
        b"From: Jo Baker <j.baker@", b"From: Tom Reeves <t.reeves@"
    )
    env.feed(raw, LOGGED)
    assert show(env)["status"] == "open"
    assert of_kind(env, "authorisation_request") == []


def test_the_head_authorises_by_reply_and_the_clock_starts_then(env: Env) -> None:
    t = env.feed(
        mail("headteacher-authorises", request_id=request_id(env)), local(2026, 11, 23, 11, 30)
    )
    assert t.action is Action.APPEND
    shown = show(env)
    assert shown["status"] == "open"
    # A service request is P3: respond within a support day of the authorisation.
    assert shown["response_due_at"] == "2026-11-24T11:30:00+00:00"
    [event] = [e for e in shown["events"] if e["kind"] == "authorised"]  # type: ignore[union-attr]
    assert (event["actor"], event["detail"]) == (HEAD, "Helen Marsh")


def test_the_requester_is_told_it_was_authorised_and_the_head_copied(env: Env) -> None:
    env.feed(
        mail("headteacher-authorises", request_id=request_id(env)), local(2026, 11, 23, 11, 30)
    )
    [told] = of_kind(env, "authorisation_result")
    assert json.loads(told.recipients) == [JO, SPOC, HEAD]
    assert "Helen Marsh has authorised your request ICT-000001" in plain(told)


def test_the_team_is_told_it_can_now_work_the_call(env: Env) -> None:
    env.feed(
        mail("headteacher-authorises", request_id=request_id(env)), local(2026, 11, 23, 11, 30)
    )
    [update] = of_kind(env, "staff_update")
    assert json.loads(update.recipients) == [TEAM]
    assert plain(update).startswith("AUTHORISED: Helen Marsh has authorised ICT-000001")
    # The head's reply itself is not relayed as a school reply: the update says it all.
    assert of_kind(env, "school_reply") == []


def test_the_head_declines_with_a_reason_and_the_requester_is_told(env: Env) -> None:
    env.feed(mail("headteacher-declines", request_id=request_id(env)), local(2026, 11, 23, 11, 30))
    shown = show(env)
    assert shown["status"] == "closed"
    [told] = of_kind(env, "authorisation_result")
    assert JO in json.loads(told.recipients)
    body = plain(told)
    assert "Helen Marsh has declined your request ICT-000001" in body
    assert "We do not allow that site in school." in body
    assert "DECLINED" in plain(of_kind(env, "staff_update")[0])


def test_only_the_headteacher_can_authorise(env: Env) -> None:
    raw = mail("not-the-headteacher-authorises", request_id=request_id(env))
    env.feed(raw, local(2026, 11, 23, 11, 30))
    assert show(env)["status"] == "awaiting_authorisation"
    assert of_kind(env, "authorisation_result") == []
    # The ICT co-ordinator's words reach the team as an ordinary reply.
    assert "#authorise" in plain(of_kind(env, "school_reply")[0])


def test_staff_can_authorise_on_the_schools_behalf(env: Env) -> None:
    raw = (
        b"From: Sam Okafor <sam.okafor@westshire.gov.uk>\r\n"
        b"To: ictsupport@westshire.gov.uk\r\n"
        b"Subject: RE: [ICT-000001] Oakfield Primary School: Please unblock a website\r\n"
        b"Message-ID: <staff-auth-1@westshire.gov.uk>\r\n\r\n"
        b"#authorise\r\n#note Helen authorised it on the phone at 11.\r\n"
    )
    env.feed(authenticated(raw), local(2026, 11, 23, 11, 40))
    assert show(env)["status"] == "open"
    assert "Sam Okafor has authorised" in plain(of_kind(env, "authorisation_result")[0])


def test_status_changes_wait_until_the_request_is_authorised(env: Env) -> None:
    raw = (
        b"From: Sam Okafor <sam.okafor@westshire.gov.uk>\r\n"
        b"To: ictsupport@westshire.gov.uk\r\n"
        b"Subject: RE: [ICT-000001] Oakfield Primary School: Please unblock a website\r\n"
        b"Message-ID: <staff-early-1@westshire.gov.uk>\r\n\r\n"
        b"#status in progress\r\n"
    )
    env.feed(authenticated(raw), local(2026, 11, 23, 11, 40))
    assert show(env)["status"] == "awaiting_authorisation"
    assert "waiting for the headteacher's authorisation" in plain(of_kind(env, "receipt")[0])


def test_retyping_a_call_as_a_request_asks_for_authorisation(tmp_path: Path) -> None:
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'retype.db'}")
    raw = mail("school-new-request").replace(
        b"From: Helen Marsh <head@", b"From: Jo Baker <j.baker@"
    )
    env.feed(raw, LOGGED)
    notice = of_kind(env, "new_call")[0].message_id
    staff = (
        b"From: Sam Okafor <sam.okafor@westshire.gov.uk>\r\n"
        b"To: ictsupport@westshire.gov.uk\r\n"
        b"Subject: RE: [ICT-000001] Oakfield Primary School: Internet very slow\r\n"
        b"In-Reply-To: " + notice.encode() + b"\r\n"
        b"Message-ID: <staff-retype-1@westshire.gov.uk>\r\n\r\n#type request\r\n"
    )
    env.feed(authenticated(staff), local(2026, 11, 23, 10, 0))
    assert show(env)["status"] == "awaiting_authorisation"
    assert json.loads(of_kind(env, "authorisation_request")[0].recipients) == [HEAD]


def test_a_declined_request_does_not_count_in_the_monthly_share(env: Env) -> None:
    from mailbot.reports import store
    from mailbot.reports.figures import Outcome, judge
    from mailbot.sla.months import Month

    env.feed(mail("headteacher-declines", request_id=request_id(env)), local(2026, 11, 23, 11, 30))
    with env.sessions() as session:
        source = store.load(session, Month(2026, 11), env.rules.calendar.zone, None)
    [row] = source.calls
    assert row.withdrawn
    assert judge(row, local(2026, 12, 1, 9, 0))[0] is Outcome.NOT_WORKED
