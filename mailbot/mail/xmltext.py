"""Make any text safe to write into XML 1.0 or HTML: drop the characters they forbid."""

from __future__ import annotations

# XML 1.0 allows only tab, line feed and carriage return among the C0
# controls, and never a surrogate or U+FFFE/U+FFFF; one such character makes
# a whole feed unreadable.  DEL and the C1 controls are allowed by XML but are
# parse errors in HTML and mean nothing to a reader, so they go too.  Word
# pastes vertical tab and form feed as line breaks, so those become newlines.
_BREAKS = {0x0B: "\n", 0x0C: "\n"}
_DROPPED = (
    *(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D, 0x0B, 0x0C)),
    *range(0x7F, 0xA0),
    *range(0xD800, 0xE000),
    0xFFFE,
    0xFFFF,
)
_TABLE: dict[int, str | None] = {**dict.fromkeys(_DROPPED), **_BREAKS}


def xml_safe(text: str) -> str:
    """Return ``text`` without the characters XML 1.0 and HTML forbid (one linear pass)."""
    return text.translate(_TABLE)
