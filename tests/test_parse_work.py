"""The work the pure stages no longer repeat, counted (issue 16): nothing here is timed.

Whether the records stayed the same is tests/test_corpus_same_records.py's
question; these tests count the calls of the passes that used to run twice,
or whose result nothing read, on emails shaped like the shared workload's
(Outlook's new requests: a text part beside Word's HTML).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support import SUPPORT, mail

from mailbot.mail import htmltext, mimewalk, redact, redactmail, screenfacts
from mailbot.mail.parse import parse_message
from mailbot.mail.redactmail import redact_message
from mailbot.mail.screen import Screening, Verdict, screen


class Calls:
    """Counts the calls of one function while a test runs, then lets it be."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        self.count = 0
        real: Callable[..., Any] = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


def _outlook(n: int) -> bytes:
    """A new request as Outlook sends it (like the shared workload): text and HTML alternatives."""
    text = (
        f"Dear ICT Support,\r\n\r\nThe projector in Room {n} will not turn on this morning.=\r\n"
        " The standby light flashes red.\r\n\r\nKind regards\r\n\r\nKate Lloyd\r\n"
        f"Year 4 Teacher\r\nOakfield Primary School\r\nTel: 01632 960{n:03d}\r\n"
    )
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=us-ascii">'
        '<style><!-- p.MsoNormal {margin:0cm; font-family:"Calibri",sans-serif;} --></style>'
        '</head><body lang="EN-GB"><div class="WordSection1"><p class="MsoNormal">Dear ICT '
        f'Support,<o:p></o:p></p><p class="MsoNormal">The projector in Room {n} will not turn '
        'on this morning. The standby light flashes red.<o:p></o:p></p><p class="MsoNormal">'
        'Kind regards<o:p></o:p></p><p class="MsoNormal">Kate Lloyd<br>Year 4 Teacher<br>'
        f"Oakfield Primary School<br>Tel: 01632 960{n:03d}</p></div></body></html>\r\n"
    )
    boundary = f"_000_LO2P265MB8297{n:04d}LO2P265MB8297_"
    return (
        (
            "Received: from LO2P265MB8297.GBRP265.PROD.OUTLOOK.COM (2603:10a6:600:88::15)\r\n"
            " by LO3P265MB4022.GBRP265.PROD.OUTLOOK.COM with HTTPS; Mon, 23 Nov 2026 09:0{m}:11"
            " +0000\r\n"
            f"From: Kate Lloyd <k.lloyd{n}@oakfield-primary.westshire.sch.uk>\r\n"
            "To: ICT Support <ictsupport@westshire.gov.uk>\r\n"
            f"Subject: Projector in Room {n} not working\r\n"
            f"Thread-Topic: Projector in Room {n} not working\r\n"
            "Thread-Index: AQHbXk2f3nJ0mQ==\r\n"
            "Date: Mon, 23 Nov 2026 09:02:11 +0000\r\n"
            f"Message-ID: <LO2P265MB8297{n:04d}@LO2P265MB8297.GBRP265.PROD.OUTLOOK.COM>\r\n"
            "Accept-Language: en-GB, en-US\r\nContent-Language: en-GB\r\n"
            "X-MS-Has-Attach:\r\nX-MS-TNEF-Correlator:\r\n"
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
            "MIME-Version: 1.0\r\n\r\n"
            f'--{boundary}\r\nContent-Type: text/plain; charset="us-ascii"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            f'{text}\r\n--{boundary}\r\nContent-Type: text/html; charset="us-ascii"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            f"{html}\r\n--{boundary}--\r\n"
        )
        .replace("{m}", str(n % 10))
        .encode("ascii")
    )


def _workload_sample() -> list[bytes]:
    return [_outlook(n) for n in range(20)]


def test_html2text_is_not_run_when_the_text_part_is_the_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    converted = Calls(monkeypatch, htmltext.html2text, "HTML2Text")
    for raw in _workload_sample():
        msg = parse_message(raw)
        assert msg.html and msg.text.strip()
    assert converted.count == 0
    # Without a text part the HTML is what there is: converted once.
    only_html = parse_message(mail("html-only-with-link"))
    assert only_html.text.strip()
    assert converted.count == 1


def test_an_email_without_secrets_is_read_once_per_distinct_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    passes = Calls(monkeypatch, redact, "_one_pass")
    msg = parse_message(mail("school-new-request"))
    cleaned, found = redact_message(msg)
    assert not found and cleaned is msg
    person_headers = {v for k, v in msg.headers if k in redactmail._PERSON_HEADERS}
    distinct = {msg.subject, msg.from_name, msg.text, msg.new_text} | person_headers
    # The new text equals the text here and the Subject header the subject:
    # each distinct string is read by one pass, none by a confirming second.
    assert msg.new_text == msg.text and msg.html is None and not msg.attachments
    assert passes.count == len(distinct)


def test_a_found_secret_is_still_redacted_until_nothing_changes() -> None:
    # The fast path skips only the pass over text already unchanged.
    text = "password: pin: 1234\n"
    assert redact.redact(text).text == redact.redact(redact.redact(text).text).text
    assert "1234" not in redact.redact(text).text


def test_a_persons_email_is_screened_without_reading_its_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows = Calls(monkeypatch, screenfacts, "windows")
    searched: list[str] = []
    search = screenfacts.search

    def recorded(pattern: str, text: str) -> object:
        searched.append(text)
        return search(pattern, text)

    monkeypatch.setattr(screenfacts, "search", recorded)
    for raw in _workload_sample():
        msg = parse_message(raw)
        facts = screenfacts.facts(msg)
        body = {facts.opening, facts.first_paragraph, *facts.body_windows}
        searched.clear()
        verdict = screen(msg, own_addresses=frozenset({SUPPORT}))
        assert not verdict.automatic
        # Bounce and challenge wording in the body counts only beside an
        # automatic or confirming sender or a subject that says so; the
        # workload's people have none of these, so no search reads the body.
        assert searched and not body & set(searched)
    # The facts are still worked out once per screening.
    assert windows.count == 2 * 20


def test_mail_parser_builds_its_header_dictionary_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mailbot.mail import parse

    made = Calls(monkeypatch, parse.mailparser.MailParser, "_make_mail")
    one = parse._OnePass.from_bytes(mail("school-new-request"))
    # The whole dictionary is built (a header it cannot decode sends the
    # email to the fallback parser); the partial one, a subset, is not.
    assert made.count == 1
    assert one.mail["subject"] == "Internet very slow in the ICT suite"
    assert one.mail_partial["subject"] == "Internet very slow in the ICT suite"
    assert made.count == 2


def test_a_header_mail_parser_cannot_decode_still_sends_the_email_to_the_fallback() -> None:
    # A NUL in an encoded word's charset makes mail-parser's header
    # dictionary raise: the email is read by the standard library instead,
    # as before the dictionary it never needed was left out.
    raw = (
        b"From: a@school.example\r\nTo: ictsupport@westshire.gov.uk\r\nSubject: hi\r\n"
        b"X-Odd: =?a\x00b?q?x?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    )
    msg = parse_message(raw)
    assert msg.defects == ("fallback-parser",)
    assert msg.text == "hello"


def test_the_body_walk_decodes_no_part_mail_parser_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded = Calls(monkeypatch, mimewalk, "decode_bytes")
    for raw in _workload_sample():
        parse_message(raw)
    assert decoded.count == 0


def test_a_new_request_is_not_read_for_challenge_wording(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mailbot.pipeline import stages
    from mailbot.pipeline.records import RawMail, Triage

    read = Calls(monkeypatch, stages, "challenge_wording")
    human = Screening(Verdict.HUMAN, "no sign of automatic mail")
    for raw in [*_workload_sample(), mail("school-replies-to-complaint")]:
        msg = parse_message(raw)
        t = Triage(key="", raw=RawMail(raw=raw, size=len(raw)), msg=msg, screening=human)
        # The stage consults the database only for wording found in a reply,
        # which none of these has.
        assert stages.challenge(t, None) is t  # type: ignore[arg-type]
    # Only an email naming an earlier one can answer mailbot's: the one
    # reply among them is read, the twenty new requests are not.
    assert read.count == 1
