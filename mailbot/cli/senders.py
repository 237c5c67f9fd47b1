"""`mailbot senders`: list the addresses blocked as mail loops, and clear a block."""

from __future__ import annotations

import argparse
from datetime import datetime

from mailbot.calls.store import Store
from mailbot.cli.context import clock_of, config_of, login_name
from mailbot.storage.db import Sessions, make_engine, make_sessions, transaction


def blocked(sessions: Sessions) -> list[tuple[str, datetime, str]]:
    """Every address blocked now: (address, since, why)."""
    with sessions() as session:
        return Store(session, "", 0).blocked_addresses()


def unblock(sessions: Sessions, address: str, *, by: str, now: datetime) -> int:
    """Clear the block on ``address``; return how many blocks were cleared (0 or 1)."""
    with transaction(sessions) as session:
        return Store(session, "", 0).unblock(address, at=now, by=by)


def run(args: argparse.Namespace, sessions: Sessions, now: datetime, user: str) -> int:
    """Carry out `mailbot senders ...`; ``user`` is who runs it, for the record."""
    if args.senders_command == "unblock":
        cleared = unblock(sessions, args.address, by=args.by or user, now=now)
        if not cleared:
            print(f"{args.address} is not blocked")
            return 1
        print(f"{args.address} unblocked: mailbot answers it again")
        return 0
    rows = blocked(sessions)
    if not rows:
        print("no blocked addresses")
    for address, since, why in rows:
        print(f"{address:40} blocked {since.isoformat()}  ({why})")
    return 0


def command(args: argparse.Namespace) -> int:
    """`mailbot senders ...`, recorded as done by the login name unless --by says otherwise."""
    config = config_of(args)
    sessions = make_sessions(make_engine(config.database.url))
    return run(args, sessions, clock_of(args)(), login_name())
