"""Tests for telling mail from people apart from automatic mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.mail.parse import parse_message
from mailbot.mail.screen import Screening, Verdict, screen

MAIL = Path(__file__).resolve().parent / "mail"
OWN = frozenset({"ictsupport@westshire.gov.uk"})


def verdict_of(name: str) -> Screening:
    msg = parse_message((MAIL / f"{name}.eml").read_bytes())
    return screen(msg, own_addresses=OWN)


# --- People ----------------------------------------------------------------


def test_ordinary_request_is_human() -> None:
    result = verdict_of("person-new-request")
    assert result.verdict is Verdict.HUMAN
    assert not result.automatic


def test_auto_submitted_no_is_human() -> None:
    assert verdict_of("auto-submitted-no").verdict is Verdict.HUMAN


def test_message_without_from_is_not_taken_for_a_bounce() -> None:
    assert verdict_of("no-from-header").verdict is Verdict.HUMAN


# --- Our own mail ------------------------------------------------------------


def test_mail_from_our_own_address_is_own_mail() -> None:
    result = verdict_of("own-address-sender")
    assert result.verdict is Verdict.OWN_MAIL
    assert result.automatic


def test_own_address_is_compared_without_case() -> None:
    msg = parse_message((MAIL / "own-address-sender.eml").read_bytes())
    shouting = frozenset({"ICTSupport@Westshire.gov.uk"})
    assert screen(msg, own_addresses=shouting).verdict is Verdict.OWN_MAIL


def test_mail_carrying_our_marker_header_is_own_mail() -> None:
    assert verdict_of("own-marker-header").verdict is Verdict.OWN_MAIL


def test_marker_header_name_is_configurable() -> None:
    msg = parse_message((MAIL / "own-marker-header.eml").read_bytes())
    other = screen(msg, own_addresses=OWN, own_marker="X-Other-Bot")
    assert other.verdict is Verdict.HUMAN


# --- Bounces -----------------------------------------------------------------


def test_null_return_path_is_a_bounce() -> None:
    assert verdict_of("null-sender-bounce").verdict is Verdict.BOUNCE


def test_null_from_address_is_a_bounce() -> None:
    assert verdict_of("null-from-header-bounce").verdict is Verdict.BOUNCE


def test_multipart_report_of_delivery_status_is_a_bounce() -> None:
    result = verdict_of("dsn-multipart-report")
    assert result.verdict is Verdict.BOUNCE
    assert "delivery-status" in result.reason


def test_delivery_status_part_inside_multipart_mixed_is_a_bounce() -> None:
    assert verdict_of("delivery-status-part-in-mixed").verdict is Verdict.BOUNCE


def test_global_delivery_status_part_is_a_bounce() -> None:
    assert verdict_of("global-delivery-status-part").verdict is Verdict.BOUNCE


def test_mailer_daemon_sender_is_a_bounce() -> None:
    assert verdict_of("mailer-daemon-text-bounce").verdict is Verdict.BOUNCE


def test_postmaster_sender_is_a_bounce() -> None:
    assert verdict_of("postmaster-sender").verdict is Verdict.BOUNCE


def test_x_failed_recipients_is_a_bounce() -> None:
    result = verdict_of("x-failed-recipients")
    assert result.verdict is Verdict.BOUNCE
    assert result.reason == "X-Failed-Recipients header"


def test_undeliverable_subject_with_the_returned_message_is_a_bounce() -> None:
    assert verdict_of("undeliverable-subject-with-returned-message").verdict is Verdict.BOUNCE


def test_bounce_subject_with_smtp_status_code_is_a_bounce() -> None:
    assert verdict_of("delivery-subject-with-smtp-status").verdict is Verdict.BOUNCE


def test_delivery_failure_wording_from_a_noreply_sender_is_a_bounce() -> None:
    assert verdict_of("noreply-sender-delivery-failure").verdict is Verdict.BOUNCE


def test_person_describing_a_bounce_is_human() -> None:
    assert verdict_of("person-describes-bounce").verdict is Verdict.HUMAN


def test_person_quoting_an_smtp_error_under_a_bounce_like_subject_is_human() -> None:
    assert verdict_of("person-quotes-smtp-error").verdict is Verdict.HUMAN


def test_person_forwarding_a_bounce_inline_is_human() -> None:
    assert verdict_of("person-forwards-bounce-inline").verdict is Verdict.HUMAN


def test_person_forwarding_a_bounce_as_attachment_is_human() -> None:
    assert verdict_of("person-forwards-bounce-as-attachment").verdict is Verdict.HUMAN


# --- Auto-replies, receipts and reports --------------------------------------


def test_auto_submitted_auto_replied_is_an_auto_reply() -> None:
    result = verdict_of("auto-submitted-auto-replied")
    assert result.verdict is Verdict.AUTO_REPLY
    assert result.reason == "Auto-Submitted: auto-replied"


def test_x_autoreply_header_is_an_auto_reply() -> None:
    assert verdict_of("x-autoreply-header").verdict is Verdict.AUTO_REPLY


def test_x_autorespond_header_is_an_auto_reply() -> None:
    assert verdict_of("x-autorespond-header").verdict is Verdict.AUTO_REPLY


def test_precedence_auto_reply_is_an_auto_reply() -> None:
    assert verdict_of("precedence-auto-reply").verdict is Verdict.AUTO_REPLY


def test_read_receipt_is_an_auto_reply() -> None:
    assert verdict_of("read-receipt-mdn").verdict is Verdict.AUTO_REPLY


def test_abuse_feedback_report_is_an_auto_reply() -> None:
    assert verdict_of("arf-feedback-report").verdict is Verdict.AUTO_REPLY


def test_dmarc_aggregate_report_is_an_auto_reply() -> None:
    result = verdict_of("dmarc-aggregate-report")
    assert result.verdict is Verdict.AUTO_REPLY
    assert result.reason == "DMARC aggregate report"


def test_exchange_automatic_reply_subject_without_headers_is_an_auto_reply() -> None:
    assert verdict_of("automatic-reply-subject").verdict is Verdict.AUTO_REPLY


def test_lotus_auto_subject_is_an_auto_reply() -> None:
    assert verdict_of("lotus-auto-subject").verdict is Verdict.AUTO_REPLY


def test_helpdesk_autoreply_after_ticket_tag_is_an_auto_reply() -> None:
    assert verdict_of("helpdesk-autoreply-tag").verdict is Verdict.AUTO_REPLY


@pytest.mark.parametrize("language", ["german", "french", "dutch", "spanish", "polish", "latvian"])
def test_auto_reply_subject_in_other_languages(language: str) -> None:
    assert verdict_of(f"auto-reply-subject-{language}").verdict is Verdict.AUTO_REPLY


def test_out_of_office_subject_with_away_wording_is_an_auto_reply() -> None:
    assert verdict_of("out-of-office-subject-and-wording").verdict is Verdict.AUTO_REPLY


def test_out_of_office_subject_answering_our_mail_is_an_auto_reply() -> None:
    assert verdict_of("out-of-office-subject-answering-us").verdict is Verdict.AUTO_REPLY


def test_person_mentioning_out_of_office_in_the_body_is_human() -> None:
    assert verdict_of("person-mentions-out-of-office").verdict is Verdict.HUMAN


def test_person_asking_about_their_out_of_office_is_human() -> None:
    assert verdict_of("person-asks-about-out-of-office").verdict is Verdict.HUMAN


def test_person_who_is_away_and_asks_for_something_is_human() -> None:
    assert verdict_of("person-away-asks-for-help").verdict is Verdict.HUMAN


def test_person_replying_on_an_out_of_office_thread_is_human() -> None:
    assert verdict_of("person-replies-about-out-of-office").verdict is Verdict.HUMAN


def test_null_sender_with_out_of_office_wording_is_an_auto_reply() -> None:
    assert verdict_of("null-sender-out-of-office").verdict is Verdict.AUTO_REPLY


def test_groupwise_rule_forward_of_a_person_is_human() -> None:
    assert verdict_of("rule-forward-by-groupwise").verdict is Verdict.HUMAN


def test_x_auto_response_suppress_alone_is_an_auto_reply() -> None:
    result = verdict_of("x-auto-response-suppress-only")
    assert result.verdict is Verdict.AUTO_REPLY
    assert result.reason == "X-Auto-Response-Suppress: All"


def test_list_software_returning_a_post_is_an_auto_reply() -> None:
    assert verdict_of("list-software-returns-post").verdict is Verdict.AUTO_REPLY


# --- Lists and bulk ----------------------------------------------------------


@pytest.mark.parametrize("value", ["bulk", "junk", "list"])
def test_precedence_bulk_junk_or_list_is_bulk(value: str) -> None:
    result = verdict_of(f"precedence-{value}")
    assert result.verdict is Verdict.BULK
    assert result.reason == f"Precedence: {value}"


@pytest.mark.parametrize(
    "name",
    [
        "list-id-header",
        "list-unsubscribe-newsletter",
        "list-post-header",
        "mailing-list-header",
        "x-mailman-header",
    ],
)
def test_mailing_list_headers_are_bulk(name: str) -> None:
    assert verdict_of(name).verdict is Verdict.BULK


@pytest.mark.parametrize("name", ["feedback-id-campaign", "x-campaign-header"])
def test_campaign_headers_are_bulk(name: str) -> None:
    assert verdict_of(name).verdict is Verdict.BULK


@pytest.mark.parametrize(
    "name", ["noreply-sender", "do-not-reply-sender", "donotreply-sender", "notifications-sender"]
)
def test_senders_nobody_reads_are_bulk(name: str) -> None:
    assert verdict_of(name).verdict is Verdict.BULK


def test_list_mail_that_also_suppresses_auto_replies_is_bulk() -> None:
    assert verdict_of("list-mail-asking-no-auto-replies").verdict is Verdict.BULK


# --- Order of the checks -----------------------------------------------------


def test_own_mail_wins_over_auto_reply_headers() -> None:
    assert verdict_of("own-mail-echo").verdict is Verdict.OWN_MAIL


def test_bounce_wins_over_bulk_headers() -> None:
    raw = (MAIL / "dsn-multipart-report.eml").read_bytes()
    msg = parse_message(b"Precedence: bulk\nList-Id: <x.example.org>\n" + raw)
    assert screen(msg, own_addresses=OWN).verdict is Verdict.BOUNCE


def test_auto_reply_wins_over_bulk_headers() -> None:
    raw = (MAIL / "auto-submitted-auto-replied.eml").read_bytes()
    msg = parse_message(b"Precedence: bulk\n" + raw)
    assert screen(msg, own_addresses=OWN).verdict is Verdict.AUTO_REPLY


def test_every_verdict_but_human_is_automatic() -> None:
    automatic = {v for v in Verdict if Screening(v, "").automatic}
    assert automatic == set(Verdict) - {Verdict.HUMAN}
