"""Benchmark: one scheduler tick with 1,000 and with 100,000 open calls, a few of them due.

The tick selects due calls through the indexed due columns, so its cost should
follow the number due, not the number open.  Each size gets a fresh SQLite
database; the few due calls are put back after every tick so each timed tick
does the same work (4 escalations and 1 automatic closure with its notice).
Prints figures only.  Usage: python bench/scheduler_tick.py [--sizes 1000 100000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sqlalchemy import delete, insert, update  # noqa: E402
from support import local, make_config  # noqa: E402

from mailbot.calls import lifecycle  # noqa: E402
from mailbot.daemon import jobs  # noqa: E402
from mailbot.rules.loader import load_rules  # noqa: E402
from mailbot.sla.calendar import clock_start  # noqa: E402
from mailbot.sla.clock import Clock  # noqa: E402
from mailbot.storage.db import make_engine, make_sessions, upgrade  # noqa: E402
from mailbot.storage.models import Call, Event, Message, Outbox  # noqa: E402

NOW = local(2026, 11, 24, 12, 0)
DUE_ESCALATIONS = 4
DUE_CLOSURES = 1


def _row(n: int, call: Call) -> dict[str, object]:
    return {
        "id": n,
        "ref": f"ICT-{n:06d}",
        "status": call.status,
        "type": "incident",
        "category": "general",
        "priority": call.priority,
        "team": "network",
        "assignee": "sam",
        "school_id": "oakfield-primary",
        "requester_email": f"teacher{n}@oakfield-primary.westshire.sch.uk",
        "requester_name": "Teacher",
        "subject": f"Printer {n} jammed",
        "created_at": call.created_at,
        "updated_at": call.created_at,
        "clock_start_at": call.clock_start_at,
        "response_due_at": call.response_due_at,
        "fix_due_at": call.fix_due_at,
        "next_escalation_at": call.next_escalation_at,
        "escalation_level": 0,
        "missing_details": "[]",
        "close_due_at": call.close_due_at,
        "solved_at": call.solved_at,
        "paused_minutes": 0,
        "revised_paused_minutes": 0,
        "revised_reason": "",
    }


def _template(rules: object, logged: object, status: str = "open") -> Call:
    policy = rules.clock  # type: ignore[attr-defined]
    start = clock_start(policy.calendar, logged)  # type: ignore[arg-type]
    call = Call(type="incident", created_at=logged)
    clock = Clock("P3", "open", start)
    if status == "solved":
        clock = Clock("P3", "solved", start, solved_at=logged)  # type: ignore[arg-type]
    lifecycle.store_clock(call, clock, policy)
    return call


def fill(url: str, rules: object, size: int) -> tuple[list[int], list[int]]:
    """Insert ``size`` open calls; return the ids of the few that are due."""
    engine = make_engine(url)
    fresh = _template(rules, NOW - timedelta(minutes=5))  # escalates next week
    overdue = _template(rules, NOW - timedelta(days=7))  # level 1 already reached
    solved = _template(rules, NOW - timedelta(days=5), status="solved")  # closes now
    due_esc = list(range(1, DUE_ESCALATIONS + 1))
    due_close = list(range(DUE_ESCALATIONS + 1, DUE_ESCALATIONS + DUE_CLOSURES + 1))
    with engine.begin() as conn:
        rows = []
        for n in range(1, size + 1):
            source = overdue if n in due_esc else solved if n in due_close else fresh
            rows.append(_row(n, source))
            if len(rows) == 10_000:
                conn.execute(insert(Call), rows)
                rows = []
        if rows:
            conn.execute(insert(Call), rows)
    return due_esc, due_close


def reset(url: str, rules: object, due_esc: list[int], due_close: list[int]) -> None:
    """Put the due calls back as they were, so every timed tick does the same work."""
    overdue = _template(rules, NOW - timedelta(days=7))
    solved = _template(rules, NOW - timedelta(days=5), status="solved")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(delete(Outbox))
        conn.execute(delete(Message))
        conn.execute(delete(Event))
        conn.execute(
            update(Call)
            .where(Call.id.in_(due_esc))
            .values(escalation_level=0, next_escalation_at=overdue.next_escalation_at)
        )
        conn.execute(
            update(Call)
            .where(Call.id.in_(due_close))
            .values(status="solved", solved_at=solved.solved_at, close_due_at=solved.close_due_at)
        )


def measure(size: int, repeats: int) -> float:
    tmp = Path(tempfile.mkdtemp(prefix="mailbot-tick-"))
    url = f"sqlite:///{tmp / 'tick.db'}"
    upgrade(url)
    config = make_config(tmp, url)
    rules = load_rules(config.rules.dir)
    t0 = time.perf_counter()
    due_esc, due_close = fill(url, rules, size)
    print(f"open={size}: filled in {time.perf_counter() - t0:.1f} s")
    sessions = make_sessions(make_engine(url))
    times = []
    for attempt in range(repeats + 1):
        reset(url, rules, due_esc, due_close)
        t0 = time.perf_counter()
        # The daemon's per-minute tick; monthly reports have a slower job of their own.
        report = jobs.run_due(sessions, config, rules, NOW, reports=False)
        elapsed = (time.perf_counter() - t0) * 1000
        assert len(report.escalated) == DUE_ESCALATIONS, report
        assert len(report.closed) == DUE_CLOSURES, report
        if attempt:  # The first tick warms caches (templates, statements).
            times.append(elapsed)
    t0 = time.perf_counter()
    idle = jobs.run_due(sessions, config, rules, NOW, reports=False)
    idle_ms = (time.perf_counter() - t0) * 1000
    assert not idle.escalated and not idle.closed
    median = statistics.median(times)
    print(
        f"open={size}: tick with {DUE_ESCALATIONS} escalations + {DUE_CLOSURES} closure: "
        f"median {median:.2f} ms (min {min(times):.2f}, max {max(times):.2f}, n={repeats}); "
        f"idle tick {idle_ms:.2f} ms"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    results = [(size, measure(size, args.repeats)) for size in args.sizes]
    print("tick_ms " + " ".join(f"open={size} {ms:.2f}" for size, ms in results))


if __name__ == "__main__":
    main()
