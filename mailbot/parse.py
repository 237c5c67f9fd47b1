"""Pipeline stage support: turn raw bytes into a clean ParsedMessage, whatever the damage."""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.errors
import email.header
import email.utils
import logging
import re
from datetime import UTC, datetime
from email.message import Message

import mailparser

from mailbot.htmltext import html_to_text
from mailbot.inbound import Attachment, ParsedMessage
from mailbot.quotes import strip_quoted

# mail-parser logs every MIME type it does not render; that is noise for us.
logging.getLogger("mailparser").setLevel(logging.ERROR)

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_VALUE = 8 * 1024
MAX_DEPTH = 20
MAX_IDS = 50

# Charset names seen in real mail that Python does not know by that name.
_CHARSET_ALIASES = {
    "x-mac-cyrillic": "mac_cyrillic",
    "x-gbk": "gbk",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "x-sjis": "shift_jis",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso-8859-8",
    "x-user-defined": "cp1252",
    "unicode-1-1-utf-7": "utf-7",
}
_ID = re.compile(r"<[^<>\s]{1,900}>")
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """Valid Unicode without NULs, which neither UTF-8 storage nor PostgreSQL accept."""
    if _SURROGATES.search(text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        text = _SURROGATES.sub("\ufffd", text)
    return text.replace("\x00", "")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Declared charset, then UTF-8, then cp1252 (which maps nearly every byte)."""
    for name in (_codec(charset), "utf-8", "cp1252"):
        if name is None:
            continue
        try:
            return clean(data.decode(name))
        except (UnicodeDecodeError, LookupError):
            continue
    return clean(data.decode("latin-1"))


def _text(value: object) -> str:
    """A header value as the parser gave it (a str, or a Header holding raw bytes)."""
    if isinstance(value, email.header.Header):
        try:
            return str(value)
        except (UnicodeError, LookupError):
            return value.encode()
    return str(value)


def decode_header(value: object) -> str:
    """Decode encoded words and raw 8-bit bytes in a header value."""
    if not value:
        return ""
    value = _text(value)[:MAX_HEADER_VALUE]
    # The byte parser keeps raw 8-bit header bytes as surrogate escapes.
    if _SURROGATES.search(value):
        value = decode_bytes(value.encode("ascii", "surrogateescape"), None)
    try:
        parts = email.header.decode_header(value)
    except (ValueError, binascii.Error, AssertionError, email.errors.HeaderParseError):
        return clean(" ".join(value.split()))
    out = []
    for chunk, charset in parts:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return clean(" ".join("".join(out).split()))


def _split_headers(raw: bytes) -> tuple[bytes, bytes, list[str]]:
    """Cap the header block so header bombs cost neither time nor memory."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    match = re.search(rb"\r?\n\r?\n", raw)
    head, body = (raw[: match.start()], raw[match.end() :]) if match else (raw, b"")
    defects = []
    if len(head) > MAX_HEADER_BYTES:
        head = head[:MAX_HEADER_BYTES].rsplit(b"\n", 1)[0]
        defects.append("header-truncated")
    return head, body, defects


def _addresses(values: list[str]) -> tuple[str, ...]:
    # Addresses are read from the undecoded value: a decoded display name may
    # contain commas or angle brackets that would split or hide the address.
    found = []
    for _name, addr in email.utils.getaddresses([clean(v[:MAX_HEADER_VALUE]) for v in values]):
        addr = addr.strip().lower()
        if "@" in addr and addr not in found and addr != "<>":
            found.append(addr)
    return tuple(found)


def _bare_address(value: str) -> str | None:
    """A usable address from what parseaddr returned, or None.

    Broken From lines such as ``Big Bug bb@bug.com`` (no angle brackets) come
    back with the name run into the address; the last token with an @ in it
    is the address the sender meant.
    """
    tokens = [t.strip('"<>') for t in value.split() if "@" in t]
    if not tokens:
        return None
    candidate = tokens[-1]
    local, _, domain = candidate.rpartition("@")
    return candidate if local and domain and "@" not in local else None


def _ids(value: str | None) -> tuple[str, ...]:
    seen: list[str] = []
    for token in _ID.findall(value or ""):
        if token not in seen:
            seen.append(token)
    return tuple(seen[-MAX_IDS:])


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _filename(part: Message) -> str | None:
    name = part.get_filename() or part.get_param("name")
    if isinstance(name, tuple):
        name = email.utils.collapse_rfc2231_value(name)
    return decode_header(str(name)) if name else None


def _walk(part: Message, depth: int = 0) -> list[tuple[Message, bool]]:
    """Leaf parts in order, each flagged when it is an attached message."""
    if depth > MAX_DEPTH:
        return []
    if part.get_content_type() == "message/rfc822":
        return [(part, True)]
    if part.is_multipart():
        out = []
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, Message):
                out.extend(_walk(sub, depth + 1))
        return out
    return [(part, False)]


def _all_types(part: Message, depth: int = 0) -> tuple[str, ...]:
    """Every part's content type, containers included, depth first."""
    if depth > MAX_DEPTH:
        return ()
    types = [part.get_content_type()]
    payload = part.get_payload() if part.is_multipart() else None
    for sub in payload if isinstance(payload, list) else []:
        if isinstance(sub, Message):
            types.extend(_all_types(sub, depth + 1))
    return tuple(types)


def _mailparser_attachments(raw: bytes, limit: int) -> list[Attachment] | None:
    """Attachments as mail-parser reads them; None when it cannot read the message."""
    try:
        parsed = mailparser.parse_from_bytes(raw)
        found: list[Attachment] = []
        for a in parsed.attachments:
            payload = a.get("payload") or ""
            data = base64.b64decode(payload) if a.get("binary") else str(payload).encode()
            name = clean(str(a.get("filename") or "")) or f"attachment-{len(found) + 1}.bin"
            found.append(
                Attachment(
                    filename=name,
                    content_type=str(a.get("mail_content_type") or "application/octet-stream"),
                    size=len(data),
                    content=data if len(data) <= limit else None,
                )
            )
        return found
    except Exception:
        return None


def parse_message(
    raw: bytes,
    *,
    max_attachment_bytes: int = 5_000_000,
    raw_size: int | None = None,
    truncated: bool = False,
) -> ParsedMessage:
    """Parse ``raw`` into a ParsedMessage; never raises."""
    head, body, defects = _split_headers(raw)
    try:
        msg = email.message_from_bytes(head + b"\n\n" + (b"" if truncated else body))
    except Exception:
        msg = email.message_from_string("")
        defects.append("fallback-parser")
    # raw_items() keeps raw 8-bit bytes as surrogate escapes, so decode_header
    # can read them as UTF-8 or cp1252 instead of losing them.
    raw_headers = [(k.lower(), str(v)) for k, v in list(msg.raw_items())[:500]]
    headers = tuple((k, decode_header(v)) for k, v in raw_headers)

    def first(name: str) -> str | None:
        return next((v for k, v in headers if k == name), None)

    def raw_all(name: str) -> list[str]:
        return [v for k, v in raw_headers if k == name]

    from_values = raw_all("from")
    from_name, from_addr = "", None
    if from_values:
        name, addr = email.utils.parseaddr(clean(from_values[0][:MAX_HEADER_VALUE]))
        from_name = decode_header(name)
        addr = addr.strip().lower()
        from_addr = _bare_address(addr)
    text_parts: list[str] = []
    html_parts: list[str] = []
    attachments: list[Attachment] = []
    if not truncated:
        for part, attached in _walk(msg):
            filename = _filename(part)
            ctype = part.get_content_type()
            disposition = _text(part.get("content-disposition") or "").lower()
            if attached:
                inner = part.get_payload()
                inner_msg = inner[0] if isinstance(inner, list) and inner else None
                if not isinstance(inner_msg, Message):
                    inner_msg = None
                data = inner_msg.as_bytes() if inner_msg is not None else b""
                subject = decode_header(inner_msg.get("subject")) if inner_msg else ""
                attachments.append(
                    Attachment(
                        f"{subject or 'message'}.eml",
                        ctype,
                        len(data),
                        data if len(data) <= max_attachment_bytes else None,
                    )
                )
                continue
            try:
                decoded = part.get_payload(decode=True)
                data = decoded if isinstance(decoded, bytes) else b""
            except Exception:
                data = str(part.get_payload()).encode("utf-8", "replace")
            if (
                ctype in ("text/plain", "text/html")
                and not filename
                and "attachment" not in disposition
            ):
                text = decode_bytes(data, part.get_content_charset())
                (text_parts if ctype == "text/plain" else html_parts).append(text)
            else:
                attachments.append(
                    Attachment(
                        filename or f"attachment-{len(attachments) + 1}.bin",
                        ctype,
                        len(data),
                        data if len(data) <= max_attachment_bytes else None,
                    )
                )
        if attachments:
            # mail-parser's reading of attachments (names, encodings) is preferred;
            # our own walk stands in when it cannot read the message at all.
            from_lib = _mailparser_attachments(raw, max_attachment_bytes)
            if from_lib is None:
                defects.append("mail-parser-failed")
            elif from_lib:
                attachments = from_lib
    html = "\n".join(html_parts) or None
    text = "\n".join(t.strip("\n") for t in text_parts)
    if not text.strip() and html:
        text = html_to_text(html)
    if not text.strip() and not attachments and msg.is_multipart() and not truncated:
        # A broken boundary hides every part; the raw body is better than nothing.
        text = decode_bytes(body, msg.get_content_charset())
        defects.append("broken-boundary")
    text = clean(text.replace("\r\n", "\n").replace("\r", "\n"))
    new_text = clean(strip_quoted(text)) if text.strip() else text
    subject = first("subject") or ""
    message_id = _ids(first("message-id"))
    return ParsedMessage(
        raw_size=len(raw) if raw_size is None else raw_size,
        message_id=message_id[0] if message_id else None,
        subject=subject,
        from_name=from_name,
        from_addr=from_addr,
        to=_addresses(raw_all("to")),
        cc=_addresses(raw_all("cc")),
        reply_to=_addresses(raw_all("reply-to")),
        date=_date(first("date")),
        in_reply_to=_ids(first("in-reply-to")),
        references=_ids(first("references")),
        headers=headers,
        content_type=msg.get_content_type(),
        part_types=_all_types(msg) if not truncated else (),
        text=text,
        html=clean(html) if html else None,
        new_text=new_text,
        attachments=tuple(attachments),
        truncated=truncated,
        defects=tuple(defects),
    )
