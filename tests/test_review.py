"""The termly service review pack: `mailbot review --term autumn-2026 [--school ID] --out DIR`."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from support import Env, local, make_env, shipped_rules, write_config_file
from test_jobs import act, logged, tick
from test_satisfaction import reply

from mailbot.cli.main import main
from mailbot.errors import MailbotError
from mailbot.reports import terms


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}")


def test_a_term_is_its_half_terms_from_sla_toml() -> None:
    rules = shipped_rules()
    autumn = terms.term(rules, "autumn-2026")
    assert autumn is not None
    assert (autumn.first, autumn.last) == (date(2026, 9, 3), date(2026, 12, 18))
    assert autumn.label == "Autumn term 2026"
    spring = terms.term(rules, "spring-2027")
    assert spring is not None and (spring.first, spring.last) == (
        date(2027, 1, 5),
        date(2027, 3, 26),
    )
    assert terms.previous_name("spring-2027") == "autumn-2026"
    assert terms.previous_name("autumn-2026") == "summer-2026"
    assert terms.term(rules, "summer-2026") is None
    with pytest.raises(MailbotError):
        terms.term(rules, "winter-2026")


def late_and_rated(env: Env) -> None:
    """ICT-000001, due Wed 25 Nov 09:05, solved late on the 26th, closed, then rated 2."""
    ref = logged(env)
    act(env, ref, local(2026, 11, 26, 10, 0), "status", "solved")
    assert tick(env, local(2026, 12, 1, 10, 0)).closed == [ref]
    [closure] = [o for o in env.outbox() if o.kind == "closure"]
    reply(env, "2 - slow, but sorted", local(2026, 12, 1, 14, 0), answers=closure.message_id)


def review(tmp_path: Path, env: Env, now: str, *args: str) -> Path:
    config = write_config_file(tmp_path, url=env.config.database.url)
    out = tmp_path / "review"
    assert main(["--config", str(config), "--now", now, "review", *args, "--out", str(out)]) == 0
    return out


def test_a_schools_review_shows_its_calls_targets_missed_calls_and_ratings(
    tmp_path: Path, env: Env
) -> None:
    late_and_rated(env)
    out = review(tmp_path, env, "2026-12-21T09:00", "--term", "autumn-2026", "--school",
                 "oakfield-primary")  # fmt: skip
    page = (out / "review.html").read_text()
    assert "Service review: Autumn term 2026" in page and "Oakfield Primary School" in page
    assert "Calls logged: 1" in page
    assert "0 of 1" in page and "97%" in page
    assert "ICT-000001" in page and "solved 26 Nov 2026 10:00, after its target 25 Nov 2026" in page
    assert "mean rating <strong>2.0</strong> of 5" in page and "slow, but sorted" in page
    assert "The previous term's dates are not in sla.toml" in page
    rows = list(csv.DictReader(io.StringIO(
        (out / "review-autumn-2026-oakfield-primary.csv").read_bytes().decode("utf-8-sig")
    )))  # fmt: skip
    assert [(r["ref"], r["outcome"], r["rating"]) for r in rows] == [("ICT-000001", "missed", "2")]


def test_another_schools_review_shows_none_of_it(tmp_path: Path, env: Env) -> None:
    late_and_rated(env)
    out = review(tmp_path, env, "2026-12-21T09:00", "--term", "autumn-2026", "--school",
                 "riverside-academy")  # fmt: skip
    page = (out / "review.html").read_text()
    assert "Calls logged: 0" in page and "ICT-000001" not in page and "slow" not in page


def test_the_next_term_is_compared_with_the_last(tmp_path: Path, env: Env) -> None:
    late_and_rated(env)
    out = review(tmp_path, env, "2027-04-01T09:00", "--term", "spring-2027")
    page = (out / "review.html").read_text()
    assert "Compared with the previous term" in page
    assert "Autumn term 2026</th><th" in page and "Spring term 2027</th>" in page
    assert "2.0 (1)" in page and "- (0)" in page
    assert "0.0%" in page  # The autumn term's share, beside spring's "-".


def test_a_call_not_yet_due_is_listed_as_such_and_counts_in_no_share(
    tmp_path: Path, env: Env
) -> None:
    logged(env)
    out = review(tmp_path, env, "2026-11-23T12:00", "--term", "autumn-2026")
    page = (out / "review.html").read_text()
    assert "Calls logged: 1" in page and "0 of 0" in page
    data = (out / "review-autumn-2026.csv").read_bytes().decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(data)))
    assert (row["ref"], row["outcome"], row["rating"]) == ("ICT-000001", "not yet due", "")


@pytest.mark.servers  # headless Chromium, which scripts/test installs
def test_the_review_page_renders_in_chromium(tmp_path: Path, env: Env) -> None:
    from test_reportcmd import pixels_near, screenshot

    late_and_rated(env)
    out = review(tmp_path, env, "2026-12-21T09:00", "--term", "autumn-2026")
    shown = screenshot(out / "review.html", tmp_path)
    # The headings' colour shows the page was laid out and drawn.
    assert pixels_near(shown, "#1f3a5f") > 200


def test_major_incidents_and_open_problems_are_listed(tmp_path: Path, env: Env) -> None:
    late_and_rated(env)
    # A reply long after the closure that is no rating: a follow-up call, and a problem record.
    again = reply(env, "The internet is very slow again.", local(2026, 12, 8, 10, 0), n=9)
    assert again.call is not None and again.call.ref == "ICT-000002"
    config = write_config_file(tmp_path, url=env.config.database.url)
    declare = ["incidents", "declare", "Internet down", "--by", "raj.patel@westshire.gov.uk"]
    assert main(["--config", str(config), "--now", "2026-12-09T09:00", *declare]) == 0
    page = review(tmp_path, env, "2026-12-21T09:00", "--term", "autumn-2026") / "review.html"
    text = page.read_text()
    assert "Major incidents: 1" in text and "MI-0001" in text and "Internet down" in text
    assert "Open problems: 1" in text and "ICT-000003" in text
    mine = review(tmp_path, env, "2026-12-21T09:00", "--term", "autumn-2026", "--school",
                  "oakfield-primary")  # fmt: skip
    text = (mine / "review.html").read_text()
    assert "Major incidents: 0" in text and "No major incident affected the school" in text
