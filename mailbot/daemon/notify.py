"""Tell systemd how the service is doing (sd_notify over $NOTIFY_SOCKET): ready, alive, stopping."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping


class Notifier:
    """Sends sd_notify datagrams when systemd gave a socket; does nothing otherwise.

    The protocol is one datagram of ``KEY=value`` lines to the AF_UNIX socket
    named by NOTIFY_SOCKET (a leading ``@`` means the abstract namespace).
    A lost datagram must never stop the service, so send errors are ignored:
    systemd then restarts a daemon whose watchdog stayed silent, which is the
    point of the watchdog.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        usec = environ.get("WATCHDOG_USEC", "")
        # systemd advises pinging at half the watchdog interval.
        self.watchdog_seconds = int(usec) / 2_000_000 if usec.isdigit() and int(usec) else 0.0

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def send(self, *lines: str) -> None:
        """Send one datagram holding ``lines``."""
        if not self._address:
            return
        with (
            contextlib.suppress(OSError),
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock,
        ):
            sock.sendto("\n".join(lines).encode("utf-8"), self._address)

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def alive(self) -> None:
        self.send("WATCHDOG=1")

    def stopping(self) -> None:
        self.send("STOPPING=1")
