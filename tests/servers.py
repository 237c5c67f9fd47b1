"""Private real servers for the tests: loopback plumbing and a Dovecot IMAP server."""

from __future__ import annotations

import imaplib
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from certs import Certificate, make_certificate

HOST = "127.0.0.1"
PASSWORD = "secret"
# Test users are written to Dovecot's passwd-file this many at a time.
_USER_BATCH = 500

# Capabilities a Dovecot fixture can be made to offer instead of its own:
# a server without MOVE (mailbot must copy, flag and UID EXPUNGE instead)...
WITHOUT_MOVE = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE CHILDREN UNSELECT UIDPLUS"
# ...and a bare IMAP4rev1 server: no MOVE, no UIDPLUS, no IDLE.
BARE_IMAP4REV1 = "IMAP4rev1 LITERAL+ SASL-IR"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None
) -> bool:
    """Whether something accepts connections on ``port`` within ``timeout`` seconds.

    Gives up at once when ``process``, the server meant to listen, has exited.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (process is None or process.poll() is None):
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def require_binary(binary: str, package: str) -> str:
    """The path of a server program, or a loud error naming the package that provides it."""
    path = shutil.which(binary) or (binary if os.access(binary, os.X_OK) else None)
    if path is None:
        # A missing server means a broken test machine, never a reason to skip.
        raise RuntimeError(
            f"{binary} not found: install Debian's {package} (sh scripts/test does this as root)"
        )
    return path


# --- Dovecot -----------------------------------------------------------------

_DOVECOT_CONF = """\
protocols = imap
listen = {host}
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain login
# Debian's Dovecot 2.3 spelling; 2.4 renamed it auth_allow_cleartext.
disable_plaintext_auth = no
default_internal_user = mail
default_internal_group = mail
default_login_user = dovenull
first_valid_uid = 8
first_valid_gid = 8
mail_location = maildir:{base}/mail/%u
# Without inotify Dovecot would look for new mail during IDLE only this often.
mailbox_idle_check_interval = 1 secs
# A refused login would otherwise cost 2 seconds (see also anvil below).
auth_failure_delay = 0
{capability}
{extra}
{oauth2}
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
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # Brute-force protection would delay every login from 127.0.0.1 for
  # seconds after a test's deliberately wrong password.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
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


@dataclass(frozen=True)
class ImapAccount:
    """One user's mailbox on the private Dovecot, with helpers that use the stdlib client."""

    host: str
    port: int
    tls_port: int
    username: str
    password: str
    ca_file: str

    def _login(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=30)
        client.login(self.username, self.password)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into ``folder`` (created if missing), as a delivery agent would."""
        client = self._login()
        try:
            if folder != "INBOX":
                client.create(folder)
            # Mail on the wire has CRLF line ends whatever the fixture file had.
            crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            typ, data = client.append(folder, "", None, crlf)
            if typ != "OK":
                raise RuntimeError(f"APPEND to {folder} failed: {data!r}")
        finally:
            client.logout()

    def uids(self, folder: str) -> list[int]:
        """The UIDs in ``folder``, ascending; empty when the folder does not exist."""
        client = self._login()
        try:
            typ, _ = client.select(folder, readonly=True)
            if typ != "OK":
                return []
            _, data = client.uid("SEARCH", "ALL")
            return sorted(int(x) for x in (data[0] or b"").split())
        finally:
            client.logout()

    def fetch_all(self, folder: str) -> list[bytes]:
        """Every message in ``folder`` in UID order, without marking any as seen."""
        client = self._login()
        try:
            typ, _ = client.select(folder, readonly=True)
            if typ != "OK":
                return []
            _, data = client.uid("SEARCH", "ALL")
            out: list[bytes] = []
            for uid in sorted(int(x) for x in (data[0] or b"").split()):
                _, parts = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
                out.append(bytes(parts[0][1]))
            return out
        finally:
            client.logout()

    def folders(self) -> list[str]:
        """The names of every folder of this user, sorted."""
        client = self._login()
        try:
            _, data = client.list()
        finally:
            client.logout()
        names = []
        for line in data:
            # A name sent as a literal arrives as a tuple; the tests use none.
            if not isinstance(line, bytes):
                continue
            match = re.match(rb'\([^)]*\) (?:"[^"]*"|NIL) "?(.*?)"?$', line)
            if match:
                names.append(match.group(1).decode())
        return sorted(names)


def _write_users(passwd: Path, first: int, last: int) -> None:
    """Append test users number ``first`` to ``last`` to Dovecot's passwd-file."""
    with passwd.open("a") as file:
        for number in range(first, last + 1):
            file.write(f"support{number}@test.example:{{PLAIN}}{PASSWORD}::::\n")


def _oauth2_passdb(base: Path, public_key: bytes) -> str:
    """Dovecot 2.3's oauth2 passdb with local JWT validation, before the passwd-file one.

    Dovecot looks a key up in the dict as <azp>/<alg>/<kid> ("default" for
    a token without azp); the fs dict maps that to a file under the prefix.
    """
    keys = base / "oauth2-keys" / "default" / "ES256"
    keys.mkdir(parents=True)
    (keys / "mailbot-test").write_bytes(public_key)
    ext = base / "oauth2.conf.ext"
    ext.write_text(
        "introspection_mode = local\n"
        f"local_validation_key_dict = fs:posix:prefix={base}/oauth2-keys/\n"
        "username_attribute = email\n"
    )
    subprocess.run(["chmod", "-R", "a+rX", str(base / "oauth2-keys"), str(ext)], check=True)
    return (
        "auth_mechanisms = plain login xoauth2 oauthbearer\n"
        f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {ext}\n}}\n"
    )


class DovecotServer:
    """A private Dovecot with a plaintext port (STARTTLS offered) and an implicit-TLS port."""

    def __init__(
        self,
        base: Path,
        port: int,
        tls_port: int,
        certificate: Certificate,
        process: subprocess.Popen[bytes],
    ) -> None:
        self.base = base
        self.host = HOST
        self.port = port
        self.tls_port = tls_port
        self.certificate = certificate
        self.process = process
        self._numbers = itertools.count(1)
        self._users = _USER_BATCH

    @classmethod
    def start(
        cls, *, capability: str = "", extra: str = "", oauth2_key: bytes = b""
    ) -> DovecotServer:
        """Start Dovecot in a new temporary directory.

        ``capability`` overrides what the server offers; ``extra`` is more
        configuration, appended as it stands. With ``oauth2_key`` (a PEM
        public key) the server also takes XOAUTH2 and OAUTHBEARER, validating
        the tokens as ES256 JWTs locally with that key (see tokenserver.py).
        """
        binary = require_binary("dovecot", "dovecot-imapd")
        base = Path(tempfile.mkdtemp(prefix="mailbot-dovecot-"))
        for sub in ("run", "state", "mail", "home"):
            (base / sub).mkdir()
        certificate = make_certificate(base)
        _write_users(base / "passwd", 1, _USER_BATCH)
        port, tls_port = free_port(), free_port()
        oauth2 = _oauth2_passdb(base, oauth2_key) if oauth2_key else ""
        conf = base / "dovecot.conf"
        conf.write_text(
            _DOVECOT_CONF.format(
                host=HOST,
                base=base,
                port=port,
                tls_port=tls_port,
                cert=certificate.cert_file,
                key=certificate.key_file,
                capability=f"imap_capability = {capability}" if capability else "",
                extra=extra,
                oauth2=oauth2,
            )
        )
        # Mail processes run as user mail and the login processes as dovenull;
        # both must be able to reach into the directory.
        subprocess.run(
            ["chown", "-R", "mail:mail", str(base / "mail"), str(base / "home")], check=True
        )
        base.chmod(0o755)
        process = subprocess.Popen(
            [binary, "-F", "-c", str(conf)],
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        server = cls(base, port, tls_port, certificate, process)
        if not (wait_for_port(port, process=process) and wait_for_port(tls_port, process=process)):
            log = server.log()
            output = server.stop()
            raise RuntimeError(f"Dovecot did not start:\n{output}\n{log}")
        return server

    def new_account(self) -> ImapAccount:
        """A user of its own with an empty mailbox, for one test."""
        number = next(self._numbers)
        if number > self._users:
            # Dovecot looks at the passwd-file at most once a second, which is
            # why users come in batches; after adding one, let that second pass.
            _write_users(self.base / "passwd", self._users + 1, self._users + _USER_BATCH)
            self._users += _USER_BATCH
            time.sleep(1.1)
        return ImapAccount(
            host=self.host,
            port=self.port,
            tls_port=self.tls_port,
            username=f"support{number}@test.example",
            password=PASSWORD,
            ca_file=self.certificate.ca_file,
        )

    def log(self) -> str:
        """Dovecot's own log, for failure messages."""
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else "(no dovecot.log)"

    def stop(self) -> str:
        """Stop Dovecot's whole process group and return what it printed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        output = self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""
        shutil.rmtree(self.base, ignore_errors=True)
        return output
