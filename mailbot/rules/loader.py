"""Load the administrators' rule files into one validated, typed Rules object."""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mailbot.errors import RulesError
from mailbot.rules.directory import ROLES, Directory
from mailbot.rules.files import (
    CALL_TYPES,
    ChangeRules,
    Classification,
    ClassRule,
    Lift,
    Policy,
    ReportRules,
    SchoolsFile,
    Sla,
    StaffFile,
)
from mailbot.rules.incidentfiles import DistributionList, IncidentRules, ListsFile
from mailbot.rules.templates import Templates, load_templates
from mailbot.sla.calendar import SupportCalendar, Target, calendar_from_rules
from mailbot.sla.clock import EscalationLevel, SlaPolicy

_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class CompiledLift:
    """One priority lift with its patterns compiled once."""

    lift: Lift
    patterns: tuple[re.Pattern[str], ...]
    unless: re.Pattern[str] | None


@dataclass(frozen=True)
class Rules:
    """Everything the administrators configure, loaded and checked together."""

    policy: Policy
    classification: Classification
    sla: Sla
    directory: Directory
    calendar: SupportCalendar
    templates: Templates
    compiled: tuple[tuple[ClassRule, dict[str, re.Pattern[str]]], ...]
    clock: SlaPolicy
    lists: tuple[DistributionList, ...]
    incidents: IncidentRules
    changes: ChangeRules
    reports: ReportRules
    # Priority lifts from classify.toml, each with its patterns compiled.
    lifts: tuple[CompiledLift, ...] = ()


def _entry_label(data: Any, loc: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """Turn a validation location into ("entry", remaining key path)."""
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data, dict):
        items = data.get(loc[0])
        if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
            item = items[loc[1]]
            label = item.get("id") or item.get("name")
            name = f"{loc[0]} #{loc[1] + 1}" + (f" ({label})" if label else "")
            return name, loc[2:]
    if len(loc) >= 2:
        return str(loc[0]), loc[1:]
    return "(top level)", loc


def _key_path(rest: tuple[Any, ...]) -> str:
    out = ""
    for part in rest:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(whole entry)"


def _load(path: Path, model: type[_M], problems: list[str], optional: bool = False) -> _M | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if optional:
            return model.model_validate({})
        problems.append(f"{path.name}: file is missing")
        return None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{path.name}: cannot read: {exc}")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            entry, rest = _entry_label(data, tuple(err["loc"]))
            problems.append(f"{path.name}: {entry}: {_key_path(rest)}: {err['msg']}")
        return None


def _cross_check(staff: StaffFile, schools: SchoolsFile, cls: Classification) -> list[str]:
    """Check references between files, which per-file validation cannot see."""
    problems: list[str] = []
    officer_ids = {o.id for o in staff.officer}
    team_ids = {t.id for t in staff.team}
    for t in staff.team:
        if t.lead not in officer_ids:
            problems.append(f"staff.toml: team ({t.id}): lead: no officer with id {t.lead!r}")
    for o in staff.officer:
        if o.team not in team_ids:
            problems.append(f"staff.toml: officer ({o.id}): team: no team with id {o.team!r}")
        if o.line_manager and o.line_manager not in officer_ids:
            problems.append(
                f"staff.toml: officer ({o.id}): line_manager: no officer with id {o.line_manager!r}"
            )
    if staff.project_manager and staff.project_manager not in officer_ids:
        problems.append(
            f"staff.toml: project_manager: no officer with id {staff.project_manager!r}"
        )
    # Complaints go to the project manager and never to a team, so the rules
    # that classify mail as a complaint need one to send it to.
    complains = cls.default.type == "complaint" or any(r.set.type == "complaint" for r in cls.rule)
    if complains and not staff.project_manager:
        problems.append(
            "staff.toml: project_manager: missing, but classify.toml makes complaints, "
            "which go to the project manager"
        )
    seen: set[str] = set()
    for s in schools.school:
        if s.id in seen:
            problems.append(f"schools.toml: school ({s.id}): id: duplicate id")
        seen.add(s.id)
    for rule in cls.rule:
        if rule.set.team and rule.set.team not in team_ids:
            problems.append(
                f"classify.toml: rule ({rule.name}): set.team: no team {rule.set.team!r}"
            )
    if cls.default.team and cls.default.team not in team_ids:
        problems.append(f"classify.toml: default: team: no team {cls.default.team!r}")
    return problems


def _check_service(
    staff: StaffFile,
    schools: SchoolsFile,
    lists: ListsFile,
    incidents: IncidentRules,
    changes: ChangeRules,
    reports: ReportRules,
) -> list[str]:
    """Check the names the optional files use against lists, staff and schools."""
    problems: list[str] = []
    officer_ids = {o.id for o in staff.officer} | {o.email for o in staff.officer}
    school_ids = {s.id for s in schools.school}
    names = [entry.name for entry in lists.list]
    for entry in lists.list:
        if names.count(entry.name) > 1:
            problems.append(f"lists.toml: list ({entry.name}): name: duplicate")
        unknown = sorted(set(entry.roles) - ROLES)
        if unknown:
            problems.append(f"lists.toml: list ({entry.name}): roles: unknown role {unknown[0]!r}")
    for name in incidents.lists:
        if name not in names:
            problems.append(f"incidents.toml: lists: no list {name!r} in lists.toml")
    for name in incidents.planned.lists:
        if name not in names:
            problems.append(f"incidents.toml: planned.lists: no list {name!r} in lists.toml")
    if incidents.planned.prefix == incidents.prefix:
        problems.append("incidents.toml: planned.prefix: must differ from prefix")
    for key in ("board", "emergency_board"):
        for member in getattr(changes, key):
            if member not in officer_ids:
                problems.append(f"changes.toml: {key}: no officer {member!r} in staff.toml")
    if changes.decision == "quorum" and changes.quorum > len(changes.board):
        problems.append(
            f"changes.toml: quorum: {changes.quorum} is more than the board's "
            f"{len(changes.board)} members"
        )
    for kind, aim in reports.aims.items():
        if kind not in CALL_TYPES or not 0 < aim <= 1:
            problems.append(f"reports.toml: aims.{kind}: a call type and a share between 0 and 1")
    for member in reports.to:
        if member not in officer_ids:
            problems.append(f"reports.toml: to: no officer {member!r} in staff.toml")
    for member in reports.review.to:
        if member not in officer_ids and "@" not in member:
            problems.append(f"reports.toml: review.to: no officer {member!r} in staff.toml")
    by_id = {s.id: s for s in schools.school}
    for wanted in reports.schools:
        where = f"reports.toml: schools ({wanted.school})"
        if wanted.school not in school_ids:
            problems.append(f"{where}: school: no such school")
        for address in wanted.to:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                problems.append(f"{where}: to: {address!r} is not an email address")
        school = by_id.get(wanted.school)
        if school is not None and not wanted.to and not school.with_role("headteacher"):
            problems.append(f"{where}: to: none given, and the school has no headteacher")
    return problems


def _check_term_names(sla: Sla) -> list[str]:
    """Each review term's parts (calendar.terms sharing a name) must not straddle another's."""
    spans: dict[str, tuple[date, date]] = {}
    for t in sla.calendar.terms:
        if t.name:
            first, last = spans.get(t.name, (t.start, t.end))
            spans[t.name] = (min(first, t.start), max(last, t.end))
    problems = []
    ordered = sorted(spans.items(), key=lambda kv: kv[1])
    for (a, (_, a_last)), (b, (b_first, _)) in itertools.pairwise(ordered):
        if b_first <= a_last:
            problems.append(f"sla.toml: calendar.terms: name: terms {a!r} and {b!r} overlap")
    return problems


def load_rules(rules_dir: Path) -> Rules:
    """Load and check every rule file and template; raise RulesError listing all problems."""
    problems: list[str] = []
    if not rules_dir.is_dir():
        raise RulesError([f"{rules_dir}: rules directory not found"])
    policy = _load(rules_dir / "policy.toml", Policy, problems)
    cls = _load(rules_dir / "classify.toml", Classification, problems)
    sla = _load(rules_dir / "sla.toml", Sla, problems)
    staff = _load(rules_dir / "staff.toml", StaffFile, problems)
    schools = _load(rules_dir / "schools.toml", SchoolsFile, problems)
    templates = load_templates(rules_dir / "templates", problems)
    lists = _load(rules_dir / "lists.toml", ListsFile, problems, optional=True)
    incidents = _load(rules_dir / "incidents.toml", IncidentRules, problems, optional=True)
    changes = _load(rules_dir / "changes.toml", ChangeRules, problems, optional=True)
    reports = _load(rules_dir / "reports.toml", ReportRules, problems, optional=True)
    if staff and schools and cls:
        problems.extend(_cross_check(staff, schools, cls))
    if staff and policy:
        flood_team = policy.limits.flood_notice_team
        if flood_team and flood_team not in {t.id for t in staff.team}:
            problems.append(f"policy.toml: limits.flood_notice_team: no team {flood_team!r}")
        digest_team = policy.held.digest_team
        if policy.held.digest and digest_team not in {t.id for t in staff.team}:
            problems.append(f"policy.toml: held.digest_team: no team {digest_team!r}")
    if staff and schools and lists and incidents and changes and reports:
        problems.extend(_check_service(staff, schools, lists, incidents, changes, reports))
    calendar = None
    if sla is not None:
        missing = [p for p in ("P1", "P2", "P3", "P4") if p not in sla.priorities]
        if missing:
            problems.append(f"sla.toml: priorities: missing {', '.join(missing)}")
        levels = sorted(sla.escalation, key=lambda e: e.level)
        for lower, higher in itertools.pairwise(levels):
            if lower.level == higher.level:
                problems.append(f"sla.toml: escalation (level {lower.level}): level: duplicate")
            elif lower.share >= higher.share:
                problems.append(
                    f"sla.toml: escalation (level {higher.level}): share: must be larger than "
                    f"level {lower.level}'s {lower.share}"
                )
        try:
            calendar = calendar_from_rules(
                sla.calendar.zone,
                sla.calendar.term_hours,
                sla.calendar.holiday_hours,
                [(t.start, t.end) for t in sla.calendar.terms],
                sla.calendar.closures,
            )
        except (ValueError, KeyError) as exc:
            problems.append(f"sla.toml: calendar: {exc}")
        problems.extend(_check_term_names(sla))
    if (
        problems
        or not (policy and cls and sla and staff and schools and templates and calendar)
        or not (lists and incidents and changes and reports)
    ):
        raise RulesError(problems or [f"{rules_dir}: rules incomplete"])
    compiled = tuple(
        (
            rule,
            {
                k: re.compile(v, re.IGNORECASE | re.MULTILINE)
                for k, v in rule.match.model_dump().items()
                if v is not None
            },
        )
        for rule in cls.rule
    )
    flags = re.IGNORECASE | re.MULTILINE
    lifts = tuple(
        CompiledLift(
            lift,
            tuple(re.compile(p, flags) for p in lift.all),
            re.compile(lift.unless, flags) if lift.unless else None,
        )
        for lift in cls.lift
    )
    directory = Directory(schools.school, staff.officer, staff.team, staff.project_manager)
    clock = sla_policy(sla, calendar)
    return Rules(
        policy,
        cls,
        sla,
        directory,
        calendar,
        templates,
        compiled,
        clock,
        lists.list,
        incidents,
        changes,
        reports,
        lifts,
    )


def sla_policy(sla: Sla, calendar: SupportCalendar) -> SlaPolicy:
    """The clock's view of sla.toml, with every target already parsed."""
    life = sla.lifecycle
    return SlaPolicy(
        calendar=calendar,
        targets={
            name: (Target.parse(t.response), Target.parse(t.fix))
            for name, t in sla.priorities.items()
        },
        levels=tuple(
            EscalationLevel(e.level, e.share, e.notify)
            for e in sorted(sla.escalation, key=lambda e: e.level)
        ),
        pause_statuses=frozenset(life.pause_statuses),
        close_after=Target.parse(life.close_after),
        reopen_within=Target.parse(life.reopen_within),
    )
