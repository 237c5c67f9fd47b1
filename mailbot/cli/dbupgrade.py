"""`mailbot db upgrade`: create or migrate the schema (the service's ExecStartPre)."""

from __future__ import annotations

import argparse

from mailbot.cli.context import config_of
from mailbot.storage.db import upgrade


def db_upgrade_command(args: argparse.Namespace) -> int:
    """`mailbot db upgrade`: create or migrate the schema."""
    config = config_of(args)
    upgrade(config.database.url)
    print(f"database schema is up to date ({config.database.url.split('@')[-1]})")
    return 0
