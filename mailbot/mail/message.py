"""Frozen records describing one received email after parsing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Attachment:
    """One attachment: its metadata, and its bytes when within the storage limit."""

    filename: str
    content_type: str
    size: int
    content: bytes | None = None


@dataclass(frozen=True)
class ParsedMessage:
    """Everything the pipeline needs from one email, decoded and cleaned.

    All strings are valid Unicode (no lone surrogates).  Addresses are
    lower-cased bare addresses.  Message ids keep their angle brackets.
    """

    raw_size: int
    message_id: str | None
    subject: str
    from_name: str
    from_addr: str | None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    date: datetime | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    # Decoded headers as (lower-case name, value) pairs, in message order.
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/plain"
    # Content types of every MIME part, depth first, including the top one.
    part_types: tuple[str, ...] = ()
    text: str = ""
    html: str | None = None
    # The new text of a reply with quoted history removed (equals text when
    # nothing was recognised as quoted).
    new_text: str = ""
    attachments: tuple[Attachment, ...] = ()
    # True when only the headers were read (the message was over the size limit).
    truncated: bool = False
    defects: tuple[str, ...] = field(default=())
    # The From header holds more than one address, or an address in its
    # display name that differs from the addr-spec: what a reader sees is not
    # what a mail server authenticates, so the sender is never trusted.
    from_suspect: bool = False

    def header(self, name: str) -> str | None:
        """Return the first value of header ``name`` (case-insensitive), or None."""
        key = name.lower()
        for k, v in self.headers:
            if k == key:
                return v
        return None

    def header_all(self, name: str) -> tuple[str, ...]:
        """Return every value of header ``name`` (case-insensitive)."""
        key = name.lower()
        return tuple(v for k, v in self.headers if k == key)
