"""Tests for turning an HTML body into readable text."""

from __future__ import annotations

from mailbot.mail.htmltext import html_to_text


def test_links_keep_their_text_and_address() -> None:
    text = html_to_text('<p>See <a href="https://oakfield.sch.uk/form">the form</a>.</p>')
    assert text == "See [the form](https://oakfield.sch.uk/form).\n"


def test_long_paragraph_is_not_wrapped() -> None:
    sentence = "word " * 100
    assert html_to_text(f"<p>{sentence}</p>").strip() == sentence.strip()


def test_style_and_images_are_left_out() -> None:
    html = '<style>p {color: red}</style><p>Hi<img src="cid:logo" alt="Logo"></p>'
    assert html_to_text(html) == "Hi\n"


def test_markdown_escapes_and_hard_breaks_are_undone() -> None:
    html = "<p>Thanks<br>--<br>Anna<br>1. First point</p>"
    assert html_to_text(html) == "Thanks\n--\nAnna\n1. First point\n"


def test_layout_tables_become_plain_lines() -> None:
    html = "<table><tr><td>Room 4</td></tr><tr><td>Projector</td></tr></table>"
    text = html_to_text(html)
    assert "Room 4" in text and "Projector" in text
    assert "|" not in text


def test_quoted_blockquote_is_marked_as_quoted() -> None:
    text = html_to_text("<p>Yes</p><blockquote>Is it fixed?</blockquote>")
    assert "> Is it fixed?" in text
