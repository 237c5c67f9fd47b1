"""One piece of staff work on one call, as every command handler receives it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailbot.calls import records
from mailbot.commands.grammar import Command
from mailbot.config import Config
from mailbot.rules.loader import Rules
from mailbot.storage.db import Session
from mailbot.storage.models import Call

Plan = Callable[[], str]


@dataclass(frozen=True)
class Job:
    """One piece of staff work on one call: who, when, and the words below the commands."""

    session: Session
    config: Config
    rules: Rules
    call: Call
    by: records.Staff
    # Fixes the Message-IDs of the emails this work sends, so that doing it
    # again (a rerun after a crash) is refused by the outbox's unique index.
    occasion: str
    body: str = ""
    # Every command in the same email, for commands that depend on another.
    siblings: tuple[Command, ...] = ()
