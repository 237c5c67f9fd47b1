"""`mailbot check` against real Dovecot, aiosmtpd, SQLite and PostgreSQL, passing and failing."""

from __future__ import annotations

import email
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from servers import HOST, free_port
from support import SHIPPED_RULES, Address, migrated, write_config_file

from mailbot.cli.main import main
from mailbot.storage.db import upgrade

# Nothing listens on the discard port.
NOWHERE = Address("127.0.0.1", 9, "u", "p")


def run_check(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["--config", str(config), "check", *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def line(out: str, what: str) -> str:
    """The report's line for one check (it starts with ok or FAIL, then the name)."""
    [found] = [x for x in out.splitlines() if x[6:].startswith(what + " ")]
    return found


def configured(
    tmp_path: Path, url: str, imap: Any, smtp: Any, *, rules: Path = SHIPPED_RULES, extra: str = ""
) -> Path:
    page = tmp_path / "status"
    return write_config_file(
        tmp_path,
        url=url,
        imap=imap,
        smtp=smtp,
        rules_dir=rules,
        timeout=5,
        extra=f'[status_page]\ndir = "{page}"\n{extra}',
    )


def test_everything_passes_and_no_mail_is_sent(
    tmp_path: Path,
    db_url: str,
    dovecot: Any,
    smtp_sink: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    migrated(db_url)
    code, out = run_check(configured(tmp_path, db_url, dovecot, smtp_sink), capsys)
    assert code == 0, out
    for what in ("IMAP", "SMTP", "rules", "database", "status page"):
        assert line(out, what).startswith("ok"), out
    assert "logged in to" in line(out, "IMAP") and dovecot.username in line(out, "IMAP")
    assert "writable" in line(out, "database")
    assert str(SHIPPED_RULES) in line(out, "rules")
    assert out.rstrip().endswith("configuration OK")
    # The folders the daemon needs exist afterwards: made if missing.
    assert {"Processed", "Failed"} <= set(dovecot.folders())
    assert smtp_sink.messages == []
    # The status page check leaves nothing behind.
    assert list((tmp_path / "status").iterdir()) == []


def test_send_test_sends_one_email_marked_as_a_test(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    config = configured(tmp_path, url, dovecot, smtp_sink)
    code, out = run_check(config, capsys, "--send-test", "admin@westshire.gov.uk")
    assert code == 0, out
    [sent] = smtp_sink.messages
    assert sent.rcpt_tos == ("admin@westshire.gov.uk",)
    message = email.message_from_bytes(sent.raw)
    assert message["X-Mailbot-Id"] == "test"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "mailbot check" in message["Subject"]
    assert message["Message-ID"] in line(out, "test email")


def test_send_test_failure_is_reported(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    smtp_sink.reject_all(550)
    config = configured(tmp_path, url, dovecot, smtp_sink)
    code, out = run_check(config, capsys, "--send-test", "admin@westshire.gov.uk")
    assert code == 1
    assert line(out, "test email").startswith("FAIL") and "550" in line(out, "test email")


def test_wrong_imap_password_fails_naming_the_login(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    wrong = Address(dovecot.host, dovecot.port, dovecot.username, "not-the-password")
    code, out = run_check(configured(tmp_path, url, wrong, smtp_sink), capsys)
    assert code == 1
    assert line(out, "IMAP").startswith("FAIL")
    assert f"refused login for {dovecot.username}" in line(out, "IMAP")
    # One failure does not hide the other checks.
    assert line(out, "SMTP").startswith("ok") and line(out, "database").startswith("ok")
    assert out.rstrip().endswith("1 check(s) failed")


def test_unreachable_servers_fail_naming_host_and_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    code, out = run_check(configured(tmp_path, url, NOWHERE, NOWHERE), capsys)
    assert code == 1
    assert "cannot reach IMAP server 127.0.0.1:9" in line(out, "IMAP")
    assert "cannot connect to SMTP 127.0.0.1:9" in line(out, "SMTP")


def test_missing_imap_folder_fails(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    config = configured(tmp_path, url, dovecot, smtp_sink)
    config.write_text(config.read_text().replace("[imap]\n", '[imap]\nfolder = "NoSuchFolder"\n'))
    code, out = run_check(config, capsys)
    assert code == 1
    assert line(out, "IMAP").startswith("FAIL") and "NoSuchFolder" in line(out, "IMAP")


def test_unset_password_environment_variable_fails_in_words(
    tmp_path: Path, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    config = write_config_file(
        tmp_path,
        url=url,
        smtp=smtp_sink,
        timeout=5,
        username="ictsupport",
        password_env="MAILBOT_TEST_UNSET_VARIABLE",
    )
    code, out = run_check(config, capsys)
    assert code == 1
    assert "MAILBOT_TEST_UNSET_VARIABLE is unset" in line(out, "IMAP")


@pytest.fixture
def smtp_with_login() -> Iterator[tuple[str, int]]:
    """A real aiosmtpd server that requires AUTH (user ictsupport, password right-one)."""

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        good = isinstance(data, LoginPassword) and data.password == b"right-one"
        return AuthResult(success=good, handled=False)

    port = free_port()
    controller = Controller(
        object(),
        hostname=HOST,
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    yield HOST, port
    controller.stop()


# The test server takes a password without TLS; aiosmtpd warns about that.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize(("password", "ok"), [("right-one", True), ("wrong-one", False)])
def test_smtp_login_is_checked(
    tmp_path: Path,
    dovecot: Any,
    smtp_with_login: tuple[str, int],
    password: str,
    ok: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    host, port = smtp_with_login
    config = configured(tmp_path, url, dovecot, Address(host, port))
    text = config.read_text().replace(
        f'[smtp]\nhost = "{host}"\nport = {port}\n',
        f'[smtp]\nhost = "{host}"\nport = {port}\nusername = "ictsupport"\n'
        f'password = "{password}"\n',
    )
    config.write_text(text)
    code, out = run_check(config, capsys)
    assert (code == 0) is ok, out
    if ok:
        assert "as ictsupport" in line(out, "SMTP")
    else:
        assert line(out, "SMTP").startswith("FAIL") and "login refused" in line(out, "SMTP")
    assert password not in out


def test_broken_rules_fail_naming_the_directory_and_file(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    (rules / "sla.toml").write_text("this is [not toml\n")
    code, out = run_check(configured(tmp_path, url, dovecot, smtp_sink, rules=rules), capsys)
    assert code == 1
    assert line(out, "rules").startswith("FAIL")
    assert str(rules) in line(out, "rules") and "sla.toml" in line(out, "rules")


def test_never_upgraded_database_says_run_db_upgrade(
    tmp_path: Path, db_url: str, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_check(configured(tmp_path, db_url, dovecot, smtp_sink), capsys)
    assert code == 1
    assert "is not initialised: run mailbot db upgrade" in line(out, "database")


def test_database_behind_the_code_says_run_db_upgrade(
    tmp_path: Path, db_url: str, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(db_url, "0003")
    code, out = run_check(configured(tmp_path, db_url, dovecot, smtp_sink), capsys)
    assert code == 1
    assert "at revision 0003" in line(out, "database") and "db upgrade" in line(out, "database")


def test_unreachable_postgresql_fails_naming_the_server(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    url = f"postgresql+psycopg2://mailbot@127.0.0.1:{port}/mailbot"
    code, out = run_check(configured(tmp_path, url, dovecot, smtp_sink), capsys)
    assert code == 1
    assert f"cannot reach postgresql database mailbot on 127.0.0.1:{port}" in line(out, "database")


def test_read_only_postgresql_fails_as_not_writable(
    tmp_path: Path, pg_url: str, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    migrated(pg_url)
    # A standby or a role limited to reading behaves so: every write is refused.
    read_only = pg_url + "?options=-c%20default_transaction_read_only%3Don"
    code, out = run_check(configured(tmp_path, read_only, dovecot, smtp_sink), capsys)
    assert code == 1
    assert "cannot be written" in line(out, "database") and "read-only" in line(out, "database")


def test_read_only_sqlite_fails_as_not_writable(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mailbot.db"
    migrated(f"sqlite:///{path}")
    # Opened read-only, as SQLite does with a file the user may not write.
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    code, out = run_check(configured(tmp_path, read_only, dovecot, smtp_sink), capsys)
    assert code == 1
    assert "cannot be written" in line(out, "database") and "readonly" in line(out, "database")


def test_sqlite_in_a_missing_directory_fails_in_one_line(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "no-such-dir" / "mailbot.db"
    code, out = run_check(configured(tmp_path, f"sqlite:///{path}", dovecot, smtp_sink), capsys)
    assert code == 1
    assert f"cannot open the SQLite file {path}" in line(out, "database")
    assert "Traceback" not in out


def test_status_page_folder_that_cannot_be_written_fails(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    # Root may write anywhere, so the folder's place is taken by a file.
    (tmp_path / "status").write_text("not a folder")
    code, out = run_check(configured(tmp_path, url, dovecot, smtp_sink), capsys)
    assert code == 1
    assert line(out, "status page").startswith("FAIL")
    assert f"cannot write in {tmp_path / 'status'}" in line(out, "status page")
