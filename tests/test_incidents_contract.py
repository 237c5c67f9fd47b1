"""Issue 14 items 20-23: what the people around a major incident are told, and when.

The reporter of a declared incident is told (23); contacts unreachable while
school email was down get one catch-up notice when their route works again
(20); a reply to a resolved incident's notice becomes a follow-up of it (22).
"""

from __future__ import annotations

import email
import email.policy
import json
from datetime import datetime
from pathlib import Path

import pytest
from support import Env, authenticated, local, mail, make_env_with, of_kind, plain, show

from mailbot.cli.main import main
from mailbot.incidents import broadcast

LOGGED = local(2026, 11, 23, 9, 5)
DECLARED = local(2026, 11, 23, 9, 30)
RAJ = "raj.patel@westshire.gov.uk"
HELEN = "head@oakfield-primary.westshire.sch.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """ICT-000001 (Oakfield's internet, from its headteacher) logged; nothing declared yet."""
    return make_env_with(tmp_path, db_url, "school-new-request", LOGGED)


def team_notice(env: Env) -> str:
    return of_kind(env, "new_call")[0].message_id


def staff(env: Env, lines: str, now: datetime, tag: str) -> None:
    raw = (
        f"From: Raj Patel <{RAJ}>\r\nTo: ictsupport@westshire.gov.uk\r\n"
        f"Subject: RE: [ICT-000001] Oakfield Primary School: Internet\r\n"
        f"In-Reply-To: {team_notice(env)}\r\nMessage-ID: <{tag}@westshire.gov.uk>\r\n\r\n"
        f"{lines}\r\n"
    ).encode()
    env.feed(authenticated(raw), now)


def broadcast_all(env: Env, now: datetime) -> None:
    while broadcast.run(env.sessions, env.config, env.rules, now).queued:
        pass


# --- 23: the person whose report became the incident is told ---------------------


def test_the_reporter_of_a_declared_incident_is_told_in_their_calls_thread(env: Env) -> None:
    declaring = mail("staff-declares-major-incident", notice_id=team_notice(env))
    env.feed(declaring, DECLARED)
    # Processing the same email again (a redelivery) tells nobody twice.
    env.feed(declaring, DECLARED)
    told = [o for o in of_kind(env, "incident_status") if HELEN in json.loads(o.recipients)]
    assert len(told) == 1
    body = plain(told[0])
    assert "Thank you for reporting this problem (call ICT-000001)" in body
    assert "We have declared it a major incident" in body
    assert "MI-0001: Internet service down across all schools" in body
    assert "The council's internet link failed at 09:20." in body
    message = email.message_from_bytes(told[0].raw, policy=email.policy.default)
    confirmation = of_kind(env, "confirmation")[0].message_id
    assert confirmation in str(message["References"])
    assert str(message["Subject"]).startswith("Re: [ICT-000001]")


def test_the_reporter_is_told_when_the_cli_declares_on_their_call(
    env: Env, tmp_path: Path
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
    [told] = of_kind(env, "incident_status")
    assert json.loads(told.recipients)[0] == HELEN
    assert "We have declared it a major incident" in plain(told)
    assert show(env)["priority"] == "Critical"
