"""Strip quoted history from a reply with email-reply-parser, helped where real clients fool it."""

from __future__ import annotations

import re

from email_reply_parser import EmailReplyParser

# email-reply-parser's cost grows with the square of some line counts; new
# text is at the top of a reply, so the rest of a very long one is not read.
MAX_CHARS = 50_000

# The verb of an attribution line ("On <date>, <name> wrote:") in the
# languages schools' correspondents write in.
_VERB = (
    r"(?:wrote|writes|a\s+écrit|schrieb|escribió|ha\s+scritto|schreef|napisał[a]?|"
    r"написал(?:\(а\)|а)?|пишет|skrev|kirjoitti|escreveu|írta|napsal)"
)
_ENDS_WITH_VERB = re.compile(rf"\b{_VERB}\s*:\s*$", re.IGNORECASE)
# German, Dutch and the Scandinavian languages put the writer after the verb:
# "Am 3. Dez. 2026 um 10:15 schrieb ICT Support <support@example.org>:".
# The line must then end with a colon; the verb is found by a plain search
# (each line is read once, and lines over 300 characters are never tried).
_VERB_THEN_NAME = re.compile(r"\b(?:schrieb|schreef|skrev)\s+\S", re.IGNORECASE)
# How an attribution line opens when it stands alone, with or without a quote
# under it: "On", "Le", "Am", "El", "Il", "Op", "Em", "Den", "W dniu", "At"
# (Eudora), or a date, optionally after Yahoo's "---".
_OPENS = re.compile(
    r"^[\s-]*(?:on|le|am|el|il|op|em|den|w\s+dniu|at|\d{1,4}[./-]\d{1,2}[./-]\d{1,4})\s",
    re.IGNORECASE,
)


def _ends_attribution(text: str) -> bool:
    """Whether ``text`` (one line, or a line joined to the one above) ends an attribution."""
    # Both patterns need a colon with nothing but white space after it, so
    # the many lines that do not end so are settled without a search.
    if not text.rstrip().endswith(":"):
        return False
    return bool(_ENDS_WITH_VERB.search(text) or _VERB_THEN_NAME.search(text))


_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original\s+message|forwarded\s+message|weitergeleitete\s+nachricht|"
    r"ursprüngliche\s+nachricht|message\s+d'origine|mensaje\s+original|"
    r"messaggio\s+originale|oorspronkelijk\s+bericht|исходное\s+сообщение)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_DELIMITER = re.compile(
    r"^[\s>#=*_-]*(?:please\s+)?(?:type\s+your\s+|write\s+your\s+)?"
    r"(?:reply|response|answer)\s+above\b",
    re.IGNORECASE,
)
# Outlook's header block: a From line with a Sent or Date line just below it.
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|von|de|da|van|от|från|fra)\s*:\*?\s+\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\*?(?:sent|date|gesendet|datum|envoyé|inviato|data|verzonden|enviado|fecha|"
    r"отправлено|дата|skickat|sendt)\s*:",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^\s*>")
# email-reply-parser joins any "On ... wrote:" across the whole text with a
# regex that backtracks badly (30 s on 25 KB of lines starting "On"), and
# its "On.*wrote:$" re-reads the rest of a line from every "On" in it
# ("OnOnOn..." or "Online" on every line is quadratic too).  Attributions are
# handled here instead, so the library is shown no "On" at all: a private-use
# mark splits every one and is taken out again afterwards.
_ON = "On"
_MARK = "\ue000"
# A line starting "-word" right after a blank line is a signature to the
# library, which then drops everything below it; lists are written that way.
_DASH_ITEM = re.compile(r"^-\w")


def _is_quoted(lines: list[str], i: int) -> bool:
    return 0 <= i < len(lines) and bool(_QUOTED.match(lines[i]))


def _next_text_line(lines: list[str], i: int) -> int:
    """Index of the first non-blank line after ``i`` (len(lines) when none)."""
    j = i + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    return j


def _attribution_start(lines: list[str], i: int) -> int | None:
    """Where the attribution ending on line ``i`` starts, or None when it is not one."""
    line = lines[i]
    if len(line) > 300 or _QUOTED.match(line):
        return None
    # Clients wrap long attributions; the line above belongs to it when it
    # carries the date or the address and does not end a sentence.
    above = lines[i - 1].rstrip() if i else ""
    wrapped = 0 < len(above) <= 300 and bool(re.search(r"[\d@]", above)) and above[-1] not in ".!?"
    if not _ends_attribution(line):
        # Gmail wraps "Am ... schrieb ICT Support <" before the address, so
        # only the two lines together read as the attribution.
        if wrapped and _OPENS.match(above) and _ends_attribution(above + " " + line):
            return i - 1
        return None
    if _OPENS.match(line):
        return i
    if wrapped and (_OPENS.match(above) or _is_quoted(lines, _next_text_line(lines, i))):
        return i - 1
    return i if _is_quoted(lines, _next_text_line(lines, i)) else None


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _HEADER_FROM.match(lines[i]):
        return False
    return any(_HEADER_SENT.match(line) for line in lines[i + 1 : i + 4])


def _boundary(lines: list[str], i: int) -> bool:
    """Whether the quoted original starts at line ``i`` when there is new text above."""
    return bool(
        _SEPARATOR.match(lines[i]) or _DELIMITER.match(lines[i]) or _is_header_block(lines, i)
    )


def _is_wrapped_quote(lines: list[str], i: int) -> bool:
    """Whether line ``i`` is the tail of the quoted line above, wrapped without its ">".

    It then continues an unfinished sentence in lower case, and the quote
    goes on at the same depth on the next line.
    """
    if not (_is_quoted(lines, i - 1) and _is_quoted(lines, i + 1)):
        return False
    above, line, below = lines[i - 1].rstrip(), lines[i].strip(), lines[i + 1]
    depth = len(above) - len(above.lstrip("> "))
    return (
        len(above) >= 60
        and above[-1] not in ".!?:"
        and line[:1].islower()
        and len(line) < 40
        and below[:depth].rstrip() == above[:depth].rstrip()
    )


def _without(lines: list[str], drop: set[int]) -> str:
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def _prepare(text: str) -> str:
    """Cut history written under new text; drop attribution lines and quote debris.

    An attribution with a quote under it is dropped and the quote left to
    the library, so answers written between quoted parts survive.
    """
    lines = text.split("\n")
    drop: set[int] = set()
    has_text = False
    for i, line in enumerate(lines):
        start = _attribution_start(lines, i)
        if start is not None:
            if has_text and not _is_quoted(lines, _next_text_line(lines, i)):
                return _without(lines[:start], drop)
            drop.update(range(start, i + 1))
        elif has_text and _boundary(lines, i):
            return _without(lines[:i], drop)
        elif line.strip() and not _QUOTED.match(line):
            if _is_wrapped_quote(lines, i):
                drop.add(i)
            else:
                has_text = True
    return _without(lines, drop)


def _is_list_item(lines: list[str], i: int) -> bool:
    """A "-item" line next to another one: a list, not a "-Name" sign-off."""
    neighbours = (lines[j] for j in (i - 1, i + 1) if 0 <= j < len(lines))
    return bool(_DASH_ITEM.match(lines[i])) and any(_DASH_ITEM.match(n) for n in neighbours)


def _library(text: str) -> str:
    lines = text.split("\n")
    guarded = "\n".join(
        _MARK + line if _is_list_item(lines, i) else line for i, line in enumerate(lines)
    )
    try:
        reply = str(EmailReplyParser.parse_reply(guarded.replace(_ON, "O" + _MARK + "n")))
    except Exception:  # A library failure must not lose the text; keep it whole.
        return text
    return reply.replace(_MARK, "")


def _same(a: str, b: str) -> bool:
    return a.split() == b.split()


def strip_quoted(text: str) -> str:
    """Return the new text of a reply; the whole text when nothing new would be left."""
    head = text[:MAX_CHARS].replace("\r\n", "\n")
    reply = _library(_prepare(head))
    kept = [line.rstrip() for line in reply.split("\n") if not _QUOTED.match(line)]
    # A separator the library left behind is all that remains of the history.
    while kept and (not kept[-1].strip() or _SEPARATOR.match(kept[-1])):
        kept.pop()
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    if not result.strip() or _same(result, head):
        # Nothing new would be left, or nothing was recognised as quoted.
        return text
    return result + "\n"
