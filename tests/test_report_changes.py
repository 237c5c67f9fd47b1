"""The monthly report over calls worked through the pipeline: withdrawals, notified incidents."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from support import Env, local, mail, make_env, of_kind

from mailbot.incidents import broadcast
from mailbot.pipeline.records import Action
from mailbot.reports import job, monthly
from mailbot.reports.figures import Figures, Outcome
from mailbot.sla.months import Month

NOVEMBER = Month(2026, 11)
REPORT_TIME = local(2026, 12, 1, 8, 0)
LOGGED = local(2026, 11, 23, 9, 5)
OAKFIELD = "oakfield-primary"
BROOKFIELD = "brookfield-high"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def figures(env: Env, school: str | None = None) -> Figures:
    return job.figures_for(env.sessions, env.rules, NOVEMBER, school, REPORT_TIME)


def compose(env: Env, school: str | None = None) -> monthly.Report:
    found = env.rules.directory.school(school) if school else None
    return monthly.compose(env.config, env.rules, figures(env, school), found, lambda c: c.filename)


def withdrawn_change(env: Env) -> None:
    """Oakfield asks for a firewall change, then withdraws it while the board reviews it."""
    assert env.feed(mail("school-change-request"), LOGGED).action is Action.OPEN_CALL
    confirmation = of_kind(env, "confirmation")[0].message_id
    raw = mail("school-withdraws-change", confirmation_id=confirmation)
    assert env.feed(raw, local(2026, 11, 23, 12, 0)).action is Action.APPEND


def test_a_withdrawn_change_is_not_among_the_calls_that_count_in_a_later_month(env: Env) -> None:
    withdrawn_change(env)
    f = figures(env)
    assert (len(f.logged), f.not_yet_due, f.total.judged) == (1, 0, 0)
    report = compose(env)
    assert "will count in a later month" not in report.text
    assert "will count in a later month" not in report.html
    assert "1 call logged this month was closed without being worked" in report.text
    assert "closed without being\nworked" in report.html
    assert f.not_worked == 1


def test_the_csv_says_a_withdrawn_change_was_not_worked(env: Env) -> None:
    withdrawn_change(env)
    [row] = csv.DictReader(io.StringIO(compose(env).csv.decode("utf-8-sig")))
    assert (row["ref"], row["status"], row["outcome"], row["judged_in"]) == (
        "ICT-000001",
        "closed",
        "not worked",
        "",
    )


def test_every_csv_outcome_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for outcome in Outcome:
        assert f"`{outcome.value}`" in readme, outcome


def test_a_schools_report_lists_the_incidents_it_was_notified_of(env: Env) -> None:
    # Oakfield reports its internet down; staff declare a major incident on the
    # call, which is broadcast to every headteacher, Brookfield's among them.
    assert env.feed(mail("school-new-request"), LOGGED).action is Action.OPEN_CALL
    notice = of_kind(env, "new_call")[0].message_id
    declared = local(2026, 11, 23, 9, 30)
    env.feed(mail("staff-declares-major-incident", notice_id=notice), declared)
    while broadcast.run(env.sessions, env.config, env.rules, declared).queued:
        pass
    notified = {o.recipients for o in of_kind(env, "incident_notice")}
    assert any("head@brookfield-high" in r for r in notified)
    # Brookfield logged no call and none of its calls was linked to it.
    assert [i.ref for i in figures(env, BROOKFIELD).incidents] == ["MI-0001"]
    assert "MI-0001" in compose(env, BROOKFIELD).html
    assert [i.ref for i in figures(env, OAKFIELD).incidents] == ["MI-0001"]


def test_a_schools_report_leaves_out_incidents_it_was_not_told_of(env: Env) -> None:
    assert env.feed(mail("school-new-request"), LOGGED).action is Action.OPEN_CALL
    notice = of_kind(env, "new_call")[0].message_id
    declared = local(2026, 11, 23, 9, 30)
    env.feed(mail("staff-declares-major-incident", notice_id=notice), declared)
    # Declared, but not broadcast yet: nobody at Brookfield has been sent a notice.
    assert figures(env, BROOKFIELD).incidents == ()
