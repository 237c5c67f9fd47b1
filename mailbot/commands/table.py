"""The command table: one function per command, shared by email replies and the CLI.

Each handler checks its argument against the rules and the call and returns
either a Refused (nothing changed) or a plan to carry out.  Every command in
an email is checked before any is carried out, so one bad command changes
nothing at all; then the plans run in the order written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from mailbot.approval import authorisation
from mailbot.calls import lifecycle, records, references
from mailbot.calls.records import Worked
from mailbot.commands import actions, change, grammar, major, planned
from mailbot.commands.grammar import Command, Instructions
from mailbot.commands.job import Job, Plan
from mailbot.rules.files import CALL_TYPES
from mailbot.sla.calendar import describe
from mailbot.sla.clock import HELD
from mailbot.storage.models import Call

Handler = Callable[[Job, str], "Plan | records.Refused"]


def _done(result: str | records.Refused) -> str:
    # Handlers check everything a plan relies on first, so a refusal here is
    # a bug; failing the whole email keeps the call unchanged.
    if isinstance(result, records.Refused):
        raise RuntimeError(f"a checked command was refused: {result.message}")
    return result


def _assign(job: Job, arg: str) -> Plan | records.Refused:
    who = arg.strip().rstrip(".")
    if not who:
        return records.Refused("say who: #assign sam (an officer's id, name or address, or me)")
    officer = actions.resolve_officer(job.rules, who, job.by.actor)
    if isinstance(officer, records.Refused):
        return officer

    def plan() -> str:
        done = _done(actions.assign(job.session, job.rules, job.call, officer, job.by))
        actions.tell_assignee(job.session, job.config, job.rules, job.call, job.by, job.occasion)
        return done

    return plan


def _take(job: Job, arg: str) -> Plan | records.Refused:
    return _assign(job, "me")


def _unassign(job: Job, arg: str) -> Plan | records.Refused:
    return lambda: actions.unassign(job.session, job.call, job.by)


# "P4", "priority 4" or "p4 only one laptop is affected": the priority, then the reason.
_PRIORITY = re.compile(r"^\s*((?:priority\s+)?\S+)[\s,:;-]*(.*)$", re.IGNORECASE | re.DOTALL)


def _tell_after(
    job: Job, change: Callable[[], str | records.Refused], reason: str, kind: str
) -> str:
    """Carry out a change of targets, then tell the school what changed and why."""
    was = (job.call.priority, job.call.fix_due_at)
    done = _done(change())
    told = actions.tell_targets(
        job.session, job.config, job.rules, job.call,
        was=was, reason=reason, by=job.by, occasion=f"{job.occasion}\0{kind}",
    )  # fmt: skip
    return done + told


def _priority(job: Job, arg: str) -> Plan | records.Refused:
    known = tuple(job.rules.clock.targets)
    priority, reason = grammar.priority_word(arg, known), ""
    match = _PRIORITY.match(arg)
    if priority is None and match is not None:
        priority, reason = grammar.priority_word(match[1], known), match[2].strip()
    if priority is None:
        return records.Refused(f"no priority {arg.strip()!r}; priorities are {', '.join(known)}")
    chosen = priority
    return lambda: _tell_after(
        job, lambda: actions.set_priority(job.session, job.rules, job.call, chosen, job.by),
        reason, "priority",
    )  # fmt: skip


def _type(job: Job, arg: str) -> Plan | records.Refused:
    kind = grammar.type_word(arg)
    if kind is None or kind not in CALL_TYPES:
        names = ", ".join(CALL_TYPES)
        return records.Refused(f"no call type {arg.strip()!r}; types are {names}")
    return lambda: actions.set_type(job.session, job.config, job.rules, job.call, kind, job.by)


def _status(job: Job, arg: str) -> Plan | records.Refused:
    status = grammar.status_word(arg)
    if status is None:
        choices = "open, in_progress, awaiting_customer, solved, closed"
        return records.Refused(f"no status {arg.strip()!r}; statuses are {choices}")
    if status in HELD:
        # A held status is where a process puts a call (asking the head, or
        # the board), never a status staff set: nobody would be asked.
        return records.Refused(
            "a call waits for approval when it is sent to the Change Advisory Board: "
            "reply #change (or #change emergency)"
        )
    if job.call.status == "awaiting_approval":
        return records.Refused(
            f"{job.call.ref} is with the Change Advisory Board; a board member replies "
            "#approve or #reject REASON first (or the school #withdraw)"
        )
    if job.call.status in HELD:
        return records.Refused(
            f"{job.call.ref} is waiting for the headteacher's authorisation; "
            "reply #authorise or #decline REASON first"
        )
    message = job.body if status == "solved" else ""
    return lambda: _done(
        actions.set_status(
            job.session, job.config, job.rules, job.call, status, job.by, message, job.occasion
        )
    )


def _solved(job: Job, arg: str) -> Plan | records.Refused:
    return _status(job, "solved")


# "2026-12-04", "2026-12-04 15:00", "2026-12-04T15:00" or "4/12/2026 15:00",
# then the reason it was agreed.
_DEADLINE = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})(?:[ T](\d{1,2}[:.]\d{2}))?[\s,:;-]*(.*)$",
    re.DOTALL,
)


def _deadline(job: Job, arg: str) -> Plan | records.Refused:
    match = _DEADLINE.match(arg.strip())
    if match is None:
        return records.Refused(
            "write the date first, then the reason: #deadline 2026-12-04 agreed with the head"
        )
    day, clock, reason = match[1], match[2], match[3].strip()
    if "/" in day:
        d, m, y = day.split("/")
        day = f"{y}-{int(m):02d}-{int(d):02d}"
    else:
        y, m, d = day.split("-")
        day = f"{y}-{int(m):02d}-{int(d):02d}"
    when = f"{day} {clock.replace('.', ':').zfill(5)}" if clock else day
    due = actions.check_deadline(job.rules, when, reason, job.by.now)
    if isinstance(due, records.Refused):
        return due
    return lambda: _tell_after(
        job, lambda: actions.set_deadline(job.session, job.rules, job.call, when, reason, job.by),
        reason, "deadline",
    )  # fmt: skip


def _reason(job: Job, arg: str) -> Plan | records.Refused:
    # Only the command line: the words below it may be meant for the school.
    why = arg.strip()
    if not why:
        return records.Refused(
            "write why after the command: #reason the replacement switch was out of stock"
        )

    def plan() -> str:
        lifecycle.set_missed_reason(job.session, job.call, why, now=job.by.now, actor=job.by.actor)
        return f"reason for missing the fix target recorded: {why}"

    return plan


def _link(job: Job, arg: str) -> Plan | records.Refused:
    incident = major.incident_named(job.session, job.rules, arg)
    if incident is not None:
        return major.prepare_link(
            job.session, job.config, job.rules, job.call, job.by, incident, job.occasion
        )
    refs = job.rules.policy.references
    wanted = references.references(arg, refs.prefix, refs.width)
    if wanted is None:
        return records.Refused(f"write the calls to link like {refs.prefix}-000120")
    others: list[Call] = []
    for ref in wanted:
        other = actions.find_call(job.session, job.rules, ref)
        if other is None:
            return records.Refused(f"there is no call {ref}")
        if other.id == job.call.id:
            return records.Refused(f"{ref} is this call")
        others.append(other)
    return lambda: "; ".join(actions.link(job.session, job.call, o, job.by) for o in others)


def _note(job: Job, arg: str) -> Plan | records.Refused:
    text = "\n".join(p for p in (arg.strip(), job.body) if p)
    if not text:
        return records.Refused("the note is empty: write it after #note or below it")

    def plan() -> str:
        _done(actions.add_note(job.session, job.call, text, job.by))
        # Worked.internal says it once: the receipt's line, or the command line's.
        return ""

    return plan


def _authorise(job: Job, arg: str) -> Plan | records.Refused:
    if job.call.status != "awaiting_authorisation":
        return records.Refused(f"{job.call.ref} is not waiting for authorisation")
    # What the headteacher wrote with the decision (a condition, a word of
    # context) goes to whoever works the call.
    words = "\n".join(p for p in (arg.strip(), job.body) if p)
    return lambda: authorisation.authorise(
        job.session, job.config, job.rules, job.call, job.by, job.occasion, words=words
    )


def _decline(job: Job, arg: str) -> Plan | records.Refused:
    if job.call.status != "awaiting_authorisation":
        return records.Refused(f"{job.call.ref} is not waiting for authorisation")
    reason = "\n".join(p for p in (arg.strip(), job.body) if p)
    return lambda: authorisation.decline(
        job.session, job.config, job.rules, job.call, reason, job.by, job.occasion
    )


def _major(job: Job, arg: str) -> Plan | records.Refused:
    """#major declare TITLE / update TEXT / resolve TEXT / email down / keywords A, B."""
    declaring = any(
        c.name == "major" and c.arg.strip().lower().startswith("declare") for c in job.siblings
    )
    return major.prepare(
        job.session, job.config, job.rules, job.call, job.by, arg, job.body, declaring
    )


def _planned(job: Job, arg: str) -> Plan | records.Refused:
    """#planned TITLE; from WHEN; to WHEN; services A, B / change REF; ... / cancel REF."""
    return planned.prepare(job.session, job.rules, job.by, arg, job.body, job.call)


def _help(job: Job, arg: str) -> Plan | records.Refused:
    # The receipt carries the list; there is nothing to change.
    return lambda: ""


# The command table: one handler per command word (see commands.USAGE).
TABLE: dict[str, Handler] = {
    "assign": _assign,
    "take": _take,
    "unassign": _unassign,
    "priority": _priority,
    "type": _type,
    "status": _status,
    "solved": _solved,
    "deadline": _deadline,
    "reason": _reason,
    "link": _link,
    "note": _note,
    "authorise": _authorise,
    "decline": _decline,
    "approve": change.approve,
    "reject": change.reject,
    "appeal": change.appeal,
    "withdraw": change.withdraw,
    "change": change.change,
    "major": _major,
    "planned": _planned,
    "help": _help,
}

# What a headteacher may do by email (and, about a change, changecmd's
# SCHOOL_COMMANDS); every other command word from a school is ordinary text.
HEADTEACHER_COMMANDS = frozenset({"authorise", "decline"})


def run(job: Job, found: Instructions, *, relay: bool) -> Worked:
    """Check every command, then carry them out and deal with the words below them.

    The words go to the school (from the support address, in its thread)
    unless ``relay`` is false, the email says #note (they become the note), or
    it marks the call solved (they go in the solved notice).  If anything is
    refused, nothing is changed and nothing is sent.
    """
    job = replace(job, siblings=found.commands)
    ref = job.call.ref
    refused = list(found.problems)
    plans: list[Plan] = []
    # With #note the words below the commands are the note and nothing else:
    # no other command (a solved notice, a decline) may carry them to the school.
    others = replace(job, body="") if found.named("note") else job
    for command in found.commands:
        outcome = TABLE[command.name](job if command.name == "note" else others, command.arg)
        if isinstance(outcome, records.Refused):
            refused.append(f"{command.line}: {outcome.message}")
        else:
            plans.append(outcome)
    consumed = _uses_body(found.commands)
    if relay and job.body and not consumed and not refused:
        officer = job.rules.directory.identify(job.by.actor).officer
        if officer is None:
            refused.append(f"{job.by.actor} is not an officer, so cannot write to schools")
    if refused:
        return Worked(ref, refused=tuple(refused), help=found.named("help") is not None)
    done = [result for plan in plans if (result := plan())]
    sent_to: tuple[str, ...] = ()
    if relay and job.body and not consumed:
        relayed = actions.reply_to_school(
            job.session, job.config, job.rules, job.call, job.body, job.by, job.occasion
        )
        if isinstance(relayed, records.Refused):
            done.append(f"not sent to the school: {relayed.message}")
        else:
            sent_to = actions.school_recipients(job.rules, job.call)
    return Worked(
        ref,
        done=tuple(done),
        sent_to=sent_to,
        internal=found.named("note") is not None,
        help=found.named("help") is not None,
        missed_target=_missed_target(job, found.commands),
    )


def _solves(found: tuple[Command, ...]) -> bool:
    return any(
        c.name == "solved" or (c.name == "status" and grammar.status_word(c.arg) == "solved")
        for c in found
    )


def _missed_target(job: Job, found: tuple[Command, ...]) -> str:
    """The fix target, in words, when this email solved the call after it without a #reason.

    Checked after every command ran, so a #reason anywhere in the same email counts.
    """
    due = job.call.fix_due_at
    if due is None or not _solves(found) or not lifecycle.solved_late_without_reason(job.call):
        return ""
    return describe(due, job.rules.calendar, job.by.now).removeprefix("by ")


def _uses_body(found: tuple[Command, ...]) -> bool:
    """Whether a command takes the words below it (a note, a solved notice, a reason)."""
    for command in found:
        if command.name in ("note", "solved", "authorise", "decline", "major", "planned"):
            return True
        if command.name in change.USES_BODY:
            return True
        if command.name == "status" and grammar.status_word(command.arg) == "solved":
            return True
    return False
