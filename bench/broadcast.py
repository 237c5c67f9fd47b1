"""Benchmark: a major-incident broadcast to 5,000 recipients through a real SMTP server.

The daemon's own loops run on one event loop, as in production: the outbox
loop queues the broadcast a batch at a time and sends it over one reused
SMTP connection to an aiosmtpd server on loopback, while an intake loop
feeds a school's email through the whole pipeline every 50 ms.  It prints the
broadcast's rate and how long each intake took meanwhile, beside the same
intake timed with no broadcast running (the difference is the time intake
waited for the database).  Prints figures only.
Usage: python bench/broadcast.py [--recipients 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support import SHIPPED_RULES, local, mail, make_config  # noqa: E402

from mailbot import incidents  # noqa: E402
from mailbot.daemon import Daemon  # noqa: E402
from mailbot.db import make_engine, make_sessions, transaction, upgrade  # noqa: E402
from mailbot.intake import process  # noqa: E402
from mailbot.rules import load_rules  # noqa: E402
from mailbot.smtpsink import SinkServer  # noqa: E402
from mailbot.triage import RawMail  # noqa: E402

NOW = local(2026, 11, 23, 9, 30)


def write_rules(folder: Path, recipients: int) -> None:
    """The shipped rules with schools enough for ``recipients`` list members (two each)."""
    shutil.copytree(SHIPPED_RULES, folder)
    lines = []
    for n in range(recipients // 2):
        lines += [
            f'[[school]]\nid = "s{n:05d}"\nname = "School {n}"\nphase = "secondary"',
            f'[[school.contacts]]\nname = "Head {n}"\nemail = "head@s{n:05d}.example"',
            'roles = ["headteacher"]',
            f'[[school.contacts]]\nname = "Net {n}"\nemail = "net@s{n:05d}.example"',
            'roles = ["network_manager"]',
        ]
    (folder / "schools.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def intake_once(daemon: Daemon, n: int) -> float:
    """Process one school email through the pipeline; return the milliseconds it took."""
    raw = mail("school-new-request").replace(b"new-request-1@", f"bench-{n}@".encode())
    raw = raw.replace(b"head@oakfield-primary.westshire.sch.uk", b"head@s00000.example")
    start = time.perf_counter()
    process(
        RawMail(raw=raw, size=len(raw)),
        sessions=daemon.sessions,
        config=daemon.config,
        rules=daemon.rules,
        now=NOW,
    )
    return (time.perf_counter() - start) * 1000


async def intake_loop(daemon: Daemon, done: asyncio.Event, start: int) -> list[float]:
    """One email every 50 ms until ``done``; the time each took."""
    times: list[float] = []
    n = start
    while not done.is_set():
        times.append(await asyncio.to_thread(intake_once, daemon, n))
        n += 1
        await asyncio.sleep(0.05)
    return times


async def main(recipients: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        write_rules(tmp / "rules", recipients)
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        sink = SinkServer()
        await sink.start()
        config = make_config(tmp, url, smtp=(sink.host, sink.port), rules_dir=tmp / "rules")
        rules = load_rules(tmp / "rules")
        daemon = Daemon(config=config, rules=rules, sessions=make_sessions(make_engine(url)),
                        clock=lambda: NOW)  # fmt: skip

        baseline = [await asyncio.to_thread(intake_once, daemon, n) for n in range(40)]

        with transaction(daemon.sessions) as session:
            incidents.declare(
                session, rules, title="Internet service down across all schools",
                details="Benchmark broadcast.", by=incidents.By("bench@example", NOW),
            )  # fmt: skip
        done = asyncio.Event()
        intake = asyncio.create_task(intake_loop(daemon, done, 1000))
        outbox = asyncio.create_task(daemon._outbox_loop())
        started = time.perf_counter()
        while sum(1 for m in sink.messages if b"X-Mailbot-Id: incident_notice" in m.raw) < (
            recipients
        ):
            await asyncio.sleep(0.02)
        seconds = time.perf_counter() - started
        done.set()
        during = await intake
        daemon.stopping.set()
        daemon.wake_outbox.set()
        await outbox
        await sink.stop()

    sent = sum(1 for m in sink.messages if b"X-Mailbot-Id: incident_notice" in m.raw)
    print(f"broadcast: {sent} notices to {recipients} recipients in {seconds:.2f} s")
    print(
        f"intake alone: median {statistics.median(baseline):.1f} ms, "
        f"max {max(baseline):.1f} ms per email (n={len(baseline)})"
    )
    print(
        f"intake during broadcast: median {statistics.median(during):.1f} ms, "
        f"max {max(during):.1f} ms per email (n={len(during)})"
    )
    waited = max(0.0, statistics.median(during) - statistics.median(baseline))
    print(
        f"broadcast msgs_per_s={sent / seconds:.0f} "
        f"intake_waited_ms median={waited:.1f} max={max(during):.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5000)
    asyncio.run(main(parser.parse_args().recipients))
