"""Benchmark: parse CPU per message, and where mail-parser's decode needs repair.

Prints figures only.  For every corpus file and for a generated workload it
prints the CPU seconds per message of ``parse_message`` and of its two passes
measured apart: mail-parser's parse (which decodes every text part, once) and
the body walk over the same tree, which takes each body part's text from
mail-parser and decodes again only the parts it misread.  With ``--compare``
it also lists the files mail-parser raises on, the subjects it reads wrongly,
and, per part, where its decode is repaired and where it still differs from
decoding the part's bytes ourselves: the measurement each repair is justified by.

Usage: python bench/parse.py [--corpus DIR ...] [--workload N] [--compare]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mailparser  # noqa: E402

from mailbot.mail import mimewalk  # noqa: E402
from mailbot.mail.charsets import decode_bytes, decode_header, misread  # noqa: E402
from mailbot.mail.parse import _Tree, _tree, parse_message  # noqa: E402

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


def _walk(tree: _Tree) -> object:
    if tree.msg is None:
        return None
    return mimewalk.read_body(tree.msg, max_attachment_bytes=5_000_000, decoded=tree.decoded)


def _figures(label: str, messages: list[bytes], rounds: int) -> None:
    whole = _cpu(messages, parse_message, rounds)
    theirs = _cpu(messages, _mailparser, rounds)
    # The walk is timed on trees parsed beforehand, with the texts mail-parser
    # decoded on the way: what the body walk costs on top of its pass.
    ours = _cpu([_tree(m) for m in messages], _walk, rounds)
    print(
        f"{label:<22} n={len(messages):>5}  parse_message {whole * 1e3:7.3f} ms/msg  "
        f"mail-parser pass {theirs * 1e3:7.3f} ms/msg  "
        f"body walk (read_body) {ours * 1e3:7.3f} ms/msg"
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
        if _norm(decode_header(theirs.subject or "")) != _norm(ours.subject):
            found["subject differs even after our header decode"].append(name)
        for part, text in _tree(raw).decoded.items():
            if mimewalk.content_type(part) not in ("text/plain", "text/html"):
                continue
            charset = part.get_content_charset() or "no charset"
            if misread(text):
                found[f"part misread, decoded again ({charset})"].append(name)
                continue
            own = decode_bytes(mimewalk._payload_bytes(part), part.get_content_charset())
            if _norm(own.replace("\x00", "")) != _norm(text.replace("\x00", "")):
                found[f"part kept as mail-parser read it, differs from ours ({charset})"].append(
                    name
                )
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
