"""Turn a composed Outgoing email into the bytes mailbot sends."""

from __future__ import annotations

import email.policy
import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from mailbot.triage import Outgoing

_MSG_ID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]+>$")
_ADDRESS = re.compile(r"^[\x21-\x7e]+@[\x21-\x7e]+$")

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


def build(out: Outgoing, *, from_name: str, from_addr: str, now: datetime) -> bytes:
    """Render ``out`` as a MIME message marked as automatic (RFC 3834)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = formataddr((from_name, from_addr))
    msg["To"] = ", ".join(out.to)
    if out.cc:
        msg["Cc"] = ", ".join(out.cc)
    msg["Subject"] = clean_header(out.subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = out.message_id
    if out.in_reply_to and valid_id(out.in_reply_to):
        msg["In-Reply-To"] = out.in_reply_to
    references = [r for r in out.references if valid_id(r)]
    if references:
        msg["References"] = " ".join(references)
    msg["Auto-Submitted"] = "auto-replied"
    # Exchange and Outlook honour this and do not send out-of-office notices back.
    msg["X-Auto-Response-Suppress"] = "All"
    msg[OWN_MARKER] = out.kind
    # Text quoted from received mail is cleaned upstream; this is a last guard
    # so that one odd character can never stop a reply from being built.
    msg.set_content(out.text.encode("utf-8", "replace").decode("utf-8"))
    msg.add_alternative(out.html.encode("utf-8", "replace").decode("utf-8"), subtype="html")
    return msg.as_bytes()
