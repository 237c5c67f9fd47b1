"""Outgoing emails written directly (mail/mimeflat.py): the email package's bytes, less work."""

from __future__ import annotations

import email
import email.generator
import email.policy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.mail import mime
from mailbot.mail.outgoing import Outgoing

NOW = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
FROM = {"from_name": "Westshire Schools ICT Support", "from_addr": "ict@westshire.gov.uk"}


def outgoing(**kw: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "kind": "confirmation",
        "to": ("head@oakfield-primary.westshire.sch.uk",),
        "cc": ("office@oakfield-primary.westshire.sch.uk",),
        "subject": "[ICT-000001] Internet very slow",
        "text": "Dear Helen,\n\nWe have logged your call.\n",
        "html": "<p>Dear Helen,</p>",
        "message_id": "<ICT-000001.confirmation.abc@westshire.gov.uk>",
    }
    fields.update(kw)
    return Outgoing(**fields)


def through_the_email_package(out: Outgoing, now: datetime = NOW, **sender: str) -> bytes:
    """``build`` as it was: the message tree, flattened by the generator, every header parsed."""
    boundary = "=_mb_" + mime.hashlib.sha256(out.message_id.encode()).hexdigest()[:32]
    bodies = [mime._text_body(out.text, "plain"), mime._text_body(out.html, "html")]
    stock = email.policy.EmailPolicy.header_store_parse
    kept = mime._Wire.header_store_parse
    mime._Wire.header_store_parse = stock  # type: ignore[method-assign]
    try:
        return mime._build_tree(out, boundary, bodies, now=now, **(sender or FROM))
    finally:
        mime._Wire.header_store_parse = kept  # type: ignore[method-assign]


def test_a_plain_email_is_written_without_the_email_packages_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flattened: list[object] = []
    real = email.generator.BytesGenerator.flatten

    def counted(self: email.generator.BytesGenerator, *args: Any, **kwargs: Any) -> None:
        flattened.append(args[0])
        real(self, *args, **kwargs)

    monkeypatch.setattr(email.generator.BytesGenerator, "flatten", counted)
    raw = mime.build(outgoing(), now=NOW, **FROM)
    assert flattened == []
    # And it is a whole email: both alternatives, read back by the standard parser.
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Cc"] == "office@oakfield-primary.westshire.sch.uk"


def test_the_boundary_header_is_not_parsed_to_build_an_email(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[str] = []
    real = email.policy.EmailPolicy.header_store_parse

    def counted(self: email.policy.EmailPolicy, name: str, value: Any) -> Any:
        parsed.append(name)
        return real(self, name, value)

    monkeypatch.setattr(email.policy.EmailPolicy, "header_store_parse", counted)
    mime._PARSED.clear()
    mime.build(outgoing(), now=NOW, **FROM)
    # The From header and the part headers (text/plain, text/html, 7bit),
    # parsed once and then reused; after that nothing is parsed per email
    # (the multipart Content-Type with its unique boundary was, every time).
    assert sorted(parsed) == ["Content-Transfer-Encoding", "Content-Type", "Content-Type", "From"]
    parsed.clear()
    mime.build(outgoing(message_id="<other@westshire.gov.uk>"), now=NOW, **FROM)
    assert parsed == []


def test_an_internationalised_address_still_goes_through_the_email_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flattened: list[object] = []
    real = email.generator.BytesGenerator.flatten

    def counted(self: email.generator.BytesGenerator, *args: Any, **kwargs: Any) -> None:
        flattened.append(args[0])
        real(self, *args, **kwargs)

    monkeypatch.setattr(email.generator.BytesGenerator, "flatten", counted)
    out = outgoing(to=("jürgen@schule.example",))
    raw = mime.build(out, now=NOW, **FROM)
    # The message and its two parts, each flattened by the generator.
    assert len(flattened) == 3
    assert "jürgen@schule.example".encode() in raw


EDGE_CASES = [
    outgoing(),
    outgoing(cc=()),
    outgoing(subject="Zürich — ça ne marche pas " * 4, text="Grüße\r\nzwei\rdrei\n"),
    outgoing(subject="", text="", html=""),
    outgoing(subject="word " * 40, text="x" * 2000, html="<p>" + "y" * 1500 + "</p>"),
    outgoing(subject="=?utf-8?q?caf=C3=A9?= and more", to=("a.b+c@Sch.example",)),
    outgoing(subject="Re: [ICT-1] (urgent) a,b <x@y>", to=('"q r"@a.b', "x..y@a.b")),
    outgoing(in_reply_to="<a@b>", references=("<r@x>",) * 30, auto="auto-generated"),
    outgoing(in_reply_to="not an id", references=("<ok@x>", "bad")),
    outgoing(text="ends without a line end", html="<b>\u00a0&amp;</b>\n\n"),
    outgoing(text="From the start\n.\n..\n", kind="new_call", cc=("a@b.c", "d@e.f", "g@h.i")),
    outgoing(text="\ud800 lone surrogate \x00 and nul", subject="tab\there"),
]


@pytest.mark.parametrize("out", EDGE_CASES)
def test_the_bytes_are_those_the_email_package_gives(out: Outgoing) -> None:
    assert mime.build(out, now=NOW, **FROM) == through_the_email_package(out)


def test_an_unusual_sender_name_gives_the_email_packages_bytes() -> None:
    for name in ("O'Brien, Support", 'The "ICT" desk', "Zoë's desk", ""):
        sender = {"from_name": name, "from_addr": "ict@westshire.gov.uk"}
        out = outgoing()
        assert mime.build(out, now=NOW, **sender) == through_the_email_package(out, **sender)


_WORDS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
_ADDRESS = st.from_regex(
    r"[a-z][a-z0-9.'+-]{0,12}@[a-z][a-z0-9-]{0,10}\.(org|uk|example)", fullmatch=True
)
_ID = st.from_regex(r"<[a-z0-9.]{1,20}@[a-z.]{1,12}>", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(
    subject=_WORDS,
    text=st.text(max_size=400) | st.text(st.sampled_from("ab \r\n\t.-=é"), max_size=1200),
    html=st.text(max_size=300),
    to=st.lists(_ADDRESS, min_size=1, max_size=3),
    cc=st.lists(_ADDRESS, max_size=3),
    references=st.lists(_ID, max_size=8),
    minutes=st.integers(0, 60 * 24 * 400),
)
def test_any_email_comes_out_as_the_email_package_writes_it(
    subject: str,
    text: str,
    html: str,
    to: list[str],
    cc: list[str],
    references: list[str],
    minutes: int,
) -> None:
    out = outgoing(
        subject=subject,
        text=text,
        html=html,
        to=tuple(to),
        cc=tuple(cc),
        references=tuple(references),
        in_reply_to=references[-1] if references else None,
    )
    now = NOW + timedelta(minutes=minutes)
    assert mime.build(out, now=now, **FROM) == through_the_email_package(out, now)
