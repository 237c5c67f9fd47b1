"""Tests for loading the rule files: the shipped sample, and errors naming file, entry and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mailbot.cli.main import main
from mailbot.errors import RulesError
from mailbot.rules.loader import load_rules

SHIPPED = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(SHIPPED, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(rules_dir: Path) -> list[str]:
    with pytest.raises(RulesError) as info:
        load_rules(rules_dir)
    return info.value.problems


def test_shipped_rules_load() -> None:
    rules = load_rules(SHIPPED)
    assert len(rules.directory.schools) >= 4
    assert set(rules.sla.priorities) >= {"P1", "P2", "P3", "P4"}


def test_bad_contact_email_names_file_school_and_key(rules_dir: Path) -> None:
    edit(rules_dir / "schools.toml", 'email = "head@st-marys-ce', 'email = "head-at-st-marys-ce')
    [p] = problems(rules_dir)
    assert p.startswith("schools.toml: school #2 (st-marys-ce): contacts[0].email:")


def test_unknown_role_is_reported(rules_dir: Path) -> None:
    edit(rules_dir / "schools.toml", 'roles = ["bursar"]', 'roles = ["bursr"]')
    [p] = problems(rules_dir)
    assert "contacts[1].roles" in p and "unknown role 'bursr'" in p


def test_unknown_line_manager_is_reported(rules_dir: Path) -> None:
    edit(rules_dir / "staff.toml", 'line_manager = "raj"', 'line_manager = "rja"')
    [p] = problems(rules_dir)
    assert p == "staff.toml: officer (sam): line_manager: no officer with id 'rja'"


def test_invalid_regex_names_the_rule(rules_dir: Path) -> None:
    edit(
        rules_dir / "classify.toml", "match = { text = '\\b(advice", "match = { text = '\\b((advice"
    )
    [p] = problems(rules_dir)
    assert p.startswith("classify.toml: rule #10 (advice): match.text:")
    assert "regular expression" in p


def test_unreadable_target_is_reported(rules_dir: Path) -> None:
    edit(rules_dir / "sla.toml", 'fix = "2 days"', 'fix = "2 fortnights"')
    [p] = problems(rules_dir)
    assert p.startswith("sla.toml: priorities: P2.fix:")


def test_template_with_misspelt_variable_fails_the_check(rules_dir: Path) -> None:
    edit(rules_dir / "templates" / "confirmation.txt.j2", "{{ call.ref }}", "{{ call.refernce }}")
    [p] = problems(rules_dir)
    assert p.startswith("templates/confirmation.txt.j2:") and "refernce" in p


def test_template_syntax_error_gives_the_line(rules_dir: Path) -> None:
    edit(rules_dir / "templates" / "oversize.txt.j2", "{{ limit_mb }}", "{{ limit_mb }")
    [p] = problems(rules_dir)
    assert p.startswith("templates/oversize.txt.j2: line ")


def test_missing_template_is_reported(rules_dir: Path) -> None:
    (rules_dir / "templates" / "unknown_sender.txt.j2").unlink()
    assert problems(rules_dir) == ["templates/unknown_sender.txt.j2: template is missing"]


def test_unknown_key_is_an_error(rules_dir: Path) -> None:
    edit(rules_dir / "policy.toml", "width = 6", "widht = 6")
    [p] = problems(rules_dir)
    assert p.startswith("policy.toml: references: widht:")


def test_all_problems_are_reported_together(rules_dir: Path) -> None:
    edit(rules_dir / "policy.toml", "width = 6", "width = 1")
    edit(rules_dir / "staff.toml", 'team = "email"', 'team = "mail"')
    assert len(problems(rules_dir)) == 2


def test_rules_check_command_exits_1_and_prints_the_problem(
    rules_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(rules_dir / "staff.toml", 'line_manager = "raj"', 'line_manager = "rja"')
    assert main(["rules", "check", str(rules_dir)]) == 1
    assert "staff.toml: officer (sam): line_manager" in capsys.readouterr().err


def test_rules_check_command_accepts_good_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(SHIPPED)]) == 0
    assert "valid" in capsys.readouterr().out


def test_shipped_rules_ask_for_riversides_own_report() -> None:
    reports = load_rules(SHIPPED).reports
    assert reports.aims == {"incident": 0.97, "service_request": 0.87}
    [riverside] = reports.schools
    assert riverside.school == "riverside-academy"
    assert riverside.to == ("m.cole@riverside-academy.westshire.sch.uk",)


def test_a_school_report_to_something_not_an_address_is_reported(rules_dir: Path) -> None:
    edit(rules_dir / "reports.toml", 'to = ["m.cole@', 'to = ["m.cole at ')
    [p] = problems(rules_dir)
    assert p.startswith("reports.toml: schools (riverside-academy): to: 'm.cole at ")


def test_a_school_report_for_an_unknown_school_is_reported(rules_dir: Path) -> None:
    edit(rules_dir / "reports.toml", 'school = "riverside-academy"', 'school = "riverside"')
    assert problems(rules_dir) == ["reports.toml: schools (riverside): school: no such school"]


def test_invalid_lift_pattern_names_the_lift(rules_dir: Path) -> None:
    edit(rules_dir / "classify.toml", "all = [\n  '\\b(MIS", "all = [\n  '\\b((MIS")
    [p] = problems(rules_dir)
    assert p.startswith("classify.toml: lift #2 (critical system down): all:")
    assert "regular expression" in p


def test_planned_and_availability_rules_are_checked(rules_dir: Path) -> None:
    path = rules_dir / "incidents.toml"
    edit(path, 'core_time = "08:30-15:30"', 'core_time = "half past eight"')
    edit(path, 'term_hours = "08:00-18:00"', 'term_hours = "18:00-08:00"')
    edit(path, "count_partial = false", "count_partial = false\nunknown_key = 1")
    found = "\n".join(problems(rules_dir))
    assert "core_time" in found and "half past eight" in found
    assert "term_hours" in found
    assert "unknown_key" in found


def test_planned_work_must_name_known_lists_and_its_own_prefix(rules_dir: Path) -> None:
    path = rules_dir / "incidents.toml"
    edit(path, 'prefix = "PW"', 'prefix = "MI"')
    edit(
        path,
        'lists = ["All Headteachers", "All Secondary Network Managers"]\n# Work',
        'lists = ["Everyone"]\n# Work',
    )
    found = problems(rules_dir)
    assert "incidents.toml: planned.prefix: must differ from prefix" in found
    assert "incidents.toml: planned.lists: no list 'Everyone' in lists.toml" in found
