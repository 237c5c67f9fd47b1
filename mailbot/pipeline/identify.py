"""Pipeline stage: say who sent the email (a school, staff, a stranger or no one)."""

from __future__ import annotations

from dataclasses import replace

from mailbot.mail import authresults
from mailbot.pipeline.records import Context, Triage
from mailbot.rules.directory import Sender, SenderKind


def _staff_doubt(t: Triage, ctx: Context) -> str | None:
    """Why a staff From address cannot be believed, or None when it can."""
    msg = t.parsed
    if msg.from_suspect:
        return "the From header holds more than one address"
    service = ctx.config.service
    if service.authserv_id:
        verdict = authresults.check(msg, service.authserv_id)
        return None if verdict.passed else verdict.reason
    if service.insecure_trust_staff_from_header:
        return None
    return "no authserv_id is configured, so the receiving server's checks cannot be read"


def identify(t: Triage, ctx: Context) -> Triage:
    """Look the sender up in the directories by the From addr-spec; staff must be verified.

    A From header is easy to forge, and staff mail can run commands and write
    to schools, so a staff address counts only when our receiving server
    (named by ``authserv_id``) vouched for it, unless the administrator chose
    the insecure opt-out.  A suspect From (two addresses, or an address in
    the display name) is identified by its addr-spec, but never as staff and
    never as a school contact such as a headteacher; instruct honours no
    command in it.
    """
    msg = t.parsed
    sender = ctx.rules.directory.identify(msg.from_addr, msg.from_name)
    if sender.kind is SenderKind.STAFF:
        doubt = _staff_doubt(t, ctx)
        if doubt is not None:
            note = f"staff address not trusted: {doubt}"
            unverified = Sender(SenderKind.UNVERIFIED, sender.address, sender.name, officer=None)
            return replace(t, sender=unverified, notes=(*t.notes, note), reason=doubt)
    if sender.kind is SenderKind.SCHOOL and msg.from_suspect:
        note = "suspect From header: handled as the school's mail, no command honoured"
        # Neither the display text nor the contact entry speaks for the person:
        # no greeting by a name the sender chose, no headteacher's role.
        doubted = replace(sender, name="", contact=None)
        return replace(t, sender=doubted, notes=(*t.notes, note))
    return replace(t, sender=sender)
