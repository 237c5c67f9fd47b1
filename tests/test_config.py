"""Tests for loading and validating the configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config import load_config
from mailbot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

MINIMAL = """
[service]
address = "support@example.gov.uk"
[imap]
host = "127.0.0.1"
password = "x"
[smtp]
host = "127.0.0.1"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid() -> None:
    config = load_config(ROOT / "config.example.toml")
    assert config.service.address == "ictsupport@westshire.gov.uk"
    assert config.imap.security == "ssl"


def test_relative_paths_resolve_beside_the_config_file(tmp_path: Path) -> None:
    # The default database is absolute (/var/lib/mailbot); a relative one is
    # taken beside the config file.
    config = load_config(write(tmp_path, MINIMAL + '[database]\nurl = "sqlite:///mailbot.db"\n'))
    assert config.rules.dir == tmp_path / "rules"
    assert config.database.url == f"sqlite:///{tmp_path / 'mailbot.db'}"


def test_unknown_key_is_named_in_the_error(tmp_path: Path) -> None:
    text = MINIMAL.replace('password = "x"', 'password = "x"\nprot = 143')
    with pytest.raises(ConfigError, match=r"\[imap.prot\]"):
        load_config(write(tmp_path, text))


def test_bad_security_value_is_named(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        '[smtp]\nhost = "127.0.0.1"', '[smtp]\nhost = "127.0.0.1"\nsecurity = "tls"'
    )
    with pytest.raises(ConfigError, match=r"\[smtp.security\]"):
        load_config(write(tmp_path, text))


def test_two_password_sources_are_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace('password = "x"', 'password = "x"\npassword_env = "PW"')
    with pytest.raises(ConfigError, match="only one of"):
        load_config(write(tmp_path, text))


def test_password_read_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text("s3cret\n", encoding="utf-8")
    text = MINIMAL.replace('password = "x"', f'password_file = "{secret}"')
    assert load_config(write(tmp_path, text)).imap.secret() == "s3cret"


def test_password_read_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MB_TEST_PW", "from-env")
    text = MINIMAL.replace('password = "x"', 'password_env = "MB_TEST_PW"')
    assert load_config(write(tmp_path, text)).imap.secret() == "from-env"


def test_unset_password_variable_is_a_clear_error(tmp_path: Path) -> None:
    text = MINIMAL.replace('password = "x"', 'password_env = "MB_SURELY_UNSET_VAR"')
    with pytest.raises(ConfigError, match="MB_SURELY_UNSET_VAR is unset"):
        load_config(write(tmp_path, text)).imap.secret()


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml")


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[service\naddress = 1"))
