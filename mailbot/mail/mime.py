"""Turn a composed Outgoing email into the bytes mailbot sends."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import encoders
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from typing import Any

from mailbot.mail.outgoing import Outgoing
from mailbot.mail.xmltext import xml_safe

_MSG_ID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]+>$")
_ADDRESS = re.compile(r"^[\x21-\x7e]+@[\x21-\x7e]+$")
# UTF-8 bodies and headers go quoted-printable, so mostly-ASCII text stays readable.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_UTF8_QP.header_encoding = QP


class _Wire(Compat32):
    """compat32 with CRLF line ends, as SMTP wants them, folding plain headers itself.

    The stock policy runs every header through email.header.Header to fold it,
    which is most of the time spent generating a message.  A plain ASCII value
    on one line (every header mailbot writes, once non-ASCII subjects are
    encoded) needs only to be broken at spaces, which is done here directly.
    """

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        plain = isinstance(value, str) and value.isascii()
        if not plain or "\n" in value or "\r" in value:
            folded: str = super()._fold(name, value, sanitize)  # type: ignore[misc]
            return folded
        if len(name) + len(value) < 76:
            return f"{name}: {value}{self.linesep}"
        # Break before a space so that no line passes 78 characters, unless a
        # single word is longer (a Message-ID may be); RFC 5322 section 2.2.3.
        # The first word stays beside the name: a value that starts on the
        # next line reads back with a leading space in some parsers.
        lines: list[str] = []
        first = line = f"{name}:"
        for word in value.split(" "):
            if len(line) + 1 + len(word) > 78 and line.strip() and line != first:
                lines.append(line)
                line = ""
            line += " " + word
        lines.append(line)
        return self.linesep.join(lines) + self.linesep


_WIRE = _Wire(linesep="\r\n")

# Every email mailbot sends carries this header; the screen stage recognises it
# so that mailbot never answers itself.
OWN_MARKER = "X-Mailbot-Id"


def clean_header(value: str) -> str:
    """One line of valid Unicode: received mail can put anything in a subject."""
    value = value.encode("utf-8", "replace").decode("utf-8")
    return " ".join(value.split())


def valid_id(value: str) -> bool:
    """Whether ``value`` is a Message-ID we can safely echo in threading headers."""
    return bool(_MSG_ID.match(value))


def valid_address(value: str) -> bool:
    """Whether ``value`` is a plain ASCII address we can send to."""
    return bool(_ADDRESS.match(value)) and not any(c in value for c in '<>",;()[]\\')


def _header(name: str, value: str) -> str:
    """A header value as it must go on the wire: RFC 2047 words only when not ASCII."""
    if value.isascii():
        return value
    return Header(value, _UTF8_QP, header_name=name).encode()


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    # Text quoted from received mail is cleaned upstream; this is a last guard
    # so that one odd character can never stop a reply from being built.
    text = text.encode("utf-8", "replace").decode("utf-8")
    if subtype == "html":
        text = xml_safe(text)
    part = MIMENonMultipart("text", subtype)
    # SMTP refuses lines over 998 characters; quoted-printable folds them.
    # (A school's one-line email quoted in a team notice once bounced so.)
    plain = text.isascii() and max(map(len, text.split("\n"))) <= 900
    part.set_payload(text, "us-ascii" if plain else _UTF8_QP)
    return part


def _finish(
    msg: MIMEMultipart, out: Outgoing, *, from_name: str, from_addr: str, now: datetime
) -> bytes:
    """Add the headers every email mailbot sends carries, marked automatic; return the bytes."""
    msg["From"] = formataddr((from_name, from_addr), charset="utf-8")
    msg["To"] = ", ".join(out.to)
    if out.cc:
        msg["Cc"] = ", ".join(out.cc)
    msg["Subject"] = _header("Subject", clean_header(out.subject))
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = out.message_id
    if out.in_reply_to and valid_id(out.in_reply_to):
        msg["In-Reply-To"] = out.in_reply_to
    references = [r for r in out.references if valid_id(r)]
    if references:
        msg["References"] = " ".join(references)
    # Replies are "auto-replied"; notices the scheduler sends unprompted are
    # "auto-generated" (RFC 3834 section 5).
    msg["Auto-Submitted"] = out.auto or ("auto-replied" if out.in_reply_to else "auto-generated")
    # Exchange and Outlook honour this and do not send out-of-office notices back.
    msg["X-Auto-Response-Suppress"] = "All"
    msg[OWN_MARKER] = out.kind
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=_WIRE).flatten(msg)
    return buffer.getvalue()


def build(out: Outgoing, *, from_name: str, from_addr: str, now: datetime) -> bytes:
    """Render ``out`` as a MIME message marked as automatic (RFC 3834).

    This uses the email package's classic (compat32) message classes, which
    build a message in about half the time of EmailMessage's header registry;
    every email mailbot sends passes through here, so that matters for a tick.
    """
    # The boundary comes from the unique Message-ID, so it cannot occur in the
    # text and the same email always comes out as the same bytes.
    boundary = "=_mb_" + hashlib.sha256(out.message_id.encode()).hexdigest()[:32]
    msg = MIMEMultipart(
        "alternative",
        boundary=boundary,
        _subparts=[_text_part(out.text, "plain"), _text_part(out.html, "html")],
    )
    return _finish(msg, out, from_name=from_name, from_addr=from_addr, now=now)


@dataclass(frozen=True)
class Inline:
    """An image shown inside the HTML part, which refers to it as ``cid:<cid>``."""

    cid: str
    filename: str
    content: bytes
    subtype: str = "png"


@dataclass(frozen=True)
class Attached:
    """A file attached to an email."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    charset: str | None = None


def _wrapped_text_part(text: str, subtype: str) -> MIMENonMultipart:
    # Always quoted-printable: generated HTML has lines far longer than the
    # 998 characters SMTP allows, and QP folds them without changing the text.
    part = MIMENonMultipart("text", subtype)
    if subtype == "html":
        text = xml_safe(text)
    part.set_payload(text.encode("utf-8", "replace").decode("utf-8"), _UTF8_QP)
    return part


def _binary_part(maintype: str, subtype: str, content: bytes) -> MIMENonMultipart:
    part = MIMENonMultipart(maintype, subtype)
    part.set_payload(content)
    encoders.encode_base64(part)
    return part


def build_related(
    out: Outgoing,
    *,
    from_name: str,
    from_addr: str,
    now: datetime,
    images: Sequence[Inline] = (),
    attachments: Sequence[Attached] = (),
) -> bytes:
    """Render ``out`` with inline images and attachments, marked as automatic like ``build``.

    The structure is the one Outlook, Gmail and Apple Mail all show as meant:
    multipart/mixed holding multipart/alternative (text/plain, then
    multipart/related with the HTML and the images it names by Content-ID),
    then the attachments.
    """
    # Boundaries come from the unique Message-ID, as in build(): same email, same bytes.
    seed = hashlib.sha256(out.message_id.encode()).hexdigest()[:32]
    related = MIMEMultipart("related", boundary=f"=_mr_{seed}", type="text/html")
    related.attach(_wrapped_text_part(out.html, "html"))
    for image in images:
        part = _binary_part("image", image.subtype, image.content)
        part["Content-ID"] = f"<{image.cid}>"
        part.add_header("Content-Disposition", "inline", filename=image.filename)
        related.attach(part)
    alternative = MIMEMultipart(
        "alternative",
        boundary=f"=_ma_{seed}",
        _subparts=[_wrapped_text_part(out.text, "plain"), related],
    )
    msg = MIMEMultipart("mixed", boundary=f"=_mm_{seed}", _subparts=[alternative])
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        part = _binary_part(maintype, subtype or "octet-stream", item.content)
        if item.charset:
            part.set_param("charset", item.charset)
        part.add_header("Content-Disposition", "attachment", filename=item.filename)
        msg.attach(part)
    return _finish(msg, out, from_name=from_name, from_addr=from_addr, now=now)
