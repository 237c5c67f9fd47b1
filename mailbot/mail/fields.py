"""Header fields of a received email read safely: addresses, From as authenticated, ids, dates."""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from mailbot.mail.charsets import clean, decode_header

# No real field holds more of these; a longer one is cut to them.
MAX_IDS = 50
MAX_ADDRESSES = 200
MAX_NAME = 200
MAX_ADDRESS = 320
_ID = re.compile(r"<[^<>\s]{1,900}>")


def bare_address(value: str) -> str | None:
    """A usable lower-case address from what parseaddr returned, or None.

    Broken From lines such as ``Big Bug bb@bug.com`` (no angle brackets) come
    back with the name run into the address; the last token with an @ in it
    is the address the sender meant.
    """
    tokens = [t.strip('"<>') for t in value.split() if "@" in t]
    if not tokens:
        return None
    local, _, domain = tokens[-1].lower().rpartition("@")
    if not local or not domain or "@" in local or len(tokens[-1]) > MAX_ADDRESS:
        return None
    return f"{local}@{domain}"


def addresses(values: list[str]) -> tuple[str, ...]:
    # Addresses are read before encoded words are decoded: a decoded display
    # name may hold commas or angle brackets that would split or hide them.
    found: dict[str, None] = {}
    for _name, addr in email.utils.getaddresses([clean(v) for v in values]):
        usable = bare_address(addr)
        if usable:
            found[usable] = None
    return tuple(found)[:MAX_ADDRESSES]


@dataclass(frozen=True)
class Sender:
    """The From field read as a mail server authenticates it."""

    name: str
    addr: str | None
    suspect: bool


# Separators around an address-looking token in free text; splitting on them
# (rather than searching with a pattern) keeps the scan linear.
_NOT_ADDRESS = re.compile(r"[\s<>()\[\]\"',;:]+")
_BRACKETED = re.compile(r"<([^<>]*)>")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_COMMENT = re.compile(r"\(([^()]*)\)")


def address_tokens(text: str) -> list[str]:
    """Lower-case tokens of ``text`` that look like an address (something@something)."""
    found = []
    for token in _NOT_ADDRESS.split(text):
        local, at, domain = token.rpartition("@")
        if at and local and domain:
            found.append(token.lower())
    return found


def sender(value: str | None) -> Sender:
    """The From field's display name, its addr-spec, and whether it is suspect.

    The addr-spec (the address in angle brackets, or the one bare address) is
    the address DMARC and the receiving server judge, so it alone says who
    sent the email; display text never does.  A field with more than one
    address, or an address in its display name other than the addr-spec, is
    suspect: ``sam@council.example <attacker@evil.example>`` shows one sender
    and is authenticated as another.  The null sender ``<>`` has no address.
    """
    if not value:
        return Sender("", None, False)
    text = clean(value)
    # Angle brackets inside a quoted display name are not an addr-spec; the
    # mask keeps positions so the display text can be cut from ``text``.
    masked = _QUOTED.sub(lambda m: m[0].replace("<", " ").replace(">", " "), text)
    brackets = list(_BRACKETED.finditer(masked))
    if brackets:
        first = brackets[0]
        addr = bare_address(first[1].strip())
        display = text[: first.start()]
        suspect = len(brackets) > 1 or bool(address_tokens(masked[first.end() :]))
    else:
        # No angle brackets: a bare address, perhaps with a comment, or a
        # broken line such as ``Big Bug bb@bug.com`` whose address is its
        # last token with an @ in it.
        comments = " ".join(_COMMENT.findall(text))
        bare = _COMMENT.sub(" ", text)
        tokens = address_tokens(bare)
        addr = bare_address(tokens[-1]) if tokens else None
        display = comments or " ".join(t for t in bare.split() if "@" not in t)
        suspect = len(tokens) > 1
    name = decode_header(email.utils.unquote(display.strip()).strip())[:MAX_NAME]
    # The display name is checked after decoding: an encoded word may spell
    # an address ("sam=40council.example") that a mail client shows decoded.
    shown = set(address_tokens(name)) | set(address_tokens(display))
    if shown - {addr}:
        suspect = True
    return Sender(name, addr, suspect)


def ids(values: list[str]) -> tuple[str, ...]:
    """Message ids in order, each once; of a long list the first (the thread's root) and
    the most recent, which are the ones threading needs."""
    ids = list(dict.fromkeys(_ID.findall(" ".join(values))))
    return tuple(ids if len(ids) <= MAX_IDS else ids[:1] + ids[-(MAX_IDS - 1) :])


def message_id(value: str | None) -> str | None:
    found = ids([value or ""])
    if found:
        return found[0]
    # Some mailers leave out the angle brackets; the id is still the id.
    bare = (value or "").strip()
    usable = "@" in bare and len(bare) < 900 and not re.search(r"[\s<>]", bare)
    return f"<{bare}>" if usable else None


def date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" means the sender's zone is unknown; the time is still UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def mail_domain(address: str | None) -> str | None:
    """The domain a call's requester is counted under: lower-cased, after the last "@"."""
    if address is None or "@" not in address:
        return None
    return address.rsplit("@", 1)[-1].lower()
