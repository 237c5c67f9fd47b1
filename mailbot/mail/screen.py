"""Pipeline stage support: tell mail written by people from automatic mail never to be answered."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from mailbot.mail import screenfacts
from mailbot.mail.message import ParsedMessage
from mailbot.mail.screenfacts import (
    OPENING_CHARS,
    WINDOW,
    Facts,
    bare,
    facts,
    fold,
    title,
)
from mailbot.mail.screenwords import (
    ASKING_BODY,
    ASKING_SUBJECT,
    AUTO_HEADER_NAME,
    AUTO_HEADER_VALUES,
    AUTO_SUBJECT_PREFIXES,
    AUTO_SUBJECT_TAGS,
    AWAY_BODY,
    AWAY_SUBJECT,
    BOUNCE_BODY_STRONG,
    BOUNCE_BODY_WEAK,
    BOUNCE_RECIPIENT_LOCAL,
    BOUNCE_SUBJECTS,
    BULK_HEADERS,
    BULK_PRECEDENCE,
    CHALLENGE_HEADER_NAME,
    CHALLENGE_HEADER_VALUES,
    CHALLENGE_LOCAL,
    CHALLENGE_REPORTING,
    CHALLENGE_WORDS,
    DSN_PARTS,
    ENCLOSED_PARTS,
    GATEWAY_SUBJECTS,
    LIST_ROBOT_LOCAL,
    NOREPLY_LOCAL,
    REPORT_PARTS,
    SYSTEM_LOCAL,
    SYSTEM_NAMES,
)


class Verdict(enum.StrEnum):
    """Who or what wrote a message."""

    HUMAN = "human"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"
    OWN_MAIL = "own_mail"


@dataclass(frozen=True)
class Screening:
    """The verdict on one message and a short account of the evidence."""

    verdict: Verdict
    reason: str
    # The per-message return path of mailbot's own mail (VERP) this message
    # was delivered to, when it was: the bounce of an email mailbot sent.
    return_path: str = ""

    @property
    def automatic(self) -> bool:
        """True for everything that must never be answered."""
        return self.verdict is not Verdict.HUMAN


# DMARC aggregate reports, by their subject and their attachment's name.
_DMARC_SUBJECT = r"^report domain: ?\S+ submitter: ?\S+"
_DMARC_FILE = r"^[^!\s]+![^!\s]+!\d+!\d+"


def _any(patterns: tuple[str, ...], text: str) -> str | None:
    """The first pattern found in ``text`` (patterns are regular expressions)."""
    for pattern in patterns:
        if screenfacts.search(pattern, text):
            return pattern
    return None


def _any_window(patterns: tuple[str, ...], windows: tuple[str, ...]) -> str | None:
    """The first pattern found in any of ``windows``."""
    for window in windows:
        found = _any(patterns, window)
        if found:
            return found
    return None


def _system_sender(f: Facts) -> bool:
    """Sent by a mail server itself (MAILER-DAEMON, postmaster, "Mail Delivery System")."""
    if _any(SYSTEM_LOCAL, f.local_part):
        return True
    name = (f.msg.from_name or (f.msg.header("from") or ""))[:WINDOW]
    return bool(_any(SYSTEM_NAMES, name)) or (f.msg.from_addr is None and f.null_sender)


def _machine_sender(f: Facts) -> bool:
    """An address nobody reads: noreply, notifications, bounce handlers, list robots."""
    return bool(_any(NOREPLY_LOCAL, f.local_part) or _any(LIST_ROBOT_LOCAL, f.local_part))


def _bounce_recipient(f: Facts) -> str | None:
    """Delivered to an address that only receives bounces (a list's, VERP, SRS, BATV).

    Delivery headers count on their own.  The To header counts only when
    every address in it is such an address: a person may copy a list's
    owner into a message to the helpdesk, but writes to the helpdesk too.
    """
    for address in f.delivered_to:
        if _any(BOUNCE_RECIPIENT_LOCAL, address.rsplit("@", 1)[0]):
            return f"delivered to the bounce address {address}"
    if f.to and all(_any(BOUNCE_RECIPIENT_LOCAL, a.rsplit("@", 1)[0]) for a in f.to):
        return f"addressed to the bounce address {f.to[0]}"
    return None


def _bounce(f: Facts) -> str | None:
    """RFC 3464 reports first, then the many bounces that only their wording gives away."""
    if f.report_type == "delivery-status":
        return "multipart/report; report-type=delivery-status"
    if f.types & DSN_PARTS:
        return "delivery-status part"
    if f.msg.header("x-failed-recipients") is not None:
        return "X-Failed-Recipients header"
    if _system_sender(f):
        return f"mail system sender {f.msg.from_addr or f.msg.header('from') or '<>'}"
    automatic_sender = f.null_sender or _machine_sender(f)
    subject = not f.is_reply_or_forward and _any(BOUNCE_SUBJECTS, f.subject)
    # A scanner's or gateway's subject ("Message blocked", "Virus found") is
    # what a person writes about a blocked email too, and a person may attach
    # the email; it counts with a machine's sender, a server's opening words
    # or a headers-only part, which mail programs never make for people.
    gateway = not f.is_reply_or_forward and _any(GATEWAY_SUBJECTS, f.subject)
    machine_part = bool(f.types & {"text/rfc822-headers", "message/global-headers"})
    # The body's wording counts only beside a bounce-shaped subject or an
    # automatic sender, so it is read only then (most mail has neither).
    opens_as_server = bool(subject or gateway) and _any(BOUNCE_BODY_STRONG, f.first_paragraph)
    weak = automatic_sender and (
        _any_window(BOUNCE_BODY_STRONG, f.body_windows)
        or _any_window(BOUNCE_BODY_WEAK, f.body_windows)
    )
    if gateway and (opens_as_server or automatic_sender or machine_part):
        return f"mail gateway notice {f.msg.subject[:60]!r}"
    # Wording alone is never enough: people paste and forward bounces to the
    # helpdesk and describe them in their own words.  A bounce-shaped subject
    # needs an automatic sender, the returned message, or a body that opens
    # with a mail server's own words; bounce wording needs an automatic sender.
    if subject and (opens_as_server or automatic_sender or f.types & ENCLOSED_PARTS):
        return f"delivery failure subject {f.msg.subject[:60]!r}"
    if weak and automatic_sender:
        return f"delivery failure notice from {f.msg.from_addr or '<>'}"
    return None


def _auto_header(msg: ParsedMessage) -> str | None:
    """RFC 3834's Auto-Submitted and the older headers responders add."""
    submitted = (msg.header("auto-submitted") or "").strip()
    if submitted and not submitted.lower().startswith("no"):
        return f"Auto-Submitted: {submitted}"
    for name, value in msg.headers:
        flag = value.strip().lower()
        if screenfacts.search(AUTO_HEADER_NAME, name[:WINDOW]) and flag not in ("no", "false", "0"):
            return f"{title(name)} header"
        if (name, flag) in AUTO_HEADER_VALUES:
            return f"{title(name)}: {value.strip()}"
    return None


def _away_notice(f: Facts) -> bool:
    """An out-of-office subject that the rest of the message bears out.

    People write these phrases too ("Out of office not working"), so the
    subject must not ask anything, and the message must either answer
    another one without being titled as a reply (RFC 3834 section 3.1.5),
    come from the null sender, or open the way out-of-office notices do
    without asking for anything.
    """
    if not _any(AWAY_SUBJECT, f.subject) or _any(ASKING_SUBJECT, f.subject):
        return False
    answers = bool(f.msg.in_reply_to or f.msg.references)
    notice = _any(AWAY_BODY, f.opening) and not _any(ASKING_BODY, f.opening)
    return answers or f.null_sender or bool(notice)


def _challenge(f: Facts) -> str | None:
    """A challenge-response service asking the sender to prove to be a person.

    Their headers say so outright.  Their wording ("please confirm you are
    human") is also what a person asking about such mail writes, so wording
    counts only from a sender address made for confirmations, or when both
    the subject and the opening say it and neither asks a question.
    """
    for name, value in f.msg.headers:
        if screenfacts.search(CHALLENGE_HEADER_NAME, name[:WINDOW]):
            return f"challenge-response header {title(name)}"
        for header, pattern in CHALLENGE_HEADER_VALUES:
            if name == header and screenfacts.search(pattern, value[:WINDOW]):
                return f"challenge-response {title(name)}: {value.strip()[:40]}"
    in_subject = not f.is_reply_or_forward and bool(_any(CHALLENGE_WORDS, f.subject))
    confirming_sender = bool(_any(CHALLENGE_LOCAL, f.local_part))
    if not (in_subject or confirming_sender or f.null_sender):
        # The opening's wording counts only with one of these, so most mail
        # is settled without reading it.
        return None
    in_opening = bool(_any(CHALLENGE_WORDS, f.opening))
    if not (in_subject or in_opening):
        return None
    if confirming_sender or (f.null_sender and in_opening):
        return f"challenge-response request from {f.msg.from_addr or '<>'}"
    if not (in_subject and in_opening):
        return None
    if not (_any(CHALLENGE_REPORTING, f.subject) or _any(CHALLENGE_REPORTING, f.opening)):
        return f"challenge-response request {f.msg.subject[:60]!r}"
    return None


def challenge_wording(msg: ParsedMessage) -> bool:
    """Whether the opening of ``msg`` asks its reader to prove to be a person.

    For the pipeline, which can tell whether such a message answers an email
    mailbot sent to someone else (see pipeline.screen).
    """
    opening = fold(msg.new_text.strip()[:OPENING_CHARS] or msg.text.strip()[:OPENING_CHARS])
    return bool(_any(CHALLENGE_WORDS, opening)) and not _any(CHALLENGE_REPORTING, opening)


def _auto_reply(f: Facts) -> str | None:
    """RFC 3834 headers, receipts and reports, then subjects that only responders write."""
    msg = f.msg
    header = _auto_header(msg)
    if header:
        return header
    if f.report_type or f.types & REPORT_PARTS:
        return f"{f.report_type or 'multipart/report'} report"
    if screenfacts.search(_DMARC_SUBJECT, f.subject) or any(
        screenfacts.search(_DMARC_FILE, a.filename[:WINDOW]) for a in msg.attachments
    ):
        return "DMARC aggregate report"
    challenge = _challenge(f)
    if challenge:
        return challenge
    if not f.is_reply_or_forward:
        head, colon, _ = f.subject.partition(":")
        tags = (*AUTO_SUBJECT_TAGS, *AUTO_SUBJECT_PREFIXES) if colon else AUTO_SUBJECT_TAGS
        if _any(tags, head.strip() if colon else f.subject):
            return f"auto-reply subject {msg.subject[:60]!r}"
        if _away_notice(f):
            return f"out-of-office subject {msg.subject[:60]!r}"
    # List software returning a post ("post denied", "held for moderation").
    if _any(LIST_ROBOT_LOCAL, f.local_part) and f.types & ENCLOSED_PARTS:
        return f"notice from list software {msg.from_addr}"
    return None


def _bulk(f: Facts) -> str | None:
    """List and campaign headers, then senders nobody reads."""
    for name in ("precedence", "x-precedence"):
        value = " ".join((f.msg.header(name) or "").lower().split()[:1])
        if value in BULK_PRECEDENCE:
            return f"{title(name)}: {value}"
    for name in BULK_HEADERS:
        if f.msg.header(name) is not None:
            return f"{title(name)} header"
    if _machine_sender(f):
        return f"sender {f.msg.from_addr}"
    return None


def _weak_signals(f: Facts) -> Screening | None:
    """Signs that a message is automatic without saying which kind.

    They are consulted last: a mailing list also asks not to be auto-answered,
    and RFC 3834 advises auto-responders to use the null sender as bounces do.
    """
    suppress = (f.msg.header("x-auto-response-suppress") or "").strip()
    if suppress and suppress.lower() != "none":
        return Screening(Verdict.AUTO_REPLY, f"X-Auto-Response-Suppress: {suppress}")
    if f.null_sender:
        if _any(AWAY_BODY, f.opening):
            return Screening(Verdict.AUTO_REPLY, "null sender with out-of-office wording")
        return Screening(Verdict.BOUNCE, "null sender")
    return None


def _own(msg: ParsedMessage, own_addresses: frozenset[str], own_marker: str) -> bool:
    own = {a.lower() for a in own_addresses}
    return (msg.from_addr or "").lower() in own or msg.header(own_marker) is not None


def _to_return_path(f: Facts, own_return_path: str) -> str:
    """The address matching ``own_return_path`` (a pattern) the message was sent to, or ""."""
    msg = f.msg
    candidates = (
        *f.delivered_to,
        *f.to,
        *msg.cc,
        bare(msg.header("return-path") or ""),
    )
    for address in candidates:
        if address and re.fullmatch(own_return_path, address[:WINDOW], re.IGNORECASE):
            return address
    return ""


def screen(
    msg: ParsedMessage,
    *,
    own_addresses: frozenset[str],
    own_marker: str = "X-Mailbot-Id",
    own_return_path: str = "",
) -> Screening:
    """Decide whether ``msg`` came from a person; the first matching kind of evidence wins.

    ``own_return_path`` is a regular expression for the per-message return
    paths mailbot sends with (verp.pattern); mail delivered to one answers
    mailbot's own mail at the transport level, so it is never a person's.
    """
    if _own(msg, own_addresses, own_marker):
        return Screening(Verdict.OWN_MAIL, "sent by mailbot")
    f = facts(msg)
    checks: tuple[tuple[Verdict, Callable[[Facts], str | None]], ...] = (
        (Verdict.BOUNCE, _bounce),
        (Verdict.AUTO_REPLY, _auto_reply),
        (Verdict.BULK, _bulk),
    )
    # Mail delivered to a bounce address is automatic, but auto-responders
    # write to return paths too, so the kinds above are asked first.
    checks += ((Verdict.BOUNCE, _bounce_recipient),)
    found = None
    for verdict, check in checks:
        reason = check(f)
        if reason:
            found = Screening(verdict, reason)
            break
    result = found or _weak_signals(f) or Screening(Verdict.HUMAN, "no sign of automatic mail")
    returned = _to_return_path(f, own_return_path) if own_return_path else ""
    if not returned:
        return result
    # Only servers and auto-responders write to a return path.  An
    # auto-responder's notice says nothing about the address; anything else
    # is a bounce of mailbot's email, even with every other header stripped.
    if result.verdict is Verdict.AUTO_REPLY:
        return Screening(Verdict.AUTO_REPLY, f"{result.reason}, to our return path", returned)
    why = result.reason if result.verdict is Verdict.BOUNCE else "no other sign"
    return Screening(Verdict.BOUNCE, f"delivered to our return path {returned} ({why})", returned)
