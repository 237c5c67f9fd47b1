"""Benchmark: CPU per message of each pipeline stage over the shared workload, without servers.

Prints figures only.  The shared workload (../shared/bench/gen_workload.py,
N Outlook-style new requests) goes through ``daemon.intake.process`` on a
SQLite file with the shipped rules (the per-domain cap lifted, as the shared
bench does): the same stages as ``run --once``, with no IMAP, no SMTP and no
worker process.  Each stage's CPU is summed apart, and so are the MIME
building (``mime.build``, inside enqueue) and the template rendering
(``Templates.render``, inside compose).  Then the passes that need no
database are timed again on their own, best of three rounds: the stages
parse, screen, challenge, redact, read_commands, identify and
classify, and the template renderings and MIME builds the
run above made (replayed with the same arguments); these figures are far
less disturbed by the database's work and its garbage.  ``--profile N``
also prints the top N functions of the whole run by own CPU time.

Usage: python bench/stages.py [-n 1000] [--seed 1] [--profile 25 [--sort cumtime] [--match RE]]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import bulk_rules, make_config  # noqa: E402

from mailbot import pipeline  # noqa: E402
from mailbot.calls import door  # noqa: E402
from mailbot.daemon.intake import process  # noqa: E402
from mailbot.pipeline.classify import classify  # noqa: E402
from mailbot.pipeline.identify import identify  # noqa: E402
from mailbot.pipeline.records import Context, RawMail, Triage  # noqa: E402
from mailbot.rules import templates  # noqa: E402
from mailbot.rules.loader import load_rules  # noqa: E402
from mailbot.storage.db import make_engine, make_sessions, upgrade  # noqa: E402

SHARED = ROOT.parent / "shared"
# A Monday morning in support hours, as in the shared bench's runs.
NOW = datetime(2026, 11, 23, 9, 5, tzinfo=ZoneInfo("Europe/London"))
SPENT: dict[str, float] = defaultdict(float)
# The arguments of every call of the timed steps named here, to replay them.
CALLS: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = defaultdict(list)
RENDER = "  (template render, in compose)"
BUILD = "  (mime build, in enqueue)"


def _timed(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        if name in (RENDER, BUILD):
            CALLS[name].append((args, kwargs))
        start = time.process_time()
        try:
            return step(*args, **kwargs)
        finally:
            SPENT[name] += time.process_time() - start

    return timed


def _workload(n: int, seed: int) -> list[bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, str(SHARED / "bench" / "gen_workload.py"), "-n", str(n),
             "--seed", str(seed), "--out", tmp],
            check=True, capture_output=True,
        )  # fmt: skip
        return [p.read_bytes() for p in sorted(Path(tmp).glob("*.eml"))]


def _best(step: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        step()
        best = min(best, time.process_time() - start)
    return best


def _pure(messages: list[bytes], ctx: Context, render: Any, build: Any) -> None:
    """Time the passes that need no database on their own, best of three rounds."""
    n = max(len(messages), 1)
    print("pure passes, no database (best of 3 rounds):")
    # challenge asks the database only about wording found in a reply, which
    # the workload (new requests) never has.
    passes = (pipeline.parse, pipeline.screen, pipeline.challenge, pipeline.redact,
              pipeline.read_commands, identify, classify)  # fmt: skip
    records = [Triage(key="", raw=RawMail(raw=raw, size=len(raw))) for raw in messages]
    total = 0.0
    for stage in passes:
        # Each round starts from the records the stage before made.
        ready = list(records)

        def run(stage: Any = stage, ready: list[Triage] = ready) -> None:
            for i, t in enumerate(ready):
                records[i] = stage(t, ctx)

        spent = _best(run)
        total += spent
        print(f"  {stage.__name__:<32} {spent / n * 1e3:8.3f} ms/msg")
    for name, step in ((RENDER.strip(" ()"), render), (BUILD.strip(" ()"), build)):
        calls = CALLS[RENDER if step is render else BUILD]
        spent = _best(lambda step=step, calls=calls: [step(*a, **k) for a, k in calls])
        total += spent
        print(f"  {name:<32} {spent / n * 1e3:8.3f} ms/msg ({len(calls)} calls)")
    print(f"  {'all pure passes':<32} {total / n * 1e3:8.3f} ms/msg")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="generated messages")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    parser.add_argument("--sort", default="tottime", help="the profile's order (tottime, cumtime)")
    parser.add_argument("--match", default="", help="profile only functions whose path matches")
    args = parser.parse_args(argv)
    messages = _workload(args.n, args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="mailbot-stages-"))
    url = f"sqlite:///{tmp / 'stages.db'}"
    upgrade(url)
    config = make_config(tmp, url, rules_dir=bulk_rules(tmp))
    rules = load_rules(config.rules.dir)
    sessions = make_sessions(make_engine(url))
    # run() takes its stages as a default argument, so the timed ones go there.
    timed = tuple(_timed(s.__name__, s) for s in pipeline.STAGES)
    pipeline.run.__defaults__ = (timed,)
    real_build, real_render = door.build, templates.Templates.render
    door.build = _timed(BUILD, door.build)  # type: ignore[assignment]
    templates.Templates.render = _timed(RENDER, templates.Templates.render)  # type: ignore[method-assign]
    profiler = cProfile.Profile() if args.profile else None
    actions: dict[str, int] = defaultdict(int)
    start = time.process_time()
    if profiler is not None:
        profiler.enable()
    for raw in messages:
        t = process(RawMail(raw=raw, size=len(raw)), sessions=sessions, config=config,
                    rules=rules, now=NOW)  # fmt: skip
        actions[f"{t.action} ({len(t.outgoing)} emails)"] += 1
    if profiler is not None:
        profiler.disable()
    total = time.process_time() - start
    n = max(len(messages), 1)
    print(f"n={len(messages)} outcomes: {dict(actions)}")
    for name, spent in SPENT.items():
        print(f"{name:<34} {spent / n * 1e3:8.3f} ms/msg")
    print(f"{'whole process() per message':<34} {total / n * 1e3:8.3f} ms/msg")
    _pure(messages, Context(config=config, rules=rules, now=NOW, store=None),  # type: ignore[arg-type]
          real_render, real_build)  # fmt: skip
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats(args.sort)
        stats.print_stats(*([args.match] if args.match else []), args.profile)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
