"""Build small TNEF (winmail.dat) blobs for tests, from the published format."""

from __future__ import annotations

import struct

SIGNATURE = 0x223E9F78
MESSAGE, ATTACHMENT = 1, 2


def _attribute(level: int, kind: int, name: int, data: bytes) -> bytes:
    # Level, attribute id (type in the high word), length, data, then a
    # checksum that is the sum of the data bytes.
    header = struct.pack("<BHHI", level, name, kind, len(data))
    return header + data + struct.pack("<H", sum(data) & 0xFFFF)


def tnef_blob(files: list[tuple[str, bytes]]) -> bytes:
    """A TNEF stream holding ``files`` as (name, content) attachments."""
    out = struct.pack("<IH", SIGNATURE, 0x1234)
    out += _attribute(MESSAGE, 0x0008, 0x9006, struct.pack("<I", 0x00010000))  # version
    out += _attribute(MESSAGE, 0x0006, 0x9007, struct.pack("<II", 1252, 0))  # code page
    for name, content in files:
        out += _attribute(ATTACHMENT, 0x0006, 0x9002, bytes(14))  # starts an attachment
        out += _attribute(ATTACHMENT, 0x0001, 0x8010, name.encode() + b"\x00")  # its name
        out += _attribute(ATTACHMENT, 0x0006, 0x800F, content)  # its bytes
    return out
