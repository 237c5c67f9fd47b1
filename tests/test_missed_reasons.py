"""A reason for every missed target: asked for on a late solve, recorded by #reason, reported."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from support import (
    Env,
    events_of,
    local,
    mail,
    make_env_with,
    of_kind,
    parsed,
    plain,
    show,
    write_config_file,
)

from mailbot.calls import door
from mailbot.cli.main import main
from mailbot.daemon import jobs
from mailbot.mail.outgoing import Outgoing

MONDAY_9 = local(2026, 11, 23, 9, 5)
# P2: fix within two working days, so by 9.05am on Wednesday 25 November.
IN_TIME = local(2026, 11, 24, 10, 0)
LATE = local(2026, 11, 26, 10, 0)
SAM = "sam.okafor@westshire.gov.uk"
PRIYA = "priya.shah@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """A mailbot holding ICT-000001 (Oakfield's slow internet, P2), on each database."""
    return make_env_with(tmp_path, db_url, "school-new-request", MONDAY_9)


def staff_mail(env: Env, name: str, now: datetime) -> None:
    notice = of_kind(env, "new_call")[0].message_id
    env.feed(mail(name, notice_id=notice), now)


def last_receipt(env: Env) -> str:
    return plain(of_kind(env, "receipt")[-1])


def test_solving_after_the_target_asks_for_the_reason_in_the_receipt(env: Env) -> None:
    staff_mail(env, "staff-solved-with-words", LATE)
    receipt = last_receipt(env)
    assert "ICT-000001 was solved after its fix target (9.05am on Wednesday 25 November)" in (
        " ".join(receipt.split())
    )
    assert "#reason" in receipt


def test_solving_in_time_does_not_ask_for_a_reason(env: Env) -> None:
    staff_mail(env, "staff-solved-with-words", IN_TIME)
    assert "solved after its fix target" not in last_receipt(env)


def test_a_reason_in_the_solving_email_is_recorded_and_not_asked_for(env: Env) -> None:
    staff_mail(env, "staff-solved-with-reason", LATE)
    receipt = last_receipt(env)
    assert "solved after its fix target" not in receipt
    assert "reason for missing the fix target recorded" in receipt
    assert show(env)["missed_reason"] == "the replacement switch was out of stock until Friday"


def test_reason_is_recorded_on_the_call_at_any_time_and_shown(env: Env) -> None:
    staff_mail(env, "staff-reason", IN_TIME)
    shown = show(env)
    assert shown["status"] == "open"
    assert shown["missed_reason"] == "the replacement switch was out of stock until Friday"
    [event] = events_of(env, "reason")
    assert (event["actor"], event["detail"]) == (
        SAM,
        "the replacement switch was out of stock until Friday",
    )
    # The words "Sam" under the command are the officer's signature, not a
    # message: nothing goes to the school.
    assert "reason for missing the fix target recorded" in last_receipt(env)


def test_a_reason_without_words_is_refused(env: Env) -> None:
    staff_mail(env, "staff-reason-empty", IN_TIME)
    assert "NOTHING DONE" in last_receipt(env)
    assert show(env)["missed_reason"] is None


def test_a_later_reason_after_a_late_solve_stops_the_question(env: Env) -> None:
    staff_mail(env, "staff-solved-with-words", LATE)
    staff_mail(env, "staff-reason", local(2026, 11, 26, 11, 0))
    assert "solved after its fix target" not in last_receipt(env)
    assert show(env)["missed_reason"] == "the replacement switch was out of stock until Friday"


def _report_to_the_project_manager(env: Env) -> EmailMessage:
    jobs.run_due(env.sessions, env.config, env.rules, local(2026, 12, 1, 9, 0))
    rows = [r for r in of_kind(env, "report") if PRIYA in json.loads(r.recipients)]
    [row] = rows
    return parsed(row)


def _csv_rows(msg: EmailMessage) -> dict[str, dict[str, str]]:
    [part] = [a for a in msg.iter_attachments() if a.get_content_type() == "text/csv"]
    text = str(part.get_content()).lstrip("\ufeff")
    return {r["ref"]: r for r in csv.DictReader(io.StringIO(text))}


def test_the_monthly_report_shows_why_each_call_missed_with_the_original_target(
    env: Env,
) -> None:
    # A revised deadline (12 noon Thursday) replaces the contract's target
    # (9.05am Wednesday); the call is solved on Friday and the officer says why.
    staff_mail(env, "staff-deadline-short", local(2026, 11, 23, 10, 0))
    staff_mail(env, "staff-solved-with-words", local(2026, 11, 27, 10, 0))
    staff_mail(env, "staff-reason", local(2026, 11, 27, 11, 0))
    msg = _report_to_the_project_manager(env)
    html_part = msg.get_body(preferencelist=("html",))
    text_part = msg.get_body(preferencelist=("plain",))
    assert html_part is not None and text_part is not None
    html, text = str(html_part.get_content()), str(text_part.get_content())
    for shown in (html, " ".join(text.split())):
        assert "the replacement switch was out of stock until Friday" in shown
        assert "25 Nov 2026 09:05" in shown  # the original target
        assert "26 Nov 2026 12:00" in shown  # the revised one
        assert "none agreed" not in shown
    row = _csv_rows(msg)["ICT-000001"]
    assert row["outcome"] == "missed"
    assert row["missed_reason"] == "the replacement switch was out of stock until Friday"
    assert row["original_fix_target"] == "2026-11-25 09:05"
    assert row["revised_deadline"] == "2026-11-26 12:00"


def test_a_missed_call_without_a_reason_says_so_in_the_report(env: Env) -> None:
    staff_mail(env, "staff-solved-with-words", LATE)
    msg = _report_to_the_project_manager(env)
    html_part = msg.get_body(preferencelist=("html",))
    assert html_part is not None
    assert "no reason recorded yet" in str(html_part.get_content())
    assert _csv_rows(msg)["ICT-000001"]["missed_reason"] == ""


def test_a_crash_while_queueing_the_receipt_loses_nothing_and_sends_nothing_twice(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = door.send

    def crash(store: object, config: object, rules: object, out: Outgoing, now: object) -> object:
        if out.kind == "receipt":
            raise SystemExit("killed while queueing the receipt")
        return real(store, config, rules, out, now)  # type: ignore[arg-type]

    monkeypatch.setattr(door, "send", crash)
    with pytest.raises(SystemExit):
        staff_mail(env, "staff-solved-with-reason", LATE)
    # Nothing was committed: the call is as it was.
    assert show(env)["missed_reason"] is None and events_of(env, "reason") == []
    monkeypatch.undo()
    staff_mail(env, "staff-solved-with-reason", LATE)
    staff_mail(env, "staff-solved-with-reason", local(2026, 11, 26, 10, 5))
    assert show(env)["missed_reason"] == "the replacement switch was out of stock until Friday"
    assert len(events_of(env, "reason")) == 1
    assert len(of_kind(env, "receipt")) == 1 and len(of_kind(env, "solved")) == 1


def test_the_command_line_asks_for_and_records_the_reason(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config_file(tmp_path, url=env.config.database.url)

    def cli(*args: str) -> str:
        assert main(["--config", str(config), "--now", "2026-11-26T10:00", "calls", *args]) == 0
        return capsys.readouterr().out

    out = cli("update", "ICT-000001", "--status", "solved", "--by", SAM)
    assert "solved after its fix target (9.05am on Wednesday 25 November)" in out
    assert "--missed-reason" in out
    out = cli("update", "ICT-000001", "--missed-reason", "waiting for a part", "--by", SAM)
    assert "reason for missing the fix target recorded: waiting for a part" in out
    assert show(env)["missed_reason"] == "waiting for a part"


def test_the_fix_breach_alert_asks_for_the_reason(env: Env) -> None:
    jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 25, 10, 0))
    [fix] = [b for b in of_kind(env, "breach") if "FIX TARGET MISSED" in plain(b)]
    assert "#reason WHY" in plain(fix)
