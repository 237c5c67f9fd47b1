"""Hostile text shapes: every text pass stays linear and what is stored and quoted stays bounded.

Nothing here is timed: the tests count characters that reach a library or a
pattern, compare output sizes at n and 4n, or count calls.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import html2text
import pytest
from email_reply_parser import EmailReplyParser
from sqlalchemy import select
from support import SUPPORT, local, mail, make_config, make_env, plain

from mailbot.commands import grammar
from mailbot.config import Config
from mailbot.daemon.service import Daemon
from mailbot.mail.htmltext import html_to_text
from mailbot.mail.parse import parse_message
from mailbot.mail.quotes import strip_quoted
from mailbot.rules.loader import load_rules
from mailbot.storage.db import make_engine, make_sessions, upgrade
from mailbot.storage.models import Message

MONDAY_9 = local(2026, 11, 23, 9, 5)
CUT_NOTE = "The whole message stays in the support mailbox."


def school_mail(body: str, *, html: bool = False) -> bytes:
    kind = "html" if html else "plain"
    return (
        "From: Helen Marsh <head@oakfield-primary.westshire.sch.uk>\r\n"
        f"To: {SUPPORT}\r\n"
        "Subject: Printer jammed in room 4\r\n"
        "Date: Mon, 23 Nov 2026 09:02:11 +0000\r\n"
        "Message-ID: <hostile-1@oakfield-primary.westshire.sch.uk>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: text/{kind}; charset="utf-8"\r\n\r\n' + body
    ).encode()


@pytest.fixture
def converted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The length of every input html2text is asked to convert."""
    seen: list[int] = []
    handle = html2text.HTML2Text.handle

    def counting(self: html2text.HTML2Text, data: str) -> str:
        seen.append(len(data))
        return handle(self, data)

    monkeypatch.setattr(html2text.HTML2Text, "handle", counting)
    yield seen


# --- HTML -------------------------------------------------------------------------------


def test_html2text_sees_a_bounded_prefix_and_the_rest_is_still_text(converted: list[int]) -> None:
    filler = "<p>The printer in room 4 is jammed again.</p>\n" * 30_000  # 1.4 MB
    text = html_to_text(filler + "<p>Last line: <b>toner</b> &amp; drum</p>")
    assert sum(converted) <= 250_000
    # What html2text was not shown still reaches the text, by the tag-stripper.
    assert "Last line:  toner  & drum" in text


def test_pre_of_spaces_reaches_html2text_shortened(converted: list[int]) -> None:
    text = html_to_text("<pre>" + " " * 100_000 + "x</pre>")
    assert sum(converted) < 1_000
    assert text.strip() == "x"


def test_nested_lists_give_text_that_grows_linearly() -> None:
    # html2text indents every line by its depth, so unbounded nesting made the
    # output (and every pass after it) grow with the square of the input.
    small = html_to_text("<ul><li>x" * 200)
    large = html_to_text("<ul><li>x" * 800)
    assert len(large) / len(small) < 5


def test_deep_quotes_are_flattened_but_kept() -> None:
    text = html_to_text("<blockquote>" * 50 + "deep words" + "</blockquote>" * 50 + "<p>after</p>")
    assert "deep words" in text and "after" in text
    [line] = [line for line in text.splitlines() if "deep words" in line]
    # No real email quotes deeper than this; 50 levels made 50 ">" marks.
    assert line.count(">") <= 10


# --- the command grammar ----------------------------------------------------------------


class CountingPattern:
    """A stand-in for a compiled pattern that records how much of each line it matched."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.matched: list[int] = []

    def match(self, text: str) -> re.Match[str] | None:
        found = self.pattern.match(text)
        if found:
            self.matched.append(found.end() - found.start())
        return found


def test_command_pattern_reads_only_the_head_of_a_long_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Matching the argument as "(.*?)[ \t]*$" re-read each run of spaces once
    # per character: a 40 KB line cost seconds.  The pattern now stops at the
    # command word and the argument is trimmed by str methods.
    counting = CountingPattern(grammar._COMMAND)
    monkeypatch.setattr(grammar, "_COMMAND", counting)
    line = "#note x" + " " * 40_000 + "y"
    found = grammar.read(line + "\n\nbody")
    assert found.commands[0].arg == "x" + " " * 40_000 + "y"
    assert found.body == "body"
    assert counting.matched and max(counting.matched) < 20


def test_command_argument_is_trimmed_as_before() -> None:
    found = grammar.read(" ＃ Priority : \t P2 \t \nHello")
    assert [(c.name, c.arg) for c in found.commands] == [("priority", "P2")]
    assert grammar.read("#note\n\nwords").commands[0].arg == ""


def test_command_grammar_runs_once_per_email(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env(tmp_path, db_url)
    calls: list[int] = []
    read = grammar.read

    def counting(text: str) -> grammar.Instructions:
        calls.append(len(text))
        return read(text)

    monkeypatch.setattr(grammar, "read", counting)
    env.feed(mail("school-new-request"), MONDAY_9)
    assert len(calls) == 1


# --- bounded storage and quoting --------------------------------------------------------


def test_parse_cuts_a_huge_text_and_says_so() -> None:
    msg = parse_message(school_mail("a" * 3_000_000 + "\r\n"), max_text_chars=10_000)
    assert len(msg.text) < 10_200 and len(msg.new_text) < 10_200
    assert CUT_NOTE in msg.text[-200:] and CUT_NOTE in msg.new_text[-200:]
    assert "text-cut" in msg.defects


def stored_texts(env: Any) -> list[tuple[str, str]]:
    with env.sessions() as s:
        rows = s.scalars(select(Message).where(Message.direction == "in"))
        return [(m.body_text, m.new_text) for m in rows]


def test_huge_single_line_is_stored_and_quoted_bounded(tmp_path: Path, db_url: str) -> None:
    env = make_env(tmp_path, db_url)
    env.feed(school_mail("a" * 3_000_000 + "\r\n"), MONDAY_9)
    [(text, new_text)] = stored_texts(env)
    # The default limit is 200,000 characters, plus the note.
    assert len(text) < 200_200 and len(new_text) < 200_200
    assert CUT_NOTE in text
    [notice] = [o for o in env.outbox() if o.kind == "new_call"]
    assert len(notice.raw) < 100_000
    assert CUT_NOTE in plain(notice)


def test_stored_text_size_is_configurable(tmp_path: Path, db_url: str) -> None:
    env = make_env(tmp_path, db_url)
    service = env.config.service.model_copy(update={"max_stored_text_chars": 5_000})
    env.config = env.config.model_copy(update={"service": service})
    env.feed(school_mail("word " * 100_000), MONDAY_9)
    [(text, _new_text)] = stored_texts(env)
    assert 4_000 < len(text) < 5_200
    assert CUT_NOTE in text


def configure(tmp_path: Path, dovecot: Any, smtp_sink: Any) -> Config:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    return make_config(
        tmp_path,
        url,
        imap=(dovecot.host, dovecot.port, dovecot.username, dovecot.password),
        smtp=(smtp_sink.host, smtp_sink.port),
    )


def test_huge_email_through_imap_and_smtp_gives_a_bounded_team_notice(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    config = configure(tmp_path, dovecot, smtp_sink)
    dovecot.deliver(school_mail("a" * 4_000_000 + "\r\n"))
    daemon = Daemon(
        config=config,
        rules=load_rules(config.rules.dir),
        sessions=make_sessions(make_engine(config.database.url)),
        clock=lambda: MONDAY_9,
    )
    report, _sent, _ = asyncio.run(daemon.run_once())
    assert [o.action for o in report.outcomes] == ["open_call"]
    [notice] = smtp_sink.of_kind("new_call")
    assert len(notice.raw) < 100_000
    parsed = email.message_from_bytes(notice.raw, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and CUT_NOTE in " ".join(body.get_content().split())
    # The whole message stays in the mailbox.
    assert len(dovecot.uids("Processed")) == 1


# --- quote stripping --------------------------------------------------------------------


def test_reply_parser_library_is_shown_no_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # The library's "On.*wrote:$" re-reads the rest of the line from every
    # "On" in it: "OnOnOn..." or "Online" on every line grew with the square.
    seen: list[str] = []
    parse_reply = EmailReplyParser.parse_reply

    def recording(text: str) -> str:
        seen.append(text)
        return str(parse_reply(text))

    monkeypatch.setattr(EmailReplyParser, "parse_reply", staticmethod(recording))
    text = "Thanks, fixed.\n\n" + "Online lessons: OnOnOn\n" * 100
    assert strip_quoted(text) == text
    assert seen and "On" not in seen[0]


def test_staff_words_relayed_to_the_school_are_bounded(tmp_path: Path, db_url: str) -> None:
    env = make_env(tmp_path, db_url)
    env.feed(mail("school-new-request"), MONDAY_9)
    notice = next(o for o in env.outbox() if o.kind == "new_call").message_id
    raw = mail("staff-commands-and-words-for-the-school", notice_id=notice)
    words = b"I have restarted the filtering appliance. " * 10_000  # 430 KB
    raw = raw.replace(b"Hello Helen,", b"Hello Helen, " + words)
    env.feed(raw, local(2026, 11, 23, 10, 0))
    [relay] = [o for o in env.outbox() if o.kind == "staff_reply"]
    # The default quote limit is 20,000 characters (plain and HTML parts).
    assert len(relay.raw) < 100_000
    assert CUT_NOTE in plain(relay)


def test_long_command_lines_are_shown_cut_in_problems_and_commands() -> None:
    found = grammar.read("#frobnicate " + "x" * 100_000 + "\n#note " + "y" * 100_000)
    assert [len(p) for p in found.problems] and max(len(p) for p in found.problems) < 600
    assert len(found.commands[0].line) < 300
    assert found.commands[0].arg == "y" * 100_000
