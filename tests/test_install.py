"""The service as installed: the systemd unit, sd_notify, start-up failures in one line."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import Address, write_config_file

from mailbot.cli.main import main
from mailbot.config import load_config
from mailbot.daemon.notify import Notifier

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "mailbot.service"
MAILBOT = Path(sys.executable).with_name("mailbot")


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for raw in UNIT.read_text().splitlines():
        if "=" in raw and not raw.startswith(("#", "[")):
            key, _, value = raw.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_unit_runs_the_venv_under_opt_as_a_notify_service_with_limits() -> None:
    s = unit_settings()
    execs = s["ExecStart"] + s["ExecStartPre"]
    assert all(e.startswith("/opt/mailbot/bin/mailbot ") for e in execs), execs
    assert s["Type"] == ["notify"] and s["NotifyAccess"] == ["main"]
    assert re.fullmatch(r"\d+s", s["WatchdogSec"][0])
    assert s["MemoryMax"] and s["ReadWritePaths"] and s["StateDirectory"] == ["mailbot"]
    assert s["RestartPreventExitStatus"] == ["78"]


@pytest.mark.servers
def test_systemd_analyze_verify_accepts_the_shipped_unit(tmp_path: Path) -> None:
    # scripts/test installs systemd (which has systemd-analyze) with the servers.
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze is missing: install Debian's systemd package"
    # verify also checks that each Exec program exists; the unit names the
    # documented install's path, so the check runs with this venv's mailbot
    # in its place and every other line as shipped.
    unit = tmp_path / "mailbot.service"
    unit.write_text(UNIT.read_text().replace("/opt/mailbot/bin/mailbot", str(MAILBOT)))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A real AF_UNIX datagram socket, as systemd's NOTIFY_SOCKET is."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    yield sock, path
    sock.close()


def test_notifier_sends_ready_watchdog_and_stopping_datagrams(
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, path = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"})
    assert notifier.watchdog_seconds == 10.0
    notifier.ready("reading imap.example")
    notifier.alive()
    notifier.stopping()
    got = [sock.recv(4096).decode() for _ in range(3)]
    assert got == ["READY=1\nSTATUS=reading imap.example", "WATCHDOG=1", "STOPPING=1"]


def test_notifier_reaches_an_abstract_socket() -> None:
    name = f"mailbot-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(30)
        Notifier({"NOTIFY_SOCKET": "@" + name}).alive()
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_notifier_without_systemd_sends_nothing_and_never_fails(tmp_path: Path) -> None:
    quiet = Notifier({})
    assert not quiet.enabled and quiet.watchdog_seconds == 0
    quiet.ready("x")
    # A socket that has gone away loses the datagram, not the service.
    Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).alive()


def test_daemon_tells_systemd_ready_pings_the_watchdog_and_says_stopping(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, path = notify_socket
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink, timeout=5)
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}
    proc = subprocess.Popen(
        [str(MAILBOT), "--config", str(config), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        seen = [sock.recv(4096).decode()]
        assert seen[0].startswith("READY=1\nSTATUS=reading 127.0.0.1"), seen
        # Half the watchdog interval: two pings arrive within a few seconds.
        seen += [sock.recv(4096).decode() for _ in range(2)]
        assert seen[1:] == ["WATCHDOG=1", "WATCHDOG=1"]
        proc.send_signal(signal.SIGTERM)
        while (datagram := sock.recv(4096).decode()) == "WATCHDOG=1":
            continue
        assert datagram == "STOPPING=1"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_unset_password_stops_run_with_one_line_and_exit_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(
        tmp_path, url=url, timeout=5, password_env="MAILBOT_TEST_UNSET_PASSWORD"
    )
    assert main(["--config", str(config), "run"]) == 78
    err = capsys.readouterr().err.strip()
    assert err == (
        "mailbot: cannot start: [imap] password_env: environment variable "
        "MAILBOT_TEST_UNSET_PASSWORD is unset"
    )
    # Nothing else ran: no database was created, nothing was logged.
    assert not (tmp_path / "mailbot.db").exists()
    assert caplog.records == []


def test_unreadable_password_file_stops_run_with_exit_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, timeout=5, password_file="secrets/imap")
    assert main(["--config", str(config), "run"]) == 78
    err = capsys.readouterr().err
    # The file is looked for beside the configuration, and named in full.
    assert f"password_file {tmp_path / 'secrets' / 'imap'}: No such file" in err
    assert len(err.strip().splitlines()) == 1


def test_every_path_in_the_config_is_relative_to_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "imap-password").write_text("s3cret\n")
    config = write_config_file(
        folder,
        url="sqlite:///state/mailbot.db",
        rules_dir=Path("rules"),
        extra='[status_page]\ndir = "www"\n',
        password_file="imap-password",
        ca_file="ca.pem",
    )
    loaded = load_config(config)
    assert loaded.imap.password_file == folder / "imap-password"
    assert loaded.imap.secret() == "s3cret"
    assert loaded.imap.ca_file == str(folder / "ca.pem")
    assert loaded.rules.dir == folder / "rules"
    assert loaded.database.url == f"sqlite:///{folder / 'state' / 'mailbot.db'}"
    assert loaded.status_page.dir == folder / "www"


def test_status_on_a_never_upgraded_database_says_run_db_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, imap=Address(port=9), smtp=Address(port=9))
    assert main(["--config", str(config), "status"]) == 2
    out = capsys.readouterr().out
    assert "database not initialised: run mailbot db upgrade" in out
    assert "Traceback" not in out and "no such table" not in out


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert re.fullmatch(r"mailbot \d+\.\d+\S*\n", capsys.readouterr().out)


def test_db_upgrade_in_a_missing_directory_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "var" / "lib" / "mailbot" / "mailbot.db"
    config = write_config_file(tmp_path, url=f"sqlite:///{path}")
    assert main(["--config", str(config), "db", "upgrade"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"mailbot: cannot open the SQLite file {path}: No such file")
    assert "make it writable by the service's user" in err and len(err.splitlines()) == 1


def test_db_upgrade_of_an_unreachable_server_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+psycopg2://mailbot:hunter2@127.0.0.1:9/mailbot"
    config = write_config_file(tmp_path, url=url)
    assert main(["--config", str(config), "db", "upgrade"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mailbot: cannot upgrade postgresql database mailbot on 127.0.0.1:9: ")
    assert len(err.splitlines()) == 1 and "hunter2" not in err
