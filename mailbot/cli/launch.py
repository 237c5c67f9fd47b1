"""The console command's entry point: answers ``--version`` at once, else starts the CLI.

The full command line imports SQLAlchemy, pydantic, Jinja and every room,
which takes most of a second; ``mailbot --version`` needs none of it.  It
also keeps the intake worker light: the worker process is started afresh
(multiprocessing's spawn) and re-runs the console script's module, which
is this small one rather than the whole command line.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Sequence

from mailbot import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mailbot` console script (``argv`` given: a call, not a process)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        print(f"mailbot {__version__}")
        return 0
    from mailbot.cli.main import main as run_command

    code = run_command(args)
    if argv is None:
        _end_process(code)
    return code


def _end_process(code: int) -> None:
    """End this process with ``code`` now, without the interpreter's teardown.

    Tearing the interpreter down frees the objects of a thousand modules one
    by one, which takes a command a fifth of a second, longer than starting
    the interpreter, to give back memory the operating system reclaims at
    once anyway.  What a normal exit does that matters is done first: the
    atexit handlers (logging's flush and close, multiprocessing's cleanup,
    temporary files' finalizers) and the flush of the standard streams.
    While another thread still runs, this returns and the normal exit, which
    waits for that thread, takes over.
    """
    if threading.active_count() > 1:
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away (`mailbot calls list | head`) cannot be
        # written to; a normal exit would say so and exit 120, this exits
        # with the command's own code.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
