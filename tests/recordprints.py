"""Fingerprints of what the pure stages make of each email, to prove a faster path changes nothing.

For one email, ``fingerprint`` hashes the full repr of every record the
intake's CPU-bound passes produce: the ParsedMessage (headers, text, HTML,
attachments with their bytes, defects), the screen's verdict, the redacted
message, the commands read from it, the classification by the shipped rules,
the challenge-wording check, a reply rendered from a template with the
email's own subject and sender, the HTML made of its text, and the MIME
bytes of an email quoting its words.  Any change in any of them changes the
digest.

``python tests/recordprints.py --write`` records the digests of every corpus
file, every tests/mail file and the shared workload in
tests/data/record-prints.json.  The file was written by the code before the
speed work of issue 16 (main at dce68d7), so tests/test_same_records.py
compares today's records with the records of the unoptimised code.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from support import CORPUS, MAIL, SHIPPED_RULES, SUPPORT, make_config  # noqa: E402

from mailbot.commands import grammar  # noqa: E402
from mailbot.mail.mime import OWN_MARKER, build  # noqa: E402
from mailbot.mail.outgoing import Outgoing  # noqa: E402
from mailbot.mail.parse import parse_message  # noqa: E402
from mailbot.mail.redactmail import redact_message  # noqa: E402
from mailbot.mail.screen import challenge_wording, screen  # noqa: E402
from mailbot.pipeline.classify import classify_text  # noqa: E402
from mailbot.rules.loader import Rules, load_rules  # noqa: E402
from mailbot.rules.templates import text_to_html  # noqa: E402
from mailbot.storage import verp  # noqa: E402

PRINTS = HERE / "data" / "record-prints.json"
# The shared workload of issue 16: gen_workload.py -n 1000 --seed 1.
GENERATOR = CORPUS.parent / "bench" / "gen_workload.py"
WORKLOAD_SIZE = 1000
NOW = datetime(2026, 11, 23, 9, 5, tzinfo=ZoneInfo("Europe/London"))
SERVICE = {"name": "Westshire Schools ICT Support", "address": SUPPORT}


@functools.cache
def _rules() -> Rules:
    return load_rules(SHIPPED_RULES)


@functools.cache
def _return_path() -> str:
    config = make_config(Path(tempfile.gettempdir()), "sqlite://")
    return verp.pattern(config.service)


def fingerprint(raw: bytes) -> str:
    """A digest of every record the pure stages make of ``raw``."""
    msg = parse_message(raw)
    verdict = screen(
        msg,
        own_addresses=frozenset({SUPPORT}),
        own_marker=OWN_MARKER,
        own_return_path=_return_path(),
    )
    cleaned, found = redact_message(msg)
    commands = grammar.read_email(cleaned.new_text, cleaned.text)
    classified = classify_text(_rules(), cleaned.from_addr or "", cleaned.subject, cleaned.new_text)
    sender = {"name": cleaned.from_name, "address": cleaned.from_addr or ""}
    context = {"service": SERVICE, "subject": cleaned.subject, "password_removed": found,
               "sender": sender}  # fmt: skip
    rendered = _rules().templates.render("unknown_sender", context)
    # The team notice quotes the email's words: the MIME build sees what
    # senders write (long lines, any script, odd subjects).
    quoted = Outgoing(
        kind="new_call",
        to=("desk@westshire.gov.uk",),
        cc=(),
        subject=cleaned.subject,
        text=cleaned.new_text,
        html=rendered.html,
        message_id=f"<print-{hashlib.sha256(raw).hexdigest()[:16]}@westshire.gov.uk>",
        in_reply_to=cleaned.message_id,
        references=cleaned.references,
    )
    mime = build(quoted, from_name=SERVICE["name"], from_addr=SUPPORT, now=NOW)
    # The HTML alternative of a text quoting the email's words, web addresses and all.
    as_html = text_to_html(cleaned.text)
    records = (msg, verdict, cleaned, found, commands, classified, challenge_wording(cleaned),
               rendered, as_html, mime)  # fmt: skip
    return hashlib.sha256(repr(records).encode("utf-8", "surrogatepass")).hexdigest()


def corpus_files() -> Iterator[tuple[str, bytes]]:
    """Every .eml of the shared corpus, named by its path there."""
    for path in sorted(CORPUS.rglob("*.eml")):
        yield f"corpus/{path.relative_to(CORPUS)}", path.read_bytes()


def mail_files() -> Iterator[tuple[str, bytes]]:
    """Every sample email of tests/mail."""
    for path in sorted(MAIL.glob("*.eml")):
        yield f"mail/{path.name}", path.read_bytes()


def workload() -> Iterator[tuple[str, bytes]]:
    """The shared workload: 1,000 Outlook-style new requests, the same bytes for the same seed."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, str(GENERATOR), "-n", str(WORKLOAD_SIZE), "--seed", "1",
             "--out", tmp],
            check=True, capture_output=True,
        )  # fmt: skip
        for path in sorted(Path(tmp).glob("*.eml")):
            yield f"workload/{path.name}", path.read_bytes()


def prints(source: Iterator[tuple[str, bytes]]) -> dict[str, str]:
    return {name: fingerprint(raw) for name, raw in source}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {PRINTS}")
    args = parser.parse_args()
    found = {**prints(corpus_files()), **prints(mail_files()), **prints(workload())}
    if args.write:
        PRINTS.parent.mkdir(exist_ok=True)
        PRINTS.write_text(json.dumps(found, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(found)} fingerprints")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
