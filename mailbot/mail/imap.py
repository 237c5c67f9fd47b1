"""The support mailbox over IMAP (imapclient): fetch in UID order, move in batches, IDLE."""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, TypeVar

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError

from mailbot.errors import TransientError
from mailbot.mail.oauth import OAuthSettings, TokenSource

log = logging.getLogger(__name__)

T = TypeVar("T")

# RFC 2177 asks clients to end and re-issue IDLE at least every 29 minutes,
# before servers' 30-minute inactivity logout.
_IDLE_RENEWAL = 29 * 60.0

# Everything the network, TLS or the server can throw at us: socket errors,
# timeouts and certificate failures are OSError; NO, BAD and BYE replies and
# unparsable responses are imaplib's error (which imapclient's errors extend).
_NETWORK_ERRORS = (OSError, IMAPClientError)


@dataclass(frozen=True)
class ImapSettings:
    """Where the support mailbox is, how to reach it, and its folders."""

    host: str
    port: int
    username: str
    password: str
    security: Literal["ssl", "starttls", "none"] = "ssl"
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    ca_file: str | None = None  # a CA to trust besides the system's (a private CA, tests)
    timeout: float = 30.0
    oauth: OAuthSettings | None = None  # sign in with a token instead of the password


@dataclass(frozen=True)
class Fetched:
    """One message: all of it, or only its header block when it is over the size limit."""

    uid: int
    size: int  # RFC822.SIZE as the server reports it
    raw: bytes
    truncated: bool  # raw holds the header block only


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificate and host-name checks as for any HTTPS client, plus ``ca_file`` if given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context


def _ensure_folder(client: imapclient.IMAPClient, folder: str) -> None:
    """Create ``folder`` unless it exists."""
    if client.folder_exists(folder):
        return
    try:
        client.create_folder(folder)
    except IMAPClientError:
        # Another mailbot process on the same mailbox may have just made it.
        if not client.folder_exists(folder):
            raise


def _drop(client: imapclient.IMAPClient) -> None:
    """Close the socket without a word to the server (it may be gone already)."""
    with contextlib.suppress(OSError):
        client.shutdown()


def _reports_new_mail(responses: Sequence[tuple[object, ...]]) -> bool:
    """Whether unsolicited responses say messages arrived (EXISTS, or RECENT above zero).

    A server sends EXISTS whenever the message count grows, so this may wake
    the caller for nothing now and then but never sleeps through new mail.
    """
    for response in responses:
        if len(response) < 2:
            continue
        count, kind = response[0], response[1]
        if kind == b"EXISTS" or (kind == b"RECENT" and count != 0):
            return True
    return False


class Mailbox:
    """A synchronous connection to the mailbox; the daemon runs it in a worker thread.

    Every network, TLS or protocol failure, including a refused login, comes
    out as ``TransientError`` and leaves the mailbox disconnected; the caller
    backs off and calls ``connect()`` again. A refused login is treated as
    transient on purpose: a locked or expired account is usually put right
    on the server, and the daemon should then resume by itself.
    """

    def __init__(self, settings: ImapSettings, tokens: TokenSource | None = None) -> None:
        self.settings = settings
        if tokens is None and settings.oauth is not None:
            tokens = TokenSource(settings.oauth)
        self._tokens = tokens
        self._client: imapclient.IMAPClient | None = None
        self._capabilities: frozenset[bytes] = frozenset()
        self._uidvalidity = 0

    # --- connection ---------------------------------------------------------

    def connect(self) -> None:
        """Log in, create the processed and failed folders if missing, select the folder."""
        self.close()
        s = self.settings
        try:
            client = imapclient.IMAPClient(
                s.host,
                port=s.port,
                ssl=s.security == "ssl",
                ssl_context=_tls_context(s.ca_file) if s.security == "ssl" else None,
                timeout=s.timeout,
            )
        except _NETWORK_ERRORS as exc:
            raise TransientError(f"cannot reach IMAP server {s.host}:{s.port}: {exc}") from exc
        try:
            if s.security == "starttls":
                client.starttls(_tls_context(s.ca_file))
            self._login(client)
            for folder in (s.processed_folder, s.failed_folder):
                _ensure_folder(client, folder)
            selected = client.select_folder(s.folder)
            capabilities = frozenset(client.capabilities())
        except LoginError as exc:
            _drop(client)
            how = "the OAuth2 token" if s.oauth else "login"
            raise TransientError(f"IMAP server {s.host} refused {how} for {s.username}") from exc
        except TransientError:
            # No token to be had (a refused grant, the token endpoint away).
            _drop(client)
            raise
        except _NETWORK_ERRORS as exc:
            _drop(client)
            raise TransientError(f"IMAP session with {s.host}:{s.port} failed: {exc}") from exc
        self._client, self._capabilities = client, capabilities
        self._note_uidvalidity(int(selected.get(b"UIDVALIDITY", 0)))

    def _login(self, client: imapclient.IMAPClient) -> None:
        """Sign in with the password, or with a token (renewed once if the server refuses it)."""
        s, tokens = self.settings, self._tokens
        if s.oauth is None or tokens is None:
            client.login(s.username, s.password)
            return
        mechanism = s.oauth.mechanism
        if mechanism == "auto":
            offered = b"AUTH=OAUTHBEARER" in client.capabilities()
            mechanism = "oauthbearer" if offered else "xoauth2"
        for attempt in range(2):
            token = tokens.token()
            try:
                if mechanism == "oauthbearer":
                    client.oauthbearer_login(s.username, token)
                else:
                    client.oauth2_login(s.username, token)
                return
            except LoginError:
                # A token revoked or expired early: one fresh token, then give up.
                tokens.refused()
                if attempt:
                    raise

    def _note_uidvalidity(self, validity: int) -> None:
        if self._uidvalidity and validity != self._uidvalidity:
            # Harmless: mail is recognised by its content key, never by UID;
            # worth a line in the log because it means the server rebuilt the folder.
            was, folder = self._uidvalidity, self.settings.folder
            log.warning("UIDVALIDITY of %s changed from %d to %d", folder, was, validity)
        self._uidvalidity = validity

    def close(self) -> None:
        """Log out; a connection that is already gone is simply dropped."""
        client, self._client = self._client, None
        self._capabilities = frozenset()
        if client is None:
            return
        try:
            client.logout()
        except _NETWORK_ERRORS:
            _drop(client)

    def __enter__(self) -> Mailbox:
        self.connect()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _connected(self) -> imapclient.IMAPClient:
        if self._client is None:
            raise TransientError("not connected to the IMAP server")
        return self._client

    def _call(self, what: str, command: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run one imapclient command, turning failures into TransientError."""
        try:
            return command(*args, **kwargs)
        except _NETWORK_ERRORS as exc:
            # The connection is in an unknown state; start afresh next time.
            self.close()
            raise TransientError(f"IMAP {what} failed: {exc}") from exc

    @property
    def uidvalidity(self) -> int:
        """The selected folder's UIDVALIDITY at the last connect."""
        return self._uidvalidity

    @property
    def has_idle(self) -> bool:
        return b"IDLE" in self._capabilities

    @property
    def has_move(self) -> bool:
        return b"MOVE" in self._capabilities

    # --- mail ---------------------------------------------------------------

    def fetch_new(self, *, limit: int, max_bytes: int) -> list[Fetched]:
        """The oldest ``limit`` messages in the folder, in UID order.

        Processed mail is moved out, so whatever is left is new. Sizes are
        asked first; a message over ``max_bytes`` is fetched as its header
        block only, so it never enters memory whole. Nothing is marked seen.
        """
        client = self._connected()
        # Servers apply other sessions' changes (new deliveries above all) to
        # our view of the folder between commands; NOOP gives them the chance.
        self._call("NOOP", client.noop)
        # A message flagged \\Deleted is on its way out (a copy-and-expunge
        # move interrupted before the expunge), so it is not new.
        uids = sorted(self._call("SEARCH", client.search, ["UNDELETED"]))[: max(limit, 0)]
        if not uids:
            return []
        sizes = {
            uid: int(data[b"RFC822.SIZE"])
            for uid, data in self._call("FETCH", client.fetch, uids, ["RFC822.SIZE"]).items()
        }
        whole = [uid for uid in uids if uid in sizes and sizes[uid] <= max_bytes]
        headers = [uid for uid in uids if uid in sizes and sizes[uid] > max_bytes]
        raw = self._fetch_part(whole, b"BODY[]") | self._fetch_part(headers, b"BODY[HEADER]")
        # A message another process moved away meanwhile is simply missing.
        return [
            Fetched(uid=uid, size=sizes[uid], raw=raw[uid], truncated=uid in headers)
            for uid in uids
            if uid in raw
        ]

    def _fetch_part(self, uids: list[int], part: bytes) -> dict[int, bytes]:
        """One FETCH of ``part`` (without setting \\Seen) for all ``uids``."""
        if not uids:
            return {}
        peek = part.replace(b"BODY[", b"BODY.PEEK[").decode()
        fetched = self._call("FETCH", self._connected().fetch, uids, [peek])
        return {uid: bytes(data[part]) for uid, data in fetched.items() if part in data}

    def move(self, uids: Sequence[int], folder: str) -> None:
        """Move messages to ``folder`` with one command for the whole batch.

        Without MOVE the batch is copied, flagged \\Deleted and expunged: by
        UID where the server has UIDPLUS, else with a plain EXPUNGE, which
        also removes anything else already flagged \\Deleted in the folder.
        """
        if not uids:
            return
        try:
            try:
                self._move(list(uids), folder)
            except IMAPClientError:
                # Another mailbot process on the same mailbox may have moved
                # some of these already; move whatever is still here.
                here = set(self._connected().search(["UNDELETED"]))
                remaining = sorted(set(uids) & here)
                if remaining:
                    self._move(remaining, folder)
        except _NETWORK_ERRORS as exc:
            self.close()
            raise TransientError(f"IMAP move to {folder} failed: {exc}") from exc

    def _move(self, uids: list[int], folder: str) -> None:
        client = self._connected()
        if self.has_move:
            client.move(uids, folder)
        else:
            client.copy(uids, folder)
            client.delete_messages(uids, silent=True)
            if b"UIDPLUS" in self._capabilities:
                client.uid_expunge(uids)
            else:
                client.expunge()
        # imaplib files each "* n EXPUNGE" line these commands bring under
        # untagged_responses and never drops them, which over months on one
        # connection grows without bound; imaplib's response() pops the list.
        client._imap.response("EXPUNGE")

    def wait_for_mail(self, timeout: float) -> bool:
        """Whether new mail arrived, waiting up to ``timeout`` seconds where the server has IDLE.

        Without IDLE this sends one NOOP and answers at once; the caller then
        paces its polling. Either way it may now and then report mail that a
        fetch does not find, but never misses mail that arrives.
        """
        if not self.has_idle:
            _, responses = self._call("NOOP", self._connected().noop)
            return _reports_new_mail(responses)
        # A wait on the network, not a business time: the monotonic clock is right here.
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if self._idle(min(left, _IDLE_RENEWAL)):
                return True
        return False

    def _idle(self, seconds: float) -> bool:
        """One IDLE command of at most ``seconds``; whether the server reported new mail."""
        client = self._connected()
        end = time.monotonic() + seconds
        self._call("IDLE", client.idle)
        new_mail = False
        # The server also sends keep-alives ("OK Still here"); keep listening.
        while not new_mail and (left := end - time.monotonic()) > 0:
            new_mail = _reports_new_mail(self._call("IDLE", client.idle_check, timeout=left))
        _, late = self._call("DONE", client.idle_done)
        return new_mail or _reports_new_mail(late)

    def count(self, folder: str) -> int:
        """How many messages ``folder`` holds."""
        status = self._call("STATUS", self._connected().folder_status, folder, [b"MESSAGES"])
        return int(status[b"MESSAGES"])

    def append(self, folder: str, raw: bytes) -> None:
        """Add a message to ``folder``."""
        self._call("APPEND", self._connected().append, folder, raw)


def check_login(settings: ImapSettings, tokens: TokenSource | None = None) -> None:
    """Connect, sign in, make the folders and log out; TransientError says what failed."""
    mailbox = Mailbox(settings, tokens)
    mailbox.connect()
    mailbox.close()
