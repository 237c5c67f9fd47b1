"""Benchmark: mailbot against django-helpdesk and Roundup on the shared workload, side by side.

Standard library only (run as root, like bench/intake.py: the private
Dovecot hands its mail folders to the ``mail`` user).  It borrows the shared
driver's pieces (``intake_ratio.py`` from ``MAILBOT_BENCH``, else
``../shared/bench``: the workload, the private Dovecot, the aiosmtpd sink,
the timed launch with the child's rusage) and runs, in interleaved rounds
(the order rotates from round to round), over the same generated workload
(same seed and count):

* mailbot: ``mailbot run --once`` exactly as the shared driver runs it
  (its own ``Bench.one``), with the flood cap lifted as bench/intake.py does;
  2 emails per message (confirmation cc the school's contact, team notice);
* django-helpdesk 2.6.1: ``python -m django get_email`` with one queue on
  plain IMAP against the private Dovecot; 1 email per message (to the
  submitter: no new-ticket cc is configured);
* Roundup 2.6.0: ``roundup-mailgw TRACKER imap user:pw@host`` on a classic
  tracker with the SQLite backend, PBKDF2 at Roundup's minimum of 1,000
  rounds, ``messages_to_author = new``; 1 email per message (to the author).

``--peer-emails 2`` gives each peer the team notice too, as mailbot sends
one: the queue's new-ticket cc (helpdesk) or a team user on every new
issue's nosy list with one email per recipient (Roundup), so 2 per message.

Each run starts from a fresh mailbox (the N messages APPENDed), a fresh
database and a fresh sink, none of it timed; the one command is timed from
launch to the later of its exit and the sink accepting its last email, with
its CPU from the kernel's rusage.  Checked per run: exit 0, N tickets, the
expected emails at the sink, every sender among the recipients, INBOX empty.
The peers' venvs are made once with pip and cached (``--cache``).  Last line:

    peers: mailbot=X helpdesk=Y roundup=Z msgs/s mailbot_vs_helpdesk=A
        mailbot_vs_roundup=B rounds=N counts_ok=B        (one line)

Usage: python bench/peers.py [-n 1000] [--rounds 3] [--venv DIR] [--keep]
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import socket
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import peerkit
from intake import bench_folder, staged_project

ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = ("mailbot", "helpdesk", "roundup")
# The team's address for the peers' new-ticket notices (--peer-emails 2):
# the first team of the shipped rules (rules/staff.toml).
TEAM = "servicedesk@westshire.gov.uk"


def emails_per_message(contender: str, peer_emails: int) -> int:
    """Emails a contender sends per new request: mailbot 2, each peer 1 or 2 (--peer-emails)."""
    return 2 if contender == "mailbot" else peer_emails


def shared_driver() -> ModuleType:
    """The shared driver, imported as a module (its pieces are used unchanged)."""
    sys.path.insert(0, str(bench_folder()))
    return importlib.import_module("intake_ratio")


def port_143_address() -> str:
    """A loopback address whose port 143 is free, for Roundup's port-less ``imap`` source."""
    for third in range(143, 160):
        address = f"127.{third}.{os.getpid() % 250 + 1}.1"
        with socket.socket() as s:
            try:
                s.bind((address, 143))
            except OSError:
                continue
            return address
    raise RuntimeError("no loopback address with port 143 free")


def with_port_143(conf: str, address: str) -> str:
    """The shared Dovecot configuration template with a second IMAP listener on address:143."""
    anchor = "  inet_listener imaps {{"
    if anchor not in conf:
        raise RuntimeError("the shared Dovecot configuration changed; update bench/peers.py")
    extra = f"  inet_listener imap_143 {{{{\n    address = {address}\n    port = 143\n  }}}}\n"
    return conf.replace(anchor, extra + anchor, 1)


def median(values: Sequence[float | None]) -> float | None:
    have = [v for v in values if v is not None]
    return statistics.median(have) if have else None


def fmt(value: float | None, digits: int) -> str:
    return "nan" if value is None else f"{value:.{digits}f}"


def summary_line(rates: dict[str, list[float | None]], rounds: int, ok: bool) -> str:
    """The last line: median msgs/s per contender and mailbot's ratio to each peer."""
    m = {name: median(rates.get(name, [])) for name in CONTENDERS}

    def vs(peer: str) -> str:
        mine, theirs = m["mailbot"], m[peer]
        return fmt(mine / theirs if mine is not None and theirs else None, 2)

    return (
        f"peers: mailbot={fmt(m['mailbot'], 1)} helpdesk={fmt(m['helpdesk'], 1)} "
        f"roundup={fmt(m['roundup'], 1)} msgs/s mailbot_vs_helpdesk={vs('helpdesk')} "
        f"mailbot_vs_roundup={vs('roundup')} rounds={rounds} counts_ok={ok}"
    )


def round_order(round_: int) -> list[str]:
    """The contenders in round ``round_`` (from 1), rotated so each goes first in turn."""
    shift = (round_ - 1) % len(CONTENDERS)
    return [*CONTENDERS[shift:], *CONTENDERS[:shift]]


class PeersBench:
    """The shared driver's Bench, plus the two peers' venvs and one timed run per peer."""

    def __init__(self, shared: ModuleType, bench: Any, venvs: dict[str, Path], alt: str) -> None:
        self.shared, self.bench, self.venvs, self.alt = shared, bench, venvs, alt

    def peer_run(self, round_: int, contender: str) -> Any:
        shared, bench = self.shared, self.bench
        n = len(bench.messages)
        run = shared.Run(round=round_, contender=contender, empty=False, n=n)
        run_dir = bench.work / f"r{round_}-{contender}"
        run_dir.mkdir()
        user = bench.dovecot.new_user()
        sink = shared.Sink(bench.tools, run_dir / "sink.jsonl")
        expected = emails_per_message(contender, bench.args.peer_emails) * n
        try:
            bench.dovecot.deliver(user, bench.messages)
            team = TEAM if bench.args.peer_emails == 2 else None
            target = peerkit.Target(
                shared.HOST,
                bench.dovecot.port,
                user,
                shared.PASSWORD,
                shared.HOST,
                sink.port,
                shared.SUPPORT,
                shared.SERVICE_NAME,
                team,
            )
            env = shared.child_env()
            try:
                if contender == "helpdesk":
                    ready = peerkit.prepare_helpdesk(self.venvs[contender], run_dir, target, env)
                else:
                    ready = peerkit.prepare_roundup(
                        self.venvs[contender], run_dir, target, self.alt, env
                    )
            except peerkit.PeerError as exc:
                run.problems.append(str(exc))
                return run
            code, start, end, cpu = shared.timed(
                ready.cmd, ready.env, run_dir, bench.args.run_timeout
            )
            lines = sink.wait_for(expected, timeout=5.0 if code == 0 else 0.5)
            last = max((float(line["time"]) for line in lines), default=end)
            run.exit, run.cpu_s, run.wall_s = code, cpu, max(end, last) - start
            run.calls = shared.count_rows(ready.db, ready.table)
            run.sent = len(lines)
            rcpts = [str(r).lower() for line in lines for r in line.get("rcpt_tos", [])]
            run.rcpts = len(rcpts)
            run.senders_answered = len(bench.senders & set(rcpts))
            team_notices = rcpts.count(team) if team else 0
            run.inbox_left = bench.dovecot.count(user)
        finally:
            sink.stop()
        for problem, bad in (
            (f"exit {run.exit}", run.exit != 0),
            (f"{run.calls} tickets in the database, expected {n}", run.calls != n),
            (f"{run.sent} emails at the sink, expected {expected}", run.sent != expected),
            (f"{run.senders_answered} of {n} senders answered", run.senders_answered != n),
            (f"{run.inbox_left} messages left in INBOX", run.inbox_left != 0),
            (
                f"{team_notices} notices to the team, expected {n}",
                team is not None and team_notices != n,
            ),
        ):
            if bad:
                run.problems.append(problem)
        run.ok = not run.problems
        return run

    def measure(self, rounds: int) -> dict[str, list[Any]]:
        runs: dict[str, list[Any]] = {name: [] for name in CONTENDERS}
        for round_ in range(1, rounds + 1):
            for contender in round_order(round_):
                if contender == "mailbot":
                    run = self.bench.one(round_, "mailbot", False)
                else:
                    run = self.peer_run(round_, contender)
                self.bench.report(run)
                runs[contender].append(run)
            load = os.getloadavg()[0]
            rates = "  ".join(f"{name}={fmt(runs[name][-1].rate, 1)}" for name in CONTENDERS)
            print(f"round {round_}/{rounds} msgs/s: {rates} (load {load:.1f})", flush=True)
        return runs


def summarise(runs: dict[str, list[Any]], rounds: int, peer_emails: int) -> bool:
    for name in CONTENDERS:
        rates = [r.rate for r in runs[name] if r.rate is not None]
        spread = (
            f"{min(rates):.1f} / {statistics.median(rates):.1f} / {max(rates):.1f}"
            if rates
            else "nan"
        )
        cpu = median([r.cpu_ms_per_msg for r in runs[name]])
        print(
            f"{name:8}: msgs/s min/median/max {spread}; cpu ms/msg median {fmt(cpu, 1)}; "
            f"{emails_per_message(name, peer_emails)} email(s) per message",
            flush=True,
        )
    ok = all(r.ok for group in runs.values() for r in group)
    print(summary_line({k: [r.rate for r in v] for k, v in runs.items()}, rounds, ok), flush=True)
    return ok


def parse_args(argv: list[str] | None, now: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--venv",
        default=str(ROOT / ".venv"),
        help="the venv with mailbot (default: this checkout's .venv)",
    )
    parser.add_argument("-n", "--n", type=int, default=1000, help="messages per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", default=now, help="mailbot's --now (inside support hours)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--peer-emails",
        type=int,
        choices=(1, 2),
        default=1,
        help="1: each peer acknowledges the sender only (default, as in issue "
        "16); 2: each peer also notifies the team, as mailbot does",
    )
    parser.add_argument(
        "--cache",
        default=None,
        help="venv cache (default: $TMPDIR/mailbot-bench-cache, the shared one)",
    )
    parser.add_argument("--dovecot", default=None)
    parser.add_argument("--run-timeout", type=float, default=None)
    args = parser.parse_args(argv)
    if args.n < 1 or args.rounds < 1:
        parser.error("-n and --rounds must be at least 1")
    if args.run_timeout is None:
        args.run_timeout = 120.0 + 2 * args.n
    return args


def with_cleanup(work: Path, keep: bool, body: Callable[[], int]) -> int:
    try:
        return body()
    finally:
        if keep:
            print(f"(work folder kept: {work})", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    shared = shared_driver()
    args = parse_args(argv, shared.NOW)
    work = Path(tempfile.mkdtemp(prefix="mailbot-peers-"))

    def body() -> int:
        staging = work / "project"
        staging.mkdir()
        # The shared setup: venv check, tools venv, workload, Dovecot (with the
        # extra listener on port 143 for Roundup).  Its 4 * rounds + 4 users
        # cover the 3 * rounds runs here.
        shared_args = argparse.Namespace(
            project=str(staged_project(staging)),
            venv=args.venv,
            n=args.n,
            rounds=args.rounds,
            seed=args.seed,
            now=args.now,
            keep=args.keep,
            cache=args.cache,
            dovecot=args.dovecot,
            run_timeout=args.run_timeout,
            peer_emails=args.peer_emails,
        )
        alt = port_143_address()
        # The shared driver writes Dovecot's configuration from this template;
        # the listener is added in this process's copy only (the file on disk
        # is untouched), so mailbot and the helpdesk use the same port as in
        # the shared driver and Roundup the extra one.
        shared._DOVECOT_CONF = with_port_143(shared._DOVECOT_CONF, alt)
        try:
            bench = shared.setup(shared_args, work)
        except shared.HarnessError as exc:
            print(f"peers: harness could not run: {exc}", file=sys.stderr)
            return 2
        try:
            cache = Path(args.cache or Path(tempfile.gettempdir()) / "mailbot-bench-cache")
            env, log = shared.child_env(), work / "pip-peers.log"
            with shared.Lock(cache / "lock"):
                venvs = {
                    "helpdesk": peerkit.peer_venv(
                        cache, peerkit.HELPDESK_PIN, peerkit.HELPDESK_PROBE, log, env
                    ),
                    "roundup": peerkit.peer_venv(
                        cache, peerkit.ROUNDUP_PIN, peerkit.ROUNDUP_PROBE, log, env
                    ),
                }
            print(
                f"peers: {peerkit.HELPDESK_PIN} ({venvs['helpdesk']}), {peerkit.ROUNDUP_PIN} "
                f"({venvs['roundup']}); Roundup reads IMAP at {alt}:143",
                flush=True,
            )
            runs = PeersBench(shared, bench, venvs, alt).measure(args.rounds)
            return 0 if summarise(runs, args.rounds, args.peer_emails) else 1
        except (shared.HarnessError, peerkit.PeerError) as exc:
            print(f"peers: harness could not run: {exc}", file=sys.stderr)
            return 2
        finally:
            bench.dovecot.stop()

    return with_cleanup(work, args.keep, body)


if __name__ == "__main__":
    raise SystemExit(main())
