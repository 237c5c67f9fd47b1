"""Benchmark: N school emails through a private Dovecot, the pipeline, SQLite and SMTP.

Prints figures only.  Usage: python bench/mail_intake.py [--n 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import DovecotServer  # noqa: E402
from smtpserver import SmtpSink  # noqa: E402
from support import bulk_rules, local, mail, make_config  # noqa: E402

from mailbot.daemon.service import Daemon  # noqa: E402
from mailbot.rules.loader import load_rules  # noqa: E402
from mailbot.storage.db import make_engine, make_sessions, upgrade  # noqa: E402


def school_mail(n: int) -> bytes:
    raw = mail("school-new-request").replace(b"new-request-1@", f"bench-{n}@".encode())
    raw = raw.replace(b"Internet very slow", f"Printer {n} jammed".encode())
    return raw.replace(b"<head@oakfield", f"<teacher{n}@oakfield".encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    server, sink = DovecotServer.start(), SmtpSink()
    dovecot = server.new_account()
    try:
        tmp = Path(tempfile.mkdtemp(prefix="mailbot-bench-"))
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        config = make_config(
            tmp,
            url,
            imap=(dovecot.host, dovecot.port, dovecot.username, dovecot.password),
            smtp=(sink.host, sink.port),
            # A thousand requests from one school at one instant is a flood by
            # the shipped rules; this measures intake, not the flood cap.
            rules_dir=bulk_rules(tmp),
            batch_size=100,
        )
        t0 = time.perf_counter()
        for n in range(args.n):
            dovecot.deliver(school_mail(n))
        print(f"delivered {args.n} messages by APPEND in {time.perf_counter() - t0:.1f} s")
        now = local(2026, 11, 23, 9, 5)
        daemon = Daemon(
            config=config,
            rules=load_rules(config.rules.dir),
            sessions=make_sessions(make_engine(url)),
            clock=lambda: now,
        )
        t1 = time.perf_counter()
        report, sent, _tick = asyncio.run(daemon.run_once())
        total = time.perf_counter() - t1
        # Each new call sends two emails: the confirmation and the team's notice.
        if len(report.outcomes) != args.n or sent.sent != 2 * args.n:
            raise SystemExit(f"expected {args.n}, got {len(report.outcomes)} and {sent}")
        print(
            f"run_once: {args.n} emails -> {args.n} calls, {sent.sent} emails sent "
            f"(confirmations and team notices) in {total:.2f} s"
        )
        per_msg = total / args.n * 1000
        print(
            f"intake msgs_per_s={args.n / total:.0f} ms_per_msg={per_msg:.2f} "
            "(fetch, parse, pipeline, commit, move, send)"
        )
    finally:
        sink.close()
        server.stop()


if __name__ == "__main__":
    main()
