"""Pipeline stage: find the call an email belongs to, by reference tag or threading headers."""

from __future__ import annotations

import re
from dataclasses import replace

from mailbot.calls.records import CallView
from mailbot.pipeline.records import Context, Triage
from mailbot.rules.directory import SenderKind


def find_tag(subject: str, prefix: str) -> str | None:
    """Return the reference in a subject's ``[PREFIX-000123]`` tag, wherever it sits.

    Prefixes such as Re:, RE:, AW: and Fwd: may come before or after the tag,
    and people sometimes drop the zero padding or change the case.
    """
    match = re.search(rf"\[\s*{re.escape(prefix)}\s*-\s*(\d{{1,12}})\s*\]", subject, re.IGNORECASE)
    return match.group(1) if match else None


_PREFIXES = re.compile(r"^(?:\s*(?:re|aw|sv|antw|fw|fwd|wg|tr)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
# The words mailbot's own subjects put after the tag ("[ICT-000001] Solved:
# ..."), removed with the reply prefixes from mail that carried a tag.
_OWN_WORDS = re.compile(
    r"^(?:\s*(?:(?:re|aw|sv|antw|fw|fwd|wg|tr)\s*(?:\[\d+\])?|solved|closed|reopened|"
    r"targets changed|authorisation needed|not acted on)\s*:\s*)+",
    re.I,
)


def clean_subject(subject: str, prefix: str) -> str:
    """A subject for a new call: without reference tags or leading Re:/Fwd: prefixes.

    A new call may start from mail that quoted another call's tag (another
    school replying to a forwarded confirmation, say); keeping that tag in the
    new call's subject would thread later mail onto the wrong call.
    """
    tags = re.compile(rf"\[\s*{re.escape(prefix)}\s*-\s*\d{{1,12}}\s*\]", re.IGNORECASE)
    cleaned = " ".join(tags.sub(" ", subject).split())
    prefixes = _OWN_WORDS if tags.search(subject) else _PREFIXES
    cleaned = prefixes.sub("", cleaned).strip()
    return cleaned or "(no subject)"


def is_party(call: CallView, t: Triage) -> bool:
    """Whether the sender may see and add to ``call``: staff, its requester or its school."""
    sender = t.sender
    if sender is None or sender.address is None:
        return False
    if sender.kind is SenderKind.STAFF:
        return True
    if call.requester_email and sender.address == call.requester_email:
        return True
    return sender.school is not None and sender.school.id == call.school_id


def correlate(t: Triage, ctx: Context) -> Triage:
    """Attach the existing call this email continues, if any and if the sender is a party."""
    msg = t.parsed
    policy = ctx.rules.policy.references
    call: CallView | None = None
    via = ""
    number = find_tag(msg.subject, policy.prefix)
    if number is not None:
        call = ctx.store.call_by_ref(f"{policy.prefix}-{int(number):0{policy.width}d}")
        via = "subject tag"
    if call is None:
        # In-Reply-To is the most specific pointer; References covers clients
        # that drop it.  Both only ever match mail mailbot stored or sent.
        ids = (*msg.references, *msg.in_reply_to)
        call = ctx.store.call_by_message_ids(ids)
        via = "threading headers"
    if call is None:
        return t
    if not is_party(call, t):
        # A tag from a stranger must never reveal or change someone else's call.
        note = f"ignored a reference to {call.ref} from a sender who is not a party to it"
        school = t.sender is not None and t.sender.kind is SenderKind.SCHOOL
        foreign = call.ref if school and via == "subject tag" else ""
        return replace(t, notes=(*t.notes, note), foreign_ref=foreign)
    return replace(t, call=call, thread_via=via)
