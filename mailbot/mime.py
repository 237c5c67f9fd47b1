"""Turn a composed Outgoing email into the bytes mailbot sends."""

from __future__ import annotations

import email.policy
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from mailbot.triage import Outgoing

# Every email mailbot sends carries this header; the screen stage recognises it
# so that mailbot never answers itself.
OWN_MARKER = "X-Mailbot-Id"


def build(out: Outgoing, *, from_name: str, from_addr: str, now: datetime) -> bytes:
    """Render ``out`` as a MIME message marked as automatic (RFC 3834)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = formataddr((from_name, from_addr))
    msg["To"] = ", ".join(out.to)
    if out.cc:
        msg["Cc"] = ", ".join(out.cc)
    msg["Subject"] = out.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = out.message_id
    if out.in_reply_to:
        msg["In-Reply-To"] = out.in_reply_to
    if out.references:
        msg["References"] = " ".join(out.references)
    msg["Auto-Submitted"] = "auto-replied"
    # Exchange and Outlook honour this and do not send out-of-office notices back.
    msg["X-Auto-Response-Suppress"] = "All"
    msg[OWN_MARKER] = out.kind
    msg.set_content(out.text)
    msg.add_alternative(out.html, subtype="html")
    return msg.as_bytes()
