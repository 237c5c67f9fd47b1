"""Find passwords that schools send unprompted and replace them before anything is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass

MARK = "[password removed]"

# A secret is announced by a password word followed by a connector
# ("is", ":", "=", "was set to", ...) and then the secret itself.  Requests
# such as "please reset the password" have no connector followed by a token,
# so they are left alone.
_WORD = (
    r"(?:admin\s+|new\s+|old\s+|temporary\s+|temp\s+|wifi\s+|wi-fi\s+)?"
    r"(?:password|passwd|passcode|passphrase|pwd|pw|pin)"
)
_CONNECTOR = r"(?:\s*[:=]\s*|\s+(?:is|was|is now|has been set to|set to|changed to|=)\s*[:\-]?\s*)"
_SECRET = r"(?P<q>[\"'“‘]?)(?P<secret>[^\s\"'”’]{3,})(?P=q)?"
# "the admin password for the filtering box is X": a short qualifier may sit
# between the password word and the connector.
_QUALIFIER = r"(?:\s+(?:for|on|of|to)\s+(?:[\w'-]+\s+){0,4}?[\w'-]+)?"
_PATTERN = re.compile(rf"(?P<lead>\b{_WORD}\b{_QUALIFIER}{_CONNECTOR}){_SECRET}", re.IGNORECASE)

# "username jsmith password Hunter22" and "user: x / pass: y" on one line.
_PASS_SHORT = re.compile(r"(?P<lead>\bpass\s*[:=]\s*)(?P<secret>\S{3,})", re.IGNORECASE)

# Words that follow "password is" in ordinary sentences, not secrets.
_NOT_SECRETS = frozenset(
    """
    not wrong incorrect expired invalid missing correct required needed locked the a
    an being too still also now working broken reset changed blank empty same
    different case-sensitive forgotten unknown attached below above in on for to of
    and
    """.split()
)


@dataclass(frozen=True)
class Redaction:
    """The cleaned text and whether anything was removed."""

    text: str
    found: bool


def _replace(match: re.Match[str]) -> str:
    secret = match.group("secret").rstrip(".,;)")
    if secret.lower() in _NOT_SECRETS or secret == MARK.split()[0]:
        return match.group(0)
    trailing = match.group("secret")[len(secret) :]
    return f"{match.group('lead')}{MARK}{trailing}"


def redact(text: str) -> Redaction:
    """Replace each password-looking secret in ``text`` with a marker."""
    if not text:
        return Redaction(text, False)
    cleaned = _PATTERN.sub(_replace, text)
    cleaned = _PASS_SHORT.sub(_replace, cleaned)
    return Redaction(cleaned, cleaned != text)
