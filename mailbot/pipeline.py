"""The ordered stages every received email passes through, in one place."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from mailbot.act import act
from mailbot.classify import classify
from mailbot.compose import compose
from mailbot.correlate import correlate
from mailbot.decide import decide
from mailbot.identify import identify
from mailbot.instruct import instruct
from mailbot.mime import OWN_MARKER
from mailbot.outbox import enqueue
from mailbot.parse import parse_message
from mailbot.redact import redact as redact_text
from mailbot.redact import redact_message
from mailbot.screen import screen as screen_message
from mailbot.triage import Action, Context, Triage

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
    msg = parse_message(
        t.raw.raw,
        max_attachment_bytes=ctx.config.service.max_stored_attachment_bytes,
        raw_size=t.raw.size,
        truncated=t.raw.truncated,
    )
    parts = (msg.from_addr or "", msg.header("date") or "", msg.subject)
    return replace(t, msg=msg, key=processing_key(t.raw.raw, msg.message_id, parts))


def dedupe(t: Triage, ctx: Context) -> Triage:
    """Stop here if this email was already handled (redelivered, or seen before a crash)."""
    if ctx.store.is_processed(t.key):
        return replace(t, action=Action.DUPLICATE, reason="already processed", finished=True)
    return t


def screen(t: Triage, ctx: Context) -> Triage:
    """Tell people from machines, and flag mail over the size limit."""
    own = frozenset({ctx.config.service.address.lower()})
    verdict = screen_message(t.parsed, own_addresses=own, own_marker=OWN_MARKER)
    limit = ctx.rules.policy.limits.max_message_mb * 1_000_000
    return replace(t, screening=verdict, oversize=t.raw.size > limit)


def redact(t: Triage, ctx: Context) -> Triage:
    """Remove passwords a school sent unprompted before anything is stored or quoted."""
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


# The order in which every email is handled.  Each stage is a plain function
# taking and returning a frozen Triage; a stage may set `finished` to stop.
STAGES: tuple[Stage, ...] = (
    parse,
    dedupe,
    screen,
    redact,
    identify,
    correlate,
    classify,
    decide,
    act,
    instruct,
    compose,
    enqueue,
)


def run(t: Triage, ctx: Context, stages: tuple[Stage, ...] = STAGES) -> Triage:
    """Pass one email through the stages in order."""
    for stage in stages:
        t = stage(t, ctx)
        if t.finished:
            break
    return t
