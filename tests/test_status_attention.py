"""`mailbot status` shows what needs a person, through Dovecot and aiosmtpd and the command line.

Calls past their fix target are listed (and make the exit code 2), and so are
active major incidents, changes waiting for the board and emails held for a
human, alike in the text, --json and --prometheus forms.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import mail, write_config_file

from mailbot.cli.main import main
from mailbot.storage.db import upgrade

LOGGED = "2026-11-23T09:05"
# ICT-000001 (P2: fix within two days) was due at 09:05 on Wednesday 25 November.
LATE = "2026-11-26T10:00"
RAJ = "raj.patel@westshire.gov.uk"


def stranger(n: int) -> bytes:
    return (
        "From: Pat Someone <someone@elsewhere.example>\r\n"
        "To: ictsupport@westshire.gov.uk\r\nSubject: Can you fix our printer?\r\n"
        f"Message-ID: <stranger-{n}@elsewhere.example>\r\n"
        "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\nHello, our printer jams.\r\n"
    ).encode()


@pytest.fixture
def config(tmp_path: Path, dovecot: Any, smtp_sink: Any) -> Path:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    return write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink, timeout=5)


def run_once(config: Path, now: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "--now", now, "run", "--once"]) == 0
    capsys.readouterr()


def status(
    config: Path, now: str, capsys: pytest.CaptureFixture[str], *form: str
) -> tuple[int, str]:
    code = main(["--config", str(config), "--now", now, "status", *form])
    return code, capsys.readouterr().out


def test_a_call_past_its_target_is_listed_and_status_exits_2(
    config: Path, dovecot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dovecot.deliver(mail("school-new-request"))
    run_once(config, LOGGED, capsys)
    assert status(config, LOGGED, capsys)[0] == 0
    # A day after its target, with the daemon polling as it should.
    run_once(config, LATE, capsys)
    code, text = status(config, LATE, capsys)
    assert code == 2
    assert "1 past target" in text
    late = "    ICT-000001 P2 oakfield-primary: fix target Wed 25 Nov 2026 09:05 GMT, unassigned"
    assert late in text
    assert "! 1 call(s) past their fix target: ICT-000001" in text
    code, out = status(config, LATE, capsys, "--json")
    found = json.loads(out)
    assert code == 2 and found["healthy"] is False
    assert [c["ref"] for c in found["past_target"]] == ["ICT-000001"]
    assert found["past_target"][0]["fix_due_at"] == "2026-11-25T09:05:00+00:00"
    code, out = status(config, LATE, capsys, "--prometheus")
    assert code == 2
    assert "mailbot_calls_past_target 1\n" in out and "mailbot_healthy 0\n" in out


def test_incidents_changes_for_the_board_and_held_mail_are_listed(
    config: Path, dovecot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dovecot.deliver(mail("school-change-request"))
    dovecot.deliver(stranger(1))
    run_once(config, LOGGED, capsys)
    base = ["--config", str(config), "--now", "2026-11-23T09:30", "incidents", "declare"]
    assert main([*base, "Internet down across all schools", "--by", RAJ]) == 0
    run_once(config, "2026-11-23T09:31", capsys)
    code, text = status(config, "2026-11-23T09:31", capsys)
    assert code == 0, text
    assert "major incidents       1 active" in text
    declared = "    MI-0001 declared Mon 23 Nov 2026 09:30 GMT: Internet down across all schools"
    assert declared in text
    assert "changes for the board 1 awaiting a decision" in text
    assert "    ICT-000001 oakfield-primary: standard board, round 1" in text
    assert "held for a human      1 (`mailbot held list`)" in text
    assert "someone@elsewhere.example 'Can you fix our printer?'" in text
    code, out = status(config, "2026-11-23T09:31", capsys, "--json")
    found = json.loads(out)
    assert [i["ref"] for i in found["major_incidents_active"]] == ["MI-0001"]
    assert found["changes_awaiting_board"] == 1
    assert [(c["ref"], c["board"], c["round"]) for c in found["changes"]] == [
        ("ICT-000001", "standard", 1)
    ]
    assert found["held_for_a_human"] == 1
    assert found["held"][0]["sender"] == "someone@elsewhere.example"
    code, out = status(config, "2026-11-23T09:31", capsys, "--prometheus")
    assert "mailbot_major_incidents_active 1\n" in out
    assert "mailbot_changes_awaiting_board 1\n" in out
    assert "mailbot_held_emails 1\n" in out
