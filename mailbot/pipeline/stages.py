"""The ordered stages every received email passes through, in one place."""

from __future__ import annotations

from dataclasses import replace

from mailbot.commands import grammar
from mailbot.mail.message import ParsedMessage
from mailbot.mail.screen import Screening, Verdict, challenge_wording
from mailbot.pipeline.act import act
from mailbot.pipeline.classify import classify
from mailbot.pipeline.compose import compose
from mailbot.pipeline.correlate import correlate
from mailbot.pipeline.decide import decide
from mailbot.pipeline.enqueue import enqueue
from mailbot.pipeline.facing import PREPARE, Stage, parse, prepare, processing_key, redact, screen
from mailbot.pipeline.identify import identify
from mailbot.pipeline.instruct import instruct
from mailbot.pipeline.records import Action, Context, Triage
from mailbot.storage import verp

__all__ = [
    "PREPARE", "STAGES", "Stage", "bounced", "challenge", "dedupe", "parse", "prepare",
    "processing_key", "read_commands", "redact", "run", "screen",
]  # fmt: skip


def dedupe(t: Triage, ctx: Context) -> Triage:
    """Stop here if this email was already handled (redelivered, or seen before a crash)."""
    if ctx.store.is_processed(t.key):
        return replace(t, action=Action.DUPLICATE, reason="already processed", finished=True)
    return t


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


def run(t: Triage, ctx: Context, stages: tuple[Stage, ...] = STAGES) -> Triage:
    """Pass one email through the stages in order."""
    for stage in stages:
        t = stage(t, ctx)
        if t.finished:
            break
    return t
