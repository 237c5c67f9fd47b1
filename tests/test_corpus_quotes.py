"""Stripping quoted history from the corpus replies whose first new line is known."""

from __future__ import annotations

import csv
import re

import pytest
from support import CORPUS

from mailbot.mail.parse import parse_message

# MANIFEST notes give what the person wrote first as `first line: "..."`,
# `first new line: ...` (interleaved and bottom-posted replies) or, once,
# `new text below: "..."`.
_FIRST_LINE = re.compile(r'(?:first (?:new )?line|new text below): "?(.+?)"?(?:; |$)')

# Corpus replies whose first line email-reply-parser and the help around it
# do not find.  PITFALLS.md names some that every stripper it measured fails
# (eudora, the French and Russian attributions, bottom-posting); those now
# pass, so this is empty.  A file added here leaves the strict test below and
# is still checked by test_full_text_keeps_the_first_line.
KNOWN_MISSES: frozenset[str] = frozenset()


def _replies_with_first_line() -> list[tuple[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    found = []
    for row in rows:
        match = _FIRST_LINE.search(row["notes"])
        if row["expected"] == "reply_to_thread" and match:
            found.append((row["file"], match.group(1)))
    return found


REPLIES = _replies_with_first_line()
STRICT = [(name, line) for name, line in REPLIES if name not in KNOWN_MISSES]


def words(text: str) -> str:
    """Text with every run of whitespace (a no-break space too) as one space."""
    return " ".join(text.split())


def test_corpus_replies_with_a_known_first_line_are_all_found() -> None:
    assert len(REPLIES) == 34
    assert {name for name, _ in REPLIES} >= KNOWN_MISSES


@pytest.mark.parametrize(("name", "first_line"), STRICT, ids=[n for n, _ in STRICT])
def test_new_text_starts_with_the_first_line(name: str, first_line: str) -> None:
    msg = parse_message((CORPUS / name).read_bytes())
    assert words(msg.new_text).startswith(words(first_line))
    assert not [line for line in msg.new_text.splitlines() if line.lstrip().startswith(">")]


@pytest.mark.parametrize(("name", "first_line"), REPLIES, ids=[n for n, _ in REPLIES])
def test_full_text_keeps_the_first_line(name: str, first_line: str) -> None:
    msg = parse_message((CORPUS / name).read_bytes())
    assert words(first_line) in words(msg.text)


@pytest.mark.parametrize(
    "name",
    [
        "reply/roundcube--webklex--issue-348.eml",
        "reply/thunderbird--helpdesk--utf-nondecodable.eml",
    ],
)
def test_reply_without_new_text_keeps_the_whole_text(name: str) -> None:
    msg = parse_message((CORPUS / name).read_bytes())
    assert msg.new_text == msg.text
