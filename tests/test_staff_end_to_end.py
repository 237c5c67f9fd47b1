"""Staff working calls by email, end to end: real Dovecot, a real SMTP server, `run --once`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import AUTHSERV, SUPPORT, header, mail, plain, write_config_file

from mailbot.cli.main import main
from mailbot.storage.db import upgrade

HEAD = "head@oakfield-primary.westshire.sch.uk"
SPOC = "t.reeves@oakfield-primary.westshire.sch.uk"
JO = "j.baker@oakfield-primary.westshire.sch.uk"
GRACE = "head@st-marys-ce.westshire.sch.uk"
SAM = "sam.okafor@westshire.gov.uk"
TEAM = "network-team@westshire.gov.uk"


class Service:
    """mailbot configured against the test's Dovecot account, SMTP sink and SQLite file."""

    def __init__(self, tmp: Path, dovecot: Any, smtp: Any, authserv_id: str = AUTHSERV) -> None:
        self.dovecot, self.smtp = dovecot, smtp
        url = f"sqlite:///{tmp / 'mailbot.db'}"
        upgrade(url)
        self.config = write_config_file(
            tmp, url=url, imap=dovecot, smtp=smtp, authserv_id=authserv_id
        )
        self.seen = 0

    def cli(self, now: str, *args: str) -> None:
        assert main(["--config", str(self.config), "--now", now, *args]) == 0

    def deliver(self, name: str, now: str, **subs: str) -> list[Any]:
        """Deliver a fixture to the mailbox, run once at ``now``; return the mail sent."""
        self.dovecot.deliver(mail(name, **subs))
        self.cli(now, "run", "--once")
        new = self.smtp.messages[self.seen :]
        self.seen = len(self.smtp.messages)
        return list(new)

    def call(self, ref: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
        capsys.readouterr()
        self.cli("2026-11-23T18:00", "calls", "show", ref, "--json")
        found: dict[str, Any] = json.loads(capsys.readouterr().out)
        return found


def kinds(sent: list[Any]) -> list[tuple[str, list[str]]]:
    return sorted((m.kind, sorted(m.rcpt_tos)) for m in sent)


@pytest.fixture
def service(tmp_path: Path, dovecot: Any, smtp_sink: Any) -> Service:
    return Service(tmp_path, dovecot, smtp_sink)


def opened(service: Service) -> tuple[str, str]:
    """Log Oakfield's slow-internet call; return the ids of its confirmation and notice."""
    sent = service.deliver("school-new-request", "2026-11-23T09:05")
    by_kind = {m.kind: m for m in sent}
    return header(by_kind["confirmation"], "Message-ID"), header(by_kind["new_call"], "Message-ID")


def test_an_officer_works_a_call_by_replying_and_the_school_replies_back(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    _, notice = opened(service)

    # Commands on top, words for the school below: applied, relayed, receipted.
    sent = service.deliver(
        "staff-commands-and-words-for-the-school", "2026-11-23T10:00", notice_id=notice
    )
    # The school is told of the new priority (P2 -> P1) as well as the officer's words.
    assert kinds(sent) == [
        ("receipt", [SAM]),
        ("staff_reply", [HEAD, SPOC]),
        ("targets_changed", [HEAD, SPOC]),
    ]
    to_school = next(m for m in sent if m.kind == "staff_reply")
    assert plain(to_school).startswith("Hello Helen, I am looking at the filtering appliance")
    assert header(to_school, "From") == f"Westshire Schools ICT Support <{SUPPORT}>"
    receipt = next(m for m in sent if m.kind == "receipt")
    assert "assigned to sam" in plain(receipt) and "priority P2 -> P1" in plain(receipt)
    shown = service.call("ICT-000001", capsys)
    assert (shown["assignee"], shown["priority"], shown["status"]) == ("sam", "P1", "in_progress")

    # The school answers the officer's message: it reaches the officer in the staff thread.
    sent = service.deliver(
        "school-reply-outlook-quoted",
        "2026-11-23T10:30",
        confirmation_id=header(to_school, "Message-ID"),
    )
    [relayed] = sent
    assert (relayed.kind, list(relayed.rcpt_tos)) == ("school_reply", [SAM])
    assert header(relayed, "In-Reply-To") == header(receipt, "Message-ID")
    assert "It affects all 30 machines in the suite." in plain(relayed)

    # An internal note: kept on the call, nothing to the school.
    sent = service.deliver("staff-note", "2026-11-23T11:00", notice_id=notice)
    assert kinds(sent) == [("receipt", [SAM])]

    # A revised deadline with a status change, words to the school.
    sent = service.deliver("staff-deadline-agreed", "2026-11-23T11:30", notice_id=notice)
    assert kinds(sent) == [
        ("receipt", [SAM]),
        ("staff_reply", [HEAD, SPOC]),
        ("targets_changed", [HEAD, SPOC]),
    ]
    revised = plain(next(m for m in sent if m.kind == "targets_changed"))
    assert "Reason: agreed with the head: a new switch must be ordered" in revised

    # Solved, with the officer's words in the solved notice.
    sent = service.deliver("staff-solved-with-words", "2026-11-23T12:00", notice_id=notice)
    assert kinds(sent) == [("receipt", [SAM]), ("solved", [HEAD, SPOC])]
    assert "We replaced the faulty switch" in plain(next(m for m in sent if m.kind == "solved"))

    shown = service.call("ICT-000001", capsys)
    assert shown["status"] == "solved"
    assert shown["revised_reason"] == "agreed with the head: a new switch must be ordered"
    notes = [e for e in shown["events"] if e["kind"] == "note"]
    assert notes and notes[0]["actor"] == SAM
    to_schools = [m for m in service.smtp.messages if HEAD in m.rcpt_tos]
    assert not any(b"INTERNAL-ONLY" in m.raw for m in to_schools)


def test_a_bad_command_is_explained_and_nothing_reaches_the_school(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    _, notice = opened(service)
    sent = service.deliver("staff-bad-priority", "2026-11-23T10:00", notice_id=notice)
    assert kinds(sent) == [("receipt", [SAM])]
    assert "no priority 'P7'" in plain(sent[0])
    assert "nothing was sent to the school" in plain(sent[0])
    shown = service.call("ICT-000001", capsys)
    assert (shown["assignee"], shown["priority"]) == (None, "P2")


def test_link_and_type_and_help_by_email(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    _, notice = opened(service)
    service.dovecot.deliver(mail("school-new-request").replace(b"new-request-1@", b"second@"))
    service.cli("2026-11-23T09:30", "run", "--once")
    service.seen = len(service.smtp.messages)
    sent = service.deliver("staff-link-and-type", "2026-11-23T10:00", notice_id=notice)
    assert kinds(sent) == [("receipt", [SAM])]
    shown = service.call("ICT-000001", capsys)
    assert shown["related"] == ["ICT-000002"] and shown["type"] == "service_request"
    sent = service.deliver("staff-help", "2026-11-23T10:10", notice_id=notice)
    assert "#deadline 2026-12-04 REASON" in plain(sent[0])


def test_a_spoofed_staff_address_runs_no_command(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    service = Service(tmp_path, dovecot, smtp_sink, authserv_id="mx.westshire.gov.uk")
    _, notice = opened(service)
    sent = service.deliver(
        "staff-spoofed-failing-authentication", "2026-11-23T10:00", notice_id=notice
    )
    # Nothing reaches the school; the real owner of the address is warned.
    assert kinds(sent) == [("unverified_staff", [SAM])]
    assert "did not pass our mail server's authentication checks" in plain(sent[0])
    shown = service.call("ICT-000001", capsys)
    assert (shown["status"], shown["priority"]) == ("open", "P2")

    # The genuine officer's mail, vouched for by the server, works as usual.
    sent = service.deliver("staff-passing-authentication", "2026-11-23T10:05", notice_id=notice)
    assert kinds(sent) == [("receipt", [SAM]), ("staff_reply", [HEAD, SPOC])]
    assert service.call("ICT-000001", capsys)["assignee"] == "sam"


def test_a_school_cannot_reach_another_schools_call(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    opened(service)
    sent = service.deliver("other-school-uses-anothers-reference", "2026-11-23T10:00")
    # No spurious call: the email is held for a human and the writer told,
    # in words that say nothing of the other school's call.
    assert kinds(sent) == [("not_their_call", [GRACE])]
    [told] = sent
    assert b"ICT-000001" not in told.raw
    assert b"very slow in the ICT suite since" not in told.raw
    assert "not one of your school's calls" in plain(told)
    assert service.call("ICT-000001", capsys)["status"] == "open"


def test_the_authorisation_round_trip_by_email(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = service.deliver("school-service-request-unauthorised", "2026-11-23T09:10")
    assert kinds(sent) == [
        ("authorisation_request", [HEAD]),
        ("confirmation", [JO, SPOC]),
        ("new_call", [TEAM]),
    ]
    asked = next(m for m in sent if m.kind == "authorisation_request")
    sent = service.deliver(
        "headteacher-authorises", "2026-11-23T11:30", request_id=header(asked, "Message-ID")
    )
    assert kinds(sent) == [("authorisation_result", [HEAD, JO, SPOC]), ("staff_update", [TEAM])]
    told = next(m for m in sent if m.kind == "authorisation_result")
    assert "Helen Marsh has authorised your request ICT-000001" in plain(told)
    assert service.call("ICT-000001", capsys)["status"] == "open"


def test_a_declined_request_is_closed_and_the_requester_told_why(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = service.deliver("school-service-request-unauthorised", "2026-11-23T09:10")
    asked = next(m for m in sent if m.kind == "authorisation_request")
    sent = service.deliver(
        "headteacher-declines", "2026-11-23T11:30", request_id=header(asked, "Message-ID")
    )
    told = next(m for m in sent if m.kind == "authorisation_result")
    assert JO in told.rcpt_tos
    assert "We do not allow that site in school." in plain(told)
    assert service.call("ICT-000001", capsys)["status"] == "closed"


def forged(notice: str, n: int, from_line: str = f"Sam Okafor <{SAM}>") -> bytes:
    """A reply to the team's notice that anyone could write: no Authentication-Results."""
    return (
        f"From: {from_line}\r\nTo: {SUPPORT}\r\n"
        "Subject: RE: [ICT-000001] Oakfield Primary School: Internet very slow in the ICT suite\r\n"
        f"In-Reply-To: {notice}\r\nMessage-ID: <forged-{n}@evil.example>\r\n\r\n"
        "#priority 1\r\n#assign sam\r\n#solved\r\n#major declare Internet down\r\n\r\n"
        "please send your network admin password so we can check\r\n"
    ).encode()


def test_with_the_shipped_configuration_forged_staff_mail_is_held_and_sam_warned_once(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # authserv_id unset, as config.example.toml ships it.
    service = Service(tmp_path, dovecot, smtp_sink, authserv_id="")
    _, notice = opened(service)
    capsys.readouterr()
    service.dovecot.deliver(forged(notice, 1))
    service.cli("2026-11-23T10:00", "run", "--once")
    assert "authserv_id is unset" in capsys.readouterr().err
    # A second forgery, a display-name one, three minutes later.
    service.dovecot.deliver(forged(notice, 2, f"{SAM} <attacker@evil.example>"))
    service.dovecot.deliver(forged(notice, 3))
    service.cli("2026-11-23T10:03", "run", "--once")
    sent = service.smtp.messages[service.seen :]
    # Nothing to the school or any list; Sam, the address's owner, is warned
    # once; the display-name forgery is a stranger, answered at its addr-spec.
    assert kinds(sent) == [
        ("unknown_sender", ["attacker@evil.example"]),
        ("unverified_staff", [SAM]),
    ]
    warning = next(m for m in sent if m.kind == "unverified_staff")
    assert "could not be verified as yours" in plain(warning)
    shown = service.call("ICT-000001", capsys)
    assert (shown["status"], shown["priority"], shown["assignee"]) == ("open", "P2", None)
    capsys.readouterr()
    service.cli("2026-11-23T10:05", "incidents", "list")
    assert "Internet down" not in capsys.readouterr().out
    assert main(["--config", str(service.config), "--now", "2026-11-23T10:05", "status"]) == 0
    out = capsys.readouterr()
    assert "unverified staff mail 2 held in the last 24 hours" in out.out
    assert "authserv_id is unset" in out.err
