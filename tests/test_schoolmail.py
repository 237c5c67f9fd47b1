"""Priority from the words: the shipped classify.toml over school emails written for the tests."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from support import ROOT, SHIPPED_RULES, Env, local, make_env, plain

from mailbot.pipeline.classify import classify_text
from mailbot.rules.loader import Rules, load_rules

CORPUS = Path(__file__).resolve().parent / "schoolmail" / "priorities.toml"
EMAILS: list[dict[str, Any]] = tomllib.loads(CORPUS.read_text())["email"]
MONDAY_9 = local(2026, 11, 23, 9, 5)


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(SHIPPED_RULES)


def test_the_corpus_has_at_least_sixty_emails_of_every_priority() -> None:
    assert len(EMAILS) >= 60
    assert {e["priority"] for e in EMAILS} == {"P1", "P2", "P3", "P4"}


@pytest.mark.parametrize("e", EMAILS, ids=[e["subject"] for e in EMAILS])
def test_each_school_email_gets_the_contract_priority(rules: Rules, e: dict[str, Any]) -> None:
    c = classify_text(rules, "office@school.example", e["subject"], e["body"])
    assert c.priority == e["priority"], c.rule
    assert c.type == e.get("type", c.type), c.rule


def test_a_lift_names_itself_in_the_rule(rules: Rules) -> None:
    c = classify_text(rules, "a@x", "MIS server crashed", "The office cannot take the register.")
    assert c.priority == "P1" and c.rule == "default, raised by: critical system down"


def test_a_lift_never_lowers_a_priority(rules: Rules) -> None:
    # Several rooms without internet is P2 by its words, but the internet rule says P1.
    c = classify_text(rules, "a@x", "Internet down", "Our internet is down in several rooms")
    assert c.priority == "P1"


def test_lifts_apply_to_incidents_only(rules: Rules) -> None:
    c = classify_text(rules, "a@x", "Please unblock a site", "All staff cannot open the site")
    assert (c.type, c.priority) == ("service_request", "P3")


def test_unless_keeps_a_recovered_outage_from_lifting(rules: Rules) -> None:
    c = classify_text(rules, "a@x", "Log on", "Nobody could log on at 8 but it is working again")
    assert c.priority == "P3"


def test_whole_school_outage_is_logged_p1_through_the_pipeline(tmp_path: Path) -> None:
    env: Env = make_env(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}")
    raw = (
        b"From: Helen Marsh <head@oakfield-primary.westshire.sch.uk>\r\n"
        b"To: ictsupport@westshire.gov.uk\r\n"
        b"Subject: URGENT - all computers down, whole school cannot log on\r\n"
        b"Date: Mon, 23 Nov 2026 09:02:11 +0000\r\n"
        b"Message-ID: <p1-words@oakfield-primary.westshire.sch.uk>\r\n\r\n"
        b"Nobody in school can log on this morning.\r\n"
    )
    env.feed(raw, MONDAY_9)
    text = plain(env.to_schools()[0])
    assert "Priority:   P1 (System unavailable, major impact)" in text
    assert "Fix:        within 1 day" in text


def test_the_bench_prints_the_confusion_matrix() -> None:
    done = subprocess.run(
        [sys.executable, "bench/schoolmail.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["expected", "\\", "given", "P1", "P2", "P3", "P4"]
    assert lines[-1] == f"schoolmail emails={len(EMAILS)} right={len(EMAILS)} wrong=0"
