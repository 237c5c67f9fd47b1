"""Walk a parsed MIME tree into body text, HTML, attachments and the type of every part."""

from __future__ import annotations

import functools
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message

from mailbot.mail.charsets import clean, decode_bytes, decode_header, misread
from mailbot.mail.htmltext import html_to_text
from mailbot.mail.message import Attachment
from mailbot.mail.tnef import unpack_tnef

MAX_DEPTH = 20
MAX_PARTS = 1_000
MAX_FILENAME = 200
_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
_ENCLOSED = frozenset({"message/rfc822", "message/global", "message/news"})
# Machine-written reports: kept as attachments, and read as the text of a
# message that has no other (a bare delivery report, say).
_REPORTS = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/global-disposition-notification",
        "message/feedback-report",
    }
)
_TNEF = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True)
class Body:
    """What the parts of one message add up to."""

    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    part_types: tuple[str, ...]
    defects: tuple[str, ...]


@dataclass
class _Found:
    """What one walk has collected so far (lives only for the length of the walk)."""

    max_bytes: int
    # Each body part's text as mail-parser decoded it, by part.
    decoded: Mapping[Message, str]
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    # Text read only when no body part has any: named inline text parts,
    # reports, and multiparts whose boundary was never found.  They are kept
    # as bytes and their charset, and decoded only if they are needed.
    spare: list[tuple[bytes, str | None]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def defect(self, name: str) -> None:
        if name not in self.defects:
            self.defects.append(name)


def raw_header(part: Message, name: str) -> str | None:
    """The first value of header ``name`` as parsed, raw 8-bit bytes still escaped."""
    key = name.lower()
    return next((str(v) for k, v in part.raw_items() if k.lower() == key), None)


def content_type(part: Message) -> str:
    """The part's ``type/subtype`` in lower case, without whatever garbage follows it."""
    match = _TYPE.match(part.get_content_type().strip().lower())
    return match.group(0) if match else "application/octet-stream"


def _charset(part: Message) -> str | None:
    probe = _probe(part, "content-type")
    charset = probe.get_param("charset")
    return charset if isinstance(charset, str) else None


def _probe(part: Message, *names: str) -> Message:
    """A copy of some of ``part``'s headers with raw 8-bit bytes already decoded.

    Python reads parameters of a header holding raw bytes through a lossy
    path; decoding the bytes first keeps non-ASCII file names intact.
    """
    probe = Message()
    for name in names:
        value = raw_header(part, name)
        if value is not None:
            probe[name] = clean(value)
    return probe


def _filename(part: Message) -> str:
    name = _probe(part, "content-disposition", "content-type").get_filename()
    return _safe_name(decode_header(name)) if name else ""


def _safe_name(name: str) -> str:
    """A file name without folders or control characters, short enough to store."""
    name = _UNSAFE_NAME.sub(" ", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    if len(name) > MAX_FILENAME:
        _stem, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        name = name[: MAX_FILENAME - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    return name


@functools.cache
def _types() -> mimetypes.MimeTypes:
    """The system's table of file types, copied once rather than for every nameless part."""
    return mimetypes.MimeTypes()


def _default_name(found: _Found, ctype: str) -> str:
    ext = _types().guess_extension(ctype)
    if not ext:
        ext = ".txt" if ctype.startswith(("text/", "message/")) else ".bin"
    return f"attachment-{len(found.attachments) + 1}{ext}"


def _message_bytes(msg: Message) -> bytes:
    try:
        return msg.as_bytes()
    except Exception:  # A message too odd to serialise is stored empty, never fatal.
        return b""


def _payload_bytes(part: Message) -> bytes:
    """The decoded payload; report parts held as header blocks are serialised again."""
    decoded = part.get_payload(decode=True)
    if isinstance(decoded, bytes):
        return decoded
    payload = part.get_payload()
    if isinstance(payload, list):
        return b"".join(_message_bytes(m) for m in payload if isinstance(m, Message))
    return str(payload or "").encode("utf-8", "surrogateescape")


def _attach(found: _Found, name: str, ctype: str, data: bytes) -> None:
    content = data if len(data) <= found.max_bytes else None
    found.attachments.append(Attachment(name, ctype, len(data), content))


def _enclosed(part: Message, inner: Message | None, found: _Found) -> None:
    """Keep an attached message whole, as a .eml named for its subject."""
    subject = decode_header(raw_header(inner, "subject")) if inner is not None else ""
    name = _filename(part) or _safe_name(f"{subject or 'message'}.eml")
    data = _message_bytes(inner) if inner is not None else _payload_bytes(part)
    _attach(found, name, content_type(part), data)


def _tnef(data: bytes, found: _Found) -> None:
    files = unpack_tnef(data)
    if files is None:
        found.defect("tnef-unreadable")
        return
    guess = _types()
    for name, content in files:
        ctype = guess.guess_type(name)[0] or "application/octet-stream"
        _attach(found, _safe_name(name) or _default_name(found, ctype), ctype, content)


def _body_text(part: Message, found: _Found) -> str:
    """A body part's text: mail-parser's decode, unless it is one it is known to misread."""
    text = found.decoded.get(part)
    if text is None or misread(text):
        return decode_bytes(_payload_bytes(part), _charset(part))
    return text


def _leaf(part: Message, ctype: str, found: _Found) -> None:
    name = _filename(part)
    disposition = (part.get_content_disposition() or "").lower()
    if ctype in ("text/plain", "text/html") and not name and disposition != "attachment":
        (found.plain if ctype == "text/plain" else found.html).append(_body_text(part, found))
        return
    data = _payload_bytes(part)
    if ctype.startswith("multipart/"):
        # The parser found no parts: the boundary is missing or never occurs.
        found.defect("broken-boundary")
        found.spare.append((data, _charset(part)))
        return
    if (ctype == "text/plain" and disposition != "attachment") or ctype in _REPORTS:
        found.spare.append((data, _charset(part)))
    _attach(found, name or _default_name(found, ctype), ctype, data)
    if ctype in _TNEF or name.lower() == "winmail.dat":
        _tnef(data, found)


def _visit(part: Message, depth: int, found: _Found, *, enclosed: bool) -> None:
    """Record ``part`` and what is under it; inside attached messages only their types."""
    if len(found.types) >= MAX_PARTS:
        found.defect("too-many-parts")
        return
    if depth > MAX_DEPTH:
        found.defect("too-deep")
        return
    try:
        ctype = content_type(part)
        found.types.append(ctype)
        # Only containers' payloads are read here: Python decodes a leaf's
        # payload with its charset parameter, which raises on odd values.
        children = part.get_payload() if part.is_multipart() else None
        if ctype in _ENCLOSED:
            inner = children[0] if isinstance(children, list) and children else None
            inner = inner if isinstance(inner, Message) else None
            if not enclosed:
                _enclosed(part, inner, found)
            if inner is not None:
                _visit(inner, depth + 1, found, enclosed=True)
        elif isinstance(children, list) and not ctype.startswith("message/"):
            for sub in children:
                if isinstance(sub, Message):
                    _visit(sub, depth + 1, found, enclosed=enclosed)
        elif not enclosed:
            _leaf(part, ctype, found)
    except Exception:  # One unreadable part must not cost the rest of the message.
        found.defect("unreadable-part")


def _join(texts: list[str]) -> str:
    return "\n".join(t.strip("\r\n") for t in texts if t.strip())


def read_body(
    msg: Message, *, max_attachment_bytes: int, decoded: Mapping[Message, str] | None = None
) -> Body:
    """Collect body text, HTML and attachments from the tree under ``msg``.

    ``decoded`` holds the text mail-parser already decoded for each body part;
    a part found there is not decoded again unless its text shows a misreading.
    """
    found = _Found(max_bytes=max_attachment_bytes, decoded=decoded or {})
    _visit(msg, 0, found, enclosed=False)
    html = _join(found.html) or None
    text = _join(found.plain)
    if not text and html:
        text = html_to_text(html)
    if not text:
        text = _join([decode_bytes(data, charset) for data, charset in found.spare])
    text = clean(text.replace("\r\n", "\n").replace("\r", "\n"))
    return Body(
        text=text,
        html=html,
        attachments=tuple(found.attachments),
        part_types=tuple(found.types),
        defects=tuple(found.defects),
    )
