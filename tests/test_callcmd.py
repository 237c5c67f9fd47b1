"""Tests for working calls from the command line: assign, update, note and reply."""

from __future__ import annotations

import email
import email.policy
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import (
    SUPPORT,
    Env,
    authenticated,
    events_of,
    local,
    mail,
    make_env,
    make_env_with,
    of_kind,
    sent_mail,
    show,
    work,
    write_config_file,
)

from mailbot.calls import records
from mailbot.cli.main import main
from mailbot.commands import actions
from mailbot.storage.db import transaction

SAM = "sam.okafor@westshire.gov.uk"
HEAD = "head@oakfield-primary.westshire.sch.uk"
SPOC = "t.reeves@oakfield-primary.westshire.sch.uk"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Env, Path]:
    """A database holding ICT-000001 (logged Monday 09:05) and a config pointing at it."""
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    env = make_env_with(tmp_path, url, "school-new-request", local(2026, 11, 23, 9, 5))
    return env, write_config_file(tmp_path, url=url)


def cli(config: Path, *args: str, now: str = "2026-11-23T10:00") -> int:
    return main(["--config", str(config), "--now", now, "calls", *args])


def test_assign_gives_the_call_to_an_officer_by_name(
    setup: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    env, config = setup
    assert cli(config, "assign", "ICT-000001", "Sam Okafor", "--by", SAM) == 0
    assert "ICT-000001: assigned to sam" in capsys.readouterr().out
    assert show(env)["assignee"] == "sam"
    assert events_of(env, "assigned")[0]["actor"] == SAM


def test_update_solved_tells_the_school_with_the_officers_message(
    setup: tuple[Env, Path],
) -> None:
    env, config = setup
    assert (
        cli(config, "update", "ict-1", "--status", "solved", "--message", "Switch replaced.") == 0
    )
    [notice] = of_kind(env, "solved")
    assert json.loads(notice.recipients) == [HEAD, SPOC]
    assert b"Switch replaced." in notice.raw


def test_a_bad_priority_is_refused_with_the_reason_and_changes_nothing(
    setup: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    env, config = setup
    assert cli(config, "update", "ICT-000001", "--priority", "P7", "--status", "solved") == 2
    assert "nothing changed" in capsys.readouterr().err
    assert show(env)["priority"] == "P2" and show(env)["status"] == "open"


def test_a_revised_deadline_without_a_reason_is_refused(
    setup: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    env, config = setup
    assert cli(config, "update", "ICT-000001", "--deadline", "2026-12-04") == 2
    assert "reason" in capsys.readouterr().err
    assert show(env)["revised_due_at"] is None


def test_an_unknown_call_is_reported(
    setup: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = setup
    assert cli(config, "assign", "ICT-000999", "sam") == 2
    assert "no call ICT-000999" in capsys.readouterr().err


def test_a_note_is_kept_on_the_call_and_sent_to_nobody(setup: tuple[Env, Path]) -> None:
    env, config = setup
    before = len(env.outbox())
    assert cli(config, "note", "ICT-000001", "Head is difficult; ring the bursar", "--by", SAM) == 0
    assert events_of(env, "note")[0]["detail"] == "Head is difficult; ring the bursar"
    assert len(env.outbox()) == before


def test_reply_goes_to_the_school_from_the_support_address_signed_by_the_officer(
    setup: tuple[Env, Path],
) -> None:
    env, config = setup
    assert cli(config, "reply", "ICT-000001", "I will ring you at 2pm.", "--by", SAM) == 0
    [sent] = of_kind(env, "staff_reply")
    assert json.loads(sent.recipients) == [HEAD, SPOC]
    msg = email.message_from_bytes(sent.raw, policy=email.policy.default)
    assert msg["From"].addresses[0].addr_spec == SUPPORT
    assert msg["Subject"] == "Re: [ICT-000001] Internet very slow in the ICT suite"
    assert msg["In-Reply-To"] == of_kind(env, "confirmation")[0].message_id
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and "I will ring you at 2pm.\r\n\r\nSam Okafor" in body.get_content()


def test_the_first_reply_is_the_response_to_the_school(setup: tuple[Env, Path]) -> None:
    env, config = setup
    cli(config, "reply", "ICT-000001", "Looking now.", "--by", SAM, now="2026-11-23T10:30")
    assert show(env)["responded_at"] == "2026-11-23T10:30:00+00:00"


def test_only_an_officer_can_reply_to_a_school(
    setup: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    env, config = setup
    assert cli(config, "reply", "ICT-000001", "Hello", "--by", "someone@else.example") == 2
    assert "not an officer" in capsys.readouterr().err
    assert of_kind(env, "staff_reply") == []


def test_the_same_reply_run_twice_at_once_is_sent_once(
    setup: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    env, config = setup
    assert cli(config, "reply", "ICT-000001", "Looking now.", "--by", SAM) == 0
    assert cli(config, "reply", "ICT-000001", "Looking now.", "--by", SAM) == 2
    assert "already done" in capsys.readouterr().err
    assert len(of_kind(env, "staff_reply")) == 1


# A random sequence of staff actions; every note carries a secret word that
# must never appear in anything sent to a school.
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("note"), st.integers(0, 10**9)),
        st.tuples(st.just("reply"), st.integers(0, 10**9)),
        st.tuples(st.just("status"), st.sampled_from(["in_progress", "awaiting_customer", "open"])),
        st.tuples(st.just("solve"), st.integers(0, 10**9)),
        st.tuples(st.just("priority"), st.sampled_from(["P1", "P2", "P3", "P4"])),
    ),
    max_size=8,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIONS)
def test_no_internal_note_ever_reaches_a_school(steps: list[tuple[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = make_env(Path(tmp), f"sqlite:///{tmp}/p.db")
        env.feed(mail("school-new-request"), local(2026, 11, 23, 9, 5))
        secrets = []
        for n, (kind, value) in enumerate(steps):
            by = records.Staff(SAM, local(2026, 11, 23, 10, n))
            with transaction(env.sessions) as session:
                call = actions.find_call(session, env.rules, "ICT-000001")
                assert call is not None
                if kind == "note":
                    secrets.append(f"SECRET{value}")
                    actions.add_note(session, call, f"internal SECRET{value}", by)
                elif kind == "reply":
                    actions.reply_to_school(
                        session, env.config, env.rules, call, f"public {value}", by, str(n)
                    )
                elif kind == "solve":
                    actions.set_status(
                        session, env.config, env.rules, call, "solved", by, f"fixed {value}"
                    )
                elif kind == "status":
                    actions.set_status(session, env.config, env.rules, call, str(value), by)
                else:
                    actions.set_priority(session, env.rules, call, str(value), by)
        to_school = [o for o in env.outbox() if HEAD in json.loads(o.recipients)]
        assert to_school  # the confirmation, at least
        for row in to_school:
            for secret in secrets:
                assert secret.encode() not in row.raw


# Each case: the command lines and words of a staff email, and the same work
# on the command line.  Both must change the call, record events and send the
# school exactly the same things.
EQUIVALENTS = [
    ("#assign sam", "", ["assign", "ICT-000001", "sam"]),
    ("#note", "Ring the bursar first.", ["note", "ICT-000001", "Ring the bursar first."]),
    ("", "I will ring you at 2pm.", ["reply", "ICT-000001", "I will ring you at 2pm."]),
    (
        "#assign sam\n#priority P1\n#status in progress",
        "Looking at it now.",
        ["update", "ICT-000001", "--assign", "sam", "--priority", "P1",
         "--status", "in_progress", "--message", "Looking at it now."],
    ),
    (
        "#solved",
        "We replaced the switch.",
        ["update", "ICT-000001", "--status", "solved", "--message", "We replaced the switch."],
    ),
    (
        "#type service request\n#deadline 2026-12-04 agreed with the head",
        "",
        ["update", "ICT-000001", "--type", "service_request",
         "--deadline", "2026-12-04", "--reason", "agreed with the head"],
    ),
]  # fmt: skip


def _school_mail(env: Env) -> list[tuple[str, list[str], str]]:
    return sent_mail(env, leaving_out=("new_call", "receipt", "school_reply"))


@pytest.mark.parametrize(("lines", "words", "argv"), EQUIVALENTS, ids=lambda v: str(v)[:30])
def test_the_command_line_does_what_the_same_email_command_does(
    tmp_path: Path, lines: str, words: str, argv: list[str]
) -> None:
    now = local(2026, 11, 23, 10, 0)
    by_mail = make_env(tmp_path / "mail", f"sqlite:///{tmp_path / 'mail.db'}")
    by_mail.feed(mail("school-new-request"), local(2026, 11, 23, 9, 5))
    notice = next(o for o in by_mail.outbox() if o.kind == "new_call").message_id
    raw = (
        f"From: Sam Okafor <{SAM}>\r\nTo: {SUPPORT}\r\n"
        f"Subject: RE: [ICT-000001] Oakfield Primary School: Internet very slow\r\n"
        f"In-Reply-To: {notice}\r\nMessage-ID: <equivalent@westshire.gov.uk>\r\n\r\n"
        f"{lines}\r\n\r\n{words}\r\n"
    ).encode()
    by_mail.feed(authenticated(raw), now)

    (tmp_path / "cli").mkdir()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    by_cli = make_env(tmp_path / "cli", url)
    by_cli.feed(mail("school-new-request"), local(2026, 11, 23, 9, 5))
    config = write_config_file(tmp_path / "cli", url=url)
    assert main(["--config", str(config), "--now", "2026-11-23T10:00", "calls",
                 *argv, "--by", SAM]) == 0  # fmt: skip

    # The staff email itself is stored on the call as a message; the CLI has none.
    assert work(by_cli) == work(by_mail)
    assert _school_mail(by_cli) == _school_mail(by_mail)
    assert {k: v for k, v in show(by_cli).items() if k not in ("events", "messages")} == {
        k: v for k, v in show(by_mail).items() if k not in ("events", "messages")
    }
