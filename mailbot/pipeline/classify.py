"""Pipeline stage: classify a would-be new call by the ordered rules in classify.toml."""

from __future__ import annotations

from dataclasses import replace

from mailbot.calls.records import Classification
from mailbot.pipeline.records import Context, Triage
from mailbot.rules.loader import Rules
from mailbot.sla.clock import DONE

# Most urgent first: a lift only ever moves a call towards the front.
_URGENCY = ("Critical", "P1", "P2", "P3", "P4")


def _rule_match(rules: Rules, fields: dict[str, str]) -> Classification:
    """The first matching rule on top of the defaults."""
    default = rules.classification.default
    for rule, patterns in rules.compiled:
        if all(p.search(fields[name]) for name, p in patterns.items()):
            chosen = rule.set
            return Classification(
                type=chosen.type or default.type or "incident",
                category=chosen.category or default.category or "general",
                priority=chosen.priority or default.priority or "P3",
                team=chosen.team or default.team,
                rule=rule.name,
            )
    return Classification(
        type=default.type or "incident",
        category=default.category or "general",
        priority=default.priority or "P3",
        team=default.team,
        rule="default",
    )


def _lifted(rules: Rules, c: Classification, text: str) -> Classification:
    """Raise the priority by the first lift whose patterns all match and that is higher."""
    for compiled in rules.lifts:
        lift = compiled.lift
        if c.type not in lift.types or _URGENCY.index(lift.to) >= _URGENCY.index(c.priority):
            continue
        if compiled.unless is not None and compiled.unless.search(text):
            continue
        if all(p.search(text) for p in compiled.patterns):
            return replace(c, priority=lift.to, rule=f"{c.rule}, raised by: {lift.name}")
    return c


def classify_text(rules: Rules, sender: str, subject: str, body: str) -> Classification:
    """Apply the first matching rule on top of the defaults, then any priority lift."""
    text = f"{subject}\n{body}"
    fields = {"sender": sender, "subject": subject, "body": body, "text": text}
    return _lifted(rules, _rule_match(rules, fields), text)


def classify(t: Triage, ctx: Context) -> Triage:
    """Classify mail that is not part of a live call."""
    # A call that is solved or closed may be followed by a new one, which needs
    # classifying like any new call.
    if t.call is not None and t.call.status not in DONE:
        return t
    if t.screening is not None and t.screening.automatic:
        return t
    msg = t.parsed
    return replace(
        t, classification=classify_text(ctx.rules, msg.from_addr or "", msg.subject, msg.new_text)
    )
