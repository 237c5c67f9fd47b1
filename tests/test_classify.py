"""Tests for classifying new calls by the ordered rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.pipeline.classify import classify_text
from mailbot.rules.loader import Rules, load_rules

SHIPPED = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(SHIPPED)


def test_slow_internet_is_a_p2_network_incident(rules: Rules) -> None:
    c = classify_text(rules, "head@x", "Internet very slow in the ICT suite", "since this morning")
    assert (c.type, c.priority, c.team, c.rule) == ("incident", "P2", "network", "internet slow")


def test_unblock_request_is_a_service_request(rules: Rules) -> None:
    c = classify_text(rules, "a@x", "Please unblock a website", "We need the BBC bitesize site")
    assert c.type == "service_request" and c.category == "web filtering"


def test_first_matching_rule_wins(rules: Rules) -> None:
    c = classify_text(rules, "a@x", "Complaint", "the internet is down again, this is a complaint")
    assert c.type == "complaint"


def test_unmatched_mail_gets_the_defaults(rules: Rules) -> None:
    c = classify_text(rules, "a@x", "Hello", "Could someone call me back")
    assert (c.type, c.priority, c.team, c.rule) == ("incident", "P3", "service-desk", "default")


def test_certificate_update_is_a_change_request(rules: Rules) -> None:
    c = classify_text(rules, "a@x", "SSL certificate renewal", "our certificate expires soon")
    assert c.type == "change_request"
