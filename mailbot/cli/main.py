"""The `mailbot` command line: the one place that reads the clock and the environment.

The grammar is in ``arguments``; the module that carries out a command is
imported only once that command is chosen, so each command pays for its
own imports and no other's (`calls list` loads neither the daemon nor
matplotlib, `run` neither the incident nor the report commands).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO, cast

from mailbot.cli.arguments import build_parser
from mailbot.cli.context import parse_now
from mailbot.cli.startup import on_journal
from mailbot.cli.termtext import SafeStream
from mailbot.errors import ConfigError, MailbotError, RulesError

__all__ = ["build_parser", "main", "parse_now"]


def handler(args: argparse.Namespace) -> Callable[[argparse.Namespace], int]:
    """The function that carries out the chosen command, its module imported now."""
    module, _, name = str(args.handler).partition(":")
    found: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), name)
    return found


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
        code: int = handler(args)(args)
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
