"""An email mailbot will send, composed but not yet in MIME form."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outgoing:
    """An email to send, composed but not yet in MIME form."""

    kind: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    html: str
    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    call_id: int | None = None
    # The Auto-Submitted value when the default (auto-replied for replies,
    # auto-generated otherwise) is wrong, as for a broadcast that is threaded.
    auto: str = ""
    # The domain the guard counts this email against when that is not the
    # recipient's own: a flood notice to the desk counts against the flooder.
    about: str = ""
