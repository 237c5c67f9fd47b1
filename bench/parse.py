"""Benchmark: parse CPU per message, and where mail-parser's decode differs from ours.

Prints figures only.  For every corpus file and for a generated workload it
prints the CPU seconds per message of ``parse_message`` and of its two decode
passes measured apart (mail-parser's ``parse_from_bytes``, then our own
``read_body`` walk over the same tree), which is what decoding the tree twice
costs.  With ``--compare`` it also lists, per kind of difference, the files on
which mail-parser's own output (subject, plain-text parts) differs from what
mailbot reads today: the measurement each repair must be justified by.

Usage: python bench/parse.py [--corpus DIR ...] [--workload N] [--compare]
"""

from __future__ import annotations

import argparse
import email
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from email import policy
from email.message import Message
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mailparser  # noqa: E402

from mailbot.mail.charsets import decode_header  # noqa: E402
from mailbot.mail.mimewalk import read_body  # noqa: E402
from mailbot.mail.parse import parse_message  # noqa: E402

SHARED = ROOT.parent / "shared"


def _files(folders: Iterable[Path]) -> list[Path]:
    return sorted(p for d in folders for p in d.rglob("*") if p.is_file() and p.suffix == ".eml")


def _cpu(messages: list[Any], step: Callable[[Any], object], rounds: int) -> float:
    """Best of ``rounds`` CPU seconds per message for ``step`` over ``messages``."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for raw in messages:
            step(raw)
        best = min(best, time.process_time() - start)
    return best / max(len(messages), 1)


def _mailparser(raw: bytes) -> object:
    try:
        return mailparser.parse_from_bytes(raw)
    except Exception:  # The files it raises on are counted by --compare.
        return None


def _tree(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=policy.compat32)


def _walk(msg: Message) -> object:
    return read_body(msg, max_attachment_bytes=5_000_000)


def _figures(label: str, messages: list[bytes], rounds: int) -> None:
    whole = _cpu(messages, parse_message, rounds)
    theirs = _cpu(messages, _mailparser, rounds)
    # The second pass is timed on trees parsed beforehand: it is the decode
    # that would go, not the tree parse that mail-parser's pass already does.
    ours = _cpu([_tree(m) for m in messages], _walk, rounds)
    print(
        f"{label:<22} n={len(messages):>5}  parse_message {whole * 1e3:7.3f} ms/msg  "
        f"mail-parser pass {theirs * 1e3:7.3f} ms/msg  "
        f"second decode (read_body) {ours * 1e3:7.3f} ms/msg"
    )


def _norm(text: str) -> str:
    return " ".join(text.split())


def _compare(files: list[Path]) -> None:
    """Group files by how mail-parser's own reading differs from mailbot's."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in files:
        raw = path.read_bytes()
        name = str(path.relative_to(path.parents[1]))
        ours = parse_message(raw)
        try:
            theirs = mailparser.parse_from_bytes(raw)
        except Exception as exc:  # Each raise is one file needing the fallback.
            found[f"raises {type(exc).__name__}"].append(name)
            continue
        if _norm(theirs.subject or "") != _norm(ours.subject):
            found["subject differs"].append(name)
        if any(0xD800 <= ord(c) <= 0xDFFF for t in theirs.text_plain for c in t):
            found["lone surrogates in text"].append(name)
        plain = _norm(" ".join(theirs.text_plain))
        if theirs.text_plain and plain != _norm(ours.text):
            found["plain text differs"].append(name)
        if _norm(decode_header(theirs.subject or "")) != _norm(ours.subject):
            found["subject differs even after our header decode"].append(name)
    for kind in sorted(found):
        names = found[kind]
        print(f"{kind}: {len(names)} files")
        for name in names:
            print(f"    {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        nargs="*",
        default=[SHARED / "corpus", ROOT / "tests" / "mail"],
        help="folders of .eml files (default: ../shared/corpus and tests/mail)",
    )
    parser.add_argument("--workload", type=int, default=1000, help="generated messages")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many rounds")
    parser.add_argument("--compare", action="store_true", help="list where the decodes differ")
    args = parser.parse_args(argv)

    files = _files(d for d in args.corpus if d.is_dir())
    if files:
        _figures("corpus files", [p.read_bytes() for p in files], args.rounds)
    generator = SHARED / "bench" / "gen_workload.py"
    if args.workload and generator.exists():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, str(generator), "-n", str(args.workload), "--out", tmp],
                check=True,
                capture_output=True,
            )
            workload = [p.read_bytes() for p in sorted(Path(tmp).glob("*.eml"))]
        _figures("generated workload", workload, args.rounds)
    if args.compare and files:
        _compare(files)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
