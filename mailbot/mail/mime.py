"""Turn a composed Outgoing email into the bytes mailbot sends."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import Any

from mailbot.mail import mimeflat
from mailbot.mail.mimeflat import TextBody
from mailbot.mail.outgoing import Outgoing
from mailbot.mail.xmltext import xml_safe

_MSG_ID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]+>$")
# Printable ASCII, or any character beyond the C1 controls that is not white
# space: internationalised addresses (RFC 6531/6532) are UTF-8 in both parts.
_ADDRESS = re.compile(r"^(?:[\x21-\x7e]|[^\x00-\x9f\s])+@(?:[\x21-\x7e]|[^\x00-\x9f\s])+$")
# The standard library's SMTP policy: CRLF line ends, headers folded at 78
# characters and encoded (RFC 2047) only where they are not ASCII.


class _Headers(HeaderRegistry):
    """The standard header registry, making each header's class once rather than per use.

    The stock registry builds a new class every time a header is set or
    read, which was an eighth of the time spent building an email.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


class _Wire(EmailPolicy):
    """policy.SMTP, with plain ASCII header values folded with their first word kept in place.

    The standard folder moves a value that fits on one line of its own to a
    continuation line, leaving "Subject:" bare above it; parsers (the standard
    library's own among them) then read the subject back with a leading space.
    A plain ASCII value on one line (every header mailbot writes, but a
    non-ASCII subject, which goes to the standard folder to be encoded) only
    needs breaking at spaces, before 78 characters where the words allow
    (RFC 5322 section 2.2.3).
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        text = str(value)
        if not text.isascii() or "\n" in text or "\r" in text:
            return super().fold_binary(name, value)
        lines: list[str] = []
        first = line = f"{name}:"
        for word in text.split(" "):
            if len(line) + 1 + len(word) > 78 and line not in ("", first):
                lines.append(line)
                line = ""
            line += " " + word
        lines.append(line)
        return (self.linesep.join(lines) + self.linesep).encode("ascii")

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        """Keep a plain value as written when parsing it would give back the same text.

        Parsing every header through the header registry was most of the cost
        of building a broadcast's thousands of emails; for these headers and
        these values (printable ASCII, single spaces, no encoded words, plain
        addresses) the parsed header reads back as the very same text, so the
        bytes sent are unchanged.  Anything else is parsed as before.
        """
        if isinstance(value, str) and "=?" not in value:
            key = name.lower()
            if (
                (key in _VERBATIM and _PLAIN_VALUE.match(value))
                or (key in _ADDRESS_HEADERS and _ADDRESS_LIST.match(value))
                or (key == "content-type" and _OWN_MULTIPART.match(value))
            ):
                return name, value
            if name.lower() in _REPEATED and "boundary=" not in value:
                # The same few part headers in every email: parsed once each.
                return self._parsed_once(name, value)
        elif isinstance(value, Address):
            # The From header: the service's own name and address, the same
            # in every email.  An Address keeps no more than these three.
            key = f"{value.display_name}\0{value.username}\0{value.domain}"
            return self._parsed_once(name, value, key)
        stored: tuple[str, Any] = super().header_store_parse(name, value)
        return stored

    def _parsed_once(self, name: str, value: Any, key: str | None = None) -> tuple[str, Any]:
        """``header_store_parse`` of a header that recurs unchanged, parsed once and reused.

        A parsed header is immutable, so one can stand in every email.
        """
        made = _PARSED.get((name, key or value))
        if made is None:
            if len(_PARSED) > 64:
                _PARSED.clear()
            made = _PARSED[(name, key or value)] = super().header_store_parse(name, value)
        return made


# Every email mailbot sends carries this header; the screen stage recognises it
# so that mailbot never answers itself.
OWN_MARKER = "X-Mailbot-Id"

_VERBATIM = frozenset(
    {
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "auto-submitted",
        "x-auto-response-suppress",
        OWN_MARKER.lower(),
        "mime-version",
    }
)
_ADDRESS_HEADERS = frozenset({"to", "cc"})
# Part headers with a handful of values, whose parsed (immutable) form is reused.
_REPEATED = frozenset({"content-type", "content-transfer-encoding"})
_PARSED: dict[tuple[str, str], tuple[str, Any]] = {}
_PLAIN_VALUE = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*\Z")
# A multipart Content-Type with a boundary of mailbot's own (from the
# Message-ID's hash): unique to each email, so parsing it once for all cannot
# help, and it reads back from the parse unchanged.
_OWN_MULTIPART = re.compile(r'multipart/[a-z]+; boundary="=_m[a-z]_[0-9a-f]{32}"\Z')
# A dot-atom address (RFC 5322 section 3.4.1), which the address parser
# neither quotes nor changes.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_ADDRESS_LIST = re.compile(rf"{_PLAIN_ADDRESS}(?:, {_PLAIN_ADDRESS})*\Z")

_WIRE = _Wire(linesep="\r\n", header_factory=_Headers())
# For an email from or to an internationalised address: headers in UTF-8 as
# they stand (RFC 6532).  It can only be sent where the relay offers SMTPUTF8;
# mail.smtp asks for it and says so plainly when it is not offered.
_WIRE_UTF8 = _WIRE.clone(utf8=True)
# Quoted-printable UTF-8 keeps mostly-ASCII text readable on the wire.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def clean_header(value: str) -> str:
    """One line of valid Unicode: received mail can put anything in a subject."""
    value = value.encode("utf-8", "replace").decode("utf-8")
    return " ".join(value.split())


def valid_id(value: str) -> bool:
    """Whether ``value`` is a Message-ID we can safely echo in threading headers."""
    return bool(_MSG_ID.match(value))


def valid_address(value: str) -> bool:
    """Whether ``value`` is a plain address we can send to: ASCII, or UTF-8 (RFC 6531)."""
    return bool(_ADDRESS.match(value)) and not any(c in value for c in '<>",;()[]\\')


def needs_smtputf8(*addresses: str) -> bool:
    """Whether mail from or to these addresses needs SMTPUTF8 (any of them is not ASCII)."""
    return not all(a.isascii() for a in addresses)


def _text_body(text: str, subtype: str, *, wrap: bool = False) -> TextBody:
    """A text part's headers and payload: 7bit if short-lined ASCII, else quoted-printable UTF-8.

    Text quoted from received mail is cleaned upstream; re-encoding here is a
    last guard so that one odd character can never stop a reply from being
    built.  SMTP refuses lines over 998 characters, and quoted-printable folds
    them without changing the text (a school's one-line email quoted in a team
    notice once bounced so); ``wrap`` asks for quoted-printable whatever the text.
    """
    text = text.encode("utf-8", "replace").decode("utf-8")
    if subtype == "html":
        text = xml_safe(text)
    plain = not wrap and text.isascii() and max(map(len, text.split("\n"))) <= 900
    if plain:
        return TextBody(f'text/{subtype}; charset="us-ascii"', "7bit", text)
    return TextBody(
        f'text/{subtype}; charset="utf-8"', "quoted-printable", _UTF8_QP.body_encode(text)
    )


def _part_of(body: TextBody) -> MIMEPart:
    """A text part as a MIMEPart."""
    # The payload is set as written rather than through set_content, which
    # would add a line end the text did not have.
    part = MIMEPart(policy=_WIRE)
    part["Content-Type"] = body.content_type
    part["Content-Transfer-Encoding"] = body.transfer_encoding
    part.set_payload(body.payload)
    return part


def _text_part(text: str, subtype: str, *, wrap: bool = False) -> MIMEPart:
    """A text part (see ``_text_body``) as a MIMEPart."""
    return _part_of(_text_body(text, subtype, wrap=wrap))


def _multipart(
    subtype: str, boundary: str, parts: Sequence[MIMEPart], container: MIMEPart | None = None
) -> MIMEPart:
    container = MIMEPart(policy=_WIRE) if container is None else container
    # Exactly the value set_boundary() would write over a bare
    # "multipart/SUBTYPE", set at once rather than parsed twice.
    container["Content-Type"] = f'multipart/{subtype}; boundary="{boundary}"'
    for part in parts:
        container.attach(part)
    return container


def _header_values(
    out: Outgoing, *, from_name: str, from_addr: str, now: datetime
) -> list[tuple[str, Any]]:
    """The headers every email mailbot sends, in order, marked automatic."""
    # Given as its two parts, since the parser behind addr_spec refuses a
    # local part that is not ASCII even where the policy allows UTF-8.
    local, _, domain = from_addr.rpartition("@")
    headers: list[tuple[str, Any]] = [
        ("From", Address(display_name=from_name, username=local, domain=domain)),
        ("To", ", ".join(out.to)),
    ]
    if out.cc:
        headers.append(("Cc", ", ".join(out.cc)))
    headers.append(("Subject", clean_header(out.subject)))
    headers.append(("Date", format_datetime(now)))
    headers.append(("Message-ID", out.message_id))
    if out.in_reply_to and valid_id(out.in_reply_to):
        headers.append(("In-Reply-To", out.in_reply_to))
    references = [r for r in out.references if valid_id(r)]
    if references:
        headers.append(("References", " ".join(references)))
    # Replies are "auto-replied"; notices the scheduler sends unprompted are
    # "auto-generated" (RFC 3834 section 5).
    auto = out.auto or ("auto-replied" if out.in_reply_to else "auto-generated")
    headers.append(("Auto-Submitted", auto))
    # Exchange and Outlook honour this and do not send out-of-office notices back.
    headers.append(("X-Auto-Response-Suppress", "All"))
    headers.append((OWN_MARKER, out.kind))
    headers.append(("MIME-Version", "1.0"))
    return headers


def envelope(out: Outgoing, *, from_name: str, from_addr: str, now: datetime) -> EmailMessage:
    """An email with the headers every email mailbot sends, marked automatic; no body yet."""
    utf8 = needs_smtputf8(from_addr, *out.to, *out.cc)
    msg = EmailMessage(policy=_WIRE_UTF8 if utf8 else _WIRE)
    for name, value in _header_values(out, from_name=from_name, from_addr=from_addr, now=now):
        msg[name] = value
    return msg


def alternative_boundary(message_id: str) -> str:
    """The boundary of ``build``'s email with ``message_id`` (always 37 characters).

    It comes from the unique Message-ID, so it cannot occur in the text and
    the same email always comes out as the same bytes.
    """
    return "=_mb_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]


def build(out: Outgoing, *, from_name: str, from_addr: str, now: datetime) -> bytes:
    """Render ``out`` as text and HTML alternatives, marked as automatic (RFC 3834)."""
    boundary = alternative_boundary(out.message_id)
    bodies = [_text_body(out.text, "plain"), _text_body(out.html, "html")]
    headers = _header_values(out, from_name=from_name, from_addr=from_addr, now=now)
    if not needs_smtputf8(from_addr, *out.to, *out.cc) and mimeflat.single_lines(headers):
        # The same bytes as the tree below gives, written directly (mimeflat.py);
        # the tests compare the two over many emails.
        kind = ("Content-Type", f'multipart/alternative; boundary="{boundary}"')
        return mimeflat.multipart(_WIRE, [*headers, kind], boundary, bodies)
    return _build_tree(out, boundary, bodies, from_name=from_name, from_addr=from_addr, now=now)


def _build_tree(
    out: Outgoing,
    boundary: str,
    bodies: Sequence[TextBody],
    *,
    from_name: str,
    from_addr: str,
    now: datetime,
) -> bytes:
    """``build`` through the email package's message tree and generator."""
    msg = envelope(out, from_name=from_name, from_addr=from_addr, now=now)
    parts = [_part_of(body) for body in bodies]
    return _multipart("alternative", boundary, parts, container=msg).as_bytes()


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


def _binary_part(
    maintype: str, subtype: str, content: bytes, *, disposition: str, filename: str
) -> MIMEPart:
    part = MIMEPart(policy=_WIRE)
    part.set_content(
        content, maintype, subtype, cte="base64", disposition=disposition, filename=filename
    )
    del part["MIME-Version"]
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
    # Generated HTML has lines far longer than SMTP allows: always quoted-printable.
    shown = [_text_part(out.html, "html", wrap=True)]
    for image in images:
        part = _binary_part(
            "image", image.subtype, image.content, disposition="inline", filename=image.filename
        )
        part["Content-ID"] = f"<{image.cid}>"
        shown.append(part)
    related = _multipart("related", f"=_mr_{seed}", shown)
    related.set_param("type", "text/html")
    alternative = _multipart(
        "alternative", f"=_ma_{seed}", [_text_part(out.text, "plain", wrap=True), related]
    )
    files = []
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        part = _binary_part(
            maintype,
            subtype or "octet-stream",
            item.content,
            disposition="attachment",
            filename=item.filename,
        )
        if item.charset:
            part.set_param("charset", item.charset)
        files.append(part)
    msg = envelope(out, from_name=from_name, from_addr=from_addr, now=now)
    return _multipart("mixed", f"=_mm_{seed}", [alternative, *files], container=msg).as_bytes()
