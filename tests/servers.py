"""Private real servers for the tests: Dovecot, PostgreSQL and an aiosmtpd sink on loopback."""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _require(binary: str, hint: str) -> str:
    path = shutil.which(binary) or (binary if os.path.exists(binary) else None)
    if path is None:
        # A missing server is a broken test machine, never a reason to skip.
        raise RuntimeError(f"{binary} not found: {hint} (scripts/test installs it)")
    return path


# --- Dovecot ---------------------------------------------------------------

_DOVECOT_CONF = """
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
default_internal_user = mail
default_internal_group = mail
default_login_user = dovenull
first_valid_uid = 8
first_valid_gid = 8
mail_location = maildir:{base}/mail/%u
mail_uid = mail
mail_gid = mail
{capability}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={base}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = mail
  }}
  unix_listener stats-writer {{
    user = mail
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"""


@dataclass
class Dovecot:
    """A private Dovecot on a loopback port; each test gets its own user."""

    base: Path
    port: int
    process: subprocess.Popen[bytes]
    username: str = "support@test.example"
    password: str = "secret"
    host: str = "127.0.0.1"
    users: int = 0

    @classmethod
    def start(cls, *, without_move: bool = False) -> Dovecot:
        binary = _require("dovecot", "install Debian's dovecot-imapd")
        base = Path(tempfile.mkdtemp(prefix="mailbot-dovecot-"))
        for sub in ("run", "state", "mail", "home"):
            (base / sub).mkdir()
        port = free_port()
        capability = (
            "imap_capability = IMAP4rev1 LITERAL+ SASL-IR IDLE UIDPLUS" if without_move else ""
        )
        conf = base / "dovecot.conf"
        conf.write_text(_DOVECOT_CONF.format(base=base, port=port, capability=capability))
        # Dovecot re-reads a passwd-file only when its mtime changes, which a
        # quick succession of tests can miss, so every test user exists up front.
        (base / "passwd").write_text(
            "".join(
                f"support{n}@test.example:{{PLAIN}}{cls.password}::::\n" for n in range(1, 1000)
            )
        )
        subprocess.run(
            ["chown", "-R", "mail:mail", str(base / "mail"), str(base / "home")], check=True
        )
        os.chmod(base, 0o755)
        process = subprocess.Popen(
            [binary, "-F", "-c", str(conf)],
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        if not wait_for_port(port):
            process.kill()
            log = (
                (base / "dovecot.log").read_text(errors="replace")
                if (base / "dovecot.log").exists()
                else ""
            )
            out = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"Dovecot did not start:\n{out}\n{log}")
        return cls(base=base, port=port, process=process)

    def new_user(self) -> None:
        """Switch to a fresh, empty mailbox (a new user) for the next test."""
        self.users += 1
        self.username = f"support{self.users}@test.example"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)

    def _client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port)
        client.login(self.username, self.password)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into a folder, as the mail server's delivery would."""
        client = self._client()
        try:
            client.create(folder)
            typ, data = client.append(
                folder, "", None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            )
            assert typ == "OK", data
        finally:
            client.logout()

    def uids(self, folder: str) -> list[int]:
        client = self._client()
        try:
            typ, _ = client.select(folder, readonly=True)
            if typ != "OK":
                return []
            _, data = client.uid("SEARCH", "ALL")  # type: ignore[arg-type]
            return [int(x) for x in data[0].split()] if data and data[0] else []
        finally:
            client.logout()

    def fetch_all(self, folder: str) -> list[bytes]:
        client = self._client()
        try:
            client.select(folder, readonly=True)
            _, data = client.uid("SEARCH", "ALL")  # type: ignore[arg-type]
            out = []
            for uid in data[0].split() if data and data[0] else []:
                _, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")  # type: ignore[arg-type]
                out.append(bytes(parts[0][1]))  # type: ignore[index]
            return out
        finally:
            client.logout()

    def folders(self) -> list[str]:
        client = self._client()
        try:
            _, data = client.list()
            return [line.decode().rsplit(" ", 1)[-1].strip('"') for line in data if line]  # type: ignore[union-attr]
        finally:
            client.logout()


# --- SMTP sink -------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes


@dataclass
class _Handler:
    messages: list[Received] = field(default_factory=list)
    fail_next_n: int = 0
    fail_code: int = 451
    reject_code: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            if self.reject_code is not None:
                return f"{self.reject_code} 5.7.1 refused by test"
            if self.fail_next_n > 0:
                self.fail_next_n -= 1
                return f"{self.fail_code} 4.3.0 try again later"
            content = envelope.original_content or b""
            self.messages.append(
                Received(envelope.mail_from or "", tuple(envelope.rcpt_tos), bytes(content))
            )
        return "250 OK"


class SmtpSink:
    """aiosmtpd on a loopback port, recording what it receives; can fail on demand."""

    def __init__(self) -> None:
        self.handler = _Handler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller: Controller | None = None
        self.start()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def fail_next(self, n: int, code: int = 451) -> None:
        self.handler.fail_next_n, self.handler.fail_code = n, code

    def reject_all(self, code: int = 550) -> None:
        self.handler.reject_code = code


# --- PostgreSQL ------------------------------------------------------------


@dataclass
class Postgres:
    """A private PostgreSQL 15 cluster in a temporary directory, run as user postgres."""

    base: Path
    port: int
    bindir: Path
    databases: int = 0

    @classmethod
    def start(cls) -> Postgres:
        bindir = Path("/usr/lib/postgresql/15/bin")
        _require(str(bindir / "initdb"), "install Debian's postgresql-15")
        base = Path(tempfile.mkdtemp(prefix="mailbot-pg-"))
        os.chmod(base, 0o755)
        subprocess.run(["chown", "postgres:postgres", str(base)], check=True)
        port = free_port()

        def as_postgres(*args: str) -> None:
            subprocess.run(
                ["runuser", "-u", "postgres", "--", *args],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )

        as_postgres(
            str(bindir / "initdb"),
            "-D",
            str(base / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )
        as_postgres(
            str(bindir / "pg_ctl"),
            "-D",
            str(base / "data"),
            "-l",
            str(base / "log"),
            "-w",
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        return cls(base=base, port=port, bindir=bindir)

    def new_database(self) -> str:
        """Create a fresh database and return its SQLAlchemy URL."""
        self.databases += 1
        name = f"test_{self.databases}"
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                name,
            ],
            check=True,
        )
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.base / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(self.base, ignore_errors=True)
