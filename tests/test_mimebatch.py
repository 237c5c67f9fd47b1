"""A broadcast batch's emails: the same bytes as mime.build, each distinct body encoded once."""

from __future__ import annotations

import itertools

from support import local

from mailbot.mail import mimebatch
from mailbot.mail.mime import build
from mailbot.mail.outgoing import Outgoing

NOW = local(2026, 11, 23, 9, 30)
FROM = ("Westshire Schools ICT Support", "ictsupport@westshire.gov.uk")
TEXTS = (
    "MAJOR INCIDENT INC-0001: Internet down\nDeclared today at 09:30.\n\nThe link failed.\n",
    "Ünïcode text — quoted-printable, with a café and 😀\n",
    "A very long line " + "word " * 300 + "\n",
    "--=_mb_looks-like-a-boundary\n.\n.leading dot\nFrom the start\n",
)
SUBJECTS = (
    "[INC-0001] Major incident: Internet down",
    "Re: [INC-0001] Major incident: " + "a long title " * 12,
    "[INC-0002] Größere Störung",
)
RECIPIENTS = (
    ("head@s00001.example",),
    ("net@s00002.example", "other@s00002.example"),
    ("dïrector@schule.example",),
)


def outgoings() -> list[Outgoing]:
    """Emails of many shapes, several to each body, each with its own Message-ID."""
    made = []
    n = 0
    for text, subject, to in itertools.product(TEXTS, SUBJECTS, RECIPIENTS):
        for k in range(3):
            n += 1
            mid = f"<n1.INC-0001.{n}@mailbot.example>"
            earlier = tuple(f"<n{j}.INC-0001.{n}@mailbot.example>" for j in range(1, k * 6 + 1))
            made.append(
                Outgoing(
                    kind="incident_notice",
                    to=to,
                    cc=("cc@s00003.example",) if k == 2 else (),
                    subject=subject,
                    text=text,
                    html=f"<p>{text}</p>\n",
                    message_id=mid,
                    in_reply_to=earlier[-1] if earlier else ("not an id" if k == 1 else None),
                    references=earlier[-10:],
                    auto="auto-generated",
                )
            )
    return made


def test_each_email_is_byte_for_byte_what_mime_build_makes() -> None:
    batch = mimebatch.Batch(from_name=FROM[0], from_addr=FROM[1], now=NOW)
    for out in outgoings():
        assert batch.build(out) == build(out, from_name=FROM[0], from_addr=FROM[1], now=NOW)


def test_each_distinct_body_is_built_in_full_once() -> None:
    batch = mimebatch.Batch(from_name=FROM[0], from_addr=FROM[1], now=NOW)
    made = outgoings()
    for out in made:
        batch.build(out)
    # One body per text (and its HTML), and per kind of headers: UTF-8 or not.
    bodies = {(o.text, not all(a.isascii() for a in (*o.to, *o.cc))) for o in made}
    assert batch.built == len(bodies) < len(made) // 4


def test_a_body_holding_its_own_boundary_is_not_reused_with_that_boundary() -> None:
    from mailbot.mail.mime import alternative_boundary

    first = "<n1.INC-0001.a@mailbot.example>"
    text = f"It names {alternative_boundary(first)} in its text.\n"
    batch = mimebatch.Batch(from_name=FROM[0], from_addr=FROM[1], now=NOW)
    for mid in (first, "<n1.INC-0001.b@mailbot.example>", "<n1.INC-0001.c@mailbot.example>"):
        out = Outgoing(kind="incident_notice", to=("head@s00001.example",), cc=(),
                       subject="Notice", text=text, html=text, message_id=mid)  # fmt: skip
        assert batch.build(out) == build(out, from_name=FROM[0], from_addr=FROM[1], now=NOW)
    # The first is built in full and not kept (its tail holds the boundary five
    # times); the second is kept, and the third reuses it.
    assert batch.built == 2
