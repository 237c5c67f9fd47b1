"""Pipeline stage: pass each composed email through the one door into the outbox."""

from __future__ import annotations

from dataclasses import replace

from mailbot.calls import door
from mailbot.pipeline.records import Context, Triage


def enqueue(t: Triage, ctx: Context) -> Triage:
    """Pipeline stage: pass each composed email through the door into the outbox."""
    notes = list(t.notes)
    # Together, so that their rows go in with one statement per table.
    with door.together(ctx.store):
        for out in t.outgoing:
            passed = door.send(ctx.store, ctx.config, ctx.rules, out, ctx.now)
            if passed.note:
                notes.append(passed.note)
    return replace(t, notes=tuple(notes))
