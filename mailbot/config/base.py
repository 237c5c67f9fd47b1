"""The strict settings base and the secret reading every configuration section shares."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from mailbot.errors import ConfigError


class Strict(BaseModel):
    # Unknown keys are almost always typos, so they are errors, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


def read_secret(name: str, value: str | None, file: Path | None, env: str | None) -> str:
    """One secret from whichever of its value, file or environment variable is given."""
    if file is not None:
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_file {file}: {exc.strerror}") from exc
    if env is not None:
        found = os.environ.get(env)
        if found is None:
            raise ConfigError(f"{name}_env: environment variable {env} is unset")
        return found
    return value or ""


def one_of(section: Strict, *keys: str) -> list[str]:
    """The keys of ``keys`` that are set; more than one is an error."""
    given = [k for k in keys if getattr(section, k)]
    if len(given) > 1:
        raise ValueError(f"give only one of {', '.join(given)}")
    return given
