"""The parse stage over every message of the shared real-world corpus."""

from __future__ import annotations

import csv
import tracemalloc

import pytest
from support import CORPUS

from mailbot.mail.message import ParsedMessage
from mailbot.mail.parse import parse_message

# The two files whose headers cost the standard library's default policy
# about 370 MB each (PITFALLS.md).
HEADER_BOMBS = ["malformed/flanker--long-header.eml", "malformed/mimekit--stack-overflow.eml"]
PEAK_LIMIT = 100 * 1024 * 1024


def manifest() -> list[dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


ROWS = manifest()
PEOPLE = [row for row in ROWS if row["expected"] in ("new_call", "reply_to_thread")]


def strings_of(msg: ParsedMessage) -> list[str]:
    found = [msg.subject, msg.from_name, msg.text, msg.new_text, msg.html or ""]
    found += [msg.from_addr or "", msg.message_id or "", msg.content_type]
    found += [*msg.to, *msg.cc, *msg.reply_to, *msg.in_reply_to, *msg.references]
    found += [*msg.part_types, *msg.defects]
    found += [s for pair in msg.headers for s in pair]
    found += [s for a in msg.attachments for s in (a.filename, a.content_type)]
    return found


def test_manifest_lists_the_whole_corpus() -> None:
    assert len(ROWS) == 380


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_parses_into_valid_unicode(row: dict[str, str]) -> None:
    msg = parse_message((CORPUS / row["file"]).read_bytes())
    # parse_message never raises; "unparsed" says its last-resort guard caught
    # an error, which no corpus file should cause.
    assert "unparsed" not in msg.defects
    for value in strings_of(msg):
        value.encode("utf-8")
    assert "\x00" not in msg.subject
    assert "\x00" not in msg.text


@pytest.mark.parametrize("row", PEOPLE, ids=[row["file"] for row in PEOPLE])
def test_mail_from_people_has_text_or_attachments(row: dict[str, str]) -> None:
    msg = parse_message((CORPUS / row["file"]).read_bytes())
    assert msg.text.strip() or msg.attachments


@pytest.mark.parametrize("name", HEADER_BOMBS)
def test_header_bomb_parses_in_bounded_memory(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    tracemalloc.start()
    try:
        msg = parse_message(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT
    assert "header-truncated" in msg.defects


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_no_corpus_message_is_redacted(row: dict[str, str]) -> None:
    # None of the corpus holds a password; every redaction here would be a
    # false positive (subject, names, text, HTML, attachment names or text).
    from mailbot.mail.redactmail import redact_message

    raw = (CORPUS / row["file"]).read_bytes()
    msg = parse_message(raw, max_attachment_bytes=1_000_000, raw_size=len(raw), truncated=False)
    cleaned, found = redact_message(msg)
    assert not found and cleaned == msg
