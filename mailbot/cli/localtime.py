"""Times as people read them: the support calendar's local time, to the minute."""

from __future__ import annotations

import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from mailbot.config import Config
from mailbot.errors import RulesError
from mailbot.rules.loader import load_rules


def display_zone(config: Config) -> str:
    """The rules' time zone for showing times; UTC, said once, when the rules are broken."""
    try:
        return load_rules(config.rules.dir).sla.calendar.zone
    except RulesError:
        print(
            f"warning: the rules in {config.rules.dir} are broken (see mailbot rules check); "
            "times are shown in UTC",
            file=sys.stderr,
        )
        return "UTC"


def local_time(value: object, zone: ZoneInfo) -> object:
    """An ISO 8601 time with an offset as "Mon 23 Nov 2026 09:05 GMT"; anything else as it is.

    --json keeps ISO 8601 with the offset; this is for the text a person reads.
    """
    if not isinstance(value, str):
        return value
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return value
    if stamp.tzinfo is None:
        return value
    return stamp.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")
