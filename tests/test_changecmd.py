"""The change commands from the command line do what the same email does: `calls approve/reject`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import (
    SUPPORT,
    Env,
    authenticated,
    local,
    make_env_with,
    sent_mail,
    show,
    work,
    write_config_file,
)

from mailbot.cli.main import main

RAJ = "raj.patel@westshire.gov.uk"
DANA = "dana.whitfield@westshire.gov.uk"
SAM = "sam.okafor@westshire.gov.uk"
LOGGED = local(2026, 11, 23, 9, 5)
VOTED = local(2026, 11, 23, 10, 30)


def logged(tmp_path: Path, name: str) -> tuple[Env, Path]:
    """A change request under review in a database of its own, and a config for it."""
    folder = tmp_path / name
    folder.mkdir()
    url = f"sqlite:///{folder / 'mailbot.db'}"
    env = make_env_with(folder, url, "school-change-request", LOGGED)
    return env, write_config_file(folder, url=url)


def review_id(env: Env, member: str) -> str:
    """The review email sent to ``member``: each member gets one of their own."""
    return next(
        o.message_id
        for o in env.outbox()
        if o.kind == "change_review" and json.loads(o.recipients) == [member]
    )


def sent(env: Env) -> list[tuple[str, list[str], str]]:
    """Every email after the logging, but the voter's receipt (the command line prints instead)."""
    return sent_mail(env, leaving_out=("confirmation", "new_call", "change_review", "receipt"))


def cli(config: Path, *args: str) -> int:
    return main(["--config", str(config), "--now", "2026-11-23T10:30", "calls", *args])


EQUIVALENTS = [
    ("approve", RAJ, "#approve", ["approve", "ICT-000001", "--by", RAJ]),
    (
        "reject",
        DANA,
        "#reject No firewall changes during the exam period\n\nDana",
        ["reject", "ICT-000001", "No firewall changes during the exam period", "--by", DANA],
    ),
]


@pytest.mark.parametrize(("name", "member", "lines", "argv"), EQUIVALENTS, ids=lambda v: str(v)[:8])
def test_the_command_line_votes_as_the_same_email_does(
    tmp_path: Path, name: str, member: str, lines: str, argv: list[str]
) -> None:
    by_mail, _ = logged(tmp_path, "mail")
    raw = (
        f"From: Board Member <{member}>\r\nTo: {SUPPORT}\r\n"
        "Subject: RE: [ICT-000001] Oakfield Primary School: a change\r\n"
        f"In-Reply-To: {review_id(by_mail, member)}\r\nMessage-ID: <vote@westshire.gov.uk>\r\n\r\n"
        + lines.replace("\n", "\r\n")
        + "\r\n"
    ).encode()
    by_mail.feed(authenticated(raw), VOTED)
    by_cli, config = logged(tmp_path, "cli")
    assert cli(config, *argv) == 0

    # The email itself is stored on the call as a message; the command line has none.
    assert work(by_cli) == work(by_mail)
    assert sent(by_cli) == sent(by_mail)
    assert {k: v for k, v in show(by_cli).items() if k not in ("events", "messages")} == {
        k: v for k, v in show(by_mail).items() if k not in ("events", "messages")
    }
    assert show(by_cli)["status"] == ("open" if name == "approve" else "closed")


def test_the_command_line_says_what_the_vote_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = logged(tmp_path, "said")
    assert cli(config, "approve", "ICT-000001", "--by", RAJ) == 0
    assert "ICT-000001: approved (round 1)" in capsys.readouterr().out


def test_a_non_member_cannot_vote_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, config = logged(tmp_path, "refused")
    assert cli(config, "approve", "ICT-000001", "--by", SAM) == 2
    assert "only the Change Advisory Board (raj, dana, priya) may vote" in capsys.readouterr().err
    assert show(env)["status"] == "awaiting_approval"


def test_a_vote_from_the_command_line_names_the_voter(tmp_path: Path) -> None:
    _, config = logged(tmp_path, "anonymous")
    with pytest.raises(SystemExit):
        cli(config, "approve", "ICT-000001")
