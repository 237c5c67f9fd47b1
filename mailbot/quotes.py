"""Strip quoted history from replies with email-reply-parser, plus common client formats."""

from __future__ import annotations

import re

from email_reply_parser import EmailReplyParser

# Lines that start the quoted original in clients the library does not know:
# Outlook's header block and separator, attributions in several languages,
# and "reply above this line" markers.
_CUT = re.compile(
    r"^(?:"
    r"-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|messaggio originale)\s*-{2,}"
    r"|_{10,}\s*"
    r"|from:\s.+\n(?:.*\n){0,3}?(?:sent|date):\s.+"
    r"|(?:von|de|da|van):\s.+\n(?:.*\n){0,3}?(?:gesendet|envoyé|inviato|verzonden|enviado):\s.+"
    r"|on\s.{0,200}?\swrote:\s*"
    r"|on\s.{0,120}\n.{0,120}\swrote:\s*"
    r"|at\s.{0,80},\s.{0,80}\swrote:\s*"
    r"|le\s.{0,200}\sa\s[ée]crit\s?:\s*"
    r"|am\s.{0,200}\sschrieb\s.{0,80}:\s*"
    r"|.{0,200}\s(?:написал|пишет|написала)\(?а?\)?:\s*"
    r"|-{2,}\s*reply above this line\s*-{2,}"
    r"|#{2,}\s*(?:reply|type your reply) above this line\s*#{2,}"
    r")$",
    re.IGNORECASE | re.MULTILINE,
)


def strip_quoted(text: str) -> str:
    """Return the new text of a reply; the whole text when nothing new is left."""
    cut = _CUT.search(text)
    head = text[: cut.start()] if cut and text[: cut.start()].strip() else text
    try:
        reply = EmailReplyParser.parse_reply(head)
    except Exception:
        reply = head
    reply = reply.strip()
    return (reply + "\n") if reply else text
