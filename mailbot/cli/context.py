"""What every command reads from its arguments and environment: the config, the clock, the actor."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mailbot.config import Config, load_config
from mailbot.errors import MailbotError
from mailbot.rules import templatecache
from mailbot.sla import holidaycache

Clock = Callable[[], datetime]


def parse_now(value: str, zone: str = "Europe/London") -> datetime:
    """Read --now: ISO 8601, local time in ``zone`` when no offset is given."""
    try:
        t = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MailbotError(f"--now: not an ISO 8601 time: {value!r}") from exc
    return t.replace(tzinfo=ZoneInfo(zone)) if t.tzinfo is None else t


def make_clock(fixed: datetime | None) -> Clock:
    """A clock that is frozen at --now when given, else the real UTC clock."""
    if fixed is not None:
        return lambda: fixed
    return lambda: datetime.now(UTC)


def config_of(args: argparse.Namespace) -> Config:
    """The configuration --config names; its [logging] level unless the command line set one."""
    config = load_config(Path(args.config))
    if not getattr(args, "log_level", None) and not getattr(args, "verbose", False):
        logging.getLogger().setLevel(config.logging.level)
    # Before any command loads the rules: where their compiled templates live.
    templatecache.keep_compiled_in(config.rules.template_cache)
    # And where the bank holidays read from the holidays library are kept.
    holidaycache.keep_in(config.rules.template_cache)
    return config


def clock_of(args: argparse.Namespace, zone: str = "Europe/London") -> Clock:
    """The clock for this command: --now, else $MAILBOT_NOW, else the real one."""
    value = args.now or os.environ.get("MAILBOT_NOW")
    return make_clock(parse_now(value, zone) if value else None)


def warn_about_trust(config: Config) -> None:
    """Say, in one line on stderr, when staff mail is not verified by the receiving server."""
    warning = config.service.insecure_warning()
    if warning:
        print(warning, file=sys.stderr)


def login_name() -> str:
    """Who runs a command that records its actor when no --by is given."""
    return os.environ.get("USER") or os.environ.get("LOGNAME") or "administrator"
