"""Remove passwords from everything of an email that is stored, shown or quoted."""

from __future__ import annotations

from dataclasses import replace

from mailbot.mail.message import Attachment, ParsedMessage
from mailbot.mail.redact import redact

# Headers whose words a person wrote and mailbot may show or store.
_PERSON_HEADERS = frozenset(
    {"subject", "from", "to", "cc", "reply-to", "sender", "thread-topic", "comments", "keywords"}
)

# Attachments read as text when their type or name says so.
_TEXT_NAMES = (".txt", ".csv", ".log", ".md", ".ini", ".cfg", ".conf", ".json", ".xml", ".htm",
               ".html", ".eml", ".rtf")  # fmt: skip


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the codec that gives back exactly ``data`` when encoding it again."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Latin-1 maps every byte to one character and back, so the bytes
        # around a secret in any single-byte charset survive unchanged.
        return data.decode("latin-1"), "latin-1"


def _redact_attachment(att: Attachment) -> tuple[Attachment, bool]:
    stem, dot, ext = att.filename.rpartition(".")
    if not dot:
        stem, ext = att.filename, ""
    # A file name separates words with _ and -; read them as spaces.
    named = redact(stem.replace("_", " ").replace("-", " "))
    name = f"{named.text}{dot}{ext}" if named.found else att.filename
    content, found = att.content, named.found
    is_text = att.content_type.lower().startswith("text/") or att.filename.lower().endswith(
        _TEXT_NAMES
    )
    if content is not None and is_text:
        text, codec = _decode(content)
        body = redact(text)
        if body.found:
            content, found = body.text.encode(codec, "replace"), True
    if not found:
        return att, False
    size = len(content) if content is not None else att.size
    return replace(att, filename=name, content=content, size=size), True


def redact_message(msg: ParsedMessage) -> tuple[ParsedMessage, bool]:
    """Remove secrets from everything of an email that is stored, shown or quoted.

    That is the subject and the headers people write, the display name, the
    text, the HTML, attachment names and text attachments.  Returns the
    cleaned message and whether anything was removed.
    """
    found = False
    # The same words often appear more than once (the new text is usually the
    # whole text, the Subject header is the subject): each is redacted once.
    done: dict[str, str] = {}

    def clean(text: str) -> str:
        nonlocal found
        cleaned = done.get(text)
        if cleaned is None:
            cleaned = done[text] = redact(text).text
        found = found or cleaned != text
        return cleaned

    subject, name, text, new_text = (
        clean(msg.subject), clean(msg.from_name), clean(msg.text), clean(msg.new_text)
    )  # fmt: skip
    headers = tuple(
        (key, clean(value) if key in _PERSON_HEADERS else value) for key, value in msg.headers
    )
    attachments = []
    for att in msg.attachments:
        cleaned, removed = _redact_attachment(att)
        attachments.append(cleaned)
        found = found or removed
    # The HTML only decides whether anything was found, so once something
    # was it need not be read.
    html_found = not found and msg.html is not None and redact(msg.html).found
    if not (found or html_found):
        return msg, False
    # The HTML is dropped rather than rewritten: its text is already kept,
    # cleaned, and a secret could hide in markup the text never shows.
    return replace(
        msg,
        subject=subject,
        from_name=name,
        text=text,
        new_text=new_text,
        headers=headers,
        html=None,
        attachments=tuple(attachments),
    ), True
