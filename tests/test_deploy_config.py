"""Deployment defaults: database in the StateDirectory, OAuth2 files by the config, bad rules."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from support import SHIPPED_RULES, write_config_file

from mailbot.cli.main import main
from mailbot.config import load_config

WITHOUT_DATABASE = """
[service]
address = "support@example.gov.uk"
[imap]
host = "127.0.0.1"
password = "x"
[smtp]
host = "127.0.0.1"
"""


def test_database_defaults_to_the_units_state_directory(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(WITHOUT_DATABASE, encoding="utf-8")
    # Not beside the config file (/etc/mailbot, read-only under the unit) but
    # in /var/lib/mailbot, the unit's StateDirectory.
    assert load_config(config_file).database.url == "sqlite:////var/lib/mailbot/mailbot.db"


def test_unit_state_directory_is_where_the_default_database_lives() -> None:
    unit = (SHIPPED_RULES.parent / "systemd" / "mailbot.service").read_text()
    assert "StateDirectory=mailbot\n" in unit
    example = (SHIPPED_RULES.parent / "config.example.toml").read_text()
    assert 'url = "sqlite:////var/lib/mailbot/mailbot.db"' in example


OAUTH_FILES = """
[service]
address = "support@example.gov.uk"
[imap]
host = "127.0.0.1"
username = "support@example.gov.uk"
auth = "oauth2"
[imap.oauth2]
provider = "microsoft"
tenant = "westshire"
client_id = "app"
certificate_key_file = "credentials/key.pem"
certificate_thumbprint = "AB12"
ca_file = "certs/ca.pem"
[smtp]
host = "127.0.0.1"
auth = "oauth2"
[smtp.oauth2]
provider = "google"
client_id = "client"
client_secret_file = "credentials/client-secret"
refresh_token_file = "credentials/refresh-token"
[fallback_smtp]
host = "127.0.0.1"
auth = "oauth2"
[fallback_smtp.oauth2]
provider = "google"
service_account_file = "/abs/sa.json"
"""


def test_oauth2_file_keys_are_relative_to_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    (folder / "credentials").mkdir(parents=True)
    (folder / "credentials" / "client-secret").write_text("the-secret\n")
    (folder / "credentials" / "refresh-token").write_text("the-refresh-token\n")
    (folder / "credentials" / "key.pem").write_text("PEM\n")
    config_file = folder / "config.toml"
    config_file.write_text(OAUTH_FILES, encoding="utf-8")
    loaded = load_config(config_file)
    imap, smtp = loaded.imap.oauth2, loaded.smtp.oauth2
    assert imap is not None and smtp is not None
    assert imap.certificate_key_file == folder / "credentials" / "key.pem"
    assert imap.file_text("certificate_key_file") == "PEM"
    assert imap.ca_file == str(folder / "certs" / "ca.pem")
    assert smtp.client_secret_file == folder / "credentials" / "client-secret"
    assert smtp.client_secret_value() == "the-secret"
    assert smtp.refresh_token_value() == "the-refresh-token"
    # An absolute path is kept as written.
    assert loaded.fallback_smtp is not None and loaded.fallback_smtp.oauth2 is not None
    assert loaded.fallback_smtp.oauth2.service_account_file == Path("/abs/sa.json")


def test_restart_with_broken_rules_exits_78_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    sla = rules / "sla.toml"
    sla.write_text(sla.read_text() + "\n[[[not toml\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, rules_dir=rules, timeout=5, password="x")
    assert main(["--config", str(config), "run"]) == 78
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"mailbot: cannot start: rules in {rules} are broken: ")
    assert "sla.toml" in err and "mailbot rules check" in err
    assert "Traceback" not in err
    # Nothing else ran: no database was made.
    assert not (tmp_path / "mailbot.db").exists()


def test_restart_with_several_rule_problems_names_the_first_and_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    for name in ("sla.toml", "staff.toml"):
        (rules / name).write_text("[[[broken\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, rules_dir=rules, timeout=5, password="x")
    assert main(["--config", str(config), "run"]) == 78
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "more)" in err


def test_db_upgrade_logs_the_migrations_but_not_alembics_plugin_chatter(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, password="x")
    caplog.set_level(logging.INFO)
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    names = {record.name for record in caplog.records}
    assert "alembic.runtime.migration" in names
    assert "alembic.runtime.plugins" not in names


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("client_secret_file", '"credentials/missing-secret"'),
        ("client_secret_env", '"MAILBOT_TEST_UNSET_OAUTH_SECRET"'),
    ],
)
def test_missing_oauth2_secret_stops_run_with_one_line_and_exit_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: str
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    oauth2 = (
        '[imap.oauth2]\nprovider = "microsoft"\ntenant = "westshire"\nclient_id = "app"\n'
        f"{key} = {value}\n"
    )
    config = write_config_file(tmp_path, url=url, timeout=5, auth="oauth2", extra=oauth2)
    # --once: without the check, a daemon would retry the token for ever.
    assert main(["--config", str(config), "run", "--once"]) == 78
    err = capsys.readouterr().err.strip().splitlines()
    # The trust warning about authserv_id is not printed: the secret is checked first.
    assert len(err) == 1 and err[0].startswith("mailbot: cannot start: [imap.oauth2] client_secret")
    if key == "client_secret_file":
        assert str(tmp_path / "credentials" / "missing-secret") in err[0]
    assert not (tmp_path / "mailbot.db").exists()
