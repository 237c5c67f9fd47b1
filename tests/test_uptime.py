"""Tests for availability wired to incidents: services named, figures, the CLI and the report."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from support import Env, authenticated, local, make_env_with, of_kind, plain

from mailbot.cli.main import main
from mailbot.incidents import incident, planned, uptime
from mailbot.reports import monthly
from mailbot.reports.job import figures_for
from mailbot.sla.months import Month
from mailbot.storage.db import transaction

RAJ = "raj.patel@westshire.gov.uk"
NOVEMBER = Month(2026, 11)
# November 2026 in the SLA's hours: 21 term-time weekdays (2-30 November, no
# bank holiday) of 08:00-18:00, worked out by hand.
NOVEMBER_MINUTES = 21 * 600


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env_with(tmp_path, db_url, "school-new-request", local(2026, 11, 23, 9, 5))


def cli(env: Env, tmp_path: Path) -> list[str]:
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[service]\naddress = "ictsupport@westshire.gov.uk"\n'
        f'[imap]\nhost = "127.0.0.1"\nport = 1\n[smtp]\nhost = "127.0.0.1"\nport = 1\n'
        f'[database]\nurl = "{env.config.database.url}"\n'
        f'[rules]\ndir = "{env.config.rules.dir}"\n',
        encoding="utf-8",
    )
    return ["--config", str(config)]


def outage(env: Env, services: tuple[str, ...], kind: str = "full") -> None:
    """MI-0001 on ``services``, Monday 30 November 09:00-12:00."""
    with transaction(env.sessions) as session:
        found = incident.declare(
            session, env.rules, title="Internet down", details="Link failed.",
            by=incident.By(RAJ, local(2026, 11, 30, 9, 0)),
        )  # fmt: skip
        incident.set_services(found, services, kind, incident.By(RAJ, local(2026, 11, 30, 9, 0)))
        incident.resolve(
            session, env.config, env.rules, found, "Fixed.",
            incident.By(RAJ, local(2026, 11, 30, 12, 0)),
        )  # fmt: skip


def planned_work(env: Env) -> None:
    """Agreed work on the internet, 30 November 10:00-11:00 (recorded as agreed, unchecked)."""
    window = planned.Window(local(2026, 11, 30, 10, 0), local(2026, 11, 30, 11, 0), ("internet",))
    with transaction(env.sessions) as session:
        planned.announce(
            session, env.rules, title="Router swap", details="", window=window,
            by=incident.By(RAJ, local(2026, 11, 23, 10, 0)),
        )  # fmt: skip


def by_service(env: Env, now: datetime) -> dict[str, uptime.ServiceFigure]:
    with env.sessions() as session:
        found = uptime.figures(session, env.rules, *NOVEMBER.bounds(env.rules.calendar.zone), now)
    return {f.service: f for f in found}


def test_staff_name_the_services_and_the_kind_of_outage_by_email(env: Env) -> None:
    notice = of_kind(env, "new_call")[0].message_id
    lines = (
        "#major declare Internet down\r\n#major services internet, web filtering\r\n"
        "#major outage partial\r\n\r\nSlow everywhere."
    )
    raw = (
        "From: Raj Patel <raj.patel@westshire.gov.uk>\r\nTo: ictsupport@westshire.gov.uk\r\n"
        "Subject: RE: [ICT-000001] Oakfield\r\nMessage-ID: <svc@westshire.gov.uk>\r\n"
        f"In-Reply-To: {notice}\r\n\r\n{lines}\r\n"
    )
    env.feed(authenticated(raw.encode()), local(2026, 11, 23, 9, 30))
    text = plain(of_kind(env, "receipt")[-1])
    assert "MI-0001 affects internet, web filtering" in text
    assert "MI-0001 is a partial outage" in text
    raw = raw.replace("<svc@", "<svc2@").replace(lines, "#major services printers\r\n")
    env.feed(authenticated(raw.encode()), local(2026, 11, 23, 9, 40))
    assert "name the services it affects" in plain(of_kind(env, "receipt")[-1])


def test_a_full_outage_counts_only_in_the_hours_and_only_for_its_services(env: Env) -> None:
    outage(env, ("internet",))
    found = by_service(env, local(2026, 12, 2, 9, 0))
    internet = found["internet"]
    assert (internet.figure.hours_minutes, internet.figure.down_minutes) == (NOVEMBER_MINUTES, 180)
    assert internet.met is False  # 180 of 12600 minutes is 98.57%
    assert [(b.ref, b.minutes) for b in internet.behind] == [("MI-0001", 180)]
    assert found["email"].figure.down_minutes == 0 and found["email"].met


def test_agreed_planned_work_is_taken_out_of_both_the_outage_and_the_hours(env: Env) -> None:
    outage(env, ("internet",))
    planned_work(env)
    internet = by_service(env, local(2026, 12, 2, 9, 0))["internet"]
    assert (internet.figure.hours_minutes, internet.figure.down_minutes) == (
        NOVEMBER_MINUTES - 60,
        120,
    )
    assert [(b.ref, b.outage, b.minutes) for b in internet.behind] == [
        ("MI-0001", "full", 120),
        ("PW-0002", "planned", 60),
    ]


def test_a_partial_outage_is_listed_but_counted_only_when_the_rules_say(env: Env) -> None:
    outage(env, ("internet",), "partial")
    internet = by_service(env, local(2026, 12, 2, 9, 0))["internet"]
    assert internet.figure.down_minutes == 0
    assert [(b.ref, b.counted) for b in internet.behind] == [("MI-0001", False)]
    counting = env.rules.incidents.availability.model_copy(update={"count_partial": True})
    incidents = env.rules.incidents.model_copy(update={"availability": counting})
    env = replace(env, rules=replace(env.rules, incidents=incidents))
    assert by_service(env, local(2026, 12, 2, 9, 0))["internet"].figure.down_minutes == 180


def test_mailbot_availability_prints_each_service_with_the_incidents_behind_it(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = cli(env, tmp_path)
    at = ["--now", "2026-11-30T09:00"]
    assert main([*base, *at, "incidents", "declare", "Internet down", "--services", "internet",
                 "--by", "raj"]) == 0  # fmt: skip
    at = ["--now", "2026-11-30T12:00"]
    assert main([*base, *at, "incidents", "resolve", "MI-0001", "Fixed", "--by", "raj"]) == 0
    capsys.readouterr()
    assert main([*base, "--now", "2026-12-02T09:00", "availability", "--month", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "Availability, November 2026, against 99.5%" in out
    assert "internet          98.57%  MISSED  down 180 of 12600 minutes" in out
    assert "MI-0001 Internet down (full): 180 minutes" in out
    assert "email            100.00%  met" in out
    assert main([*base, "--now", "2026-12-02T09:00", "availability", "--term", "2026-11-02",
                 "--json"]) == 0  # fmt: skip
    term = json.loads(capsys.readouterr().out)
    [internet] = [s for s in term["services"] if s["service"] == "internet"]
    # The term of 2 November to 18 December, counted up to now.
    assert internet["down_minutes"] == 180


def test_the_monthly_report_shows_availability_against_the_target(env: Env) -> None:
    outage(env, ("internet",))
    planned_work(env)
    figures = figures_for(env.sessions, env.rules, NOVEMBER, None, local(2026, 12, 2, 9, 0))
    report = monthly.compose(env.config, env.rules, figures, None, lambda c: c.filename)
    assert "Availability in the SLA's hours, against 99.5%" in report.text
    assert "internet: 99.04% MISSED (down 120 of 12540 minutes)" in report.text
    assert "MI-0001 Internet down: full, 120 minutes" in report.text
    assert "PW-0002 Router swap: planned, 60 minutes" in report.text
    assert "Availability against 99.5%" in report.html
    # Planned work is not a major incident.
    assert "Major incidents: 1" in report.text


def test_planned_work_is_not_listed_as_an_incident(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planned_work(env)
    assert main([*cli(env, tmp_path), "incidents", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_the_termly_review_pack_shows_availability_over_the_term(env: Env) -> None:
    from mailbot.reports import review, reviewjob, reviewpack

    outage(env, ("internet",))
    planned_work(env)
    term = review.find(reviewjob.all_terms(env.rules), "autumn-2026")
    assert term is not None
    figures = reviewjob.figures_for(env.sessions, env.rules, term, None, local(2026, 12, 19, 9, 0))
    assert figures.availability is not None
    internet = next(a for a in figures.availability if a.service == "internet")
    # The three-hour outage less the hour of agreed work, in the term's hours.
    assert internet.incidents == ("MI-0001", "PW-0002")
    assert internet.target == pytest.approx(99.5)
    assert 99.0 < internet.percent < 100.0
    email = next(a for a in figures.availability if a.service == "email")
    assert email.percent == pytest.approx(100.0)
    pack = reviewpack.compose(env.config, env.rules, figures, None, lambda c: c.filename)
    assert f"internet: {internet.percent:.2f}% (target 99.5%" in pack.text
