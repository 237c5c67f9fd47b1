"""The stages that face the raw email and need no database: parse, screen, redact.

They run in the intake worker process (daemon/worker.py), which imports
this module and what it needs, and no database library: a worker starts
for every batch that brings mail, and each import is paid again there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from mailbot.mail.mime import OWN_MARKER
from mailbot.mail.parse import parse_message
from mailbot.mail.redact import redact as redact_text
from mailbot.mail.redactmail import redact_message
from mailbot.mail.screen import screen as screen_message
from mailbot.pipeline.records import Context, Triage
from mailbot.storage import verpaddr

Stage = Callable[[Triage, Context], Triage]


def processing_key(raw: bytes, message_id: str | None, parts: tuple[str, ...]) -> str:
    """The identity under which an email is processed at most once.

    With a Message-ID the key also covers sender, date and subject, so a
    redelivery is recognised while a careless mailer that reuses ids for
    different mail is not silently dropped.  Without one, the bytes decide.
    """
    if message_id:
        digest = hashlib.sha256("\0".join((message_id, *parts)).encode()).hexdigest()
        return f"mid:{digest}"
    return f"raw:{hashlib.sha256(raw).hexdigest()}"


def parse(t: Triage, ctx: Context) -> Triage:
    """Decode the bytes into a ParsedMessage and work out the processing key."""
    if t.prepared:
        return t
    msg = parse_message(
        t.raw.raw,
        max_attachment_bytes=ctx.config.service.max_stored_attachment_bytes,
        raw_size=t.raw.size,
        truncated=t.raw.truncated,
        max_text_chars=ctx.config.service.max_stored_text_chars,
    )
    parts = (msg.from_addr or "", msg.header("date") or "", msg.subject)
    return replace(t, msg=msg, key=processing_key(t.raw.raw, msg.message_id, parts))


def screen(t: Triage, ctx: Context) -> Triage:
    """Tell people from machines, and flag mail over the size limit."""
    if t.prepared:
        return t
    own = frozenset({ctx.config.service.address.lower()})
    verdict = screen_message(
        t.parsed,
        own_addresses=own,
        own_marker=OWN_MARKER,
        own_return_path=verpaddr.pattern(ctx.config.service),
    )
    limit = ctx.rules.policy.limits.max_message_mb * 1_000_000
    return replace(t, screening=verdict, oversize=t.raw.size > limit)


def redact(t: Triage, ctx: Context) -> Triage:
    """Remove passwords a school sent unprompted before anything is stored or quoted."""
    if t.prepared:
        return t
    msg = t.parsed
    cleaned, found = redact_message(msg)
    if not found:
        return t
    screening = t.screening
    if screening is not None:
        # The screen's reason quotes the subject or the From header, and it
        # is stored: quote the cleaned ones, and clean what else it says.
        reason = screening.reason
        for before, after in (
            (repr(msg.subject[:60]), repr(cleaned.subject[:60])),
            (msg.header("from") or "", cleaned.header("from") or ""),
        ):
            if before and before != after:
                reason = reason.replace(before, after)
        screening = replace(screening, reason=redact_text(reason).text)
    return replace(t, msg=cleaned, password_found=True, screening=screening)


# The stages that read nothing but the email, the configuration and the rules:
# the CPU-heavy passes over what a stranger sent.  The intake worker process
# runs them under a budget (daemon/sandbox.py) and the record comes back
# marked ``prepared``, so in the main process these stages pass it through.
PREPARE: tuple[Stage, ...] = (parse, screen, redact)


def prepare(t: Triage, ctx: Context) -> Triage:
    """Run the stages that face the raw email and need no database; mark the record prepared."""
    for stage in PREPARE:
        t = stage(t, ctx)
    return replace(t, prepared=True)
