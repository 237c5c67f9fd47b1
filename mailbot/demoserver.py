"""The demo's IMAP server: pymap's in-memory backend on loopback, inside our event loop."""

from __future__ import annotations

import asyncio
import imaplib
import socket
from argparse import ArgumentParser
from contextlib import AsyncExitStack

from pymap.backend.dict import DictBackend
from pymap.imap import IMAPService


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoImapServer:
    """An empty in-memory mailbox with one user, for `mailbot demo`."""

    def __init__(self, *, username: str = "support@demo.mailbot.test", password: str = "demo"):
        self.username = username
        self.password = password
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

    async def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into the mailbox, as a mail server's delivery would."""
        await asyncio.to_thread(self._append, raw, folder)
