"""Pipeline stage: turn raw message bytes into a clean ParsedMessage, whatever the damage."""

from __future__ import annotations

import email
import email.utils
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email import policy
from email.message import Message
from typing import Any

import mailparser

from mailbot.mail import fields as header_fields
from mailbot.mail.bounds import cut
from mailbot.mail.charsets import clean, decode_bytes, decode_header
from mailbot.mail.headerbytes import headers_as_utf8
from mailbot.mail.message import ParsedMessage
from mailbot.mail.mimewalk import Body, content_type, raw_header, read_body
from mailbot.mail.quotes import strip_quoted

# mail-parser logs each part it does not render and each error it recovers
# from; mailbot reads every part itself, so those records are only noise.
logging.getLogger("mailparser").setLevel(logging.CRITICAL)

# Header bombs (hundreds of KB in one field) cost the email package seconds
# and hundreds of MB; no real field needs more than this, nor a real header
# block more than these.
MAX_HEADER_VALUE = 8 * 1024
MAX_HEADER_BYTES = 256 * 1024
MAX_HEADERS = 500
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")
_FIELD = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True)
class _Split:
    """A message cut into its capped header block and its body."""

    head: bytes
    body: bytes
    defects: tuple[str, ...]


# Trace and authentication headers are structured by their own grammars, where
# an RFC 2047 encoded word means nothing.  Decoding one would let a sender hide
# text such as "dmarc=pass" inside an address our own server copies into its
# Authentication-Results, so these are only unfolded, never decoded.
_UNDECODED = frozenset(
    {
        "authentication-results",
        "arc-authentication-results",
        "received",
        "received-spf",
        "dkim-signature",
        "arc-seal",
        "arc-message-signature",
    }
)


def _header_value(name: str, value: str) -> str:
    if name.strip().lower() in _UNDECODED:
        return " ".join(clean(value).split())
    return decode_header(value)


def _split(raw: bytes) -> _Split:
    """Read each header field once, keeping at most MAX_HEADER_VALUE bytes of each.

    Fields past MAX_HEADERS or past MAX_HEADER_BYTES in all are dropped.
    """
    pos = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    fields: list[list[bytes]] = []
    current: list[bytes] | None = None
    size = total = 0
    defects: set[str] = set()
    while pos < len(raw):
        match = _LINE.match(raw, pos)
        line = match.group(0) if match else b""
        if not line:
            break
        content = line.rstrip(b"\r\n")
        eol = line[len(content) :] or b"\n"
        pos += len(line)
        if pos == len(line) and content.startswith(b"From "):
            continue  # An mbox separator line, not a header.
        if not content:
            break
        if content[:1] in b" \t":
            if current is None:
                continue  # A stray continuation, or one of a field already cut.
            if size + len(content) > MAX_HEADER_VALUE or total + len(content) > MAX_HEADER_BYTES:
                defects.add("header-truncated")
                current = None
                continue
            current.append(content + eol)
        elif _FIELD.match(content):
            current = None
            kept = content[:MAX_HEADER_VALUE]
            if len(kept) < len(content):
                defects.add("header-truncated")
            if len(fields) >= MAX_HEADERS or total + len(kept) > MAX_HEADER_BYTES:
                defects.add("header-truncated")
                continue
            current = [kept + eol]
            fields.append(current)
            size = 0
        else:
            # Python's parser starts the body at the first line that is not a
            # header, and so does this.
            pos -= len(line)
            defects.add("no-header-separator")
            break
        size += len(current[-1])
        total += len(current[-1])
    # Raw 8-bit header text in an undeclared charset is detected here, once
    # for the whole block, and handed on as UTF-8.
    head = headers_as_utf8(b"".join(b"".join(f) for f in fields))
    return _Split(head, raw[pos:], tuple(sorted(defects)))


def _defect_names(categories: Iterable[object]) -> tuple[str, ...]:
    """mail-parser's defect class names as short words: DateHeaderDefect -> date-header."""
    names = {str(c).removesuffix("Defect") for c in categories}
    return tuple(sorted(_CAMEL.sub("-", n).lower() for n in names if n))


class _OnePass(mailparser.MailParser):  # type: ignore[misc]
    """mail-parser's parse, keeping the text it decodes beside the part it came from.

    mail-parser decodes every text part once, into flat lists that also hold
    the text of attached messages and cannot say which part each came from.
    Keeping each part's decoded text lets the body walk choose parts by their
    place in the tree, as it must, without decoding any of them again.  The
    hook is mail-parser's own per-part decode step (4.8); if a later version
    stops calling it, nothing is kept and the walk decodes the parts itself.
    """

    def _decode_body_payload(self, part: Message, charset: str, part_index: int) -> str:
        text: str = super()._decode_body_payload(part, charset, part_index)
        # MailParser answers unknown attributes as header lookups, so the
        # store lives in the instance dictionary rather than as an attribute.
        self.__dict__.setdefault("decoded", {})[part] = text
        return text

    def _make_mail(self, complete: bool = True) -> dict[str, Any]:
        """mail-parser's dictionary of the message; the partial one is made when asked for.

        parse() ends by building the dictionary of every header twice: whole,
        then the main headers again.  The whole one decodes every header, and
        a header mail-parser cannot decode makes it raise, which sends the
        email to the standard library's parser (``_tree``); so it is still
        built.  The partial one reads a subset of the same values, so it
        cannot raise where the whole one did not, and nothing of mailbot
        reads it: ``mail_partial`` builds it on first use.
        """
        if not complete:
            return {}
        made: dict[str, Any] = super()._make_mail()
        return made

    @property
    def mail_partial(self) -> dict[str, Any]:
        """mail-parser's dictionary of the main headers, built on first use."""
        if not self.__dict__.get("_mail_partial"):
            self._mail_partial = super()._make_mail(complete=False)
        return self._mail_partial  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Tree:
    """The MIME tree, what its parser noticed, and the text mail-parser decoded per part."""

    msg: Message | None
    defects: tuple[str, ...]
    decoded: Mapping[Message, str]


def _tree(data: bytes) -> _Tree:
    """The MIME tree from mail-parser, else from the standard library, else nothing."""
    try:
        parsed = _OnePass.from_bytes(data)
        if isinstance(parsed.message, Message):
            found = _defect_names(parsed.defects_categories or ())
            return _Tree(parsed.message, found, parsed.__dict__.get("decoded", {}))
    except Exception:  # mail-parser raises on some malformed MIME and on deep nesting.
        pass
    try:
        msg = email.message_from_bytes(data, policy=policy.compat32)
        return _Tree(msg, ("fallback-parser",), {})
    except Exception:  # Deep nesting exhausts the standard library's recursion too.
        return _Tree(None, ("fallback-parser", "body-as-text"), {})


def _body(msg: Message, split: _Split, tree: _Tree, limit: int) -> Body:
    """Read the body from the tree, or as plain text when there is no usable tree."""
    if "body-as-text" in tree.defects:
        text = decode_bytes(split.body).replace("\r\n", "\n").replace("\r", "\n")
        return Body(text, None, (), (content_type(msg),), ())
    body = read_body(msg, max_attachment_bytes=limit, decoded=tree.decoded)
    if body.text.strip() or body.attachments or msg.get_content_maintype() != "multipart":
        return body
    # A boundary that never occurs hides every part; the raw text beats nothing.
    text = decode_bytes(split.body, msg.get_content_charset()).replace("\r\n", "\n")
    defects = tuple(dict.fromkeys((*body.defects, "broken-boundary")))
    return Body(text.replace("\r", "\n"), body.html, (), body.part_types, defects)


def _parse(raw: bytes, limit: int, raw_size: int, truncated: bool, max_text: int) -> ParsedMessage:
    split = _split(raw)
    tree = _tree(split.head + b"\n" + (b"" if truncated else split.body))
    found = tree.defects
    msg = tree.msg
    if msg is None:
        # Headers alone cannot nest, so this parse always succeeds.
        msg = email.message_from_bytes(split.head + b"\n", policy=policy.compat32)
    if truncated:
        body = Body("", None, (), (content_type(msg),), ())
    else:
        body = _body(msg, split, tree, limit)
    fields = [(k.lower(), str(v)) for k, v in msg.raw_items()]

    def every(name: str) -> list[str]:
        return [v for k, v in fields if k == name]

    sender = header_fields.sender(raw_header(msg, "from"))
    # Every later pass, the database and the emails quoting it see at most
    # max_text characters; the whole message stays in the mailbox.
    text = cut(body.text, max_text)
    cut_defect = ("text-cut",) if len(text) < len(body.text) else ()
    return ParsedMessage(
        raw_size=raw_size,
        message_id=header_fields.message_id(raw_header(msg, "message-id")),
        subject=decode_header(raw_header(msg, "subject")),
        from_name=sender.name,
        from_addr=sender.addr,
        from_suspect=sender.suspect,
        to=header_fields.addresses(every("to")),
        cc=header_fields.addresses(every("cc")),
        reply_to=header_fields.addresses(every("reply-to")),
        date=header_fields.date(clean(raw_header(msg, "date") or "")),
        in_reply_to=header_fields.ids(every("in-reply-to")),
        references=header_fields.ids(every("references")),
        headers=tuple((clean(k), _header_value(k, v)) for k, v in fields),
        content_type=content_type(msg),
        part_types=body.part_types,
        text=text,
        html=body.html,
        new_text=clean(strip_quoted(text)) if text.strip() else text,
        attachments=body.attachments,
        truncated=truncated,
        defects=tuple(dict.fromkeys((*split.defects, *found, *body.defects, *cut_defect))),
    )


def parse_message(
    raw: bytes,
    *,
    max_attachment_bytes: int = 5_000_000,
    raw_size: int | None = None,
    truncated: bool = False,
    max_text_chars: int = 200_000,
) -> ParsedMessage:
    """Parse ``raw`` into a ParsedMessage; never raises.

    ``truncated`` says only the header block was fetched (the message was over
    the size limit): the headers are read and the body is left empty.  The
    text is cut at ``max_text_chars`` characters, with a note saying so.
    """
    size = len(raw) if raw_size is None else raw_size
    try:
        return _parse(raw, max_attachment_bytes, size, truncated, max_text_chars)
    except Exception:  # Whatever went wrong, the person's words are kept as text.
        text = "" if truncated else decode_bytes(raw).replace("\r\n", "\n").replace("\r", "\n")
        text = cut(text, max_text_chars)
        return ParsedMessage(
            raw_size=size,
            message_id=None,
            subject="",
            from_name="",
            from_addr=None,
            text=text,
            new_text=text,
            truncated=truncated,
            defects=("unparsed",),
        )
