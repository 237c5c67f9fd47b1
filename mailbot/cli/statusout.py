"""`mailbot status` for machines: JSON, and Prometheus's text format for node_exporter."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from mailbot.config import Config
from mailbot.daemon.health import Health
from mailbot.errors import RulesError
from mailbot.rules.loader import Rules, load_rules


@dataclass(frozen=True)
class Snapshot:
    """Everything `status` found, in one value for the printers below."""

    now: datetime
    health: Health
    problems: tuple[str, ...]
    parked: int
    blocked: int
    # None when the mailbox could not be reached.
    waiting: int | None
    failed_folder: int | None


# How far ahead the school terms in sla.toml must reach before `rules check`
# and `status` warn: long enough to add a new year's terms calmly.
TERMS_NOTICE = timedelta(days=60)


def terms_warning(rules: Rules, today: date) -> str | None:
    """A warning when sla.toml's last school term ends within TERMS_NOTICE of ``today``.

    After the last term every day counts as holiday, so targets quietly follow
    holiday hours; an administrator must add the next year's terms first.
    """
    terms = rules.sla.calendar.terms
    if not terms:
        return None
    last = max(t.end for t in terms)
    if last - today > TERMS_NOTICE:
        return None
    when = "ended" if last < today else "end"
    return (
        f"the school terms in sla.toml {when} on {last.isoformat()}: after that every day is "
        "treated as holiday; add the next year's [[calendar.terms]]"
    )


def rules_problem(config: Config) -> str | None:
    """Why the rules on disk would not load, with when they were last edited; None if they load.

    A running daemon keeps its last good rules when a reload fails, so this is
    the one place an administrator learns that the next restart would fail.
    """
    folder = config.rules.dir
    try:
        load_rules(folder)
    except RulesError as exc:
        try:
            edited = max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=0)
        except OSError:
            edited = 0
        stamp = datetime.fromtimestamp(edited, UTC)
        since = stamp.strftime("%Y-%m-%d %H:%M UTC") if edited else "an unknown time"
        first = exc.problems[0] if exc.problems else str(exc)
        return (
            f"rules on disk are broken since {since} (last edit in {folder}): {first}; "
            "a running service keeps its last good rules, a restart would fail: "
            "see mailbot rules check"
        )
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def as_json(s: Snapshot) -> str:
    """The status as one JSON object; times in ISO 8601 with their offset."""
    h = s.health
    return json.dumps(
        {
            "healthy": not s.problems,
            "problems": list(s.problems),
            "now": _iso(s.now),
            "last_poll": _iso(h.last_poll),
            "last_error": h.last_error or None,
            "last_error_at": _iso(h.last_error_at),
            "messages_waiting": s.waiting,
            "failed_folder": s.failed_folder,
            "outbox_waiting": h.outbox_pending,
            "outbox_failed": h.outbox_failed,
            "outbox_oldest_waiting": _iso(h.oldest_pending),
            "open_calls": h.open_calls,
            "calls_near_target": h.near_target,
            "calls_past_target": h.past_target,
            "bounced_contacts": h.bounced_total,
            "parked_emails": s.parked,
            "unverified_staff_mail_24h": h.unverified_day,
            "blocked_addresses": s.blocked,
            "processed": dict(h.processed),
            # What needs a person, listed (the first few of each) as well as counted.
            "past_target": [
                {
                    "ref": c.ref,
                    "priority": c.priority,
                    "school": c.school_id,
                    "assignee": c.assignee,
                    "fix_due_at": _iso(c.fix_due_at),
                }
                for c in h.late
            ],
            "major_incidents_active": [
                {
                    "ref": i.ref,
                    "title": i.title,
                    "declared_at": _iso(i.declared_at),
                    "email_down": i.email_down,
                }
                for i in h.incidents
            ],
            "changes_awaiting_board": h.board_total,
            "changes": [
                {
                    "ref": c.ref,
                    "school": c.school_id,
                    "board": c.board,
                    "round": c.round,
                    "due_at": _iso(c.due_at),
                }
                for c in h.board
            ],
            "held_for_a_human": h.held_total,
            "held": [
                {
                    "id": m.id,
                    "received_at": _iso(m.received_at),
                    "sender": m.sender,
                    "subject": m.subject,
                    "why": m.why,
                }
                for m in h.held
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


def _gauge(name: str, help_text: str, value: float, kind: str = "gauge") -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value:g}"]


def as_prometheus(s: Snapshot) -> str:
    """The status in Prometheus's text exposition format (node_exporter's textfile collector)."""
    h, g = s.health, _gauge
    lines = g("mailbot_healthy", "1 when nothing needs attention.", int(not s.problems))
    lines += [
        "# HELP mailbot_messages_processed_total Received emails handled, by outcome.",
        "# TYPE mailbot_messages_processed_total counter",
    ]
    # Outcomes are mailbot's own identifiers ([a-z_]), safe as label values.
    lines += [f'mailbot_messages_processed_total{{outcome="{o}"}} {n}' for o, n in h.processed]
    lines += g("mailbot_parked_emails", "Emails parked in the Failed folder.", s.parked)
    lines += g("mailbot_unverified_staff_mail", "Unverified staff mail, 24 h.", h.unverified_day)
    lines += g("mailbot_outbox_waiting", "Outgoing emails waiting.", h.outbox_pending)
    lines += g("mailbot_outbox_failed", "Outgoing emails failed for good.", h.outbox_failed)
    lines += g("mailbot_open_calls", "Calls not yet closed.", h.open_calls)
    lines += g("mailbot_calls_near_target", "Open calls near their target.", h.near_target)
    lines += g("mailbot_calls_past_target", "Open calls past their target.", h.past_target)
    lines += g("mailbot_blocked_addresses", "Addresses blocked as mail loops.", s.blocked)
    lines += g("mailbot_major_incidents_active", "Major incidents not resolved.", len(h.incidents))
    lines += g("mailbot_changes_awaiting_board", "Changes awaiting a board.", h.board_total)
    lines += g("mailbot_held_emails", "Emails held for a human.", h.held_total)
    if h.last_poll is not None:
        age = (s.now - h.last_poll).total_seconds()
        lines += g("mailbot_last_poll_age_seconds", "Seconds since the last good poll.", age)
    if s.waiting is not None:
        lines += g("mailbot_messages_waiting", "Emails in the read folder.", s.waiting)
    if s.failed_folder is not None:
        lines += g("mailbot_failed_folder", "Emails in the Failed folder.", s.failed_folder)
    return "\n".join(lines) + "\n"


def report(args: argparse.Namespace, snapshot: Snapshot) -> int:
    """`status --json` or `--prometheus`: the same findings, for a program to read."""
    print(as_json(snapshot) if args.json else as_prometheus(snapshot), end="")
    if args.json:
        print()
    return 0 if not snapshot.problems else 2
