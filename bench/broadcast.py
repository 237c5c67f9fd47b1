"""Benchmark: a major-incident broadcast to 5,000 recipients through a real SMTP server.

The daemon's own loops run on one event loop, as in production: the outbox
loop queues the broadcast a batch at a time and sends it over one reused
SMTP connection (or ``--connections`` of them; by default as many as the
default configuration has) to an aiosmtpd server on
loopback (a process of its own, as a real relay would be, discarding what
it accepts), while an intake loop
feeds a school's email through the whole pipeline every 50 ms.  It prints the
broadcast's rate and how long each intake took meanwhile, beside the same
intake timed with no broadcast running (the difference is the time intake
waited for the database).  Prints figures only.
Usage: python bench/broadcast.py [--recipients 5000] [--connections N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import free_port, wait_for_port  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from support import SHIPPED_RULES, local, mail, make_config  # noqa: E402

from mailbot.daemon.intake import process  # noqa: E402
from mailbot.daemon.service import Daemon  # noqa: E402
from mailbot.incidents import broadcast, incident  # noqa: E402
from mailbot.pipeline.records import RawMail  # noqa: E402
from mailbot.rules.loader import load_rules  # noqa: E402
from mailbot.storage.db import make_engine, make_sessions, transaction, upgrade  # noqa: E402
from mailbot.storage.models import Outbox  # noqa: E402

NOW = local(2026, 11, 23, 9, 30)


def write_rules(folder: Path, recipients: int) -> None:
    """The shipped rules plus schools enough for ``recipients`` list members (two each)."""
    shutil.copytree(SHIPPED_RULES, folder)
    shipped = (SHIPPED_RULES / "schools.toml").read_text(encoding="utf-8")
    lines = []
    for n in range(recipients // 2):
        lines += [
            f'[[school]]\nid = "s{n:05d}"\nname = "School {n}"\nphase = "secondary"',
            f'[[school.contacts]]\nname = "Head {n}"\nemail = "head@s{n:05d}.example"',
            'roles = ["headteacher"]',
            f'[[school.contacts]]\nname = "Net {n}"\nemail = "net@s{n:05d}.example"',
            'roles = ["network_manager"]',
        ]
    (folder / "schools.toml").write_text(shipped + "\n".join(lines) + "\n", encoding="utf-8")


def sent_count(daemon: Daemon) -> int:
    """Incident notices the relay has accepted (the outbox marks each as it is accepted)."""
    with daemon.sessions() as session:
        return (
            session.scalar(
                select(func.count(Outbox.id)).where(
                    Outbox.kind == "incident_notice", Outbox.status == "sent"
                )
            )
            or 0
        )


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


async def main(recipients: int, connections: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        write_rules(tmp / "rules", recipients)
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        port = free_port()
        relay = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
             "-c", "aiosmtpd.handlers.Sink"],
        )  # fmt: skip
        assert wait_for_port(port, process=relay), "the SMTP relay did not start"
        config = make_config(tmp, url, smtp=("127.0.0.1", port), rules_dir=tmp / "rules")
        if connections:
            smtp = config.smtp.model_copy(update={"connections": connections})
            config = config.model_copy(update={"smtp": smtp})
        # Without --connections, the default configuration's number.
        connections = config.smtp.connections
        rules = load_rules(tmp / "rules")
        # The shipped schools' headteachers and network managers are on the lists too.
        recipients = len(broadcast.recipients(rules, email_down=False))
        daemon = Daemon(config=config, rules=rules, sessions=make_sessions(make_engine(url)),
                        clock=lambda: NOW)  # fmt: skip

        baseline = [await asyncio.to_thread(intake_once, daemon, n) for n in range(40)]

        with transaction(daemon.sessions) as session:
            incident.declare(
                session, rules, title="Internet service down across all schools",
                details="Benchmark broadcast.", by=incident.By("bench@example", NOW),
            )  # fmt: skip
        done = asyncio.Event()
        intake = asyncio.create_task(intake_loop(daemon, done, 1000))
        outbox = asyncio.create_task(daemon.outbox_loop())
        started = time.perf_counter()
        while (sent := await asyncio.to_thread(sent_count, daemon)) < recipients:
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        done.set()
        during = await intake
        daemon.stopping.set()
        daemon.wake_outbox.set()
        await outbox
        relay.terminate()
        relay.wait()

    print(
        f"broadcast: {sent} notices to {recipients} recipients in {seconds:.2f} s "
        f"over {connections} SMTP connection(s)"
    )
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
    parser.add_argument(
        "--connections", type=int, default=0, help="[smtp] connections (default: the config's)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.recipients, args.connections))
