"""The monthly report over a month of generated calls, on SQLite and PostgreSQL.

The numbers are checked against counts the test makes from each call's
known fate, never against the code's own arithmetic.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from reportcalls import (
    COUNTS_IN_TARGET,
    COUNTS_MISSED,
    NOT_YET_DUE,
    OVERDUE,
    SCHOOL_NAMES,
    SCHOOLS,
    Made,
    count,
    make_month,
)
from support import Env, local, make_env

from mailbot.reports import job, monthly
from mailbot.reports.figures import Figures
from mailbot.sla.months import Month

NOVEMBER = Month(2026, 11)
REPORT_TIME = local(2026, 12, 1, 8, 0)
RIVERSIDE = "riverside-academy"
LABELS = {
    "incident": "Incident",
    "service_request": "Service request",
    "change_request": "Change request",
    "complaint": "Complaint",
}


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


@pytest.fixture
def made(env: Env) -> list[Made]:
    return make_month(env.sessions)


def figures(env: Env, school: str | None = None) -> Figures:
    return job.figures_for(env.sessions, env.rules, NOVEMBER, school, REPORT_TIME)


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def compose(env: Env, school: str | None = None) -> monthly.Report:
    found = env.rules.directory.school(school) if school else None
    return monthly.compose(env.config, env.rules, figures(env, school), found, lambda c: c.filename)


def test_calls_by_type_priority_and_school_match_an_independent_count(
    env: Env, made: list[Made]
) -> None:
    expected = count(made)
    f = figures(env)
    assert len(f.logged) == expected["logged"] == 60
    assert dict(f.by_type) == expected["by_type"]
    assert dict(f.by_priority) == expected["by_priority"]
    assert {line.school_id: line.logged for line in f.by_school} == expected["by_school"]


def test_fixed_within_target_per_type_matches_an_independent_count(
    env: Env, made: list[Made]
) -> None:
    expected = count(made)
    shares = {s.key: s for s in figures(env).shares}
    for kind in set(expected["in_target"]) | set(expected["missed"]):  # type: ignore[arg-type]
        assert shares[kind].in_target == expected["in_target"][kind], kind  # type: ignore[index]
        assert shares[kind].missed == expected["missed"][kind], kind  # type: ignore[index]
    assert shares["incident"].aim == 0.97 and shares["service_request"].aim == 0.87


def test_share_per_school_matches_an_independent_count(env: Env, made: list[Made]) -> None:
    expected = count(made)
    for line in figures(env).by_school:
        assert line.share.in_target == expected["school_in_target"][line.school_id]  # type: ignore[index]
        assert line.share.missed == expected["school_missed"][line.school_id]  # type: ignore[index]


def test_the_text_version_states_each_share_against_its_aim(env: Env, made: list[Made]) -> None:
    expected = count(made)
    text = compose(env).text
    for kind in ("incident", "service_request"):
        hit = expected["in_target"][kind]  # type: ignore[index]
        judged = hit + expected["missed"][kind]  # type: ignore[index]
        assert f"  {LABELS[kind]}: {hit} of {judged}, {hit / judged * 100:.1f}% (aim " in text


def test_every_missed_call_is_listed_with_its_revised_deadline_and_reason(
    env: Env, made: list[Made]
) -> None:
    expected: dict[str, str] = count(made)["missed_refs"]  # type: ignore[assignment]
    f = figures(env)
    assert {j.call.ref: j.call.revised_reason for j in f.missed} == expected
    assert any(expected.values()), "the month has revised deadlines"
    html = compose(env).html
    for ref, reason in expected.items():
        assert ref in html
        if reason:
            row = html[html.index(f">{ref}<") :]
            assert reason in row[: row.index("</tr>")]


def test_calls_not_yet_due_count_in_no_share_and_are_reported_as_such(
    env: Env, made: list[Made]
) -> None:
    f = figures(env)
    assert f.not_yet_due == count(made)["not_yet_due"] > 0
    pending = {m.ref for m in made if m.fate in NOT_YET_DUE}
    assert not pending & {j.call.ref for j in f.rows if j.month == NOVEMBER}


def test_open_problems_and_major_incidents_are_listed(env: Env, made: list[Made]) -> None:
    expected = count(made)
    f = figures(env)
    assert {p.ref for p in f.problems} == expected["problems"]
    assert {i.ref for i in f.incidents} == expected["incidents"] == {"MI-0001", "MI-0002"}
    assert "2 hours 30 minutes" in compose(env).html  # MI-0001: 09:00 to 11:30.


def test_the_csv_lists_every_call_counted_with_its_outcome(env: Env, made: list[Made]) -> None:
    rows = csv_rows(compose(env).csv)
    assert {r["ref"] for r in rows} == count(made)["rows"]
    fates = {m.ref: m.fate for m in made}
    for row in rows:
        fate = fates[row["ref"]]
        want = "in target" if fate in COUNTS_IN_TARGET else ""
        want = "missed" if fate in COUNTS_MISSED else want
        assert row["outcome"] == (want or "not yet due"), row
        assert row["judged_in"] == ("2026-11" if want else "")


def test_the_twelve_month_trend_counts_each_month_by_its_own_judgements(
    env: Env, made: list[Made]
) -> None:
    trend = dict(figures(env).trend)
    assert list(trend) == [Month(2025, 12).shift(n) for n in range(12)]
    october = {s.key: (s.in_target, s.missed) for s in trend[Month(2026, 10)]}
    # Only the three October calls solved in October count in October.
    assert october == {"incident": (2, 0), "service_request": (1, 0)}
    november = {s.key: (s.in_target, s.missed) for s in trend[NOVEMBER]}
    expected = count(made)
    for kind in ("incident", "service_request"):
        assert november[kind] == (expected["in_target"][kind], expected["missed"][kind])  # type: ignore[index]


def test_a_schools_report_is_computed_from_its_own_calls_alone(env: Env, made: list[Made]) -> None:
    expected = count(made, RIVERSIDE)
    f = figures(env, RIVERSIDE)
    assert {j.call.school_id for j in f.rows} == {RIVERSIDE}
    assert {p.school_id for p in f.problems} == {RIVERSIDE}
    assert len(f.logged) == expected["logged"]
    assert dict(f.by_type) == expected["by_type"]
    assert {s.key: s.in_target for s in f.shares if s.in_target} == expected["in_target"]
    assert {s.key: s.missed for s in f.shares if s.missed} == expected["missed"]
    assert {i.ref for i in f.incidents} == {"MI-0002"}
    volume = sum(n for _, counts in f.volume for _, n in counts)
    assert volume == sum(1 for m in made if m.school == RIVERSIDE and m.type != "problem")


def test_a_schools_report_shows_no_other_schools_calls(env: Env, made: list[Made]) -> None:
    rendered = compose(env, RIVERSIDE)
    others = [m for m in made if m.school != RIVERSIDE]
    words = [m.ref for m in others] + [m.subject for m in others]
    words += [SCHOOLS[s] for s in SCHOOLS if s != RIVERSIDE]  # "Oakfield", "St Marys"
    words += ["St Mary", "Oakfield firewall outage", "MI-0001"]
    csv_text = rendered.csv.decode("utf-8-sig")
    for part in (rendered.html, rendered.text, csv_text):
        leaks = [w for w in words if re.search(rf"\b{re.escape(w)}\b", part)]
        assert leaks == []
    mine = [m for m in made if m.school == RIVERSIDE and m.logged_in_november]
    assert all(m.ref in csv_text for m in mine) and mine
    assert {r["school"] for r in csv_rows(rendered.csv)} == {SCHOOL_NAMES[RIVERSIDE]}


def test_text_from_a_school_is_escaped_in_the_html(env: Env, made: list[Made]) -> None:
    from mailbot.storage.db import transaction
    from mailbot.storage.models import Call

    shown = next(m for m in made if m.fate == OVERDUE)  # Missed calls are listed.
    with transaction(env.sessions) as session:
        call = session.query(Call).filter_by(ref=shown.ref).one()
        call.subject = '<script>alert("x")</script> & <b>bold</b>'
    html = compose(env).html
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html


def test_a_subject_that_a_spreadsheet_would_run_is_quoted_in_the_csv(
    env: Env, made: list[Made]
) -> None:
    from mailbot.storage.db import transaction
    from mailbot.storage.models import Call

    with transaction(env.sessions) as session:
        call = session.query(Call).filter_by(ref=made[0].ref).one()
        call.subject = '=HYPERLINK("http://evil.example","click")'
    [row] = [r for r in csv_rows(compose(env).csv) if r["ref"] == made[0].ref]
    assert row["subject"] == "'" + '=HYPERLINK("http://evil.example","click")'


def test_the_email_shows_its_charts_inline_by_content_id_and_attaches_the_csv(
    env: Env, made: list[Made]
) -> None:
    out, raw = monthly.email(
        env.config, env.rules, figures(env), None, audience="overall",
        to=("priya.shah@westshire.gov.uk",), now=REPORT_TIME,
    )  # fmt: skip
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg.get_content_type() == "multipart/mixed"
    assert msg["Auto-Submitted"] == "auto-generated" and msg["X-Mailbot-Id"] == "report"
    assert msg["Subject"] == "Monthly report November 2026: All schools"
    html_part = msg.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    images = {
        str(p["Content-ID"]).strip("<>"): p.get_content()
        for p in msg.walk()
        if p.get_content_type() == "image/png"
    }
    assert len(images) == 2
    assert set(re.findall(r'src="cid:([^"]+)"', html)) == set(images)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images.values())
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "calls-2026-11.csv"
    assert len(csv_rows(attachment.get_content().encode("utf-8"))) == len(count(made)["rows"])
    assert out.message_id == msg["Message-ID"]
