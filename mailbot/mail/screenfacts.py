"""What the screen reads from one email, worked out once and cut into bounded pieces.

Linearity: every search the screen makes goes through ``search``, and each
sees at most WINDOW characters: subjects, names and header values are cut
to a bounded length and the body is searched a window at a time.  With the
patterns themselves free of runaway repetition, the work per message grows
with the number of windows, that is linearly in its size.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from mailbot.mail.message import ParsedMessage
from mailbot.mail.screenwords import ENCLOSED_PARTS


@dataclass(frozen=True)
class Facts:
    """What the checks look at, worked out once per message."""

    msg: ParsedMessage
    subject: str  # folded (see _fold), leading [list] tags removed
    is_reply_or_forward: bool
    local_part: str
    null_sender: bool
    report_type: str
    # Part types of the message itself, not of any message it encloses: a
    # person forwarding a bounce as an attachment has not sent a bounce.
    types: frozenset[str]
    opening: str  # folded start of the new text, where automatic wording sits
    # The first paragraph as received: a server's notice starts with the
    # server's words, a person's message with the person's.
    first_paragraph: str
    # The start of the body cut into windows a search may see (_windows).
    body_windows: tuple[str, ...]
    # Addresses the message was delivered to, from the headers delivering
    # servers add (Delivered-To, X-Original-To, Envelope-To), and its To.
    delivered_to: tuple[str, ...]
    to: tuple[str, ...]


WINDOW = 1000
# A long line is cut into windows that overlap by this much, longer than any
# phrase a pattern looks for, so no phrase is lost at a cut.
OVERLAP = 200
BODY_CHARS = 20_000
TAGS = re.compile(r"^([ \t]*\[[^\]]*\])+")
REPLY_PREFIX = re.compile(r"^ ?(re|aw|sv|vs|antw|fw|fwd|wg|tr|rv|doorst) ?(\[\d+\])? ?:", re.I)
REPORT_TYPE = r"report-type\s*=\s*\"?([\w-]+)"
OPENING_CHARS = 600
# Headers in which delivering servers record the envelope recipient: Postfix
# and Dovecot's LDA/LMTP write Delivered-To (Dovecot: lmtp_hdr_delivery_address),
# Postfix X-Original-To, Exim Envelope-To, others X-Envelope-To.
DELIVERY_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to")


def title(name: str) -> str:
    """A lower-cased header name as people write it: "list-id" becomes "List-Id"."""
    return "-".join(part.capitalize() for part in name.split("-"))


def fold(text: str) -> str:
    """Lower case without accents or repeated spaces, so "Réponse" matches "reponse"."""
    if text.isascii():
        # ASCII has no decompositions and no combining marks: only the case
        # and the spaces change, and most mail is ASCII.
        return " ".join(text.casefold().split())
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


# Each pattern compiled once: the screen makes over a hundred searches per
# email, and looking each one up in the re module's cache cost a good share
# of the screen (that cache also evicts the oldest pattern when full, and the
# email parser fills it with one new pattern per multipart email).
_COMPILED: dict[str, re.Pattern[str]] = {}


def search(pattern: str, text: str) -> re.Match[str] | None:
    """One search of at most WINDOW characters; every search in this module comes here."""
    compiled = _COMPILED.get(pattern)
    if compiled is None:
        compiled = _COMPILED[pattern] = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    return compiled.search(text)


def windows(text: str) -> tuple[str, ...]:
    """Cut ``text`` into windows of at most WINDOW characters along its lines.

    Blank lines are left out (no pattern looks for them), lines are gathered
    whole while they fit, and a longer line is cut into overlapping pieces.
    No pattern spans a line break, so nothing a pattern looks for is lost.
    """
    out: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        if size + len(line) + 1 > WINDOW and current:
            out.append("\n".join(current))
            current, size = [], 0
        if len(line) > WINDOW:
            step = WINDOW - OVERLAP
            out.extend(line[i : i + WINDOW] for i in range(0, len(line) - OVERLAP, step))
            continue
        current.append(line)
        size += len(line) + 1
    if current:
        out.append("\n".join(current))
    return tuple(out)


def first_paragraph(text: str) -> str:
    """The text up to its first blank line, at most OPENING_CHARS characters of it."""
    lines = []
    for line in text.lstrip()[:OPENING_CHARS].split("\n"):
        if not line.strip():
            break
        lines.append(line)
    return "\n".join(lines).rstrip()


def bare(value: str) -> str:
    """A bare lower-case address from a header value ("<a@b>" or "a@b"), or ""."""
    value = value[:WINDOW].strip()
    if "<" in value:
        value = value[value.rfind("<") + 1 :]
    value = value.strip().strip("<>").strip().lower()
    return value if value.count("@") == 1 and " " not in value else ""


def null_sender(msg: ParsedMessage) -> bool:
    """An empty envelope sender (RFC 5321 "<>"), as the delivering server recorded it."""
    path = (msg.header("return-path") or "").strip().strip("<>").strip().lower()
    from_header = msg.header("from") or ""
    if msg.header("return-path") is not None and (not path or path.startswith("mailer-daemon")):
        return True
    return msg.from_addr is None and "<>" in from_header


def outer_types(msg: ParsedMessage) -> frozenset[str]:
    """Part types up to and including the first enclosed message."""
    outer = [msg.content_type]
    for part_type in msg.part_types:
        outer.append(part_type)
        if part_type in ENCLOSED_PARTS:
            break
    return frozenset(outer)


def facts(msg: ParsedMessage) -> Facts:
    """What the checks look at, each piece cut to a bounded size, worked out once."""
    # Some gateways quote the subject they write ("\"Undeliverable: ...\"").
    subject = fold(TAGS.sub("", msg.subject[:WINDOW])).lstrip("\"'«“ ")[:WINDOW]
    report = search(REPORT_TYPE, (msg.header("content-type") or "")[:WINDOW])
    delivered = [bare(v) for name in DELIVERY_HEADERS for v in msg.header_all(name)]
    return Facts(
        msg=msg,
        subject=subject,
        is_reply_or_forward=bool(REPLY_PREFIX.match(subject)),
        local_part=(msg.from_addr or "").split("@", 1)[0][:WINDOW],
        null_sender=null_sender(msg),
        report_type=report.group(1).lower() if report else "",
        types=outer_types(msg),
        opening=fold(msg.new_text.strip()[:OPENING_CHARS] or msg.text.strip()[:OPENING_CHARS]),
        first_paragraph=first_paragraph(msg.text),
        body_windows=windows(msg.text[:BODY_CHARS]),
        delivered_to=tuple(a for a in delivered if a),
        to=tuple(a[:WINDOW] for a in msg.to),
    )
