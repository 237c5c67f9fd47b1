"""Write a plain multipart email's bytes directly, exactly as the email package's generator would.

Building an EmailMessage tree and flattening it through the generator cost
about a third of a millisecond per email (the generator re-reads each part's
Content-Type to find the boundary, clones its policy for every part, and
writes through several layers of buffers), for an email whose shape is
always the same: headers, then text parts between boundaries.  Here each
header still goes through the policy's own ``header_store_parse`` and
``fold_binary`` (so its bytes are the policy's, however it folds or encodes
them), and the rest is what ``BytesGenerator`` writes for a multipart with
text parts: the boundary lines, each part's headers, a blank line, and its
payload with every line ending made the policy's line separator.  Only
headers that are single lines of text come here; the caller builds anything
else through the email package.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.policy import EmailPolicy
from typing import Any

# The generator's own pattern for line ends in a payload (email.generator.NLCRE).
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class TextBody:
    """One text part as the generator sees it: its two headers and its encoded payload."""

    content_type: str
    transfer_encoding: str
    payload: str


def single_lines(headers: Sequence[tuple[str, Any]]) -> bool:
    """Whether every header value is one line of text (the only kind written here)."""
    return all("\r" not in (s := str(v)) and "\n" not in s for _n, v in headers)


def header_block(policy: EmailPolicy, headers: Sequence[tuple[str, Any]]) -> bytes:
    """The header lines as set on a message with ``policy`` and written by its generator."""
    lines = []
    for name, value in headers:
        # What Message.__setitem__ stores, then what the generator writes of it.
        stored_name, stored = policy.header_store_parse(name, value)
        lines.append(policy.fold_binary(stored_name, stored))
    return b"".join(lines)


def _payload(policy: EmailPolicy, text: str) -> bytes:
    """A text payload as the generator writes it (Generator._write_lines, then ASCII)."""
    return _LINE_END.sub(policy.linesep, text).encode("ascii", "surrogateescape")


def _part(policy: EmailPolicy, body: TextBody) -> bytes:
    headers = (
        ("Content-Type", body.content_type),
        ("Content-Transfer-Encoding", body.transfer_encoding),
    )
    nl = policy.linesep.encode("ascii")
    return header_block(policy, headers) + nl + _payload(policy, body.payload)


def multipart(
    policy: EmailPolicy,
    headers: Sequence[tuple[str, Any]],
    boundary: str,
    parts: Sequence[TextBody],
) -> bytes:
    """A multipart email of text parts, as ``as_bytes()`` of the same message tree gives it.

    ``headers`` end with the multipart Content-Type naming ``boundary``.
    """
    nl = policy.linesep
    out = [header_block(policy, headers), nl.encode("ascii")]
    # Generator._handle_multipart: no preamble, the first part after the
    # opening boundary, each later one after a delimiter, then the closing one.
    for i, body in enumerate(parts):
        opening = f"--{boundary}{nl}" if i == 0 else f"{nl}--{boundary}{nl}"
        out.append(opening.encode("ascii"))
        out.append(_part(policy, body))
    out.append(f"{nl}--{boundary}--{nl}".encode("ascii"))
    return b"".join(out)
