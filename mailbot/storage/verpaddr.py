"""VERP return paths as text: sign one, and the pattern every one matches (no database).

Kept apart from ``verp`` (which reads the key and records bounces through
SQLAlchemy) so that the intake worker, which screens mail against the
pattern, imports no database library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailbot.config import ServiceConfig

# The tag after the separator: "b-" and 16 base32 characters (80 bits of an
# HMAC), short enough for every mail server's local-part limit.
_PREFIX = "b-"
_TAG_CHARS = 16


def tag(key: bytes, message_id: str) -> str:
    """The signed tag for one email: nobody without the key can make one for a given email."""
    digest = hmac.new(key, message_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:_TAG_CHARS]


def return_path(service: ServiceConfig, key: bytes, message_id: str) -> str:
    """The envelope sender for the email ``message_id``: tagged with VERP on, else the address."""
    if not service.verp:
        return service.address
    local, domain = service.address.rsplit("@", 1)
    path = f"{local}{service.verp_separator}{_PREFIX}{tag(key, message_id)}@{domain}"
    return path.lower()


def pattern(service: ServiceConfig) -> str:
    """A regular expression for every return path this service sends with.

    It is used whether VERP is on or off, so bounces of mail sent before it
    was turned off are still recognised.
    """
    local, domain = service.address.lower().rsplit("@", 1)
    sep = re.escape(service.verp_separator)
    return rf"{re.escape(local)}{sep}{_PREFIX}[a-z2-7]{{{_TAG_CHARS}}}@{re.escape(domain)}"
