"""Readable plain text from HTML-only mail, with html2text."""

from __future__ import annotations

import html2text


def html_to_text(html: str) -> str:
    """Convert an HTML body to text, keeping links and lists readable, without wrapping."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.unicode_snob = True
    try:
        return str(converter.handle(html)).strip() + "\n"
    except Exception:
        return html
