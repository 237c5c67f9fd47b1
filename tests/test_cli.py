"""Tests for the command line: calls list/show, status, db upgrade, --now, run --once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from support import Address, Env, local, mail, make_env_with, write_config_file

from mailbot.cli.callviews import short_time
from mailbot.cli.main import main, parse_now

# Nothing listens on the discard port, so the mailbox cannot be reached.
NO_IMAP = Address("127.0.0.1", 9, "u", "p")
NO_SMTP = Address("127.0.0.1", 9)


def write_config(tmp_path: Path, db_url: str, imap: Any = NO_IMAP, smtp: Any = NO_SMTP) -> Path:
    return write_config_file(tmp_path, url=db_url, imap=imap, smtp=smtp, timeout=5)


@pytest.fixture
def env_with_call(tmp_path: Path) -> tuple[Env, Path]:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    env = make_env_with(tmp_path, url, "school-new-request", local(2026, 11, 23, 9, 5))
    return env, write_config(tmp_path, url)


def test_calls_list_json_has_the_stable_fields(
    env_with_call: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = env_with_call
    assert main(["--config", str(config), "calls", "list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    for key in (
        "ref",
        "status",
        "type",
        "priority",
        "school",
        "requester",
        "subject",
        "created_at",
        "response_due_at",
        "fix_due_at",
        "escalation_level",
        "assignee",
        "related",
    ):
        assert key in row
    assert row["ref"] == "ICT-000001" and row["school"] == "oakfield-primary"
    assert datetime.fromisoformat(row["fix_due_at"]).utcoffset() is not None


def test_calls_list_table_shows_the_call(
    env_with_call: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = env_with_call
    assert main(["--config", str(config), "calls", "list"]) == 0
    out = capsys.readouterr().out
    assert "ICT-000001" in out and "oakfield-primary" in out and "P2" in out


def test_calls_show_json_includes_messages_and_events(
    env_with_call: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = env_with_call
    assert main(["--config", str(config), "calls", "show", "ict-000001", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [m["direction"] for m in record["messages"]] == ["in", "out", "out"]
    first = record["messages"][0]
    assert first["from"] == "head@oakfield-primary.westshire.sch.uk"
    assert "very slow in the ICT suite" in first["text"]
    assert record["events"][0]["kind"] == "opened"


def test_calls_show_unknown_ref_exits_1(
    env_with_call: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = env_with_call
    assert main(["--config", str(config), "calls", "show", "ICT-999999"]) == 1
    assert "no call ICT-999999" in capsys.readouterr().err


def test_db_upgrade_creates_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}")
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    assert (tmp_path / "fresh.db").exists()
    assert main(["--config", str(config), "calls", "list"]) == 0
    assert "no calls" in capsys.readouterr().out


def test_status_reports_an_unreachable_mailbox_and_exits_2(
    env_with_call: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = env_with_call
    assert main(["--config", str(config), "status"]) == 2
    out = capsys.readouterr().out
    assert "ATTENTION NEEDED" in out
    # The confirmation to the school and the new-call notice to the team.
    assert "outbox waiting        2" in out
    assert "never been polled" in out
    assert "cannot reach the mailbox" in out


def test_status_healthy_after_a_run(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config(tmp_path, url, dovecot, smtp_sink)
    dovecot.deliver(mail("school-new-request"))
    now = "2026-11-23T09:05"
    assert main(["--config", str(config), "--now", now, "run", "--once"]) == 0
    assert "open_call" in capsys.readouterr().out
    assert main(["--config", str(config), "--now", now, "status"]) == 0
    out = capsys.readouterr().out
    assert (
        "HEALTHY" in out and "messages waiting      0" in out and "Failed folder         0" in out
    )


def test_bad_config_exits_1_with_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "sqlite://")
    config.write_text(config.read_text().replace('security = "none"', 'security = "tls"', 1))
    assert main(["--config", str(config), "calls", "list"]) == 1
    assert "[imap.security]" in capsys.readouterr().err


def test_now_without_offset_is_local_time() -> None:
    t = parse_now("2026-07-01T10:00")
    assert t.utcoffset() is not None and t.hour == 10 and t.utcoffset().total_seconds() == 3600


def test_now_with_offset_is_kept() -> None:
    assert parse_now("2026-11-23T10:00+00:00").utcoffset().total_seconds() == 0  # type: ignore[union-attr]


# A clear-screen, a window-title change (OSC), red text, a C1 CSI and a
# carriage return that would hide the start of its line.
ESCAPES = "\x1b[2J\x1b]0;owned\x07\x1b[31mred\x9b1m and\rhidden"

HOSTILE = (
    "From: Helen Marsh <head@oakfield-primary.westshire.sch.uk>\n"
    "To: ictsupport@westshire.gov.uk\n"
    "Subject: =?utf-8?q?Printer_=1B=5D0=3Btitle=07jammed?=\n"
    "Date: Mon, 23 Nov 2026 09:02:11 +0000\n"
    "Message-ID: <escapes-1@oakfield-primary.westshire.sch.uk>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n\n"
    f"The printer is jammed.\n\tIndented line\n{ESCAPES}\n"
)


@pytest.fixture
def env_with_escapes(tmp_path: Path) -> tuple[Env, Path]:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    env = make_env_with(tmp_path, url, "school-new-request", local(2026, 11, 23, 9, 5))
    env.feed(HOSTILE.encode(), local(2026, 11, 23, 9, 10))
    return env, write_config(tmp_path, url)


def _obeyable(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0]


def test_calls_show_and_list_show_control_characters_instead_of_sending_them(
    env_with_escapes: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = env_with_escapes
    assert main(["--config", str(config), "calls", "show", "ICT-000002"]) == 0
    shown = capsys.readouterr().out
    assert _obeyable(shown) == []
    # (The parser already turned the carriage return into a line break.)
    assert "\\x1b]0;owned\\x07\\x1b[31mred\\x9b1m and\nhidden" in shown
    # Newlines and tabs are what a listing is made of: they stay.
    assert "The printer is jammed.\n\tIndented line\n" in shown
    assert main(["--config", str(config), "calls", "list"]) == 0
    listed = capsys.readouterr().out
    assert _obeyable(listed) == [] and "Printer" in listed


def test_calls_show_json_keeps_the_stored_text_exact(
    env_with_escapes: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = env_with_escapes
    assert main(["--config", str(config), "calls", "show", "ICT-000002", "--json"]) == 0
    out = capsys.readouterr().out
    record = json.loads(out)
    assert ESCAPES.replace("\r", "\n") in record["messages"][0]["text"]
    # json.dumps escapes the C0 controls, so even the exact output cannot
    # move the cursor or retitle the window.
    assert "\x1b" not in out


def test_incidents_list_shows_control_characters_in_a_title(
    env_with_escapes: tuple[Env, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from mailbot.incidents import incident
    from mailbot.storage.db import transaction

    env, config = env_with_escapes
    with transaction(env.sessions) as session:
        incident.declare(
            session, env.rules, title=f"Filtering down {ESCAPES}", details="Declared.",
            by=incident.By("raj.patel@westshire.gov.uk", local(2026, 11, 23, 9, 30)),
        )  # fmt: skip
    assert main(["--config", str(config), "incidents", "list"]) == 0
    out = capsys.readouterr().out
    assert "Filtering down" in out and _obeyable(out) == []


def test_the_call_tables_times_read_as_strftime_writes_them() -> None:
    # Every hour of two years in the support zone, both clock changes included.
    zone = ZoneInfo("Europe/London")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for hour in range(2 * 366 * 24):
        value = start + timedelta(hours=hour, minutes=hour % 60)
        assert short_time(value, zone) == value.astimezone(zone).strftime("%a %d %b %H:%M")
