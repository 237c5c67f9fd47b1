"""The speed work of issue 16 changed no record: the pure stages give what the old code gave.

tests/data/record-prints.json holds, for every corpus file, every
tests/mail file and the 1,000 emails of the shared workload, the digest of
every record parse, screen, redact, the command reader, classify, template
rendering and the MIME build made of it under the code before that work
(tests/recordprints.py says how, and how to write it again).  The counting
tests below pin the work those passes no longer repeat.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from recordprints import PRINTS, corpus_files, fingerprint, mail_files, workload
from support import SUPPORT, mail

from mailbot.mail import htmltext, mimewalk, redact, redactmail, screenfacts
from mailbot.mail.parse import parse_message
from mailbot.mail.redactmail import redact_message
from mailbot.mail.screen import Screening, Verdict, screen

STORED: dict[str, str] = json.loads(PRINTS.read_text(encoding="utf-8"))


def _differences(source: Iterator[tuple[str, bytes]]) -> tuple[int, list[str]]:
    seen = 0
    differ = []
    for name, raw in source:
        seen += 1
        if STORED.get(name) != fingerprint(raw):
            differ.append(name)
    return seen, differ


def test_every_corpus_file_gives_the_records_the_old_code_gave() -> None:
    seen, differ = _differences(corpus_files())
    assert seen == sum(1 for name in STORED if name.startswith("corpus/"))
    assert differ == []


def test_every_sample_email_gives_the_records_the_old_code_gave() -> None:
    seen, differ = _differences(mail_files())
    assert seen == sum(1 for name in STORED if name.startswith("mail/"))
    assert differ == []


def test_the_shared_workload_gives_the_records_the_old_code_gave() -> None:
    seen, differ = _differences(workload())
    assert seen == 1000
    assert differ == []


def test_a_changed_record_changes_the_fingerprint() -> None:
    # The comparison above can fail: one character of the text is enough.
    raw = mail("school-new-request")
    assert fingerprint(raw) == STORED["mail/school-new-request.eml"]
    assert fingerprint(raw.replace(b"slow", b"Slow", 1)) != fingerprint(raw)


class Calls:
    """Counts the calls of one function while a test runs, then lets it be."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        self.count = 0
        real: Callable[..., Any] = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


def _workload_sample() -> list[bytes]:
    return [raw for _, (_name, raw) in zip(range(20), workload(), strict=False)]


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


def test_mail_parser_builds_its_dictionaries_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mailbot.mail import parse

    parsed = parse._tree(mail("school-new-request"))
    assert parsed.msg is not None and parsed.decoded
    made = Calls(monkeypatch, parse.mailparser.MailParser, "_make_mail")
    one = parse._OnePass.from_bytes(mail("school-new-request"))
    assert made.count == 0
    # Asked for, they are mail-parser's own.
    assert one.mail["subject"] == "Internet very slow in the ICT suite"
    assert made.count == 1


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
    import mailbot.pipeline as stages
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
