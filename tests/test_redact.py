"""Tests for removing passwords that schools send unprompted."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.mail.redact import MARK, redact


def test_password_is_sentence_keeps_the_words_around_the_secret() -> None:
    result = redact("In case you need it, the admin password is Tr0ub4dor&3. Thanks")
    assert result.found
    assert result.text == f"In case you need it, the admin password is {MARK}. Thanks"


def test_password_with_colon() -> None:
    assert redact("Password: Winter2026").text == f"Password: {MARK}"


def test_password_with_equals_sign() -> None:
    assert redact("pwd=abc123 for the router").text == f"pwd={MARK} for the router"


def test_quoted_password_with_spaces_is_removed_inside_the_quotes() -> None:
    assert redact("The passphrase is 'correct horse 42'.").text == f"The passphrase is '{MARK}'."


def test_password_for_a_named_device_across_a_line_break() -> None:
    text = "the admin password for the filtering box\nis Tr0ub4dor&3."
    assert redact(text).text == f"the admin password for the filtering box\nis {MARK}."


def test_password_that_was_set_or_changed() -> None:
    assert redact("The password was changed to Summer24").text == (
        f"The password was changed to {MARK}"
    )
    assert redact("Your password has been reset to Temp1234.").text == (
        f"Your password has been reset to {MARK}."
    )
    assert redact("passcode set to 998877").text == f"passcode set to {MARK}"


def test_new_password_line() -> None:
    assert redact("new password: Kestrel!9\nThanks").text == f"new password: {MARK}\nThanks"


def test_username_then_password_on_one_line() -> None:
    assert redact("username jsmith password Hunter22").text == f"username jsmith password {MARK}"


def test_username_then_password_without_connector_needs_a_made_up_secret() -> None:
    assert not redact("username jsmith password change needed").found
    assert redact("username: jsmith password: sunshine").text == (
        f"username: jsmith password: {MARK}"
    )


def test_pin_number_and_wifi_key() -> None:
    assert redact("The PIN number is 4821").text == f"The PIN number is {MARK}"
    assert redact("the wifi key is Sch00l2024").text == f"the wifi key is {MARK}"


def test_login_and_pass_pair() -> None:
    assert redact("login: jsmith / pass: s3cret!").text == f"login: jsmith / pass: {MARK}"


def test_username_and_password_lines() -> None:
    text = "Username: admin\nPassword: Tr0ub4dor\n"
    assert redact(text).text == f"Username: admin\nPassword: {MARK}\n"


def test_pin_needs_a_digit() -> None:
    assert redact("The PIN is 4821").text == f"The PIN is {MARK}"
    assert not redact("the pin is bent on the plug").found


def test_plain_word_password_is_removed() -> None:
    assert redact("the wifi password is sunshine today").text == (
        f"the wifi password is {MARK} today"
    )


def test_dash_needs_a_made_up_looking_secret() -> None:
    assert redact("Wifi password - Sch00lNet").text == f"Wifi password - {MARK}"
    assert not redact("Can you reset the password for Mrs Smith - she is locked out").found


@pytest.mark.parametrize(
    "text",
    [
        "I forgot my password",
        "password reset please",
        "the password doesn't work",
        "can you reset the password for the office PC",
        "Can you reset the password for the office PC?",
        "my password is expired",
        "the password is not working since Monday",
        "The password is correct but the login fails",
        "Password is case sensitive",
        "The password is 8 characters long",
        "the password for the office PC is the one on the card",
        "My password is my date of birth",
        "I need the password to the server: can you send it",
        "Password: reset please",
        "Please pass: the salt",
        "We passed the inspection",
        "Password: the one on the card",
        "Password: same as before please",
        "Hi,\n\nPassword\nI can't remember it",
        "password 2FA is on for the office",
        "reset my password please",
        "Password Manager will not open",
        'MY.!3].N:E-^EARO/+PW:2"%TQD',
    ],
)
def test_requests_and_remarks_about_passwords_are_unchanged(text: str) -> None:
    result = redact(text)
    assert result == type(result)(text, False)


def test_a_made_up_first_word_after_a_colon_is_the_secret_and_the_rest_stays() -> None:
    assert redact("Password: Hunter44 - please change it").text == (
        f"Password: {MARK} - please change it"
    )


def test_a_passphrase_after_a_colon_goes_whole() -> None:
    assert redact("password: correct horse battery staple\nThanks").text == (
        f"password: {MARK}\nThanks"
    )


def test_several_secrets_in_one_text() -> None:
    text = "user: bob, password: hunter2\nThe door PIN is 1234."
    assert redact(text).text == f"user: bob, password: {MARK}\nThe door PIN is {MARK}."


def test_empty_text() -> None:
    assert redact("") == type(redact(""))("", False)


# --- Properties -------------------------------------------------------------

TEMPLATES = (
    "the admin password is {}",
    "Hi,\nPassword: {}\nThanks",
    "password = {}",
    "The new password was set to {}.",
    "username jsmith password {}",
    "login: jsmith / pass: {}",
    'Our wifi passcode is "{}" for now.',
    "the password for the filtering box is {}, thanks",
    "The PIN is {}",
    "new password: {}\nRegards",
    "pwd={}",
    "In case you need it the password has been changed to {} today",
)

# Planted secrets always hold a digit, so they cannot hide inside the words
# of a template and cannot be mistaken for an ordinary word.
secrets = st.text(
    alphabet=string.ascii_letters + string.digits + "!#$%&*+-_@?^~",
    min_size=3,
    max_size=24,
).filter(lambda s: any(c.isdigit() for c in s))

_WORDS = "password Password PIN pwd pass is was : = - the my username bob reset please not"
_MORE = "Tr0ub4dor hunter2 . , working"
words = st.sampled_from(
    (*_WORDS.split(), *_MORE.split(), "set to", "'x1 y'", '"', "\n", MARK, "for the box")
)
texts = st.lists(words, max_size=14).map(" ".join) | st.text(max_size=80)


@given(st.sampled_from(TEMPLATES), secrets)
def test_planted_secret_never_survives(template: str, secret: str) -> None:
    result = redact(template.format(secret))
    assert result.found
    assert secret not in result.text


@given(texts)
def test_redacting_twice_changes_nothing_more(text: str) -> None:
    once = redact(text).text
    assert redact(once).text == once


def _has_password_word(text: str) -> bool:
    folded = text.casefold()
    # Every word redact knows, in any language or spelling, and the words
    # that introduce a user name and password pair.
    words = ("pass", "pw", "p/w", "w0rd", "word", "pin", "kennwort", "wacht", "contrase", "cyfrin")
    return any(w in folded for w in (*words, "cred", "login", "logon", "account", "user"))


@given(st.text(max_size=200).filter(lambda t: not _has_password_word(t)))
def test_text_without_password_words_is_unchanged(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert not result.found
