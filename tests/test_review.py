"""The termly review pack's figures and page: terms, judging as the monthly report, the sections."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from support import LONDON, SHIPPED_RULES, local, make_config

from mailbot.reports import review
from mailbot.reports.figures import CallRow, IncidentRow, Outcome, judge
from mailbot.reports.review import Satisfaction, ServiceAvailability, Term
from mailbot.rules.files import Term as TermPart
from mailbot.rules.loader import load_rules

RULES = load_rules(SHIPPED_RULES)
SUMMER = Term(date(2026, 4, 13), date(2026, 7, 22), "summer-2026", date(2026, 4, 13))
AUTUMN = Term(date(2026, 9, 3), date(2026, 12, 18), "autumn-2026", date(2026, 7, 23))
AIMS = {"incident": 0.97, "service_request": 0.87}
NOW = local(2026, 12, 19, 0, 0)


def row(
    ref: str, logged: datetime, due: datetime | None, solved: datetime | None, **kw: object
) -> CallRow:
    fields: dict[str, object] = {
        "ref": ref, "school_id": "oakfield-primary", "type": "incident", "priority": "P3",
        "status": "solved" if solved else "open", "subject": f"Subject {ref}",
        "created_at": logged, "fix_due_at": due, "solved_at": solved,
    }  # fmt: skip
    fields.update(kw)
    return CallRow(**fields)  # type: ignore[arg-type]


def compute(calls: list[CallRow], **kw: object) -> review.ReviewFigures:
    args: dict[str, object] = {"school_id": None, "aims": AIMS, "zone": LONDON, "now": NOW}
    args.update(kw)
    return review.compute(AUTUMN, SUMMER, calls, [], [], **args)  # type: ignore[arg-type]


def test_the_shipped_half_terms_make_three_named_review_terms_covering_every_day() -> None:
    terms = review.terms(RULES.sla.calendar.terms)
    assert [(t.name, t.first, t.last) for t in terms] == [
        ("autumn-2026", date(2026, 9, 3), date(2026, 12, 18)),
        ("spring-2027", date(2027, 1, 5), date(2027, 3, 26)),
        ("summer-2027", date(2027, 4, 12), date(2027, 7, 21)),
    ]
    # The Christmas holiday belongs to the spring term's pack, so no day is in none.
    assert terms[1].since == date(2026, 12, 19)
    assert terms[2].since == terms[1].last + timedelta(days=1)
    assert terms[0].label == "Autumn 2026"


def test_unnamed_term_parts_are_named_by_the_season_and_year_they_start_in() -> None:
    parts = [
        TermPart(start=date(2027, 9, 2), end=date(2027, 10, 22)),
        TermPart(start=date(2027, 11, 1), end=date(2027, 12, 17)),
        TermPart(start=date(2028, 1, 4), end=date(2028, 3, 24)),
        TermPart(start=date(2028, 4, 10), end=date(2028, 7, 20)),
    ]
    assert [t.name for t in review.terms(parts)] == ["autumn-2027", "spring-2028", "summer-2028"]


def test_a_terms_pack_falls_due_at_midnight_after_its_last_day() -> None:
    terms = review.terms(RULES.sla.calendar.terms)
    assert review.due_term(terms, LONDON, local(2026, 12, 18, 23, 59)) is None
    due = review.due_term(terms, LONDON, local(2026, 12, 19, 0, 0))
    assert due is not None and due.name == "autumn-2026"
    # It stays the due term until the next one ends.
    later = review.due_term(terms, LONDON, local(2027, 3, 26, 23, 59))
    assert later is not None and later.name == "autumn-2026"


def test_each_call_counts_in_the_term_its_outcome_was_settled_as_judge_says() -> None:
    in_time = row("A", local(2026, 10, 1, 9), local(2026, 10, 2, 17), local(2026, 10, 2, 9))
    late = row("B", local(2026, 11, 2, 9), local(2026, 11, 3, 17), local(2026, 11, 9, 9))
    overdue = row("C", local(2026, 12, 1, 9), local(2026, 12, 8, 17), None)
    # Logged in summer, target passed in autumn: counts in autumn.
    from_summer = row("D", local(2026, 7, 20, 9), local(2026, 9, 4, 17), None)
    # Target after the term's end: not yet judged.
    pending = row("E", local(2026, 12, 17, 9), local(2027, 1, 6, 17), None)
    # Solved in time in the summer: summer's figure, not autumn's.
    summer = row("F", local(2026, 6, 1, 9), local(2026, 6, 2, 17), local(2026, 6, 1, 15))
    request = row("G", local(2026, 10, 5, 9), local(2026, 10, 9, 17), local(2026, 10, 6, 9),
                  type="service_request", priority="P4")  # fmt: skip
    calls = [in_time, late, overdue, from_summer, pending, summer, request]
    figures = compute(calls)
    assert [(j.call.ref, j.outcome) for j in figures.missed] == [
        ("D", Outcome.MISSED), ("B", Outcome.MISSED), ("C", Outcome.MISSED),
    ]  # fmt: skip
    for j in figures.rows:
        assert j.outcome is judge(j.call, NOW)[0]
    shares = {s.key: s for s in figures.current.shares}
    assert (shares["incident"].in_target, shares["incident"].missed) == (1, 3)
    assert (shares["service_request"].in_target, shares["service_request"].missed) == (1, 0)
    assert shares["incident"].aim == 0.97 and shares["incident"].met is False
    assert (figures.current.total.in_target, figures.current.total.missed) == (2, 3)
    assert figures.current.logged == 5  # A, B, C, E, G were logged in the autumn
    assert figures.not_yet_due == 1  # E
    assert dict(figures.current.by_type) == {"incident": 4, "service_request": 1}
    assert dict(figures.by_priority) == {"P3": 4, "P4": 1}


def test_the_previous_term_is_judged_alike_for_the_comparison() -> None:
    summer = [
        row(f"S{n}", local(2026, 5, n, 9), local(2026, 5, n, 17), local(2026, 5, n, 12))
        for n in range(4, 8)
    ]
    autumn = [row("A", local(2026, 10, 1, 9), local(2026, 10, 2, 17), None)]
    figures = compute([*summer, *autumn])
    assert figures.previous is not None
    assert figures.previous.term == SUMMER
    assert (figures.previous.logged, figures.previous.total.share) == (4, 1.0)
    assert (figures.current.logged, figures.current.total.share) == (1, 0.0)


def test_without_a_previous_term_there_is_nothing_to_compare() -> None:
    figures = review.compute(
        AUTUMN, None, [], [], [], school_id=None, aims=AIMS, zone=LONDON, now=NOW
    )
    assert figures.previous is None and figures.empty


def test_a_missed_calls_reason_is_read_from_its_revised_deadline() -> None:
    due = local(2026, 10, 2, 17)
    logged = local(2026, 10, 1, 9)
    call = row("A", logged, due, None, revised_due_at=due, revised_reason=" parts on order ")
    assert review.missed_reason(call) == "parts on order"
    # A reason without a revised deadline is left over from one withdrawn: not shown.
    assert review.missed_reason(replace(call, revised_due_at=None)) == ""


def test_problems_open_at_the_terms_end_and_incidents_during_it_are_listed() -> None:
    open_problem = row("P1", local(2026, 10, 1, 9), None, None, type="problem")
    closed = row("P2", local(2026, 10, 1, 9), None, None, type="problem", status="closed",
                 closed_at=local(2026, 11, 1, 9))  # fmt: skip
    incidents = [
        IncidentRow("INC-1", "No internet", local(2026, 11, 23, 9), local(2026, 11, 23, 11)),
        IncidentRow("INC-0", "Old one", local(2026, 5, 1, 9), local(2026, 5, 1, 11)),
    ]
    figures = review.compute(
        AUTUMN, SUMMER, [], [open_problem, closed], incidents,
        school_id=None, aims=AIMS, zone=LONDON, now=NOW,
    )  # fmt: skip
    assert [p.ref for p in figures.problems] == ["P1"]
    assert [i.ref for i in figures.incidents] == ["INC-1"]


@pytest.fixture
def config(tmp_path: Path) -> object:
    return make_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}")


def test_satisfaction_and_availability_show_only_when_given(config: object) -> None:
    from mailbot.reports import reviewpack

    late = row("B", local(2026, 11, 2, 9), local(2026, 11, 3, 17), None,
               revised_due_at=local(2026, 11, 3, 17), revised_reason="parts on order")  # fmt: skip
    bare = compute([late])
    plain = reviewpack.compose(config, RULES, bare, None, lambda c: c.filename)  # type: ignore[arg-type]
    for text in (plain.html, plain.text):
        assert "Satisfaction" not in text and "Availability" not in text
        assert "parts on order" in text
    given = compute(
        [late],
        satisfaction=Satisfaction(4.25, 8, ("Quick & friendly",)),
        availability=(ServiceAvailability("Internet", 99.41, 99.5, ("INC-0007",)),),
    )
    full = reviewpack.compose(config, RULES, given, None, lambda c: c.filename)  # type: ignore[arg-type]
    assert "<h2" in full.html and ">Satisfaction</h2>" in full.html
    assert "Quick &amp; friendly" in full.html and "4.2" in full.html
    assert ">Availability</h2>" in full.html and "99.41%" in full.html and "INC-0007" in full.html
    assert "Satisfaction: mean 4.2 from 8 ratings" in full.text
    assert "Internet: 99.41% (target 99.5%, NOT MET); INC-0007" in full.text


def test_the_page_compares_each_share_with_the_previous_term(config: object) -> None:
    from mailbot.reports import reviewpack

    summer = [
        row(f"S{n}", local(2026, 5, n, 9), local(2026, 5, n, 17), local(2026, 5, n, 12))
        for n in range(4, 8)
    ]
    autumn = [
        row("A", local(2026, 10, 1, 9), local(2026, 10, 2, 17), local(2026, 10, 1, 12)),
        row("B", local(2026, 10, 5, 9), local(2026, 10, 6, 17), None),
    ]
    pack = reviewpack.compose(
        config, RULES, compute([*summer, *autumn]), None, lambda c: c.filename
    )  # type: ignore[arg-type]
    assert "Compared with Summer 2026" in pack.html
    assert "Incident: 50.0% (was 100.0%), -50.0 points" in pack.text
    assert "Compared with Summer 2026 (4 calls logged)" in pack.text
    # Both terms are drawn: the share chart has a point per term.
    alts = [c.alt for c in pack.charts]
    assert alts == [
        "Share of calls fixed within target, Summer 2026 and Autumn 2026",
        "Calls logged by type, Summer 2026 and Autumn 2026",
    ]


def test_the_rules_refuse_a_review_recipient_who_is_not_an_officer(tmp_path: Path) -> None:
    import shutil

    from mailbot.errors import RulesError

    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    toml = rules / "reports.toml"
    toml.write_text(
        toml.read_text()
        .replace("heads = false", 'heads = false\nto = ["nobody"]')
        .replace("to = []\n# Whether", "# Whether")
    )
    with pytest.raises(RulesError, match=r"review\.to: no officer 'nobody'"):
        load_rules(rules)


def test_the_rules_refuse_term_names_whose_parts_straddle_another_term(tmp_path: Path) -> None:
    import shutil

    from mailbot.errors import RulesError

    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    sla = rules / "sla.toml"
    # The second spring half-term named autumn: autumn now spans spring's first half.
    text = sla.read_text()
    at = text.index("start = 2027-02-22")
    sla.write_text(text[:at] + text[at:].replace('"spring-2027"', '"autumn-2026"', 1))
    with pytest.raises(RulesError, match="terms 'autumn-2026' and 'spring-2027' overlap"):
        load_rules(rules)


def test_satisfaction_counts_the_ratings_given_in_the_term() -> None:
    start, end = AUTUMN.bounds(LONDON)
    logged = local(2026, 6, 1, 9, 0)  # logged in an earlier term, rated in this one
    calls = [
        row("ICT-000001", logged, None, None, rating=2, rated_at=local(2026, 10, 5, 9, 0),
            rating_comment="Nobody told us the engineer was coming."),
        row("ICT-000002", logged, None, None, rating=5, rated_at=local(2026, 12, 1, 9, 0)),
        row("ICT-000003", logged, None, None, rating=1, rated_at=local(2026, 12, 19, 9, 0)),
        row("ICT-000004", logged, None, None),
    ]  # fmt: skip
    found = review.satisfaction_of(calls, start, end)
    assert found.count == 2
    assert found.mean == pytest.approx(3.5)
    assert found.comments == ("ICT-000001 (2): Nobody told us the engineer was coming.",)
    assert review.satisfaction_of(calls[3:], start, end) == Satisfaction(None, 0, ())
