"""Pipeline stage: say who sent the email (a school, staff, a stranger or no one)."""

from __future__ import annotations

from dataclasses import replace

from mailbot.triage import Context, Triage


def identify(t: Triage, ctx: Context) -> Triage:
    """Look the sender up in the schools and staff directories."""
    msg = t.parsed
    return replace(t, sender=ctx.rules.directory.identify(msg.from_addr, msg.from_name))
