"""`mailbot calls list` and `calls show`: the calls as a table, one call whole, or JSON."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from mailbot.calls import listing
from mailbot.cli.context import config_of
from mailbot.cli.localtime import display_zone, local_time
from mailbot.config import Config
from mailbot.storage.db import make_engine, make_sessions

# How many lines of the `calls list` table are written at a time.
_PRINT_BATCH = 500
# The names strftime's %a and %b give: Python never sets the time locale
# (LC_TIME) itself, so they are the C locale's English ones.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_time(value: datetime, zone: ZoneInfo) -> str:
    """``value`` in ``zone`` as "Mon 23 Nov 09:05", as strftime's "%a %d %b %H:%M" writes it.

    Built from the fields rather than by strftime, which costs twice as
    much: the table formats two times per call, 20,000 for 10,000 calls.
    """
    t = value.astimezone(zone)
    return f"{_DAYS[t.weekday()]} {t.day:02d} {_MONTHS[t.month - 1]} {t.hour:02d}:{t.minute:02d}"


def print_list(args: argparse.Namespace, config: Config) -> int:
    """`mailbot calls list`: every call, as a table or JSON."""
    sessions = make_sessions(make_engine(config.database.url))
    if args.json:
        print(json.dumps(listing.list_calls(sessions), indent=2))
        return 0
    # The table is printed as the rows are read: the list is never held whole.
    with listing.table_rows(sessions) as rows:
        first = next(rows, None)
        if first is None:
            print("no calls")
            return 0
        zone = ZoneInfo(display_zone(config))

        def when(value: datetime | None) -> str:
            # Due times are shown in the support calendar's local time.
            return short_time(value, zone) if value else "-"

        print(
            f"{'REF':11} {'STATUS':17} {'PRI':8} {'ESC':3} {'SCHOOL':18} "
            f"{'RESPONSE DUE':16} {'FIX DUE':16} SUBJECT"
        )
        lines: list[str] = []
        for (
            ref,
            status,
            priority,
            level,
            school,
            responded,
            response_due,
            fix_due,
            subject,
        ) in itertools.chain([first], rows):
            response = "done" if responded else when(response_due)
            lines.append(
                f"{ref:11} {status:17} {priority:8} {level:<3} "
                f"{(school or '-')[:18]:18} {response:16} {when(fix_due):16} {subject[:40]}"
            )
            if len(lines) == _PRINT_BATCH:
                # One write per batch of lines, not two per line (print's text
                # and newline, each made terminal-safe on its own).
                print("\n".join(lines))
                lines.clear()
        if lines:
            print("\n".join(lines))
    return 0


def print_call(args: argparse.Namespace, config: Config) -> int:
    """`mailbot calls show REF`: one call with its emails and events, as text or JSON."""
    record = listing.show_call(make_sessions(make_engine(config.database.url)), args.ref)
    if record is None:
        print(f"no call {args.ref}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(record, indent=2, ensure_ascii=False))
        return 0
    zone = ZoneInfo(display_zone(config))

    def when(value: object) -> object:
        return local_time(value, zone)

    print(f"{record['ref']}  {record['subject']}")
    for key in (
        "status",
        "type",
        "priority",
        "school",
        "requester",
        "assignee",
        "created_at",
        "response_due_at",
        "fix_due_at",
        "escalation_level",
        "next_escalation_at",
        "responded_at",
        "solved_at",
        "close_due_at",
        "revised_due_at",
        "revised_reason",
        "missed_reason",
        "related",
    ):
        value = when(record[key]) if key.endswith("_at") else record[key]
        print(f"  {key:18} {value}")
    for name, value in listing.rating_lines(record, when):
        print(f"  {name:18} {value}")
    for m in record["messages"]:
        print(f"\n--- {m['direction']} {when(m['date'])} from {m['from']} ---\n{m['text'].strip()}")
    print("\nevents:")
    for e in record["events"]:
        print(f"  {when(e['at'])} {e['actor']}: {e['kind']} {e['detail']}")
    return 0


def list_command(args: argparse.Namespace) -> int:
    """`mailbot calls list [--json]`."""
    return print_list(args, config_of(args))


def show_command(args: argparse.Namespace) -> int:
    """`mailbot calls show REF [--json]`."""
    return print_call(args, config_of(args))
