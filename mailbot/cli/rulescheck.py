"""`mailbot rules check [DIR]`: every problem in the rule files, or a one-line summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from mailbot.cli import statusout
from mailbot.cli.context import clock_of, config_of, warn_about_trust
from mailbot.config import Config
from mailbot.errors import RulesError
from mailbot.rules.loader import load_rules


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
