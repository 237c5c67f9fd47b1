"""The one Message-ID scheme: an id fixed by what the email is about."""

from __future__ import annotations

import hashlib


def fixed_id(domain: str, label: str, kind: str, *facts: str) -> str:
    """``<label.kind.digest@domain>``, the digest taken over the label, kind and facts.

    Every email mailbot composes gets its id from what it is about (a call and
    an occasion, an inbound email's key, an incident's notice to one address),
    never from the clock or a random number.  Composing it again, in a second
    process or after a crash, yields the same id, and the outbox's unique index
    lets only one copy commit; a reply's In-Reply-To finds the call by it.
    """
    digest = hashlib.sha256("\0".join((label, kind, *facts)).encode()).hexdigest()[:20]
    return f"<{label}.{kind}.{digest}@{domain}>"
