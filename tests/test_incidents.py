"""Tests for major incidents worked by email: declare, update, resolve, and linked calls."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import datetime
from pathlib import Path

import pytest
from support import Env, authenticated, local, mail, make_env_with, of_kind, plain, show

from mailbot.cli.main import main
from mailbot.daemon import jobs
from mailbot.incidents import broadcast

LOGGED = local(2026, 11, 23, 9, 5)
DECLARED = local(2026, 11, 23, 9, 30)
RAJ = "raj.patel@westshire.gov.uk"
HEAD = "head@oakfield-primary.westshire.sch.uk"
CLAIRE = "head@brookfield-high.westshire.sch.uk"
TEAM = "network-team@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """ICT-000001 (Oakfield's internet) logged; nothing declared yet."""
    return make_env_with(tmp_path, db_url, "school-new-request", LOGGED)


def staff(env: Env, name: str, now: datetime) -> None:
    notice = of_kind(env, "new_call")[0].message_id
    env.feed(mail(name, notice_id=notice), now)


def broadcast_all(env: Env, now: datetime) -> None:
    while broadcast.run(env.sessions, env.config, env.rules, now).queued:
        pass


def declared(env: Env) -> None:
    staff(env, "staff-declares-major-incident", DECLARED)
    broadcast_all(env, DECLARED)


def test_declaring_by_email_makes_the_call_critical_and_linked(env: Env) -> None:
    declared(env)
    shown = show(env)
    assert shown["priority"] == "Critical"
    kinds = [e["kind"] for e in shown["events"]]  # type: ignore[union-attr, index]
    assert "major_declared" in kinds
    receipt = plain(of_kind(env, "receipt")[0])
    assert "declared MI-0001: Internet service down across all schools" in receipt


def test_the_declaration_is_broadcast_to_every_list_member_once(env: Env) -> None:
    declared(env)
    notices = of_kind(env, "incident_notice")
    addresses = [json.loads(o.recipients)[0] for o in notices]
    expected = {
        contact.email
        for school in env.rules.directory.schools
        for contact in school.contacts
        if "headteacher" in contact.roles
        or ("network_manager" in contact.roles and school.phase in ("secondary", "all-through"))
    }
    assert sorted(addresses) == sorted(expected)
    body = plain(notices[0])
    assert body.startswith("MAJOR INCIDENT MI-0001: Internet service down across all schools")
    assert "The council's internet link failed at 09:20." in body


def test_the_words_below_the_declaration_never_go_to_the_school_as_a_reply(env: Env) -> None:
    declared(env)
    assert of_kind(env, "staff_reply") == []


def test_updates_and_the_resolution_thread_onto_each_recipients_first_notice(env: Env) -> None:
    declared(env)
    staff(env, "staff-updates-major-incident", local(2026, 11, 23, 10, 30))
    staff(env, "staff-resolves-major-incident", local(2026, 11, 23, 11, 45))
    broadcast_all(env, local(2026, 11, 23, 11, 45))
    to_claire = [o for o in of_kind(env, "incident_notice") if CLAIRE in o.recipients]
    assert len(to_claire) == 3
    first, second, third = (
        email.message_from_bytes(o.raw, policy=email.policy.default) for o in to_claire
    )
    assert second["In-Reply-To"] == first["Message-ID"]
    assert third["References"].split() == [first["Message-ID"], second["Message-ID"]]
    assert third["Subject"] == "Re: " + first["Subject"]
    assert plain(to_claire[1]).startswith("UPDATE 1 on MI-0001")
    assert plain(to_claire[2]).startswith("RESOLVED MI-0001")


def test_a_schools_new_report_is_linked_and_answered_with_the_status(env: Env) -> None:
    declared(env)
    t = env.feed(mail("school-reports-internet-down"), local(2026, 11, 23, 9, 50))
    assert t.call is not None and t.incident is not None
    # Oakfield's head, whose call the incident was declared on, was told too.
    [answer] = [o for o in of_kind(env, "incident_status") if CLAIRE in o.recipients]
    assert json.loads(answer.recipients)[0] == CLAIRE
    body = plain(answer)
    assert "MI-0001: Internet service down across all schools" in body
    assert "The council's internet link failed at 09:20." in body
    # It is worked with the incident: no confirmation, no separate team notice.
    assert [o for o in of_kind(env, "confirmation") if CLAIRE in o.recipients] == []
    assert len(of_kind(env, "new_call")) == 1


def test_a_linked_call_does_not_escalate_on_its_own(env: Env) -> None:
    declared(env)
    env.feed(mail("school-reports-internet-down"), local(2026, 11, 23, 9, 50))
    report = jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 27, 9, 0))
    assert report.escalated == []


def test_resolving_solves_every_linked_call_and_tells_each_school_once(env: Env) -> None:
    declared(env)
    env.feed(mail("school-reports-internet-down"), local(2026, 11, 23, 9, 50))
    again = mail("school-reports-internet-down").replace(b"brookfield-down-1@", b"again@")
    env.feed(again, local(2026, 11, 23, 10, 5))
    staff(env, "staff-resolves-major-incident", local(2026, 11, 23, 11, 45))
    for ref in ("ICT-000001", "ICT-000002", "ICT-000003"):
        assert show(env, ref)["status"] == "solved"
    solved = of_kind(env, "solved")
    to_claire = [o for o in solved if CLAIRE in json.loads(o.recipients)]
    assert len(to_claire) == 1
    assert "The fibre was repaired at 11:40" in plain(to_claire[0])
    assert len([o for o in solved if HEAD in json.loads(o.recipients)]) == 1


def test_an_officer_links_a_call_to_the_incident_and_the_school_is_told(env: Env) -> None:
    declared(env)
    raw = mail("school-new-request").replace(b"new-request-1@", b"quiet@")
    raw = raw.replace(b"The internet has been very slow", b"The projector is very slow")
    raw = raw.replace(b"From: Helen Marsh <head@oakfield", b"From: Tom Reeves <t.reeves@oakfield")
    raw = raw.replace(b"Subject: Internet very slow", b"Subject: Projector slow")
    t = env.feed(raw, local(2026, 11, 23, 10, 0))
    assert t.call is not None and t.incident is None
    notice = of_kind(env, "new_call")[-1].message_id
    link = (
        b"From: Raj Patel <raj.patel@westshire.gov.uk>\r\nTo: ictsupport@westshire.gov.uk\r\n"
        b"Subject: RE: ["
        + t.call.ref.encode()
        + b"] x\r\nIn-Reply-To: "
        + notice.encode()
        + b"\r\n"
        b"Message-ID: <raj-links@westshire.gov.uk>\r\n\r\n#link MI-1\r\n"
    )
    env.feed(authenticated(link), local(2026, 11, 23, 10, 10))
    told_tom = of_kind(env, "incident_status")
    [told] = [o for o in told_tom if json.loads(o.recipients)[0].startswith("t.reeves@")]
    assert "MI-0001" in plain(told)
    assert "linked to MI-0001" in plain(of_kind(env, "receipt")[-1])


def test_an_update_on_a_call_outside_any_incident_is_refused(env: Env) -> None:
    staff(env, "staff-updates-major-incident", local(2026, 11, 23, 10, 30))
    body = plain(of_kind(env, "receipt")[0])
    assert "NOTHING DONE" in body and "not part of an active major incident" in body


def test_a_school_cannot_declare_a_major_incident(env: Env) -> None:
    env.feed(mail("school-tries-major-command"), local(2026, 11, 23, 9, 40))
    assert of_kind(env, "incident_notice") == []
    broadcast_all(env, local(2026, 11, 23, 9, 41))
    assert of_kind(env, "incident_notice") == []
    assert "#major declare" in plain(of_kind(env, "school_reply")[0])


def test_school_email_down_sends_to_alternative_addresses_by_the_fallback_route(
    env: Env,
) -> None:
    notice = of_kind(env, "new_call")[0].message_id
    raw = (
        b"From: Raj Patel <raj.patel@westshire.gov.uk>\r\nTo: ictsupport@westshire.gov.uk\r\n"
        b"Subject: RE: [ICT-000001] x\r\nIn-Reply-To: " + notice.encode() + b"\r\n"
        b"Message-ID: <raj-email-down@westshire.gov.uk>\r\n\r\n"
        b"#major declare School email is down\r\n#major email down\r\n"
    )
    env.feed(authenticated(raw), DECLARED)
    broadcast_all(env, DECLARED)
    sent = {json.loads(o.recipients)[0]: o.route for o in of_kind(env, "incident_notice")}
    assert sent == {
        "helen.marsh.oakfield@gmail.example": "fallback",
        "aisha.rahman.work@outlook.example": "fallback",
    }


def test_the_cli_declares_updates_resolves_and_lists(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[service]\naddress = "ictsupport@westshire.gov.uk"\n'
        f'[imap]\nhost = "127.0.0.1"\nport = 1\n[smtp]\nhost = "127.0.0.1"\nport = 1\n'
        f'[database]\nurl = "{env.config.database.url}"\n'
        f'[rules]\ndir = "{env.config.rules.dir}"\n',
        encoding="utf-8",
    )
    base = ["--config", str(config), "--now", "2026-11-23T09:30", "incidents"]
    assert main([*base, "declare", "Web filtering down", "--call", "ICT-1", "--by", RAJ]) == 0
    assert main([*base, "update", "MI-0001", "Supplier engaged", "--by", RAJ]) == 0
    assert main([*base, "resolve", "MI-0001", "Filtering restored", "--by", RAJ]) == 0
    capsys.readouterr()
    assert main([*base, "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["ref"], listed["status"], listed["calls"]) == (
        "MI-0001",
        "resolved",
        ["ICT-000001"],
    )
    assert [n["kind"] for n in listed["notices"]] == ["declare", "update", "resolve"]
    assert show(env)["status"] == "solved"
