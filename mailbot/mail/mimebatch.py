"""Build a batch of emails that share their bodies (a broadcast's), each body encoded once."""

from __future__ import annotations

from datetime import datetime

from mailbot.mail.mime import alternative_boundary, build, envelope
from mailbot.mail.outgoing import Outgoing


class Batch:
    """Builds emails exactly as ``mime.build`` does, reusing the encoded body of an equal one.

    A broadcast's thousands of notices differ in their headers (To,
    Message-ID, threading) and in the boundary, which comes from the
    Message-ID; their bodies are the same few.  Encoding the parts and
    generating the MIME tree was most of the cost of queueing a notice.  So
    the first email with a given text and HTML is built by ``mime.build``, and
    its bytes after the envelope headers (the Content-Type line, the blank
    line and the body) are kept; a later email with the same text and HTML
    gets its own envelope headers, folded as the generator folds them, and
    that tail with its own boundary put in place of the first.  A boundary is
    always the same length, so the Content-Type line folds the same way.
    Whenever the kept bytes are not plainly of that shape the email is built
    in full, so the bytes never differ from ``mime.build``'s.
    """

    def __init__(self, *, from_name: str, from_addr: str, now: datetime) -> None:
        self.from_name = from_name
        self.from_addr = from_addr
        self.now = now
        # (text, html, UTF-8 headers) -> the boundary and the tail built with it.
        self._tails: dict[tuple[str, str, bool], tuple[bytes, bytes]] = {}
        # How many emails were built in full (the rest reused a body).
        self.built = 0

    def _head(self, out: Outgoing) -> tuple[bytes, bool]:
        """The envelope headers of ``out`` as the generator writes them, and whether in UTF-8."""
        msg = envelope(out, from_name=self.from_name, from_addr=self.from_addr, now=self.now)
        policy = msg.policy
        head = b"".join(policy.fold_binary(name, value) for name, value in msg.raw_items())
        return head, bool(getattr(policy, "utf8", False))

    def build(self, out: Outgoing) -> bytes:
        """The bytes of ``out``, the same as ``mime.build`` gives."""
        head, utf8 = self._head(out)
        key = (out.text, out.html, utf8)
        boundary = alternative_boundary(out.message_id).encode("ascii")
        kept = self._tails.get(key)
        if kept is not None:
            first, tail = kept
            return head + tail.replace(first, boundary)
        whole = build(out, from_name=self.from_name, from_addr=self.from_addr, now=self.now)
        self.built += 1
        tail = whole[len(head) :]
        # The boundary once in the Content-Type line and on its three delimiter
        # lines, and nowhere else: only then is swapping it exact.
        if whole.startswith(head) and tail.count(boundary) == 4:
            self._tails[key] = (boundary, tail)
        return whole
