"""Whether the receiving server vouched for a sender (Authentication-Results, RFC 8601)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import authres
from publicsuffixlist import PublicSuffixList

from mailbot.mail.message import ParsedMessage


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one email's Authentication-Results."""

    passed: bool
    reason: str


@functools.cache
def _suffixes() -> PublicSuffixList:
    """The Public Suffix List shipped inside the publicsuffixlist package, read once.

    The packaged copy is used as it stands: nothing is fetched at run time,
    and a newer list arrives with an upgrade of the package.
    """
    return PublicSuffixList()


def organisational_domain(domain: str) -> str | None:
    """The registered domain per the Public Suffix List (RFC 7489 section 3.2), or None.

    None means ``domain`` is itself a public suffix (``gov.uk``, ``sch.uk``'s
    children) or not a domain name at all, so it has no organisation.
    """
    name = domain.lower().rstrip(".")
    if not name or "." not in name:
        return None
    found = _suffixes().privatesuffix(name)
    return str(found) if found else None


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed DMARC alignment: the two domains share an organisational domain.

    A public suffix such as ``gov.uk`` belongs to no organisation, so a pass
    for it aligns with nothing but itself, and an identical name is always
    aligned (strict alignment implies relaxed).
    """
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not domain or not from_domain:
        return False
    if domain == from_domain:
        return "." in domain
    org = organisational_domain(domain)
    return org is not None and org == organisational_domain(from_domain)


def _server_id(value: str) -> str:
    """The authserv-id at the start of a header value, read without the full grammar."""
    text = re.sub(r"\([^()]*\)", " ", value).strip()
    match = re.match(r"([^\s;]+)", text)
    return match[1].lower() if match else ""


def _property(result: authres.AuthenticationResult, ptype: str, name: str) -> str:
    for prop in result.properties:
        if prop.type == ptype and prop.name == name and prop.value:
            return str(prop.value).rsplit("@", 1)[-1]
    return ""


def check(msg: ParsedMessage, authserv_id: str) -> Verdict:
    """Check the Authentication-Results header our own server (``authserv_id``) added.

    The sender passes when DMARC passed, or DKIM or SPF passed for a domain
    aligned with the From address.  Only the topmost header carrying our
    server's id counts: headers further down were written before our server
    received the mail, and the server is expected to remove forged copies of
    its own (RFC 8601 section 5).
    """
    if msg.from_suspect:
        # DMARC judges one addr-spec; a From with several addresses, or an
        # address in its display name, shows people something it did not judge.
        return Verdict(False, "the From header holds more than one address")
    from_addr = msg.from_addr or ""
    from_domain = from_addr.rsplit("@", 1)[-1] if "@" in from_addr else ""
    if not from_domain:
        return Verdict(False, "no sender domain to check")
    wanted = authserv_id.strip().lower()
    for value in msg.header_all("authentication-results"):
        try:
            header = authres.AuthenticationResultsHeader.parse_value(value)
        except authres.AuthResError:
            # Our own server's header that cannot be read must not let a
            # (possibly forged) header further down speak instead.
            if _server_id(value) == wanted:
                return Verdict(False, f"{authserv_id}'s Authentication-Results could not be read")
            continue
        if str(header.authserv_id).lower() != wanted:
            continue
        seen: list[str] = []
        for result in header.results:
            method, outcome = str(result.method).lower(), str(result.result).lower()
            seen.append(f"{method}={outcome}")
            if outcome != "pass":
                continue
            if method == "dmarc" and _aligned(_property(result, "header", "from"), from_domain):
                return Verdict(True, "dmarc=pass for the From domain")
            if method == "dkim" and _aligned(_property(result, "header", "d"), from_domain):
                return Verdict(True, "dkim=pass, aligned with From")
            if method == "spf" and _aligned(_property(result, "smtp", "mailfrom"), from_domain):
                return Verdict(True, "spf=pass, aligned with From")
        found = ", ".join(seen) or "no results"
        return Verdict(False, f"{authserv_id} reported {found}, none passing for {from_domain}")
    return Verdict(False, f"no Authentication-Results from {authserv_id}")
