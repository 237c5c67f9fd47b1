"""Pipeline stage: say who sent the email (a school, staff, a stranger or no one)."""

from __future__ import annotations

from dataclasses import replace

from mailbot import authresults
from mailbot.directory import Sender, SenderKind
from mailbot.triage import Context, Triage


def identify(t: Triage, ctx: Context) -> Triage:
    """Look the sender up in the directories; staff must pass authentication where configured.

    A From header is easy to forge, and staff mail can run commands and write
    to schools, so where the configuration names our receiving server's
    authserv-id a staff address counts only when that server vouched for it.
    """
    msg = t.parsed
    sender = ctx.rules.directory.identify(msg.from_addr, msg.from_name)
    authserv_id = ctx.config.service.authserv_id
    if sender.kind is SenderKind.STAFF and authserv_id:
        verdict = authresults.check(msg, authserv_id)
        if not verdict.passed:
            note = f"staff address not trusted: {verdict.reason}"
            unverified = Sender(SenderKind.UNVERIFIED, sender.address, sender.name, officer=None)
            return replace(t, sender=unverified, notes=(*t.notes, note), reason=verdict.reason)
    return replace(t, sender=sender)
