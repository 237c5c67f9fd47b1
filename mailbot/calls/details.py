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

_JUST_BEFORE = re.compile(
    r"\b(after|before|when (i|we|the|it)|since (the|we|i|an?|our)|following|update[sd]?|"
    r"power cut|moved|installed|changed|restart(ed)?|upgrade[sd]?|nothing changed)\b",
    re.IGNORECASE,
)
_BY_WHEN = re.compile(
    r"\b(by|before|from|starts?|starting|deadline|asap|urgently|next (week|month|term)|"
    r"(on|this|next) (monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"\d{1,2}(st|nd|rd|th)? (of )?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*|"
    r"\d{1,2}/\d{1,2}|\d{4}-\d{2}-\d{2}|half term|september|tomorrow)\b",
    re.IGNORECASE,
)
_FOR_WHOM = re.compile(
    r"\b(for (mrs|mr|ms|miss|dr|year|class|the|our|all|my|me|us|him|her|them|[A-Z][a-z]+)|"
    r"staff|pupils|students|teachers?|users?|everyone|whole school|[0-9]+ (people|users))\b",
    re.IGNORECASE,
)
_WHY = re.compile(
    r"\b(because|so that|so we|so the|as we|as our|in order to|needs? to|reason|to allow|"
    r"to stop|to let|required|requirement)\b",
    re.IGNORECASE,
)

PHONE = "a contact telephone number"
NAME = "your name (this email came from a shared or unnamed mailbox)"

DETAILS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (PHONE, _PHONE),
    ("when it last worked", _LAST_WORKED),
    ("what happened just before it stopped working", _JUST_BEFORE),
    ("how many people or devices are affected", _AFFECTED),
    ("any error messages, word for word", _ERROR),
)

# What the contract needs to know for each type of call.  Fault questions
# (when it last worked, error messages, what happened just before) go to
# incidents only; a complaint is asked nothing beyond who is writing.
BY_TYPE: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    "incident": DETAILS,
    "service_request": (
        (PHONE, _PHONE),
        ("who it is for (names, or how many people)", _FOR_WHOM),
        ("the date you need it by", _BY_WHEN),
    ),
    "change_request": (
        (PHONE, _PHONE),
        ("why the change is needed", _WHY),
        ("when it should be made", _BY_WHEN),
        ("who or what it will affect", _FOR_WHOM),
    ),
    "complaint": (),
}


def missing_details(
    text: str, *, known_phone: bool, call_type: str = "incident", known_name: bool = True
) -> tuple[str, ...]:
    """Return the details to ask for, in the order the SLA lists them for the call's type."""
    missing = [] if known_name else [NAME]
    for label, evidence in BY_TYPE.get(call_type, DETAILS):
        if label == PHONE and known_phone:
            continue
        if not evidence.search(text):
            missing.append(label)
    return tuple(missing)
