"""An oversize email's true size: what its attachments weigh before email's base64 encoding."""

from __future__ import annotations

# Base64 turns each 57 bytes into a 76-character line plus CRLF: 78 bytes.
_DECODED_PER_ENCODED = 57 / 78


def true_size(raw_size: int, content_type: str, transfer_encoding: str) -> int:
    """Estimate the bytes the sender attached from the size of the email as sent.

    Only the header block of an oversize email is fetched, so the size of its
    parts is not known; their bulk is almost always base64 attachments, which
    email makes a third larger than the files.  A single part sent without
    base64 is already its true size.
    """
    multipart = content_type.strip().lower().startswith("multipart/")
    base64 = transfer_encoding.strip().lower() == "base64"
    if not (multipart or base64):
        return raw_size
    return int(raw_size * _DECODED_PER_ENCODED)
