"""Composing a batch of broadcast notices: what all recipients share is worked out once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mailbot.config import Config
from mailbot.mail.msgid import fixed_id
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.loader import Rules
from mailbot.rules.templates import Rendered
from mailbot.sla.calendar import describe
from mailbot.storage.models import Delivery, Incident, IncidentUpdate

# How a catch-up names each notice it repeats (updates by their number).
HISTORY_LABELS = {"declare": "Declared", "resolve": "Resolved"}


def notice_id(config: Config, ref: str, seq: int, address: str) -> str:
    """The Message-ID of notice ``seq`` of an incident to one address."""
    return fixed_id(config.service.id_domain, ref, f"n{seq}", address)


class Composer:
    """Composes one batch's notices, each distinct body rendered once.

    A notice's context is the same for every recipient but for the
    recipient's own fields and whether theirs is a catch-up; the dates are
    described once per notice, and the template is rendered once per
    distinct value of the recipient fields it reads (for the shipped
    templates, the lists a person is on).  Rendering is a pure function of
    the context, so each email is the same as if rendered for itself.
    """

    def __init__(self, config: Config, rules: Rules, now: datetime) -> None:
        self.config = config
        self.rules = rules
        self.now = now
        self._shared: dict[tuple[int, bool], tuple[str, dict[str, Any]]] = {}
        self._rendered: dict[tuple[object, ...], Rendered] = {}
        # How many times a template was rendered (the rest reused a body).
        self.renders = 0

    def _describe(self, at: datetime) -> str:
        return describe(at, self.rules.calendar, self.now).removeprefix("by ")

    def _context(
        self, incident: Incident, notice: IncidentUpdate, history: Sequence[IncidentUpdate]
    ) -> tuple[str, dict[str, Any]]:
        """The template and what every recipient's context holds for ``notice``."""
        context: dict[str, Any] = {
            "service": {"name": self.config.service.name, "address": self.config.service.address},
            "incident": {
                "ref": incident.ref,
                "title": incident.title,
                "status": incident.status,
                "email_down": incident.email_down,
                "declared": self._describe(incident.declared_at),
            },
            "notice": {
                "kind": notice.kind,
                "seq": notice.seq,
                "text": notice.text,
                "at": self._describe(notice.at),
            },
            "status_url": self.config.status_page.url,
            "history": [
                {
                    "kind": h.kind,
                    # Updates are numbered as their own notices were ("UPDATE 2").
                    "label": f"Update {h.seq - 1}"
                    if h.kind == "update"
                    else HISTORY_LABELS.get(h.kind, h.kind),
                    "at": self._describe(h.at),
                    "text": h.text,
                }
                for h in history
            ],
        }
        template = "incident_notice"
        if incident.kind == "planned" and incident.starts_at and incident.ends_at:
            # Planned work's notices say its window and services as they stand now.
            template = "planned_notice"
            context["work"] = {
                "starts": self._describe(incident.starts_at),
                "ends": self._describe(incident.ends_at),
                "services": ", ".join(s for s in incident.services.split("\n") if s),
                "status": incident.status,
            }
        return template, context

    def _render(
        self,
        incident: Incident,
        notice: IncidentUpdate,
        delivery: Delivery,
        history: Sequence[IncidentUpdate],
    ) -> tuple[str, Rendered]:
        catchup = delivery.catchup
        shared = self._shared.get((notice.id, catchup))
        if shared is None:
            shared = self._shared[(notice.id, catchup)] = self._context(incident, notice, history)
        template, context = shared
        recipient = {"name": delivery.name, "lists": delivery.lists}
        fields = self.rules.templates.fields_read(template, "recipient")
        read = sorted(recipient) if fields is None else sorted(fields)
        key = (notice.id, catchup, *((f, recipient.get(f)) for f in read))
        rendered = self._rendered.get(key)
        if rendered is None:
            rendered = self.rules.templates.render(
                template, {**context, "recipient": recipient, "catchup": catchup}
            )
            self._rendered[key] = rendered
            self.renders += 1
        return template, rendered

    def compose(
        self,
        incident: Incident,
        notice: IncidentUpdate,
        delivery: Delivery,
        history: Sequence[IncidentUpdate] = (),
    ) -> Outgoing:
        """One delivery's email: the notice, or for a catch-up every notice in ``history``."""
        template, rendered = self._render(incident, notice, delivery, history)
        # Each recipient's notices about one incident form one thread; a
        # catch-up is the first email of that person's thread.
        config = self.config
        earlier = tuple(
            notice_id(config, incident.ref, seq, delivery.address)
            for seq in range(1, 1 if delivery.catchup else notice.seq)
        )
        return Outgoing(
            kind=template,
            to=(delivery.address,),
            cc=(),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id=notice_id(config, incident.ref, notice.seq, delivery.address),
            in_reply_to=earlier[-1] if earlier else None,
            references=earlier[-10:],
            auto="auto-generated",
        )
