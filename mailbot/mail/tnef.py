"""Unpack the files inside Outlook's winmail.dat (TNEF) attachments, with tnefparse."""

from __future__ import annotations

import importlib
import struct

# tnefparse copies the rest of the buffer for every object it reads, so a
# crafted file of many tiny objects would cost quadratic time; real ones hold
# a few dozen.
MAX_OBJECTS = 2_000
_SIGNATURE = 0x223E9F78


def _object_count(data: bytes) -> int | None:
    """How many TNEF objects ``data`` holds; None when it is not whole TNEF.

    A blob whose last object runs past its end was cut off in transit;
    tnefparse would hand back the files in it cut short too.
    """
    if len(data) < 6 or struct.unpack_from("<I", data)[0] != _SIGNATURE:
        return None
    offset, count = 6, 0
    # Each object: level (1 byte), id (4), length (4), data, checksum (2).
    while offset + 9 <= len(data):
        (length,) = struct.unpack_from("<I", data, offset + 5)
        offset += 11 + length
        count += 1
        if count > MAX_OBJECTS:
            break
    return count if offset <= len(data) else None


def unpack_tnef(data: bytes) -> list[tuple[str, bytes]] | None:
    """The (file name, bytes) of each file in a TNEF blob; None when it cannot be read.

    tnefparse is imported here only: when it is not installed the blob is
    reported unreadable and stays a plain winmail.dat attachment.
    """
    count = _object_count(data)
    if count is None or count > MAX_OBJECTS:
        return None
    try:
        tnefparse = importlib.import_module("tnefparse")
        parsed = tnefparse.TNEF(data, do_checksum=False)
        files = []
        for item in parsed.attachments:
            name = item.long_filename()
            content = item.data
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            if isinstance(content, bytes):
                files.append((str(name).strip("\x00").strip(), content))
        return files
    except Exception:  # A damaged blob must never stop the message being read.
        return None
