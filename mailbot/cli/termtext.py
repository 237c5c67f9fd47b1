"""Make stored text harmless on a terminal: control characters are shown, never obeyed."""

from __future__ import annotations

import io
from typing import TextIO

# An email can carry escape sequences (ESC, CSI, OSC) that recolour, retitle
# or rewrite an operator's terminal, or a carriage return that hides what
# came before it on the line.  Each control character other than newline and
# tab is shown as a visible escape such as \x1b instead; so are the bidi
# overrides, which reorder what the operator reads.
_VISIBLE = (
    *(c for c in range(0x20) if c not in (0x09, 0x0A)),
    *range(0x7F, 0xA0),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
)
_TABLE: dict[int, str] = {c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" for c in _VISIBLE}


def terminal_safe(text: str) -> str:
    """Return ``text`` with every control character but newline and tab made visible."""
    return text.translate(_TABLE)


class SafeStream(io.TextIOBase):
    """A text stream that neutralises control characters before passing text on."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self._inner = inner

    def write(self, text: str) -> int:
        """Write ``text`` made safe; report the length given, as print() expects."""
        self._inner.write(terminal_safe(text))
        return len(text)

    def flush(self) -> None:
        """Flush the stream underneath."""
        self._inner.flush()

    def fileno(self) -> int:
        """The descriptor of the stream underneath (used when a pipe closes)."""
        return self._inner.fileno()

    def isatty(self) -> bool:
        """Whether the stream underneath is a terminal."""
        return self._inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The encoding of the stream underneath."""
        return self._inner.encoding
