"""Staff commands typed on top of real mail clients' replies survive parsing and quote stripping."""

from __future__ import annotations

import base64
import csv
import email
import email.policy
import quopri
import re
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from support import CORPUS

from mailbot.commands.grammar import read
from mailbot.mail.message import ParsedMessage
from mailbot.mail.parse import parse_message

REPLIES = sorted((CORPUS / "reply").glob("*.eml"))
COMMANDS = ("#assign sam", "#priority P2", "#status awaiting customer")
EXPECTED = [("assign", "sam"), ("priority", "P2"), ("status", "awaiting customer")]
HTML_COMMANDS = "".join(f"<p>{line}</p>" for line in COMMANDS)
# compat32 is used without refolding, so re-serialising a message changes only
# the parts that were edited (30 of the 34 replies come back byte for byte).
POLICY = email.policy.compat32.clone(max_line_length=0)
_BODY_TAG = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)
# The MANIFEST says what a reply's own text starts with in three ways:
# 'first line: "..."', 'first new line: ...' (interleaved and bottom-posted
# replies) and 'new text below: "..."' (a quote on top).  A quoted value may
# itself hold quotes and semicolons, so it ends only at a quote before ";" or
# the end of the notes.
_FIRST = re.compile(r'(?:first line|first new line|new text below): ("?)(.*?)\1(?:;|$)')


def manifest() -> dict[str, str]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as f:
        return {row["file"]: row["notes"] for row in csv.DictReader(f, delimiter="\t")}


NOTES = manifest()


def notes_of(path: Path) -> str:
    return NOTES[f"reply/{path.name}"]


def expected_first_line(path: Path) -> str | None:
    match = _FIRST.search(notes_of(path))
    return match[2] if match else None


def has_no_new_text(path: Path) -> bool:
    """Whether the reply is only history: a forward or an original with nothing above it."""
    return "no new text" in notes_of(path)


def own_text_parts(msg: Message) -> Iterator[Message]:
    """The text/plain and text/html parts the sender wrote, in order.

    Attached messages (message/rfc822) are someone else's words and are not
    read as body text by mailbot, so they are left as they are.
    """
    if msg.get_content_maintype() == "message":
        return
    if msg.is_multipart():
        for sub in msg.get_payload():
            if isinstance(sub, Message):
                yield from own_text_parts(sub)
    elif msg.get_content_type() in ("text/plain", "text/html"):
        yield msg


def _encode(data: bytes, cte: str) -> bytes:
    if cte == "base64":
        return base64.encodebytes(data)
    if cte == "quoted-printable":
        return quopri.encodestring(data)
    return data


def _command_bytes(part: Message, text: str) -> bytes:
    """``text`` in the part's charset; every charset here keeps ASCII as ASCII."""
    charset = part.get_content_charset() or "us-ascii"
    encoded = text.encode(charset)
    assert encoded == text.encode("ascii"), f"{charset} does not keep the commands as ASCII"
    return encoded


def _serialise(msg: Message, raw: bytes) -> bytes:
    crlf = raw.split(b"\n", 1)[0].endswith(b"\r")
    return msg.as_bytes(policy=POLICY.clone(linesep="\r\n" if crlf else "\n"))


def with_commands(raw: bytes) -> tuple[bytes, int]:
    """``raw`` with the commands on top of every text part, and how many parts changed.

    The payload is decoded from its transfer encoding to bytes, the commands
    (in the part's charset) go in front, and it is encoded again the same
    way.  The text itself is never decoded to str and back: that would
    rewrite the undecodable bytes of thunderbird--helpdesk--utf-nondecodable.
    """
    msg = email.message_from_bytes(raw, policy=POLICY)
    changed = 0
    for part in own_text_parts(msg):
        cte = str(part.get("content-transfer-encoding", "")).strip().lower()
        assert cte in ("", "7bit", "8bit", "binary", "base64", "quoted-printable"), cte
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        if part.get_content_type() == "text/plain":
            eol = "\r\n" if b"\r\n" in data else "\n"
            data = _command_bytes(part, eol.join(COMMANDS) + eol + eol) + data
        else:
            tag = _BODY_TAG.search(data)
            at = tag.end() if tag else 0
            data = data[:at] + _command_bytes(part, HTML_COMMANDS) + data[at:]
        part.set_payload(_encode(data, cte).decode("ascii", "surrogateescape"))
        changed += 1
    return _serialise(msg, raw), changed


def parse(raw: bytes) -> ParsedMessage:
    return parse_message(raw, max_attachment_bytes=5_000_000, raw_size=len(raw), truncated=False)


def first_text_line(text: str) -> str | None:
    return next((line for line in text.split("\n") if line.strip()), None)


def words(text: str) -> str:
    # The MANIFEST writes plain spaces where a client sent no-break spaces
    # (Yahoo's "Hi Katharine.&nbsp; Sounds great."), so spacing is compared
    # as words.
    return " ".join(text.split())


def test_the_reply_folder_holds_every_reply() -> None:
    # An empty or moved corpus would otherwise pass every test below vacuously.
    assert len(REPLIES) == 34
    assert all(f"reply/{path.name}" in NOTES for path in REPLIES)


def test_the_manifest_gives_a_first_line_for_all_but_four_replies() -> None:
    # These four are still checked below against what mailbot keeps of the
    # reply without commands; the MANIFEST just words them differently
    # ("interleaved quoting", "no new text", 'the new text "Hello" is below').
    without = [path.name for path in REPLIES if expected_first_line(path) is None]
    assert without == [
        "emacs-notmuch--notmuch--default-34.eml",
        "roundcube--webklex--issue-348.eml",
        "thunderbird--helpdesk--utf-nondecodable.eml",
        "thunderbird--talon--thunderbird.eml",
    ]


@pytest.mark.parametrize("path", REPLIES, ids=[path.name for path in REPLIES])
def test_rewriting_without_commands_changes_nothing_mailbot_reads(path: Path) -> None:
    # The commands test below re-serialises each message; this shows that the
    # serialising alone leaves the text, new text and HTML as they were, so a
    # failure there is the commands' doing and not this file's.
    raw = path.read_bytes()
    original = parse(raw)
    again = parse(_serialise(email.message_from_bytes(raw, policy=POLICY), raw))
    assert (again.text, again.new_text, again.html) == (
        original.text,
        original.new_text,
        original.html,
    )


@pytest.mark.parametrize("path", REPLIES, ids=[path.name for path in REPLIES])
def test_commands_on_top_of_a_real_reply_are_read(path: Path) -> None:
    raw = path.read_bytes()
    variant, changed = with_commands(raw)
    # Every reply in the folder has a text part of its own to write on.
    assert changed >= 1
    msg = parse(variant)
    if msg.html is not None:
        assert HTML_COMMANDS in msg.html

    found = read(msg.new_text)
    assert [(c.name, c.arg) for c in found.commands] == EXPECTED
    assert found.problems == ()

    original = parse(raw)
    if has_no_new_text(path):
        # These replies are only history ("-------- Original Message --------"
        # or "-------- Forwarded Message --------" with nothing above it).  With
        # the commands on top that history is stripped like any quote, so no
        # words go to the school, yet it is kept whole in the message's text.
        assert found.body == ""
        assert original.text.strip() in msg.text
        return
    # The words under the commands are what mailbot keeps of the reply
    # without them: the commands change nothing about quote stripping.
    assert found.body == original.new_text.strip()
    expected = expected_first_line(path)
    if expected is not None:
        first = first_text_line(found.body)
        assert first is not None
        assert words(first).startswith(words(expected))
