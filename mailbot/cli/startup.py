"""What the command line settles before a command runs: secrets, version, log format."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mailbot.errors import ConfigError, RulesError

if TYPE_CHECKING:
    from mailbot.config import Config

# sysexits.h EX_CONFIG: the systemd unit does not restart on it (RestartPreventExitStatus).
EX_CONFIG = 78


def missing_secret(config: Config) -> str | None:
    """The one line saying which password cannot be read, or None when all can."""
    sections = [("imap", config.imap), ("smtp", config.smtp)]
    if config.fallback_smtp:
        sections.append(("fallback_smtp", config.fallback_smtp))
    for name, section in sections:
        try:
            section.secret()
        except ConfigError as exc:
            return f"mailbot: cannot start: [{name}] {exc}"
        oauth2 = section.oauth2
        if oauth2 is None:
            continue
        # The OAuth2 secrets are read when a token is first needed; read them
        # now too, so that a missing one stops start-up the same way.
        try:
            if oauth2.client_secret or oauth2.client_secret_file or oauth2.client_secret_env:
                oauth2.client_secret_value()
            if oauth2.refresh_token or oauth2.refresh_token_file or oauth2.refresh_token_env:
                oauth2.refresh_token_value()
            for key in ("certificate_key_file", "service_account_file"):
                oauth2.file_text(key)
        except ConfigError as exc:
            return f"mailbot: cannot start: [{name}.oauth2] {exc}"
    return None


def broken_rules(rules_dir: Path, exc: RulesError) -> str:
    """The one line `mailbot run` prints when the rules on disk cannot be loaded."""
    # The journal shows one line per start attempt; the full list is one
    # command away, so the line names the first problem and how many more.
    first = exc.problems[0].splitlines()[0] if exc.problems else str(exc)
    more = len(exc.problems) - 1
    rest = f" (and {more} more)" if more > 0 else ""
    return (
        f"mailbot: cannot start: rules in {rules_dir} are broken: {first}{rest}; "
        "`mailbot rules check` lists every problem"
    )


def on_journal() -> bool:
    """Whether stderr is connected to systemd's journal, which adds its own timestamps."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = stream.partition(":")
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return stream != "" and f"{st.st_dev}:{st.st_ino}" == f"{device}:{inode}"
