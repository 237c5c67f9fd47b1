"""`mailbot run` and `mailbot demo`: the service, and the whole job shown with embedded servers."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from mailbot.cli.context import clock_of, config_of, warn_about_trust
from mailbot.cli.startup import EX_CONFIG, broken_rules, missing_secret
from mailbot.daemon.notify import Notifier
from mailbot.daemon.service import Daemon
from mailbot.errors import RulesError
from mailbot.rules.loader import load_rules
from mailbot.storage.db import make_engine, make_sessions, upgrade_if_needed


def run_command(args: argparse.Namespace) -> int:
    """`mailbot run [--once]`: the daemon, or one pass of it."""
    config = config_of(args)
    # A password that cannot be read would otherwise fail every few seconds
    # for ever; say so once and stop before anything else runs.
    missing = missing_secret(config)
    if missing:
        print(missing, file=sys.stderr)
        return EX_CONFIG
    warn_about_trust(config)
    # A restart with broken rules cannot get better by restarting again, so it
    # is a configuration error like a missing secret: one line and exit 78.
    try:
        rules = load_rules(config.rules.dir)
    except RulesError as exc:
        print(broken_rules(config.rules.dir, exc), file=sys.stderr)
        return EX_CONFIG
    zone = rules.sla.calendar.zone
    engine = make_engine(config.database.url)
    sessions = make_sessions(engine)
    upgrade_if_needed(engine, config.database.url)

    async def main() -> int:
        daemon = Daemon(
            config=config,
            rules=rules,
            sessions=sessions,
            clock=clock_of(args, zone),
            notifier=Notifier(os.environ),
        )
        if args.once:
            report, sent, tick = await daemon.run_once()
            for o in report.outcomes:
                ref = f" {o.ref}" if o.ref else ""
                print(f"{o.action:14} {o.sender}: {o.subject[:60]!r}{ref} ({o.reason})")
            for ref, target in tick.breached:
                print(f"{'breached':14} {ref} {target} target passed unmet (staff told)")
            for ref, level in tick.escalated:
                print(f"{'escalated':14} {ref} to level {level}")
            for ref in tick.closed:
                print(f"{'closed':14} {ref} (solved, no reply from the school)")
            for line in tick.reports:
                print(f"{'report':14} {line}")
            for ref in tick.reminded:
                print(f"{'reminded':14} {ref} (emergency change undecided at its deadline)")
            print(
                f"processed {len(report.outcomes)}, failed {len(report.failed)}; "
                f"escalated {len(tick.escalated)}, closed {len(tick.closed)}; "
                f"sent {sent.sent}, retrying {sent.retrying}, send failures {sent.failed}"
            )
            return 0
        await daemon.run_forever(config.rules.dir)
        return 0

    return asyncio.run(main())


def demo_command(args: argparse.Namespace) -> int:
    """`mailbot demo`: the whole job shown with embedded servers."""
    # Imported here: the demo's servers (pymap, aiosmtpd) serve no other command.
    from mailbot.demo.run import run_demo

    code: int = asyncio.run(run_demo(speed=args.speed))
    return code
