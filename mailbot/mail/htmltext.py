"""Readable plain text from the HTML body of a message, with html2text."""

from __future__ import annotations

import html
import re

import html2text

# html2text costs about a second per megabyte, and the text of a real email
# is at its top; past this the rest of a body is converted by a plain linear
# tag-stripper instead (the HTML itself is kept beside the text anyway).
MAX_CONVERTED = 200_000
# html2text indents each nested list or quote level on every line below it,
# so its output grows with the square of the nesting depth.  No real email
# nests deeper than this; deeper tags are dropped before conversion.
MAX_DEPTH = 8
# A run of blanks longer than a line is layout debris (or an attack on the
# passes below); it is shortened to this before html2text sees it.
MAX_BLANKS = 80
# Tags that make html2text indent or quote what they hold.  `[^<>]*` stops at
# the next angle bracket, so each attempt reads a bounded stretch once.
_NESTING = re.compile(r"<(/?)(?:ul|ol|dl|blockquote)\b[^<>]*>", re.IGNORECASE)
_BLANK_RUN = re.compile(rf"[ \t]{{{MAX_BLANKS + 1},}}")
_TAG = re.compile(r"<[^<>]*>")
# html2text writes Markdown; these undo its escapes of line-initial "-", "+"
# and "1." and its hard line breaks, which only get in a reader's way.  They
# are applied to one line at a time and cannot run across lines.
_ESCAPED_MARK = re.compile(r"^([ \t]*)\\([-+])")
_ESCAPED_DOT = re.compile(r"^([ \t]*\d+)\\\.")


def _shallow(markup: str) -> str:
    """Drop list and quote tags nested deeper than MAX_DEPTH, in one pass."""
    kept: list[str] = []
    depth = pos = 0
    for match in _NESTING.finditer(markup):
        closing = bool(match[1])
        deep = depth >= MAX_DEPTH if not closing else depth > MAX_DEPTH
        depth = max(0, depth - 1) if closing else depth + 1
        if deep:
            kept.append(markup[pos : match.start()])
            pos = match.end()
    kept.append(markup[pos:])
    return "".join(kept)


def strip_tags(markup: str) -> str:
    """Text of ``markup`` without its tags and entities: linear, for what html2text is not shown."""
    return html.unescape(_TAG.sub(" ", markup))


def _tidy(line: str) -> str:
    line = line.rstrip(" \t")
    return _ESCAPED_DOT.sub(r"\1.", _ESCAPED_MARK.sub(r"\1\2", line))


def html_to_text(markup: str) -> str:
    """Convert an HTML body to text: links kept as ``[text](url)``, no line wrapping."""
    head, rest = markup[:MAX_CONVERTED], markup[MAX_CONVERTED:]
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    converter.unicode_snob = True
    try:
        text = str(converter.handle(_BLANK_RUN.sub(" " * MAX_BLANKS, _shallow(head))))
    except Exception:  # html2text is not hardened against every broken page.
        text = strip_tags(head)
    if rest:
        text += "\n" + strip_tags(rest)
    lines: list[str] = []
    blank = 0
    for line in text.split("\n"):
        tidy = _tidy(line)
        # Two blank lines or more become one.
        blank = blank + 1 if not tidy else 0
        if blank < 2:
            lines.append(tidy)
    return "\n".join(lines).strip("\n") + "\n"
