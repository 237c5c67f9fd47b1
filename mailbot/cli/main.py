"""The `mailbot` command line: the one place that reads the clock and the environment."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, cast
from zoneinfo import ZoneInfo

from mailbot import __version__
from mailbot.cli import (
    availability,
    callviews,
    changes,
    held,
    incidents,
    planned,
    senders,
    sla,
    status,
    statusout,
)
from mailbot.cli import calls as callcmd
from mailbot.cli import check as checkcmd
from mailbot.cli import report as reportcmd
from mailbot.cli import review as reviewcmd
from mailbot.cli.startup import EX_CONFIG, broken_rules, missing_secret, on_journal
from mailbot.cli.termtext import SafeStream
from mailbot.config import Config, load_config
from mailbot.daemon.notify import Notifier
from mailbot.daemon.service import Clock, Daemon
from mailbot.errors import ConfigError, MailbotError, RulesError
from mailbot.rules.loader import load_rules
from mailbot.storage.db import make_engine, make_sessions, upgrade, upgrade_if_needed


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


def _config(args: argparse.Namespace) -> Config:
    config = load_config(Path(args.config))
    if not getattr(args, "log_level", None) and not getattr(args, "verbose", False):
        logging.getLogger().setLevel(config.logging.level)
    return config


def _clock(args: argparse.Namespace, zone: str = "Europe/London") -> Clock:
    value = args.now or os.environ.get("MAILBOT_NOW")
    return make_clock(parse_now(value, zone) if value else None)


def _warn_about_trust(config: Config) -> None:
    """Say, in one line on stderr, when staff mail is not verified by the receiving server."""
    warning = config.service.insecure_warning()
    if warning:
        print(warning, file=sys.stderr)


def cmd_rules_check(args: argparse.Namespace) -> int:
    config: Config | None = None
    if not args.dir or Path(args.config).exists():
        config = _config(args)
        _warn_about_trust(config)
    rules_dir = Path(args.dir) if args.dir else config.rules.dir if config else Path("rules")
    try:
        rules = load_rules(rules_dir)
    except RulesError as exc:
        print(f"rules in {rules_dir} have problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    zone = ZoneInfo(rules.sla.calendar.zone)
    warning = statusout.terms_warning(rules, _clock(args)().astimezone(zone).date())
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    d = rules.directory
    print(
        f"rules in {rules_dir} are valid: {len(d.schools)} schools, {len(d.officers)} officers, "
        f"{len(d.teams)} teams, {len(rules.classification.rule)} classification rules, "
        "all templates render"
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    config = _config(args)
    upgrade(config.database.url)
    print(f"database schema is up to date ({config.database.url.split('@')[-1]})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    # A password that cannot be read would otherwise fail every few seconds
    # for ever; say so once and stop before anything else runs.
    missing = missing_secret(config)
    if missing:
        print(missing, file=sys.stderr)
        return EX_CONFIG
    _warn_about_trust(config)
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
            clock=_clock(args, zone),
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


def cmd_calls_list(args: argparse.Namespace) -> int:
    return callviews.print_list(args, _config(args))


def cmd_calls_show(args: argparse.Namespace) -> int:
    return callviews.print_call(args, _config(args))


def cmd_incidents(args: argparse.Namespace) -> int:
    config = _config(args)
    zone = load_rules(config.rules.dir).sla.calendar.zone
    return incidents.run(args, config, _clock(args, zone)())


def cmd_planned(args: argparse.Namespace) -> int:
    config = _config(args)
    zone = load_rules(config.rules.dir).sla.calendar.zone
    return planned.run(args, config, _clock(args, zone)())


def cmd_availability(args: argparse.Namespace) -> int:
    config = _config(args)
    zone = load_rules(config.rules.dir).sla.calendar.zone
    return availability.run(args, config, _clock(args, zone)())


def cmd_calls_change(args: argparse.Namespace) -> int:
    config = _config(args)
    zone = load_rules(config.rules.dir).sla.calendar.zone
    return callcmd.run(args, config, _clock(args, zone)())


def cmd_review(args: argparse.Namespace) -> int:
    config = _config(args)
    rules = load_rules(config.rules.dir)
    return reviewcmd.run(args, config, rules, _clock(args, rules.sla.calendar.zone)())


def cmd_report(args: argparse.Namespace) -> int:
    config = _config(args)
    rules = load_rules(config.rules.dir)
    return reportcmd.run(args, config, rules, _clock(args, rules.sla.calendar.zone)())


def cmd_changes_list(args: argparse.Namespace) -> int:
    return changes.run(args, _config(args))


def cmd_sla_deadline(args: argparse.Namespace) -> int:
    rules = load_rules(_config(args).rules.dir)
    return sla.run(args, rules, _clock(args, rules.sla.calendar.zone)())


def _login_name() -> str:
    """Who runs a command that records its actor when no --by is given."""
    return os.environ.get("USER") or os.environ.get("LOGNAME") or "administrator"


def cmd_senders(args: argparse.Namespace) -> int:
    config = _config(args)
    user = _login_name()
    sessions = make_sessions(make_engine(config.database.url))
    return senders.run(args, sessions, _clock(args)(), user)


def cmd_held(args: argparse.Namespace) -> int:
    config = _config(args)
    user = _login_name()
    sessions = make_sessions(make_engine(config.database.url))
    return held.run(args, config, sessions, _clock(args)(), user)


def cmd_status(args: argparse.Namespace) -> int:
    config = _config(args)
    return status.run(args, config, _clock(args)(), lambda: _warn_about_trust(config))


def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    print(f"checking {Path(args.config).resolve()}")
    return checkcmd.run(args, config, _clock(args), print)


def cmd_demo(args: argparse.Namespace) -> int:
    from mailbot.demo.run import run_demo

    code: int = asyncio.run(run_demo(speed=args.speed))
    return code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(prog="mailbot", description=__doc__)
    p.add_argument(
        "--config",
        default=os.environ.get("MAILBOT_CONFIG", "config.toml"),
        help="configuration file (default: $MAILBOT_CONFIG or ./config.toml)",
    )
    p.add_argument("--now", help="treat this ISO 8601 instant as the current time")
    p.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    p.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
        help="how much to log (default: [logging] level, else INFO)",
    )
    p.add_argument("--version", action="version", version=f"mailbot {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--once", action="store_true", help="process the mailbox once and exit")
    run.set_defaults(func=cmd_run)

    calls_p = sub.add_parser("calls", help="list, show and work calls")
    calls_sub = calls_p.add_subparsers(dest="calls_command", required=True)
    lst = calls_sub.add_parser("list", help="list calls")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_calls_list)
    show = calls_sub.add_parser("show", help="show one call with its messages")
    show.add_argument("ref")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_calls_show)
    callcmd.add_parsers(calls_sub)
    for name in ("assign", "update", "note", "reply", "authorise", "decline", "approve", "reject"):
        calls_sub.choices[name].set_defaults(func=cmd_calls_change)

    incidents.add_parser(sub).set_defaults(func=cmd_incidents)
    planned.add_parser(sub).set_defaults(func=cmd_planned)
    availability.add_parser(sub).set_defaults(func=cmd_availability)

    rules_p = sub.add_parser("rules", help="check the rule files")
    rules_sub = rules_p.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="validate rules and render every template")
    check.add_argument("dir", nargs="?")
    check.set_defaults(func=cmd_rules_check)

    db_p = sub.add_parser("db", help="database schema")
    db_sub = db_p.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or migrate the schema").set_defaults(
        func=cmd_db_upgrade
    )

    sla.add_parser(sub).set_defaults(func=cmd_sla_deadline)
    changes.add_parser(sub).set_defaults(func=cmd_changes_list)
    reportcmd.add_parser(sub).set_defaults(func=cmd_report)
    reviewcmd.add_parser(sub).set_defaults(func=cmd_review)
    senders.add_parser(sub).set_defaults(func=cmd_senders)
    statusout.add_parser(sub).set_defaults(func=cmd_status)
    checkcmd.add_parser(sub).set_defaults(func=cmd_check)
    held.add_parser(sub).set_defaults(func=cmd_held)
    demo = sub.add_parser("demo", help="show the whole job with embedded servers")
    demo.add_argument("--speed", type=float, default=1.0, help="pause between steps (seconds)")
    demo.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mailbot` console script."""
    args = build_parser().parse_args(argv)
    # Every command may print text that came in by email; on a terminal its
    # control characters are shown, never obeyed.  JSON output is left exact:
    # json.dumps already escapes control characters.
    out = sys.stdout if getattr(args, "json", False) else cast(TextIO, SafeStream(sys.stdout))
    err = cast(TextIO, SafeStream(sys.stderr))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    # The demo tells its own story; server chatter would bury it.
    quiet = args.command == "demo" and not args.verbose
    level = logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(
        level=args.log_level or level,
        # The journal stamps each line itself; a second timestamp is noise.
        format="%(levelname)s %(name)s: %(message)s"
        if on_journal()
        else "%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic announces each of its plugins at INFO on every `db upgrade`, the
    # unit's ExecStartPre: seven lines in the journal at each start that say
    # nothing to an operator.  The migrations it runs are still logged.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        code: int = args.func(args)
    except (ConfigError, RulesError) as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return 1
    except MailbotError as exc:
        print(f"mailbot: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`mailbot calls list | head`): not worth a
        # traceback.  Point stdout at nothing so the exit flush cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
