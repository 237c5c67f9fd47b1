"""The change commands from the command line do what the same email does: `calls approve/reject`."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest
from support import SHIPPED_RULES, SUPPORT, Env, local, mail, make_env

from mailbot import calls
from mailbot.cli import main

RAJ = "raj.patel@westshire.gov.uk"
DANA = "dana.whitfield@westshire.gov.uk"
SAM = "sam.okafor@westshire.gov.uk"
LOGGED = local(2026, 11, 23, 9, 5)
VOTED = local(2026, 11, 23, 10, 30)


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[service]
address = "{SUPPORT}"
name = "Westshire Schools ICT Support"
[imap]
host = "127.0.0.1"
port = 1
password = "x"
[smtp]
host = "127.0.0.1"
port = 1
password = "x"
[database]
url = "{url}"
[rules]
dir = "{SHIPPED_RULES}"
""",
        encoding="utf-8",
    )
    return path


def logged(tmp_path: Path, name: str) -> tuple[Env, Path]:
    """A change request under review in a database of its own, and a config for it."""
    folder = tmp_path / name
    folder.mkdir()
    url = f"sqlite:///{folder / 'mailbot.db'}"
    env = make_env(folder, url)
    env.feed(mail("school-change-request"), LOGGED)
    return env, write_config(folder, url)


def review_id(env: Env) -> str:
    return next(o.message_id for o in env.outbox() if o.kind == "change_review")


def record(env: Env) -> dict[str, object]:
    found = calls.show_call(env.sessions, "ICT-000001")
    assert found is not None
    return found


def work(env: Env) -> list[tuple[str, str, str]]:
    # The email itself is stored on the call as a message; the command line has none.
    found = record(env)["events"]
    return [(e["kind"], e["actor"], e["detail"]) for e in found if e["kind"] != "message"]  # type: ignore[union-attr, index]


def sent(env: Env) -> list[tuple[str, list[str], str]]:
    """Every email after the logging, but the voter's receipt (the command line prints instead)."""
    out = []
    for row in env.outbox():
        if row.kind in ("confirmation", "new_call", "change_review", "receipt"):
            continue
        msg = email.message_from_bytes(row.raw, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain",))
        assert part is not None
        out.append((row.kind, json.loads(row.recipients), str(part.get_content())))
    return out


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
        f"In-Reply-To: {review_id(by_mail)}\r\nMessage-ID: <vote@westshire.gov.uk>\r\n\r\n"
        + lines.replace("\n", "\r\n")
        + "\r\n"
    ).encode()
    by_mail.feed(raw, VOTED)
    by_cli, config = logged(tmp_path, "cli")
    assert cli(config, *argv) == 0

    assert work(by_cli) == work(by_mail)
    assert sent(by_cli) == sent(by_mail)
    assert {k: v for k, v in record(by_cli).items() if k not in ("events", "messages")} == {
        k: v for k, v in record(by_mail).items() if k not in ("events", "messages")
    }
    assert record(by_cli)["status"] == ("open" if name == "approve" else "closed")


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
    assert record(env)["status"] == "awaiting_approval"


def test_a_vote_from_the_command_line_names_the_voter(tmp_path: Path) -> None:
    _, config = logged(tmp_path, "anonymous")
    with pytest.raises(SystemExit):
        cli(config, "approve", "ICT-000001")
