"""Read the support mailbox with imapclient: batches by UID, moves, IDLE, reconnects."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError

from mailbot.errors import TransientError

log = logging.getLogger(__name__)

# RFC 2177: clients should re-issue IDLE at least every 29 minutes.
_MAX_IDLE = 29 * 60.0


@dataclass(frozen=True)
class ImapSettings:
    """Where the support mailbox is and how to reach it."""

    host: str
    port: int
    username: str
    password: str
    security: Literal["ssl", "starttls", "none"] = "ssl"
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    ca_file: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class Fetched:
    """One message: its bytes, or only its header block when over the size limit."""

    uid: int
    size: int
    raw: bytes
    truncated: bool


_NETWORK_ERRORS = (OSError, socket.timeout, ssl.SSLError, IMAPClientError)


def _ensure_folder(client: imapclient.IMAPClient, folder: str) -> None:
    """Create ``folder`` unless it exists (another process may create it at the same moment)."""
    if client.folder_exists(folder):
        return
    try:
        client.create_folder(folder)
    except IMAPClientError:
        if not client.folder_exists(folder):
            raise


class Mailbox:
    """A synchronous connection to the mailbox; the daemon runs it in a worker thread."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self._client: imapclient.IMAPClient | None = None
        self._uidvalidity = 0
        self._exists = 0

    # --- connection --------------------------------------------------------

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.ca_file:
            context.load_verify_locations(self.settings.ca_file)
        return context

    def connect(self) -> None:
        """Log in, make sure the folders exist and select the inbox."""
        s = self.settings
        try:
            client = imapclient.IMAPClient(
                s.host,
                port=s.port,
                ssl=s.security == "ssl",
                ssl_context=self._tls() if s.security == "ssl" else None,
                timeout=s.timeout,
            )
            if s.security == "starttls":
                client.starttls(self._tls())
            client.login(s.username, s.password)
            for folder in (s.processed_folder, s.failed_folder):
                _ensure_folder(client, folder)
            selected = client.select_folder(s.folder)
        except LoginError as exc:
            raise TransientError(f"IMAP login to {s.host} refused: {exc}") from exc
        except _NETWORK_ERRORS as exc:
            raise TransientError(f"cannot reach IMAP {s.host}:{s.port}: {exc}") from exc
        self._client = client
        validity = int(selected.get(b"UIDVALIDITY", 0))
        if self._uidvalidity and validity != self._uidvalidity:
            # Safe: mail is deduplicated by content key, not by UID.
            log.warning(
                "UIDVALIDITY of %s changed from %s to %s", s.folder, self._uidvalidity, validity
            )
        self._uidvalidity = validity
        self._exists = int(selected.get(b"EXISTS", 0))

    def close(self) -> None:
        """Log out, ignoring a connection that is already gone."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.logout()
            except (*_NETWORK_ERRORS, AttributeError):
                pass

    def __enter__(self) -> Mailbox:
        self.connect()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def client(self) -> imapclient.IMAPClient:
        if self._client is None:
            raise TransientError("not connected to the IMAP server")
        return self._client

    @property
    def uidvalidity(self) -> int:
        return self._uidvalidity

    @property
    def has_idle(self) -> bool:
        return bool(self.client.has_capability("IDLE"))

    @property
    def has_move(self) -> bool:
        return bool(self.client.has_capability("MOVE"))

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _NETWORK_ERRORS as exc:
            self.close()
            raise TransientError(f"IMAP {what} failed: {exc}") from exc

    # --- mail --------------------------------------------------------------

    def fetch_new(self, *, limit: int, max_bytes: int) -> list[Fetched]:
        """The oldest ``limit`` messages in the folder, in UID order.

        Sizes are asked first, so a message over ``max_bytes`` is fetched as
        its header block only and never enters memory whole.
        """
        c = self.client
        uids = sorted(self._call("search", c.search, ["ALL"]))[:limit]
        if not uids:
            return []
        sizes = {
            u: int(d[b"RFC822.SIZE"])
            for u, d in self._call("fetch", c.fetch, uids, ["RFC822.SIZE"]).items()
        }
        small = [u for u in uids if sizes.get(u, 0) <= max_bytes]
        large = [u for u in uids if sizes.get(u, 0) > max_bytes]
        bodies: dict[int, bytes] = {}
        if small:
            for uid, data in self._call("fetch", c.fetch, small, ["BODY.PEEK[]"]).items():
                bodies[uid] = bytes(data.get(b"BODY[]") or b"")
        if large:
            for uid, data in self._call("fetch", c.fetch, large, ["BODY.PEEK[HEADER]"]).items():
                bodies[uid] = bytes(data.get(b"BODY[HEADER]") or b"")
        return [
            Fetched(uid=u, size=sizes.get(u, 0), raw=bodies[u], truncated=u in large)
            for u in uids
            if u in bodies
        ]

    def _move(self, uids: list[int], folder: str) -> None:
        c = self.client
        if self.has_move:
            c.move(uids, folder)
            return
        c.copy(uids, folder)
        c.delete_messages(uids)
        if c.has_capability("UIDPLUS"):
            c.uid_expunge(uids)
        else:
            c.expunge()

    def move(self, uids: Sequence[int], folder: str) -> None:
        """Move a batch of messages in one command (copy and expunge where MOVE is missing)."""
        if not uids:
            return
        try:
            try:
                self._move(list(uids), folder)
            except IMAPClientError:
                # Another mailbot process on the same mailbox may have moved
                # some of these already; move whatever is still here.
                here = set(self.client.search(["ALL"]))
                remaining = sorted(set(uids) & here)
                if remaining:
                    self._move(remaining, folder)
        except _NETWORK_ERRORS as exc:
            self.close()
            raise TransientError(f"IMAP move failed: {exc}") from exc

    def wait_for_mail(self, timeout: float) -> bool:
        """Block until the server reports new mail or ``timeout`` passes."""
        c = self.client
        timeout = min(timeout, _MAX_IDLE)
        if not self.has_idle:
            responses = self._call("noop", c.noop)
            return any(r[1] in (b"EXISTS", b"RECENT") for r in responses[1] if len(r) > 1)
        self._call("idle", c.idle)
        try:
            responses = self._call("idle_check", c.idle_check, timeout=timeout)
        finally:
            self._call("idle_done", c.idle_done)
        return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)

    def count(self, folder: str) -> int:
        """How many messages ``folder`` holds."""
        status = self._call("status", self.client.folder_status, folder, [b"MESSAGES"])
        return int(status.get(b"MESSAGES", 0))

    def append(self, folder: str, raw: bytes) -> None:
        """Add a message to ``folder``."""
        self._call("append", self.client.append, folder, raw)
