"""`mailbot run`, `rules check`, `db upgrade` and `demo`: running the service, preparing it."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from mailbot.cli import statusout
from mailbot.cli.context import clock_of, config_of, warn_about_trust
from mailbot.cli.startup import EX_CONFIG, broken_rules, missing_secret
from mailbot.config import Config
from mailbot.daemon.notify import Notifier
from mailbot.daemon.service import Daemon
from mailbot.errors import RulesError
from mailbot.rules.loader import load_rules
from mailbot.storage.db import make_engine, make_sessions, upgrade, upgrade_if_needed


def rules_check_command(args: argparse.Namespace) -> int:
    """`mailbot rules check [DIR]`: every problem in the rules, or a one-line summary."""
    config: Config | None = None
    if not args.dir or Path(args.config).exists():
        config = config_of(args)
        warn_about_trust(config)
    rules_dir = Path(args.dir) if args.dir else config.rules.dir if config else Path("rules")
    try:
        rules = load_rules(rules_dir)
    except RulesError as exc:
        print(f"rules in {rules_dir} have problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    zone = ZoneInfo(rules.sla.calendar.zone)
    warning = statusout.terms_warning(rules, clock_of(args)().astimezone(zone).date())
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    d = rules.directory
    print(
        f"rules in {rules_dir} are valid: {len(d.schools)} schools, {len(d.officers)} officers, "
        f"{len(d.teams)} teams, {len(rules.classification.rule)} classification rules, "
        "all templates render"
    )
    return 0


def db_upgrade_command(args: argparse.Namespace) -> int:
    """`mailbot db upgrade`: create or migrate the schema."""
    config = config_of(args)
    upgrade(config.database.url)
    print(f"database schema is up to date ({config.database.url.split('@')[-1]})")
    return 0


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
