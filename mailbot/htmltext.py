"""Readable plain text from the HTML body of a message, with html2text."""

from __future__ import annotations

import re

import html2text

# html2text takes about a second per megabyte; past this the rest of a body
# is almost always inline images or tracking markup, and the HTML itself is
# kept beside the text anyway.
MAX_HTML = 1_000_000
# html2text writes Markdown; these undo its escapes of line-initial "-", "+"
# and "1." and its hard line breaks, which only get in a reader's way.
_ESCAPED_MARK = re.compile(r"^(\s*)\\([-+])", re.MULTILINE)
_ESCAPED_DOT = re.compile(r"^(\s*\d+)\\\.", re.MULTILINE)
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """Convert an HTML body to text: links kept as ``[text](url)``, no line wrapping."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    converter.unicode_snob = True
    try:
        text = str(converter.handle(html[:MAX_HTML]))
    except Exception:  # html2text is not hardened against every broken page.
        return re.sub(r"<[^>]*>", " ", html)
    text = _ESCAPED_DOT.sub(r"\1.", _ESCAPED_MARK.sub(r"\1\2", text))
    text = _BLANK_LINES.sub("\n\n", _TRAILING_SPACE.sub("", text))
    return text.strip("\n") + "\n"
