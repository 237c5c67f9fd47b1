"""Complaints go to the project manager, never to a team; the sender is told who handles them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import (
    SHIPPED_RULES,
    SUPPORT,
    Env,
    local,
    mail,
    make_env,
    make_env_with,
    of_kind,
    plain,
    recipients,
)

from mailbot.daemon import jobs
from mailbot.errors import RulesError
from mailbot.rules.loader import load_rules

LOGGED = local(2026, 11, 23, 9, 30)
PRIYA = "priya.shah@westshire.gov.uk"
SAM = "sam.okafor@westshire.gov.uk"
TEAMS = {
    "servicedesk@westshire.gov.uk",
    "network-team@westshire.gov.uk",
    "email-team@westshire.gov.uk",
    "web-team@westshire.gov.uk",
}
# The service desk's lead, who hears of its unassigned calls' escalations.
DANA = "dana.whitfield@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """A mailbot where Oakfield's headteacher has complained."""
    return make_env_with(tmp_path, db_url, "school-complaint", LOGGED)


def school_replies(env: Env) -> None:
    confirmation = of_kind(env, "confirmation")[0].message_id
    env.feed(
        mail("school-replies-to-complaint", confirmation_id=confirmation),
        local(2026, 11, 23, 11, 0),
    )


def test_the_confirmation_says_the_project_manager_will_handle_it(env: Env) -> None:
    body = plain(of_kind(env, "confirmation")[0])
    assert "Your complaint will be handled by Priya Shah, our project manager" in body


def test_an_ordinary_calls_confirmation_names_nobody(tmp_path: Path) -> None:
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'ordinary.db'}")
    env.feed(mail("school-new-request"), LOGGED)
    assert "will be handled by" not in plain(of_kind(env, "confirmation")[0])


def test_the_new_complaint_goes_to_the_project_manager_alone(env: Env) -> None:
    [notice] = of_kind(env, "new_call")
    assert recipients(notice) == [PRIYA]


def test_the_schools_reply_on_a_complaint_goes_to_the_project_manager(env: Env) -> None:
    school_replies(env)
    [relayed] = of_kind(env, "school_reply")
    assert recipients(relayed) == [PRIYA]
    assert "we rang three times each day" in plain(relayed)


def test_a_complaint_given_to_an_officer_still_goes_to_the_project_manager(env: Env) -> None:
    raw = (
        f"From: Priya Shah <{PRIYA}>\r\nTo: {SUPPORT}\r\n"
        "Subject: RE: [ICT-000001] Oakfield Primary School: Formal complaint\r\n"
        "Message-ID: <priya-assigns@westshire.gov.uk>\r\n\r\n#assign sam\r\n"
    ).encode()
    env.feed(raw, local(2026, 11, 23, 10, 0))
    school_replies(env)
    assert recipients(of_kind(env, "school_reply")[0]) == [PRIYA]


def test_an_unassigned_complaint_escalates_to_the_project_manager_not_a_team_lead(
    env: Env,
) -> None:
    report = jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 27, 16, 0))
    assert report.escalated == [("ICT-000001", 2)]
    [escalation] = of_kind(env, "escalation2")
    assert recipients(escalation) == [PRIYA]


def test_nothing_about_a_complaint_reaches_a_team(env: Env) -> None:
    school_replies(env)
    jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 27, 16, 0))
    sent = {address for row in env.outbox() for address in recipients(row)}
    assert PRIYA in sent
    assert not sent & (TEAMS | {DANA})


def test_complaints_without_a_project_manager_are_a_rules_error(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, folder)
    staff = folder / "staff.toml"
    staff.write_text(staff.read_text().replace('project_manager = "priya"', ""))
    with pytest.raises(RulesError) as caught:
        load_rules(folder)
    assert any(p.startswith("staff.toml: project_manager: missing") for p in caught.value.problems)


# --- complaint wording (issue 14, item 5) ---------------------------------------------


def test_a_complaint_confirmation_states_no_priority_or_targets_and_asks_no_fault_questions(
    env: Env,
) -> None:
    body = plain(of_kind(env, "confirmation")[0])
    assert "Type:       Complaint" in body
    assert "Priority:" not in body and "Fix:" not in body
    assert "when it last worked" not in body and "error messages" not in body


def test_the_heads_complaint_is_not_copied_to_the_schools_contact(env: Env) -> None:
    [confirmation] = of_kind(env, "confirmation")
    assert recipients(confirmation) == ["head@oakfield-primary.westshire.sch.uk"]


def test_unhappiness_with_how_a_call_was_handled_is_a_complaint(tmp_path: Path) -> None:
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'unhappy.db'}")
    raw = (
        b"From: Helen Marsh <head@oakfield-primary.westshire.sch.uk>\r\n"
        b"To: ictsupport@westshire.gov.uk\r\nSubject: Our call last week\r\n"
        b"Message-ID: <unhappy-1@oakfield-primary.westshire.sch.uk>\r\n\r\n"
        b"I am not happy with how our call was handled. Nobody rang back.\r\n"
    )
    t = env.feed(raw, LOGGED)
    assert t.call is not None and t.call.type == "complaint"
    assert recipients(of_kind(env, "new_call")[0]) == [PRIYA]
    assert "handled by Priya Shah, our project manager" in plain(of_kind(env, "confirmation")[0])
