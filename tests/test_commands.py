"""Tests for the command grammar: `#assign sam`-style lines read from the top of an email."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.calls.commandhelp import FIRST_SHOWN, USAGE, help_lines, usage_lines
from mailbot.calls.references import references
from mailbot.commands.grammar import ALIASES, priority_word, read, status_word, type_word

# The priorities of the shipped rules (rules/sla.toml), as staffcommands passes them.
KNOWN = ("Critical", "P1", "P2", "P3", "P4")


def pairs(text: str) -> list[tuple[str, str]]:
    return [(c.name, c.arg) for c in read(text).commands]


# --- read: the command block ---------------------------------------------------


def test_commands_at_the_top_are_read_in_order_with_their_arguments() -> None:
    text = "#assign sam\n#priority P2\n#status awaiting customer\n\nRouter replaced.\n"
    found = read(text)
    assert pairs(text) == [("assign", "sam"), ("priority", "P2"), ("status", "awaiting customer")]
    assert found.problems == ()
    assert found.body == "Router replaced."


def test_each_command_keeps_its_line_as_written() -> None:
    found = read("  # Priority: 2  \nThanks")
    assert [c.line for c in found.commands] == ["# Priority: 2"]


def test_case_of_the_command_word_does_not_matter() -> None:
    assert pairs("#ASSIGN sam\n#Priority P1\n#sTaTuS open") == [
        ("assign", "sam"),
        ("priority", "P1"),
        ("status", "open"),
    ]


def test_case_of_the_argument_is_kept() -> None:
    assert pairs("#status Awaiting Customer") == [("status", "Awaiting Customer")]


def test_spaces_after_the_hash_do_not_matter() -> None:
    assert pairs("# assign sam\n#   priority P3\n#\tsolved") == [
        ("assign", "sam"),
        ("priority", "P3"),
        ("solved", ""),
    ]


def test_a_colon_after_the_word_is_not_part_of_the_argument() -> None:
    assert pairs("#priority: P2\n#assign:sam\n#status : in progress") == [
        ("priority", "P2"),
        ("assign", "sam"),
        ("status", "in progress"),
    ]


def test_hyphens_and_underscores_in_the_word_do_not_matter() -> None:
    assert pairs("#un-assign\n#Un_Assign\n#author-ise\n#dead_line 2026-12-04 agreed") == [
        ("unassign", ""),
        ("unassign", ""),
        ("authorise", ""),
        ("deadline", "2026-12-04 agreed"),
    ]


def test_spaces_around_the_argument_are_stripped() -> None:
    assert pairs("#assign \t sam okafor \t") == [("assign", "sam okafor")]


def test_aliases_name_their_canonical_command() -> None:
    assert pairs("#prio 1\n#fixed\n#private\n#authorize\n#assignee jo") == [
        ("priority", "1"),
        ("solved", ""),
        ("note", ""),
        ("authorise", ""),
        ("assign", "jo"),
    ]


def test_every_alias_names_a_command_listed_in_usage() -> None:
    assert set(ALIASES.values()) == set(USAGE)


def test_a_full_width_number_sign_starts_a_command() -> None:
    # Phones set to East Asian keyboards type U+FF03 for "#".
    assert pairs("＃assign sam") == [("assign", "sam")]


def test_commands_may_be_separated_by_blank_lines() -> None:
    text = "#assign sam\n\n   \n#priority P2\n\t\n#note\n\nChecked the switch."
    assert pairs(text) == [("assign", "sam"), ("priority", "P2"), ("note", "")]
    assert read(text).body == "Checked the switch."


def test_blank_lines_before_the_first_command_are_skipped() -> None:
    assert pairs("\n\n  \n#take\nOn it.") == [("take", "")]


def test_the_first_ordinary_line_ends_the_commands_and_starts_the_body() -> None:
    text = "#assign sam\nPlease look at this today.\n#priority P1\n"
    found = read(text)
    assert pairs(text) == [("assign", "sam")]
    assert found.body == "Please look at this today.\n#priority P1"
    assert found.problems == ()


def test_a_hash_line_below_the_body_start_stays_in_the_body() -> None:
    found = read("Hello\n\n#unknownword here\n#assign sam")
    assert found.commands == ()
    assert found.problems == ()
    assert found.body == "Hello\n\n#unknownword here\n#assign sam"


@pytest.mark.parametrize(
    "line", ["#1 priority is the hall", "# 3 pupils cannot log in", "#", "#!", "#-assign sam"]
)
def test_a_hash_not_followed_by_a_letter_is_ordinary_text(line: str) -> None:
    found = read(f"{line}\n#assign sam")
    assert found.commands == ()
    assert found.problems == ()
    assert found.body == f"{line}\n#assign sam"


def test_text_without_commands_is_all_body() -> None:
    found = read("\n\nHi,\n\nthe projector in room 4 is dead.\n\n")
    assert found.commands == ()
    assert found.problems == ()
    assert found.body == "Hi,\n\nthe projector in room 4 is dead."


def test_empty_text_has_no_commands_and_no_body() -> None:
    for text in ("", "\n", "  \n\t\n"):
        assert read(text).commands == ()
        assert read(text).body == ""
        assert read(text).problems == ()


def test_commands_alone_leave_an_empty_body() -> None:
    found = read("#solved\n\n")
    assert pairs("#solved\n\n") == [("solved", "")]
    assert found.body == ""


def test_a_near_miss_is_a_problem_that_suggests_the_command() -> None:
    found = read("#asign sam\n\nThanks")
    assert found.commands == ()
    assert found.problems == ("#asign sam: there is no command #asign; did you mean #assign?",)
    assert found.body == "Thanks"


def test_an_unknown_word_is_a_problem_that_points_to_help() -> None:
    found = read("#frobnicate the router")
    assert found.problems == (
        "#frobnicate the router: there is no command #frobnicate; reply with #help for the list",
    )


def test_a_problem_does_not_end_the_command_block() -> None:
    found = read("#asign sam\n#priority P2\nBody")
    assert pairs("#asign sam\n#priority P2\nBody") == [("priority", "P2")]
    assert len(found.problems) == 1
    assert found.body == "Body"


def test_named_gives_the_first_command_of_that_name() -> None:
    found = read("#note first\n#assign sam\n#note second")
    note = found.named("note")
    assert note is not None
    assert note.arg == "first"
    assert found.named("priority") is None


def test_crlf_text_is_read_like_lf_text() -> None:
    crlf = "#assign sam\r\n\r\n#priority P2\r\n\r\nLine one\r\nLine two\r\n"
    found = read(crlf)
    assert pairs(crlf) == [("assign", "sam"), ("priority", "P2")]
    assert found.body == "Line one\nLine two"
    assert found == read(crlf.replace("\r\n", "\n"))


def test_bare_cr_line_endings_are_read_as_lines() -> None:
    found = read("#assign sam\r#priority P2\rBody")
    assert pairs("#assign sam\r#priority P2\rBody") == [("assign", "sam"), ("priority", "P2")]
    assert found.body == "Body"


# --- the words of the arguments ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Awaiting Customer", "awaiting_customer"),
        ("awaiting_customer", "awaiting_customer"),
        ("waiting on school", "awaiting_customer"),
        ("on hold", "awaiting_customer"),
        ("in-progress", "in_progress"),
        ("In Progress", "in_progress"),
        ("fixed", "solved"),
        ("Resolved.", "solved"),
        ("reopen", "open"),
        ("closed", "closed"),
    ],
)
def test_status_word_reads_forgiving_spellings(text: str, status: str) -> None:
    assert status_word(text) == status


@pytest.mark.parametrize("text", ["", "banana", "awaiting customer please", "in progres"])
def test_status_word_is_none_for_nonsense(text: str) -> None:
    assert status_word(text) is None


@pytest.mark.parametrize(
    ("text", "priority"),
    [
        ("p2", "P2"),
        ("P2", "P2"),
        ("2", "P2"),
        ("Priority 2", "P2"),
        ("priority P4", "P4"),
        ("P1.", "P1"),
        ("crit", "Critical"),
        ("critical", "Critical"),
        ("CRITICAL", "Critical"),
    ],
)
def test_priority_word_reads_forgiving_spellings(text: str, priority: str) -> None:
    assert priority_word(text, KNOWN) == priority


@pytest.mark.parametrize("text", ["P7", "7", "", "P", "cr", "high", "P22"])
def test_priority_word_is_none_for_unknown_priorities(text: str) -> None:
    assert priority_word(text, KNOWN) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("service request", "service_request"),
        ("Service-Request", "service_request"),
        ("SR", "service_request"),
        ("change", "change_request"),
        ("CR", "change_request"),
        ("incident.", "incident"),
        ("fault", "incident"),
        ("complaint", "complaint"),
    ],
)
def test_type_word_reads_forgiving_spellings(text: str, kind: str) -> None:
    assert type_word(text) == kind


@pytest.mark.parametrize("text", ["", "question", "service"])
def test_type_word_is_none_for_unknown_types(text: str) -> None:
    assert type_word(text) is None


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("ICT-120", ("ICT-000120",)),
        ("[ict-000121] and ICT 5", ("ICT-000121", "ICT-000005")),
        ("ICT-120, [ict-000121] and ICT 5", ("ICT-000120", "ICT-000121", "ICT-000005")),
        ("ict120; ICT-000120 & ICT-7", ("ICT-000120", "ICT-000007")),
    ],
)
def test_references_reads_every_call_reference(text: str, refs: tuple[str, ...]) -> None:
    assert references(text, "ICT", 6) == refs


@pytest.mark.parametrize(
    "text", ["", "no calls here", "ICT-120 please", "see ICT-120", "ICT-120 or ICT-121", "ICT-"]
)
def test_references_refuses_text_with_other_words(text: str) -> None:
    assert references(text, "ICT", 6) is None


# --- the help texts ------------------------------------------------------------


def test_help_lines_give_usage_then_summary_for_every_command() -> None:
    lines = help_lines()
    assert len(lines) == 2 * len(USAGE)
    for (usage, summary), written, explained in zip(
        USAGE.values(), lines[::2], lines[1::2], strict=True
    ):
        assert written == usage
        assert explained.strip() == summary


def test_help_lines_fit_in_72_characters() -> None:
    assert all(len(line) <= 72 for line in help_lines())


def test_usage_lines_fit_in_66_characters() -> None:
    assert usage_lines()
    assert all(len(line) <= 66 for line in usage_lines())


def test_usage_lines_keep_each_command_on_one_line() -> None:
    # "#priority P1-P4" split over two lines would read as two things.
    lines = usage_lines()
    for shown in FIRST_SHOWN:
        assert any(shown in line for line in lines), shown


# --- properties ----------------------------------------------------------------

# Generated lines may hold any character but the line breaks read() splits on;
# lone surrogates are left out because mail text is valid Unicode by then.
_IN_LINE = st.characters(codec="utf-8", exclude_characters="\r\n")
_LINE = st.text(_IN_LINE, max_size=30)
# Some generated lines look like commands, or nearly, so that both sides of
# the grammar are exercised and not only random text.
_HASHY = st.builds(
    str.__add__,
    st.sampled_from(["#", "＃", "# ", "#1 ", "#assign ", "# Priority: ", "#asign ", " #note"]),
    _LINE,
)


def _first_text_line(text: str) -> str | None:
    return next((line for line in text.split("\n") if line.strip()), None)


def _starts_ordinary(body: str) -> bool:
    first = _first_text_line(body)
    return first is None or not first.lstrip().startswith(("#", "＃"))


_BODIES = (
    st.lists(st.one_of(_LINE, _HASHY, st.just("")), max_size=6)
    .map("\n".join)
    .filter(_starts_ordinary)
)
# Arguments are generated as the command means them: nothing to strip at
# either end, and no leading colon (a colon after the word is punctuation).
_ARGS = st.text(_IN_LINE, max_size=20).filter(lambda a: a == a.strip() and not a.startswith(":"))


@st.composite
def _written_word(draw: st.DrawFn) -> tuple[str, str]:
    """An alias, and how someone typed it: any case, hyphens or underscores inside."""
    word = draw(st.sampled_from(sorted(ALIASES)))
    upper = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    size = len(word) - 1
    joins = draw(st.lists(st.sampled_from(["", "", "", "-", "_"]), min_size=size, max_size=size))
    written = "".join(
        join + (ch.upper() if up else ch)
        for ch, up, join in zip(word, upper, ["", *joins], strict=True)
    )
    return word, written


@st.composite
def _command_line(draw: st.DrawFn) -> tuple[str, str, str]:
    """A command line as typed, with the command and argument it should read as."""
    word, written = draw(_written_word())
    arg = draw(_ARGS)
    hash_sign = draw(st.sampled_from(["#", "＃"]))
    spaces = draw(st.sampled_from(["", " ", "  ", "\t"]))
    # Without a space or colon after the word, an argument would run into it.
    sep = draw(st.sampled_from([" ", "\t", ":", ": ", " : "] if arg else ["", ":", " "]))
    pad = draw(st.sampled_from(["", " ", "\t ", "  "]))
    return f"{hash_sign}{spaces}{written}{sep}{arg}{pad}", ALIASES[word], arg


_BLANKS = st.lists(st.sampled_from(["", " ", "\t", "  "]), max_size=2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_command_line(), _BLANKS), max_size=5), _BODIES)
def test_read_returns_exactly_the_commands_written_and_the_body(
    written: list[tuple[tuple[str, str, str], list[str]]], body: str
) -> None:
    lines = [part for (line, _, _), blanks in written for part in (line, *blanks)]
    found = read("\n".join([*lines, body]))
    assert [(c.name, c.arg) for c in found.commands] == [(n, a) for (_, n, a), _ in written]
    assert [c.line for c in found.commands] == [line.strip() for (line, _, _), _ in written]
    assert found.problems == ()
    assert found.body == body.strip()


_ANY_TEXT = st.one_of(
    st.text(),
    st.tuples(
        st.lists(st.one_of(_HASHY, _LINE, st.just("")), max_size=8),
        st.sampled_from(["\n", "\r\n", "\r"]),
    ).map(lambda lines_eol: lines_eol[1].join(lines_eol[0])),
)


@settings(max_examples=200, deadline=None)
@given(_ANY_TEXT)
def test_read_never_loses_a_line(text: str) -> None:
    found = read(text)
    # Lines are split as read() splits them: CRLF, CR and LF all end a line.
    for line in re.split(r"\r\n|\r|\n", text):
        kept = line.strip()
        if not kept:
            continue
        assert (
            kept in found.body
            or any(c.line == kept for c in found.commands)
            or any(kept in p for p in found.problems)
        ), line
