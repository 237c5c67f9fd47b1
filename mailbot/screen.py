"""Pipeline stage support: tell mail written by people from automatic mail never to be answered."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from mailbot.inbound import ParsedMessage
from mailbot.screenwords import (
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
    BOUNCE_SUBJECTS,
    BULK_HEADERS,
    BULK_PRECEDENCE,
    DSN_PARTS,
    ENCLOSED_PARTS,
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

    @property
    def automatic(self) -> bool:
        """True for everything that must never be answered."""
        return self.verdict is not Verdict.HUMAN


@dataclass(frozen=True)
class _Facts:
    """What the checks look at, worked out once per message."""

    msg: ParsedMessage
    subject: str  # folded (see _fold), leading [list] tags removed
    is_reply_or_forward: bool
    local_part: str
    null_sender: bool
    report_type: str
    # Part types of the message itself, not of any message it encloses: a
    # person forwarding a bounce as an attachment has not sent a bounce.
    types: frozenset[str]
    opening: str  # folded start of the new text, where automatic wording sits
    # The first paragraph as received: a server's notice starts with the
    # server's words, a person's message with the person's.
    first_paragraph: str


_TAGS = re.compile(r"^(\s*\[[^\]]*\])+")
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|antw|fw|fwd|wg|tr|rv|doorst)\s*(\[\d+\])?\s*:", re.I)
_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w-]+)", re.IGNORECASE)
_DMARC_SUBJECT = re.compile(r"^report domain:\s*\S+\s+submitter:\s*\S+")
_DMARC_FILE = re.compile(r"^[^!\s]+![^!\s]+!\d+!\d+")
_OPENING_CHARS = 600


def _title(name: str) -> str:
    """A lower-cased header name as people write it: "list-id" becomes "List-Id"."""
    return "-".join(part.capitalize() for part in name.split("-"))


def _fold(text: str) -> str:
    """Lower case without accents or repeated spaces, so "Réponse" matches "reponse"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _any(patterns: tuple[str, ...], text: str) -> str | None:
    """The first pattern found in ``text`` (patterns are regular expressions)."""
    for pattern in patterns:
        if re.search(pattern, text, re.IGNORECASE | re.MULTILINE):
            return pattern
    return None


def _null_sender(msg: ParsedMessage) -> bool:
    """An empty envelope sender (RFC 5321 "<>"), as the delivering server recorded it."""
    path = (msg.header("return-path") or "").strip().strip("<>").strip().lower()
    from_header = msg.header("from") or ""
    if msg.header("return-path") is not None and (not path or path.startswith("mailer-daemon")):
        return True
    return msg.from_addr is None and "<>" in from_header


def _outer_types(msg: ParsedMessage) -> frozenset[str]:
    """Part types up to and including the first enclosed message."""
    outer = [msg.content_type]
    for part_type in msg.part_types:
        outer.append(part_type)
        if part_type in ENCLOSED_PARTS:
            break
    return frozenset(outer)


def _facts(msg: ParsedMessage) -> _Facts:
    subject = _fold(_TAGS.sub("", msg.subject))
    report = _REPORT_TYPE.search(msg.header("content-type") or "")
    return _Facts(
        msg=msg,
        subject=subject,
        is_reply_or_forward=bool(_REPLY_PREFIX.match(subject)),
        local_part=(msg.from_addr or "").split("@", 1)[0],
        null_sender=_null_sender(msg),
        report_type=report.group(1).lower() if report else "",
        types=_outer_types(msg),
        opening=_fold(msg.new_text.strip()[:_OPENING_CHARS] or msg.text.strip()[:_OPENING_CHARS]),
        first_paragraph=re.split(r"\n\s*\n", msg.text.strip(), maxsplit=1)[0][:_OPENING_CHARS],
    )


def _system_sender(f: _Facts) -> bool:
    """Sent by a mail server itself (MAILER-DAEMON, postmaster, "Mail Delivery System")."""
    if _any(SYSTEM_LOCAL, f.local_part):
        return True
    name = f.msg.from_name or (f.msg.header("from") or "")
    return bool(_any(SYSTEM_NAMES, name)) or (f.msg.from_addr is None and f.null_sender)


def _machine_sender(f: _Facts) -> bool:
    """An address nobody reads: noreply, notifications, bounce handlers, list robots."""
    return bool(_any(NOREPLY_LOCAL, f.local_part) or _any(LIST_ROBOT_LOCAL, f.local_part))


def _bounce(f: _Facts) -> str | None:
    """RFC 3464 reports first, then the many bounces that only their wording gives away."""
    if f.report_type == "delivery-status":
        return "multipart/report; report-type=delivery-status"
    if f.types & DSN_PARTS:
        return "delivery-status part"
    if f.msg.header("x-failed-recipients") is not None:
        return "X-Failed-Recipients header"
    if _system_sender(f):
        return f"mail system sender {f.msg.from_addr or f.msg.header('from') or '<>'}"
    body = f.msg.text[:20_000]
    weak = _any(BOUNCE_BODY_STRONG, body) or _any(BOUNCE_BODY_WEAK, body)
    opens_as_server = _any(BOUNCE_BODY_STRONG, f.first_paragraph)
    automatic_sender = f.null_sender or _machine_sender(f)
    subject = not f.is_reply_or_forward and _any(BOUNCE_SUBJECTS, f.subject)
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
        if re.search(AUTO_HEADER_NAME, name) and flag not in ("no", "false", "0"):
            return f"{_title(name)} header"
        if (name, flag) in AUTO_HEADER_VALUES:
            return f"{_title(name)}: {value.strip()}"
    return None


def _away_notice(f: _Facts) -> bool:
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


def _auto_reply(f: _Facts) -> str | None:
    """RFC 3834 headers, receipts and reports, then subjects that only responders write."""
    msg = f.msg
    header = _auto_header(msg)
    if header:
        return header
    if f.report_type or f.types & REPORT_PARTS:
        return f"{f.report_type or 'multipart/report'} report"
    if _DMARC_SUBJECT.match(f.subject) or any(
        _DMARC_FILE.match(a.filename) for a in msg.attachments
    ):
        return "DMARC aggregate report"
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


def _bulk(f: _Facts) -> str | None:
    """List and campaign headers, then senders nobody reads."""
    for name in ("precedence", "x-precedence"):
        value = " ".join((f.msg.header(name) or "").lower().split()[:1])
        if value in BULK_PRECEDENCE:
            return f"{_title(name)}: {value}"
    for name in BULK_HEADERS:
        if f.msg.header(name) is not None:
            return f"{_title(name)} header"
    if _machine_sender(f):
        return f"sender {f.msg.from_addr}"
    return None


def _weak_signals(f: _Facts) -> Screening | None:
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


def screen(
    msg: ParsedMessage, *, own_addresses: frozenset[str], own_marker: str = "X-Mailbot-Id"
) -> Screening:
    """Decide whether ``msg`` came from a person; the first matching kind of evidence wins."""
    if _own(msg, own_addresses, own_marker):
        return Screening(Verdict.OWN_MAIL, "sent by mailbot")
    f = _facts(msg)
    checks: tuple[tuple[Verdict, Callable[[_Facts], str | None]], ...] = (
        (Verdict.BOUNCE, _bounce),
        (Verdict.AUTO_REPLY, _auto_reply),
        (Verdict.BULK, _bulk),
    )
    for verdict, check in checks:
        reason = check(f)
        if reason:
            return Screening(verdict, reason)
    return _weak_signals(f) or Screening(Verdict.HUMAN, "no sign of automatic mail")
