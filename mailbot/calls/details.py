"""Spot which of the call-logging details the SLA asks for are missing from a report."""

from __future__ import annotations

import re

# Each detail is (what to ask for, evidence that the message already gives it).
# The evidence is deliberately generous: asking for something the school did
# tell us is more irritating than not asking for something they left out.
_PHONE = re.compile(r"(?:\+44\s?|\b0)(?:\d[\s-]?){9,10}\b")
_LAST_WORKED = re.compile(
    r"\b(since|last worked|was working|worked fine|until|yesterday|this morning|"
    r"last (week|night|monday|tuesday|wednesday|thursday|friday)|earlier today|"
    r"\d{1,2}(:\d\d)?\s?(am|pm)|today)\b",
    re.IGNORECASE,
)
_AFFECTED = re.compile(
    r"\b(\d+|all|every|everyone|nobody|no one|whole|entire|one|two|three|several|"
    r"a few|just me|only me|classroom|suite|staff|pupils|students|users)\b",
    re.IGNORECASE,
)
_ERROR = re.compile(
    r"\b(error|message says|says|code|0x[0-9a-f]+|cannot|can't|unable|failed|"
    r"not working|won't|doesn't)\b",
    re.IGNORECASE,
)

DETAILS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a contact telephone number", _PHONE),
    ("when it last worked", _LAST_WORKED),
    ("how many people or devices are affected", _AFFECTED),
    ("any error messages, word for word", _ERROR),
)


def missing_details(text: str, *, known_phone: bool) -> tuple[str, ...]:
    """Return the details to ask for, in the order the SLA lists them."""
    missing = []
    for label, evidence in DETAILS:
        if label.startswith("a contact telephone") and known_phone:
            continue
        if not evidence.search(text):
            missing.append(label)
    return tuple(missing)
