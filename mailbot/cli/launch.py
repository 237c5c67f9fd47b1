"""The console command's entry point: answers ``--version`` at once, else starts the CLI.

The full command line imports SQLAlchemy, pydantic, Jinja and every room,
which takes most of a second; ``mailbot --version`` needs none of it.  It
also keeps the intake worker light: the worker process is started afresh
(multiprocessing's spawn) and re-runs the console script's module, which
is this small one rather than the whole command line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mailbot import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mailbot` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        print(f"mailbot {__version__}")
        return 0
    from mailbot.cli.main import main as run_command

    return run_command(args)
