"""`mailbot status --json` and `--prometheus` after a real run against Dovecot and aiosmtpd."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support import SHIPPED_RULES, mail, write_config_file

from mailbot.cli.main import main

NOW = "2026-11-23T09:05"


@pytest.fixture
def ran(tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]) -> Path:
    """A config whose mailbox held one school's request, handled by `run --once`."""
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink, timeout=5)
    dovecot.deliver(mail("school-new-request"))
    assert main(["--config", str(config), "--now", NOW, "run", "--once"]) == 0
    capsys.readouterr()
    return config


def test_status_json_has_the_figures_and_iso_times_with_offsets(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(ran), "--now", NOW, "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["healthy"] is True and status["problems"] == []
    assert status["processed"] == {"open_call": 1}
    assert status["open_calls"] == 1 and status["outbox_waiting"] == 0
    assert status["messages_waiting"] == 0 and status["failed_folder"] == 0
    assert datetime.fromisoformat(status["last_poll"]).utcoffset() is not None


def test_status_json_names_the_problem_and_exits_2(
    ran: Path, dovecot: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # A week later nothing has polled the mailbox since.
    later = "2026-11-30T09:05"
    assert main(["--config", str(ran), "--now", later, "status", "--json"]) == 2
    status = json.loads(capsys.readouterr().out)
    assert status["healthy"] is False
    assert any("no successful mailbox poll" in p for p in status["problems"])


def test_status_prometheus_is_the_text_exposition_format(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(ran), "--now", NOW, "status", "--prometheus"]) == 0
    text = capsys.readouterr().out
    sample = re.compile(r'^[a-z_]+(\{[a-z_]+="[a-z_]+"\})? -?[0-9.e+]+$')
    values = {}
    for line in text.splitlines():
        if line.startswith("# "):
            assert re.match(r"^# (HELP [a-z_]+ .+|TYPE [a-z_]+ (gauge|counter))$", line), line
            continue
        assert sample.match(line), line
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    assert values["mailbot_healthy"] == 1
    assert values['mailbot_messages_processed_total{outcome="open_call"}'] == 1
    assert values["mailbot_outbox_waiting"] == 0 and values["mailbot_open_calls"] == 1
    assert values["mailbot_calls_past_target"] == 0
    assert values["mailbot_last_poll_age_seconds"] == 0
    assert values["mailbot_messages_waiting"] == 0


def test_broken_rules_on_disk_show_in_status_and_calls_list_keeps_working(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(
        tmp_path, url=url, imap=dovecot, smtp=smtp_sink, rules_dir=rules, timeout=5
    )
    dovecot.deliver(mail("school-new-request"))
    assert main(["--config", str(config), "--now", NOW, "run", "--once"]) == 0
    capsys.readouterr()
    (rules / "staff.toml").write_text("[[officer]\n")
    edited = datetime.fromtimestamp((rules / "staff.toml").stat().st_mtime, UTC)
    assert main(["--config", str(config), "--now", NOW, "status"]) == 2
    out = capsys.readouterr().out
    assert "ATTENTION NEEDED" in out
    assert f"rules on disk are broken since {edited:%Y-%m-%d %H:%M} UTC" in out
    assert "staff.toml" in out
    assert main(["--config", str(config), "--now", NOW, "status", "--json"]) == 2
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert any(p.startswith("rules on disk are broken since") for p in problems)
    # A read-only command still answers, and says why its times are in UTC.
    assert main(["--config", str(config), "calls", "list"]) == 0
    captured = capsys.readouterr()
    assert "ICT-000001" in captured.out
    assert f"the rules in {rules} are broken" in captured.err


@pytest.mark.parametrize(
    ("now", "warned"),
    [("2026-11-23T09:00", False), ("2027-05-23T09:00", True), ("2027-09-06T09:00", True)],
)
def test_rules_check_warns_when_the_terms_run_out_within_60_days(
    now: str, warned: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--now", now, "rules", "check", str(SHIPPED_RULES)]) == 0
    err = capsys.readouterr().err
    # The shipped sla.toml's last term ends on 2027-07-21.
    assert ("school terms in sla.toml" in err and "2027-07-21" in err) is warned, err


def test_status_shows_terms_running_out(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(ran), "--now", "2027-06-01T09:00", "status", "--json"]) == 2
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert any(p.startswith("the school terms in sla.toml end on 2027-07-21") for p in problems)


def test_status_text_shows_local_times(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(ran), "--now", NOW, "status"]) == 0
    out = capsys.readouterr().out
    assert "last successful poll  Mon 23 Nov 2026 09:05 GMT" in out, out
    assert "+00:00" not in out
