"""The monthly report's CSV: one row for every call the report counts."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from mailbot.reports.figures import Figures
from mailbot.rules.loader import Rules

HEADER = (
    "ref", "school", "type", "priority", "status", "logged", "fix_target", "solved",
    "outcome", "judged_in", "revised_deadline", "revised_reason", "subject",
    "original_fix_target", "missed_reason",
)  # fmt: skip


def school_name(rules: Rules, school_id: str | None) -> str:
    """A school's name from the directory (its id if it has left it)."""
    if school_id is None:
        return "(no school)"
    school = rules.directory.school(school_id)
    return school.name if school else school_id


def cell(value: str) -> str:
    # A cell starting with =, +, - or @ is a formula to a spreadsheet; subjects
    # come from outside, so such text is prefixed with ' and shown as written.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def calls_csv(rules: Rules, figures: Figures) -> bytes:
    """Every call the report counts (logged or judged in the month), one row each.

    UTF-8 with a byte-order mark, which Excel needs to read it as UTF-8, and
    CRLF line ends (RFC 4180).
    """
    zone = rules.calendar.zone

    def iso(t: datetime | None) -> str:
        # Local time as spreadsheets read it: 2026-11-23 09:05.
        return "" if t is None else f"{t.astimezone(zone):%Y-%m-%d %H:%M}"

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for j in figures.rows:
        c = j.call
        values = (
            c.ref, school_name(rules, c.school_id), c.type, c.priority, c.status,
            iso(c.created_at), iso(c.fix_due_at), iso(c.solved_at),
            str(j.outcome), str(j.month) if j.month else "", iso(c.revised_due_at),
            c.revised_reason if c.revised_due_at else "", c.subject,
            iso(c.original_due_at) if c.revised_due_at else "", c.missed_reason,
        )  # fmt: skip
        writer.writerow([cell(v) for v in values])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
