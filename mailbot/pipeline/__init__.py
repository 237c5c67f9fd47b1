"""The ordered stages every received email passes through, in one place."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from mailbot.commands import grammar
from mailbot.mail.message import ParsedMessage
from mailbot.mail.mime import OWN_MARKER
from mailbot.mail.parse import parse_message
from mailbot.mail.redact import redact as redact_text
from mailbot.mail.redactmail import redact_message
from mailbot.mail.screen import Screening, Verdict, challenge_wording
from mailbot.mail.screen import screen as screen_message
from mailbot.pipeline.act import act
from mailbot.pipeline.classify import classify
from mailbot.pipeline.compose import compose
from mailbot.pipeline.correlate import correlate
from mailbot.pipeline.decide import decide
from mailbot.pipeline.enqueue import enqueue
from mailbot.pipeline.identify import identify
from mailbot.pipeline.instruct import instruct
from mailbot.pipeline.records import Action, Context, Triage
from mailbot.storage import verp

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


def dedupe(t: Triage, ctx: Context) -> Triage:
    """Stop here if this email was already handled (redelivered, or seen before a crash)."""
    if ctx.store.is_processed(t.key):
        return replace(t, action=Action.DUPLICATE, reason="already processed", finished=True)
    return t


def screen(t: Triage, ctx: Context) -> Triage:
    """Tell people from machines, and flag mail over the size limit."""
    if t.prepared:
        return t
    own = frozenset({ctx.config.service.address.lower()})
    verdict = screen_message(
        t.parsed,
        own_addresses=own,
        own_marker=OWN_MARKER,
        own_return_path=verp.pattern(ctx.config.service),
    )
    limit = ctx.rules.policy.limits.max_message_mb * 1_000_000
    return replace(t, screening=verdict, oversize=t.raw.size > limit)


def _challenge_to_our_mail(msg: ParsedMessage, ctx: Context) -> Screening | None:
    """A "confirm you are human" answer to mailbot's email from someone it never wrote to.

    Challenge-response services answer from their own address, or the
    protected person's, about mail they hold; a recipient of the email
    answering it in such words is a person and stays one.
    """
    sent_to = ctx.store.sent_to((*msg.in_reply_to, *msg.references))
    if sent_to is None or (msg.from_addr or "").lower() in sent_to:
        return None
    reason = f"challenge-response request from {msg.from_addr or '<>'}, whom mailbot never wrote to"
    return Screening(Verdict.AUTO_REPLY, reason)


def challenge(t: Triage, ctx: Context) -> Triage:
    """Screen a "confirm you are human" answer to mailbot's email from someone it never wrote to.

    This needs the outbox, so it is a stage of its own after screen, which
    reads nothing but the email (and runs in the intake worker).
    """
    s = t.screening
    if s is None or s.verdict is not Verdict.HUMAN:
        return t
    msg = t.parsed
    # Only an email naming one of mailbot's can answer it: one naming none
    # (a new request) needs no reading of its wording.
    if not (msg.in_reply_to or msg.references) or not challenge_wording(msg):
        return t
    verdict = _challenge_to_our_mail(msg, ctx)
    return t if verdict is None else replace(t, screening=verdict)


def bounced(t: Triage, ctx: Context) -> Triage:
    """A bounce to one of mailbot's own return paths: flag the contact it came back from."""
    s = t.screening
    if s is None or not s.return_path or s.verdict is not Verdict.BOUNCE:
        return t
    found = verp.record(ctx.store.session, s.return_path, t.parsed, ctx.now)
    return replace(t, notes=(*t.notes, found.note))


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


def read_commands(t: Triage, ctx: Context) -> Triage:
    """Read the command lines at the top of the email once, for every later stage."""
    msg = t.parsed
    return replace(t, commands=grammar.read_email(msg.new_text, msg.text))


# The order in which every email is handled.  Each stage is a plain function
# taking and returning a frozen Triage; a stage may set `finished` to stop.
STAGES: tuple[Stage, ...] = (
    parse,
    dedupe,
    screen,
    challenge,
    bounced,
    redact,
    read_commands,
    identify,
    correlate,
    classify,
    decide,
    act,
    instruct,
    compose,
    enqueue,
)


# The stages that read nothing but the email, the configuration and the rules:
# the CPU-heavy passes over what a stranger sent.  The intake worker process
# runs them under a budget (mailbot/sandbox.py) and the record comes back
# marked ``prepared``, so in the main process these stages pass it through.
PREPARE: tuple[Stage, ...] = (parse, screen, redact)


def prepare(t: Triage, ctx: Context) -> Triage:
    """Run the stages that face the raw email and need no database; mark the record prepared."""
    for stage in PREPARE:
        t = stage(t, ctx)
    return replace(t, prepared=True)


def run(t: Triage, ctx: Context, stages: tuple[Stage, ...] = STAGES) -> Triage:
    """Pass one email through the stages in order."""
    for stage in stages:
        t = stage(t, ctx)
        if t.finished:
            break
    return t
