"""`mailbot changes list`: change requests with review state, board, round, votes, due time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import SHIPPED_RULES, SUPPORT, Env, local, mail, make_env

from mailbot.cli.main import main
from mailbot.daemon import jobs

DANA = "dana.whitfield@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}")


def listing(env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Any:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[service]\naddress = "{SUPPORT}"\n[imap]\nhost = "127.0.0.1"\npassword = "x"\n'
        f'[smtp]\nhost = "127.0.0.1"\n[database]\nurl = "{env.config.database.url}"\n'
        f'[rules]\ndir = "{SHIPPED_RULES}"\n',
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["--config", str(config), "changes", "list", *extra]) == 0
    out = capsys.readouterr().out
    return json.loads(out) if "--json" in extra else out


def review_id(env: Env, member: str = "dana.whitfield@westshire.gov.uk") -> str:
    """The review email sent to ``member``: each member gets one of their own."""
    return [
        o.message_id
        for o in env.outbox()
        if o.kind == "change_review" and json.loads(o.recipients) == [member]
    ][-1]


def test_a_change_under_review_is_listed_with_its_board_and_round(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.feed(mail("school-change-request"), local(2026, 11, 23, 9, 5))
    [row] = listing(env, tmp_path, capsys, "--json")
    assert {k: row[k] for k in ("ref", "status", "review", "board", "round", "votes")} == {
        "ref": "ICT-000001",
        "status": "awaiting_approval",
        "review": "under review",
        "board": "standard",
        "round": 1,
        "votes": [],
    }
    assert row["due_at"] is None and row["school"] == "oakfield-primary"


def test_only_change_requests_are_listed(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.feed(mail("school-new-request"), local(2026, 11, 23, 9, 5))
    assert listing(env, tmp_path, capsys, "--json") == []
    assert listing(env, tmp_path, capsys).strip() == "no change requests"


def test_a_rejected_change_shows_the_votes_of_its_round(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.feed(mail("school-change-request"), local(2026, 11, 23, 9, 5))
    env.feed(mail("board-member-rejects", review_id=review_id(env)), local(2026, 11, 23, 10, 40))
    [row] = listing(env, tmp_path, capsys, "--json")
    assert (row["status"], row["review"], row["rejections"]) == ("closed", "rejected", 1)
    [vote] = row["votes"]
    assert (vote["member"], vote["vote"]) == (DANA, "reject")
    assert vote["reason"].startswith("No firewall changes during the exam period")


def test_an_emergency_change_shows_its_deadline_before_and_after_the_reminder(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.feed(mail("school-new-request"), local(2026, 11, 23, 9, 5))
    notice = next(o.message_id for o in env.outbox() if o.kind == "new_call")
    env.feed(mail("staff-raises-emergency-change", notice_id=notice), local(2026, 11, 23, 10, 0))
    [row] = listing(env, tmp_path, capsys, "--json")
    assert (row["board"], row["due_at"], row["reminded"]) == (
        "emergency",
        "2026-11-23T12:00:00+00:00",
        False,
    )
    jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 23, 12, 30))
    [row] = listing(env, tmp_path, capsys, "--json")
    assert (row["due_at"], row["reminded"]) == ("2026-11-23T12:00:00+00:00", True)


def test_the_table_shows_the_review_and_due_time_in_local_time(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.feed(mail("school-new-request"), local(2026, 11, 23, 9, 5))
    notice = next(o.message_id for o in env.outbox() if o.kind == "new_call")
    env.feed(mail("staff-raises-emergency-change", notice_id=notice), local(2026, 11, 23, 10, 0))
    out = listing(env, tmp_path, capsys)
    [line] = [ln for ln in out.splitlines() if ln.startswith("ICT-000001")]
    assert "under review" in line and "emergency" in line and "Mon 23 Nov 12:00" in line
