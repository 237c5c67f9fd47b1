"""The demo's SMTP server: aiosmtpd on loopback, keeping what mailbot sends in memory."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes


@dataclass
class _Keep:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages.append(
            Received(envelope.mail_from or "", tuple(envelope.rcpt_tos), bytes(content))
        )
        return "250 OK"


class SinkServer:
    """Accepts every message on a loopback port (its own thread) and keeps it."""

    def __init__(self) -> None:
        self._handler = _Keep()
        self.host = "127.0.0.1"
        with socket.socket() as probe:
            probe.bind((self.host, 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(self._handler, hostname=self.host, port=self.port)

    @property
    def messages(self) -> list[Received]:
        """Everything received so far, in order."""
        return self._handler.messages

    async def start(self) -> None:
        """Start the server thread."""
        self._controller.start()

    async def stop(self) -> None:
        """Stop the server thread."""
        self._controller.stop()
