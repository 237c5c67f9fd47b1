"""A headteacher's decision by email, end to end: real Dovecot, a real SMTP server, `run --once`.

A forged #authorise changes nothing and the head is told; the head's own reply
to the request email mailbot sent them (as their mail client writes it, from
the email the SMTP server received) authorises the request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import header, plain
from test_staff_end_to_end import Service, kinds

HEAD = "head@oakfield-primary.westshire.sch.uk"
JO = "j.baker@oakfield-primary.westshire.sch.uk"
SPOC = "t.reeves@oakfield-primary.westshire.sch.uk"
TEAM = "network-team@westshire.gov.uk"
SERVER = "mx.westshire.gov.uk"
PASSING = (
    f"Authentication-Results: {SERVER}; dmarc=pass header.from=oakfield-primary.westshire.sch.uk"
)


def reply(mid: str, *, replying_to: str = "", auth: str = PASSING) -> bytes:
    """The head's email with #authorise, as a reply to ``replying_to`` when given."""
    lines = [
        auth,
        f"From: Helen Marsh <{HEAD}>",
        "To: Westshire Schools ICT Support <ictsupport@westshire.gov.uk>",
        "Subject: RE: [ICT-000001] Authorisation needed: Please unblock a website for year 6",
        "Date: Mon, 23 Nov 2026 11:30:00 +0000",
        f"Message-ID: <{mid}@oakfield-primary.westshire.sch.uk>",
    ]
    if replying_to:
        lines += [f"In-Reply-To: {replying_to}", f"References: {replying_to}"]
    body = "#authorise\r\n\r\nGo ahead.\r\nHelen\r\n"
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def deliver_raw(service: Service, raw: bytes, now: str) -> list[Any]:
    service.dovecot.deliver(raw)
    service.cli(now, "run", "--once")
    new = service.smtp.messages[service.seen :]
    service.seen = len(service.smtp.messages)
    return list(new)


@pytest.mark.parametrize("authserv_id", ["", SERVER])
def test_a_forged_authorisation_is_refused_and_the_heads_real_reply_counts(
    tmp_path: Path,
    dovecot: Any,
    smtp_sink: Any,
    capsys: pytest.CaptureFixture[str],
    authserv_id: str,
) -> None:
    service = Service(tmp_path, dovecot, smtp_sink, authserv_id=authserv_id)
    sent = service.deliver("school-service-request-unauthorised", "2026-11-23T09:10")
    [request] = [m for m in sent if m.kind == "authorisation_request"]
    assert request.rcpt_tos == (HEAD,)
    assert "Only a reply to this email counts" in plain(request).replace("\n", " ")

    # Someone writes as the head, without the request email: nothing happens
    # but a note to the real head, in reply to the request they were sent.
    sent = deliver_raw(service, reply("forged-1"), "2026-11-23T10:00")
    assert kinds(sent) == [("decision_refused", [HEAD])]
    warning = sent[0]
    assert header(warning, "In-Reply-To").strip() == header(request, "Message-ID").strip()
    assert "someone may be pretending to be you" in plain(warning)
    shown = service.call("ICT-000001", capsys)
    assert shown["status"] == "awaiting_authorisation"
    assert [e["kind"] for e in shown["events"]].count("decision_refused") == 1

    # The head replies to the request email itself: the request is authorised.
    request_id = header(request, "Message-ID").strip()
    sent = deliver_raw(service, reply("real-1", replying_to=request_id), "2026-11-23T11:30")
    assert kinds(sent) == [
        ("authorisation_result", sorted([JO, SPOC, HEAD])),
        ("staff_update", [TEAM]),
    ]
    assert service.call("ICT-000001", capsys)["status"] == "open"


def test_with_the_server_checking_a_reply_failing_authentication_is_refused(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    service = Service(tmp_path, dovecot, smtp_sink, authserv_id=SERVER)
    sent = service.deliver("school-service-request-unauthorised", "2026-11-23T09:10")
    [request] = [m for m in sent if m.kind == "authorisation_request"]
    failing = PASSING.replace("dmarc=pass", "dmarc=fail")
    raw = reply("stolen-1", replying_to=header(request, "Message-ID").strip(), auth=failing)
    sent = deliver_raw(service, raw, "2026-11-23T11:30")
    assert kinds(sent) == [("decision_refused", [HEAD])]
    assert service.call("ICT-000001", capsys)["status"] == "awaiting_authorisation"
