"""Benchmark: CPU and peak memory of hostile email shapes at two sizes, through the real stages.

Prints figures only, one line per shape and stage: CPU seconds at n and 4n,
the growth ratio (close to 4 when the stage is linear) and the peak RSS of
the process that ran the larger size.  Each measurement runs in a fresh
subprocess, so one shape's memory never shows in another's figure.

Usage: python bench/hostile.py [--quick] [--scale 0.25] [--only SHAPE ...] [--stages ...]
(--scale 0.1 lets the quadratic shapes of older code finish; --timeout caps each run.)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

HEAD = (
    "From: Helen Marsh <head@oakfield-primary.westshire.sch.uk>\r\n"
    "To: ictsupport@westshire.gov.uk\r\n"
    "Subject: Internet very slow in the ICT suite\r\n"
    "Date: Mon, 23 Nov 2026 09:02:11 +0000\r\n"
    "Message-ID: <hostile-{n}@oakfield-primary.westshire.sch.uk>\r\n"
    "MIME-Version: 1.0\r\n"
)


def _plain(n: int, body: str) -> bytes:
    head = HEAD.format(n=n) + 'Content-Type: text/plain; charset="utf-8"\r\n\r\n'
    return (head + body).encode()


def _html(n: int, body: str) -> bytes:
    head = HEAD.format(n=n) + 'Content-Type: text/html; charset="utf-8"\r\n\r\n'
    return (head + "<html><body>" + body + "</body></html>").encode()


def nested_list(n: int) -> bytes:
    """HTML only: ``n`` bytes of ever deeper ``<ul><li>``."""
    return _html(n, "<ul><li>x" * (n // 10))


def pre_spaces(n: int) -> bytes:
    """HTML only: a ``<pre>`` of ``n`` spaces."""
    return _html(n, "<pre>" + " " * n + "x</pre>")


def long_first_line(n: int) -> bytes:
    """A first line of ``n`` bytes that starts like a command, then ordinary text."""
    return _plain(n, "#note " + "word " * (n // 5) + "\r\n\r\nThe printer is broken.\r\n")


def command_spaces(n: int) -> bytes:
    """A command line with ``n`` spaces inside its argument (the old grammar re-read them)."""
    return _plain(n, "#note x" + " " * n + "y\r\n\r\nThe printer is broken.\r\n")


def blank_lines(n: int) -> bytes:
    """``n`` bytes of blank (space-only) lines between two lines of text."""
    return _plain(n, "Hello\r\n" + " \r\n" * (n // 3) + "The printer is broken.\r\n")


def passwords(n: int) -> bytes:
    """``n`` bytes of password-like lines (each a match for the redactor)."""
    return _plain(n, "password: Tr0ub4dor&3\r\n" * (n // 23))


def quoted_history(n: int) -> bytes:
    """A short answer over ``n`` bytes of quoted lines and attribution-like lines."""
    return _plain(n, "Thanks, fixed.\r\n\r\n" + "On Monday we wrote:\r\n> text\r\n" * (n // 28))


def on_words(n: int) -> bytes:
    """``n`` bytes of lines full of "On", which email-reply-parser's patterns re-read."""
    return _plain(n, "Thanks, fixed.\r\n\r\n" + "Online lessons OnOnOn\r\n" * (n // 23))


def html_many_lt(n: int) -> bytes:
    """HTML only: ``n`` unclosed "<" (a naive tag pattern re-reads the rest from each)."""
    return _html(n, "<" * n)


def single_line(n: int) -> bytes:
    """One line of ``n`` letters: the 14 MB body that once made a 28 MB team notice."""
    return _plain(n, "a" * n + "\r\n")


SHAPES: dict[str, tuple[Callable[[int], bytes], int, tuple[str, ...]]] = {
    # Shape, its default smaller size (the larger is four times it), and the
    # stages measured besides parse and the whole pipeline: the pass the
    # shape was found to attack.
    "nested_list": (nested_list, 16_000, ()),
    "pre_spaces": (pre_spaces, 100_000, ()),
    "long_first_line": (long_first_line, 40_000, ()),
    "command_spaces": (command_spaces, 40_000, ()),
    "blank_lines": (blank_lines, 20_000, ("screen",)),
    "passwords": (passwords, 250_000, ("redact",)),
    "quoted_history": (quoted_history, 50_000, ()),
    "on_words": (on_words, 50_000, ()),
    "html_many_lt": (html_many_lt, 250_000, ()),
    "single_line": (single_line, 3_500_000, ("screen", "redact")),
}
STAGES = ("parse", "screen", "redact", "pipeline")


def _db_bytes(db: Path) -> int:
    """The database's size on disk, with SQLite's write-ahead log (where new rows land first)."""
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def _measure(shape: str, stage: str, n: int) -> dict[str, float]:
    """Run one stage on one shape at size ``n`` in this process; CPU of that stage only."""
    from mailbot.mail.parse import parse_message
    from mailbot.mail.redact import redact
    from mailbot.mail.screen import screen

    raw = SHAPES[shape][0](n)
    extra: dict[str, float] = {}
    if stage == "pipeline":
        from support import local, make_env

        tmp = Path(tempfile.mkdtemp(prefix="mailbot-hostile-"))
        db = tmp / "hostile.db"
        env = make_env(tmp, f"sqlite:///{db}")
        before = _db_bytes(db)
        start = time.process_time()
        env.feed(raw, local(2026, 11, 23, 9, 5))
        cpu = time.process_time() - start
        extra["db_growth_kb"] = (_db_bytes(db) - before) / 1024
        extra["largest_email_kb"] = max((len(o.raw) for o in env.outbox()), default=0) / 1024
    elif stage == "parse":
        start = time.process_time()
        parse_message(raw)
        cpu = time.process_time() - start
    else:
        msg = parse_message(raw)
        start = time.process_time()
        if stage == "screen":
            screen(msg, own_addresses=frozenset({"ictsupport@westshire.gov.uk"}), own_marker="x")
        else:
            redact(msg.text)
            redact(msg.new_text)
        cpu = time.process_time() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"cpu": cpu, "rss_mb": rss_mb, **extra}


def _child(shape: str, stage: str, n: int, timeout: float) -> dict[str, float] | None:
    """One measurement in a fresh interpreter; None when it ran past ``timeout``."""
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", shape, stage, str(n)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise SystemExit(f"{shape} {stage} n={n} failed:\n{done.stderr}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _cpu(figures: dict[str, float] | None, timeout: float) -> str:
    return f">{timeout:.0f}s" if figures is None else f"{figures['cpu']:.3f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes in this process, to check it runs"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    parser.add_argument("--only", nargs="*", default=(), help="shapes to measure")
    parser.add_argument(
        "--stages", nargs="*", default=(), help=f"stages to measure, of {', '.join(STAGES)}"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per measurement")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        shape, stage, n = args.child
        print(json.dumps(_measure(shape, stage, int(n))))
        return
    scale = 0.01 if args.quick else args.scale
    for shape, (_make, size, attacked) in SHAPES.items():
        if args.only and shape not in args.only:
            continue
        n = max(100, int(size * scale))
        chosen = args.stages or ("parse", *attacked, "pipeline")
        for stage in chosen:
            if args.quick:
                # Only checks that the bench runs: measured in this process, so
                # peak_rss is this process's so far, not the one shape's.
                small, large = _measure(shape, stage, n), _measure(shape, stage, 4 * n)
            else:
                small = _child(shape, stage, n, args.timeout)
                large = _child(shape, stage, 4 * n, args.timeout)
            ratio = (
                f"{large['cpu'] / max(small['cpu'], 1e-4):.1f}"
                if small is not None and large is not None
                else "n/a"
            )
            rss = f"{large['rss_mb']:.0f}MB" if large is not None else "n/a"
            line = (
                f"{shape:<16} {stage:<8} n={n:<9} cpu={_cpu(small, args.timeout):<9} "
                f"4n={4 * n:<9} cpu={_cpu(large, args.timeout):<9} ratio={ratio:<6} "
                f"peak_rss={rss}"
            )
            if large is not None and "db_growth_kb" in large:
                line += (
                    f" db_growth={large['db_growth_kb']:.0f}KB"
                    f" largest_email={large['largest_email_kb']:.0f}KB"
                )
            print(line, flush=True)


if __name__ == "__main__":
    main()
