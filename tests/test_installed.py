"""The README's install, done for real under a temporary prefix, then run as the unit runs it.

README, "Installing on Debian 12": a venv at /opt/mailbot with
``pip install /path/to/mailbot``, config.toml and rules/ in /etc/mailbot,
passwords handed over by LoadCredential, the database in the unit's
StateDirectory.  Here every absolute path of the shipped unit is moved under
a temporary folder (/opt/mailbot -> TMP/opt/mailbot and so on); the commands,
the environment and the working directory are the unit's own.  pip resolves
the dependencies from whatever index this machine's pip is configured with.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import mail
from test_daemon import wait_for
from test_install import unit_settings

ROOT = Path(__file__).resolve().parent.parent
# The shipped unit's absolute paths.
MOVED = (
    "/opt/mailbot",
    "/etc/mailbot",
    "/var/lib/mailbot",
    "/var/cache/mailbot",
    "/run/credentials",
)


def outside() -> dict[str, str]:
    """This process's environment without the PYTHONPATH that puts the checkout first."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def moved(text: str, prefix: Path) -> str:
    """``text`` with each of the unit's absolute paths moved under ``prefix``."""
    for path in MOVED:
        text = text.replace(path, f"{prefix}{path}")
    return text


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """TMP with TMP/opt/mailbot installed by the README's two commands."""
    prefix = tmp_path_factory.mktemp("root")
    venv = prefix / "opt" / "mailbot"
    python = shutil.which("python3") or sys.executable
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300, env=outside())
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=prefix,
        env=outside(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield prefix


def etc_mailbot(prefix: Path, dovecot: Any, smtp: Any) -> None:
    """/etc/mailbot as the README lays it out: the example config edited, rules, passwords."""
    etc = prefix / "etc" / "mailbot"
    (etc / "credentials").mkdir(parents=True)
    shutil.copytree(ROOT / "rules", etc / "rules")
    (etc / "credentials" / "imap-password").write_text(dovecot.password)
    (etc / "credentials" / "smtp-password").write_text("unused: the test relay has no AUTH")
    text = (ROOT / "config.example.toml").read_text()
    imap, smtp_section = text.split("\n[imap]\n", 1)[1].split("\n[smtp]\n", 1)
    smtp_section = smtp_section.split("\n[", 1)[0]
    # "edit: addresses, servers": the servers are the test's, and the
    # passwords come from LoadCredential as the README says.
    new_imap = (
        imap.replace('host = "imap.westshire.gov.uk"', f'host = "{dovecot.host}"')
        .replace("port = 993", f"port = {dovecot.port}")
        .replace('security = "ssl"', 'security = "none"')
        .replace('username = "ictsupport@westshire.gov.uk"', f'username = "{dovecot.username}"')
        .replace(
            'password_env = "MAILBOT_IMAP_PASSWORD"',
            'password_file = "/run/credentials/mailbot.service/imap-password"',
        )
    )
    new_smtp = (
        smtp_section.replace('host = "smtp.westshire.gov.uk"', f'host = "{smtp.host}"')
        .replace("port = 465", f"port = {smtp.port}")
        .replace('security = "ssl"', 'security = "none"')
        .replace('username = "ictsupport@westshire.gov.uk"\n', "")
        .replace('password_env = "MAILBOT_SMTP_PASSWORD"\n', "")
    )
    assert new_imap != imap and new_smtp != smtp_section
    text = text.replace(imap, new_imap, 1).replace(smtp_section, new_smtp, 1)
    (etc / "config.toml").write_text(moved(text, prefix))


def as_the_unit(prefix: Path) -> tuple[list[list[str]], list[str], dict[str, str], Path]:
    """The unit's ExecStartPre and ExecStart commands, environment and working directory, moved."""
    s = unit_settings()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    for line in s.get("Environment", []):
        key, _, value = line.partition("=")
        env[key] = moved(value, prefix)
    pre = [shlex.split(moved(c, prefix)) for c in s["ExecStartPre"]]
    start = shlex.split(moved(s["ExecStart"][0], prefix))
    workdir = Path(moved(s["WorkingDirectory"][0], prefix))
    # What systemd does before starting: StateDirectory, CacheDirectory, LoadCredential.
    workdir.mkdir(parents=True)
    for name in s.get("CacheDirectory", []):
        (prefix / "var" / "cache" / name).mkdir(parents=True)
    creds = prefix / "run" / "credentials" / "mailbot.service"
    creds.mkdir(parents=True)
    for line in s["LoadCredential"]:
        name, _, source = line.partition(":")
        shutil.copy(moved(source, prefix), creds / name)
    return pre, start, env, workdir


def test_the_readme_install_runs_as_the_shipped_unit(
    installed: Path, dovecot: Any, smtp_sink: Any, tmp_path: Path
) -> None:
    prefix = installed
    venv = prefix / "opt" / "mailbot"
    # The installed package, not this checkout, is what runs.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import mailbot; print(mailbot.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path, timeout=60, env=outside(),
    )  # fmt: skip
    assert where.stdout.startswith(str(venv / "lib")), where.stdout
    etc_mailbot(prefix, dovecot, smtp_sink)
    pre, start, env, workdir = as_the_unit(prefix)
    assert start[0] == str(venv / "bin" / "mailbot")
    for command in pre:
        done = subprocess.run(
            command, env=env, cwd=workdir, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    # The database is in the StateDirectory, nowhere else.
    assert (workdir / "mailbot.db").exists()
    check = subprocess.run(
        [start[0], "check"], env=env, cwd=workdir, capture_output=True, text=True, timeout=300
    )
    assert check.returncode == 0, check.stdout + check.stderr
    # The service itself, told by systemd's notify socket when it is ready.
    sock_path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(sock_path)
        sock.settimeout(120)
        dovecot.deliver(mail("school-new-request"))
        # systemd hands the watchdog interval over as WATCHDOG_USEC.
        seconds = int(unit_settings()["WatchdogSec"][0].removesuffix("s"))
        proc = subprocess.Popen(
            start,
            env={**env, "NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": str(seconds * 1_000_000)},
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert sock.recv(4096).decode().startswith("READY=1")
            assert wait_for(lambda: bool(smtp_sink.of_kind("confirmation"))), (
                proc.stderr.read() if proc.poll() is not None and proc.stderr else "no confirmation"
            )
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=120) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    [confirmation] = smtp_sink.of_kind("confirmation")
    assert re.search(rb"ICT-000001", confirmation.raw)
