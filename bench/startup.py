"""Benchmark: how long mailbot's commands take to start, beside the floor's empty run.

Four commands, each a fresh process, run in interleaved rounds: the floor
(``floor.py`` from the shared bench, ``--acks 2``) on an empty INBOX, then
mailbot's ``run --once`` on an empty INBOX (a private Dovecot and an SMTP
sink on loopback, a freshly migrated SQLite database), ``mailbot
--version``, and ``calls list`` on a database of 10,000 calls.  Each is
timed from launch to exit (wall) with its own CPU time (user + system, from
the kernel's rusage), so interpreter start-up and imports count.  It prints
each command's medians and its ratio to the floor's empty run.  Prints
figures only.  Usage: python bench/startup.py [--rounds 5] [--calls 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from intake import bench_folder  # noqa: E402
from scheduler_tick import NOW, _row, _template  # noqa: E402
from servers import DovecotServer  # noqa: E402
from smtpserver import SmtpSink  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from support import SHIPPED_RULES, SUPPORT  # noqa: E402

from mailbot.rules.loader import load_rules  # noqa: E402
from mailbot.storage.db import make_engine, upgrade  # noqa: E402
from mailbot.storage.models import Call  # noqa: E402

MAILBOT = str(Path(sys.executable).parent / "mailbot")
PASSWORD_ENV = "MAILBOT_IMAP_PASSWORD"


def write_config(folder: Path, imap: tuple[str, int, str], smtp: tuple[str, int], db: Path) -> Path:
    """A config.toml for the command line, as the intake driver writes it."""
    q = json.dumps
    config = folder / "config.toml"
    config.write_text(
        f'[service]\naddress = {q(SUPPORT)}\nname = "Westshire Schools ICT Support"\n\n'
        f'[imap]\nhost = {q(imap[0])}\nport = {imap[1]}\nsecurity = "none"\n'
        f"username = {q(imap[2])}\npassword_env = {q(PASSWORD_ENV)}\n"
        "batch_size = 100\nidle = false\n\n"
        f'[smtp]\nhost = {q(smtp[0])}\nport = {smtp[1]}\nsecurity = "none"\n\n'
        f"[database]\nurl = {q('sqlite:///' + str(db))}\n\n"
        f"[rules]\ndir = {q(str(SHIPPED_RULES))}\n",
        encoding="utf-8",
    )
    return config


def fill_calls(db: Path, count: int) -> None:
    """A migrated database holding ``count`` open calls."""
    url = f"sqlite:///{db}"
    upgrade(url)
    call = _template(load_rules(SHIPPED_RULES), NOW - timedelta(minutes=5))
    with make_engine(url).begin() as conn:
        conn.execute(insert(Call), [_row(n, call) for n in range(1, count + 1)])


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``command`` to its end; its wall and CPU seconds (a failure is reported)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        print(f"startup: {' '.join(command[-2:])} exited {process.returncode}", file=sys.stderr)
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    server, sink = DovecotServer.start(), SmtpSink()
    try:
        tmp = Path(tempfile.mkdtemp(prefix="mailbot-startup-"))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "", "TZ": "UTC"}
        many = tmp / "many.db"
        fill_calls(many, args.calls)
        many_config = write_config(tmp, ("127.0.0.1", 1, "nobody"), (sink.host, sink.port), many)
        commands: dict[str, list[str]] = {}
        results: dict[str, list[tuple[float, float]]] = {}
        for round_ in range(args.rounds + 1):
            # Fresh accounts and databases each round; round 0 warms the
            # bytecode and template caches and is not counted.
            folder = tmp / f"r{round_}"
            folder.mkdir()
            floor_user, mailbot_user = server.new_account(), server.new_account()
            env[PASSWORD_ENV] = mailbot_user.password
            db = folder / "mailbot.db"
            upgrade(f"sqlite:///{db}")
            imap = (mailbot_user.host, mailbot_user.port, mailbot_user.username)
            config = write_config(folder, imap, (sink.host, sink.port), db)
            commands = {
                "floor empty run": [
                    sys.executable,
                    str(bench_folder() / "floor.py"),
                    "--host",
                    "127.0.0.1",
                    "--imap-port",
                    str(server.port),
                    "--smtp-port",
                    str(sink.port),
                    "--user",
                    floor_user.username,
                    "--password",
                    floor_user.password,
                    "--db",
                    str(folder / "floor.db"),
                    "--acks",
                    "2",
                ],
                "mailbot run --once (empty)": [
                    MAILBOT,
                    "--config",
                    str(config),
                    "--now",
                    "2026-11-23T10:40",
                    "run",
                    "--once",
                ],
                "mailbot --version": [MAILBOT, "--version"],
                f"mailbot calls list ({args.calls} calls)": [
                    MAILBOT,
                    "--config",
                    str(many_config),
                    "calls",
                    "list",
                ],
            }
            for name, command in commands.items():
                figures = timed(command, env)
                if round_:
                    results.setdefault(name, []).append(figures)
        floor_wall = statistics.median(w for w, _ in results["floor empty run"])
        for name, runs in results.items():
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(
                f"{name}: median {wall:.3f} s wall, {cpu:.3f} s cpu, "
                f"{wall / floor_wall:.1f}x the floor's empty run"
            )
        names = list(results)
        ratios = [statistics.median(w for w, _ in results[n]) / floor_wall for n in names[1:]]
        print(
            f"startup: floor={floor_wall:.3f}s run_once={ratios[0]:.1f}x "
            f"version={ratios[1]:.1f}x calls_list={ratios[2]:.1f}x rounds={args.rounds}"
        )
    finally:
        sink.close()
        server.stop()


if __name__ == "__main__":
    main()
