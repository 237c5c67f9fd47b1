"""An aiosmtpd sink on loopback that records what it receives and can refuse on demand."""

from __future__ import annotations

import asyncio
import base64
import binascii
import email
import json
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from certs import Certificate, make_certificate
from servers import HOST, free_port

# Kinds of mail mailbot sends to staff rather than to schools.
STAFF_KINDS = frozenset(
    {
        "new_call",
        "school_reply",
        "receipt",
        "staff_update",
        "escalation1",
        "escalation2",
        "breach",
        "assigned",
        "poor_rating",
    }
    | {"change_review", "change_reminder", "change_update"}
)


@dataclass(frozen=True)
class Received:
    """One message as the sink accepted it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    # Whether the client asked for SMTPUTF8 in MAIL FROM (RFC 6531).
    smtputf8: bool = False

    @property
    def kind(self) -> str:
        """What mailbot says this email is (its X-Mailbot-Id header), e.g. "confirmation"."""
        return str(email.message_from_bytes(self.raw).get("X-Mailbot-Id", ""))


@dataclass
class _Handler:
    """aiosmtpd's DATA hook; it runs on the controller's thread, hence the lock."""

    messages: list[Received] = field(default_factory=list)
    failures_left: int = 0
    failure_code: int = 451
    reject_code: int | None = None
    # Seconds each message takes to accept, so that a test can catch a sender mid-batch.
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The client's address and port of each accepted message: one per connection.
    peers: list[object] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.reject_code is not None:
                return f"{self.reject_code} 5.7.1 refused by the test"
            if self.failures_left > 0:
                self.failures_left -= 1
                return f"{self.failure_code} 4.3.0 try again later"
            content = envelope.original_content or b""
            self.messages.append(
                Received(
                    envelope.mail_from or "",
                    tuple(envelope.rcpt_tos),
                    bytes(content),
                    bool(envelope.smtp_utf8),
                )
            )
            self.peers.append(session.peer)
        return "250 2.0.0 OK"


class SmtpSink:
    """An SMTP server on a loopback port; with ``starttls`` it offers STARTTLS.

    ``stop()`` and ``start()`` simulate an outage: the port stays the same.
    With ``smtputf8`` it offers SMTPUTF8 (internationalised addresses).
    """

    def __init__(self, *, starttls: bool = False, smtputf8: bool = False) -> None:
        self.host = HOST
        self._smtputf8 = smtputf8
        self.port = free_port()
        self._handler = _Handler()
        self._controller: Controller | None = None
        self._tls: ssl.SSLContext | None = None
        self.ca_file: str | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        if starttls:
            self._workdir = tempfile.TemporaryDirectory(prefix="mailbot-smtp-")
            certificate = make_certificate(Path(self._workdir.name))
            self._tls = _server_context(certificate)
            self.ca_file = certificate.ca_file
        self.start()

    @property
    def peers(self) -> list[object]:
        """The client end (address, port) each message came over, in the order accepted."""
        with self._handler.lock:
            return list(self._handler.peers)

    @property
    def messages(self) -> list[Received]:
        """Everything accepted so far, in order."""
        with self._handler.lock:
            return list(self._handler.messages)

    def of_kind(self, *kinds: str) -> list[Received]:
        """What was accepted of these kinds (the X-Mailbot-Id mailbot puts on its mail)."""
        return [m for m in self.messages if m.kind in kinds]

    def to_schools(self) -> list[Received]:
        """What was accepted except mailbot's notices to staff."""
        return [m for m in self.messages if m.kind not in STAFF_KINDS]

    def start(self) -> None:
        """Start listening (again)."""
        if self._controller is not None:
            return
        utf8 = self._smtputf8
        if self._tls is not None:
            controller = Controller(
                self._handler,
                hostname=self.host,
                port=self.port,
                tls_context=self._tls,
                enable_SMTPUTF8=utf8,
            )
        else:
            controller = Controller(
                self._handler, hostname=self.host, port=self.port, enable_SMTPUTF8=utf8
            )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening; connections are refused until ``start()``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def close(self) -> None:
        """Stop for good and remove the certificate files."""
        self.stop()
        if self._workdir is not None:
            self._workdir.cleanup()

    def fail_next(self, n: int, code: int = 451) -> None:
        """Answer the next ``n`` messages with a transient (4xx) or other ``code``."""
        with self._handler.lock:
            self._handler.failures_left, self._handler.failure_code = n, code

    def reject_all(self, code: int = 550) -> None:
        """Refuse every message from now on with a permanent ``code``."""
        with self._handler.lock:
            self._handler.reject_code = code

    def slow_down(self, seconds: float) -> None:
        """Take ``seconds`` over accepting each message from now on (0 for full speed)."""
        with self._handler.lock:
            self._handler.delay = seconds

    def accept_all(self) -> None:
        """Undo ``fail_next`` and ``reject_all``."""
        with self._handler.lock:
            self._handler.failures_left, self._handler.reject_code = 0, None


def _server_context(certificate: Certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    return context


# --- a relay that takes only XOAUTH2 ------------------------------------------------

TokenCheck = Callable[[str, str], bool]


class _XOAuth2Smtp(SMTP):
    """aiosmtpd with one SASL mechanism, XOAUTH2, checking each token with ``check``."""

    def __init__(self, handler: object, *, check: TokenCheck, tally: dict[str, int], **kw: object):
        super().__init__(handler, **kw)  # type: ignore[arg-type]
        self._check, self._tally = check, tally

    async def auth_XOAUTH2(self, _: SMTP, args: list[str]) -> AuthResult:
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, handled=False)
        else:
            answer = await self.challenge_auth("")
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=False)
            blob = answer
        fields = dict(
            part.split("=", 1)
            for part in blob.decode(errors="replace").split("\x01")
            if "=" in part
        )
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        if self._check(token, user):
            self._tally["accepted"] += 1
            return AuthResult(success=True, handled=False, auth_data=user)
        self._tally["refused"] += 1
        # As Gmail and Exchange do: the error as a challenge, then 535 after the empty reply.
        error = json.dumps({"status": "401", "schemes": "bearer"}).encode()
        await self.challenge_auth(error)
        return AuthResult(success=False, handled=False)


class OAuthSmtpSink(SmtpSink):
    """An SMTP sink with STARTTLS that accepts mail only after AUTH XOAUTH2 with a valid token.

    ``check(token, user)`` says whether a token is good for that user.
    """

    def __init__(self, check: TokenCheck) -> None:
        self._check = check
        self.tally = {"accepted": 0, "refused": 0}
        super().__init__(starttls=True)

    def start(self) -> None:
        if self._controller is not None:
            return
        check, tally = self._check, self.tally

        class _Controller(Controller):
            def factory(self) -> SMTP:
                return _XOAuth2Smtp(
                    self.handler,
                    check=check,
                    tally=tally,
                    auth_required=True,
                    auth_exclude_mechanism=["LOGIN", "PLAIN"],
                    **self.SMTP_kwargs,
                )

        controller = _Controller(
            self._handler, hostname=self.host, port=self.port, tls_context=self._tls
        )
        controller.start()
        self._controller = controller
