"""The demo's IMAP server: pymap's in-memory backend on loopback, inside our event loop."""

from __future__ import annotations

import asyncio
import email.utils
import imaplib
import socket
from argparse import ArgumentParser
from contextlib import AsyncExitStack

from pymap.backend.dict import DictBackend
from pymap.imap import IMAPService

# The authserv-id the demo's "receiving server" writes; the demo's
# configuration names it, as a real one names the council's mail server.
DEMO_AUTHSERV = "mx.demo.mailbot.test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoImapServer:
    """An empty in-memory mailbox with one user, for `mailbot demo`."""

    def __init__(
        self,
        *,
        username: str = "support@demo.mailbot.test",
        password: str = "demo",
        authserv_id: str = DEMO_AUTHSERV,
    ):
        self.username = username
        self.password = password
        self.authserv_id = authserv_id
        self.host = "127.0.0.1"
        self.port = 0
        self._stack: AsyncExitStack | None = None

    async def start(self) -> None:
        """Start serving on a free loopback port."""
        self.port = _free_port()
        # pymap is configured through its command-line arguments; build them
        # the way its own entry point does, with TLS off (loopback only).
        parser = ArgumentParser()
        backends = parser.add_subparsers(dest="backend")
        DictBackend.add_subparser("dict", backends)
        IMAPService.add_arguments(parser)
        args = parser.parse_args(
            [
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--no-tls",
                "dict",
                "--demo-user",
                self.username,
                "--demo-password",
                self.password,
            ]
        )
        args.skip_services, args.passlib_cfg, args.debug = [], None, False
        backend, config = await DictBackend.init(args)
        config.apply_context()
        self._stack = AsyncExitStack()
        await backend.start(self._stack)
        await IMAPService(backend, config).start(self._stack)

    async def stop(self) -> None:
        """Stop serving and drop the mailbox."""
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    def _append(self, raw: bytes, folder: str) -> None:
        client = imaplib.IMAP4(self.host, self.port)
        try:
            client.login(self.username, self.password)
            client.append(folder, "", None, raw)
        finally:
            client.logout()

    def stamped(self, raw: bytes) -> bytes:
        """``raw`` with the Authentication-Results a receiving server adds on delivery.

        Every demo email is genuine, so the demo's server reports DMARC passed
        for the From domain, as the council's server would after checking the
        sender's DKIM signature and SPF record.
        """
        head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
        from_line = next(
            (line for line in head.splitlines() if line.lower().startswith(b"from:")), b""
        )
        _name, addr = email.utils.parseaddr(from_line[5:].decode("utf-8", "replace"))
        domain = addr.rpartition("@")[2]
        if not domain:
            return raw
        line = f"Authentication-Results: {self.authserv_id}; dmarc=pass header.from={domain}\r\n"
        return line.encode() + raw

    async def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into the mailbox, as a mail server's delivery would (see stamped)."""
        await asyncio.to_thread(self._append, self.stamped(raw), folder)
