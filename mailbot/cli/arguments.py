"""The `mailbot` command line's grammar: every command and option, naming the module that runs it.

Only argparse is imported here.  Each command names its handler as
"module:function" (the ``handler`` default), and the command line imports
that one module when the command is chosen: `mailbot --help` lists every
command, but `mailbot calls list` does not import the daemon, the reports'
charts or the incident room.
"""

from __future__ import annotations

import argparse
import os
from typing import TypeAlias

from mailbot import __version__

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

_BY_CALL = "who is acting, for the audit trail (an officer's address; default: cli)"
_BY_MEMBER = "the board member voting (their address): a vote is theirs"
_BY_INCIDENT = "the officer acting (their address), for the record"
_BY_PLANNED = "the officer acting (id, name or address), for the record"
_WHEN = "local date and time, e.g. '2026-12-12 18:30'"


def _leaf(
    sub: Sub, name: str, handler: str, text: str, description: str | None = None
) -> argparse.ArgumentParser:
    """A command that ``handler`` ("module:function") carries out; ``text`` is its --help line."""
    parser = sub.add_parser(name, help=text, description=description)
    parser.set_defaults(handler=handler)
    return parser


def _group(sub: Sub, name: str, text: str) -> Sub:
    """A command whose sub-commands do the work (`mailbot calls list`, say)."""
    parser = sub.add_parser(name, help=text)
    return parser.add_subparsers(dest=f"{name}_command", required=True)


def _calls(sub: Sub) -> None:
    calls = _group(sub, "calls", "list, show and work calls")
    lst = _leaf(calls, "list", "mailbot.cli.callviews:list_command", text="list calls")
    lst.add_argument("--json", action="store_true")
    show = _leaf(
        calls, "show", "mailbot.cli.callviews:show_command", text="show one call with its messages"
    )
    show.add_argument("ref")
    show.add_argument("--json", action="store_true")
    work = "mailbot.cli.calls:command"
    assign = _leaf(calls, "assign", work, text="give a call to an officer")
    assign.add_argument("ref")
    assign.add_argument("officer", help="officer id, name or address")
    assign.add_argument("--by", default="cli", help=_BY_CALL)
    note = _leaf(calls, "note", work, text="add an internal note (never sent to the school)")
    note.add_argument("ref")
    note.add_argument("text", help="the note; - reads it from standard input")
    note.add_argument("--by", default="cli", help=_BY_CALL)
    reply = _leaf(calls, "reply", work, text="write to the school on its call, as an officer")
    reply.add_argument("ref")
    reply.add_argument("text", help="the message; - reads it from standard input")
    reply.add_argument("--by", required=True, help="the officer writing (their address)")
    authorise = _leaf(
        calls,
        "authorise",
        work,
        text="authorise a request waiting for the headteacher (given another way)",
    )
    authorise.add_argument("ref")
    authorise.add_argument("--by", default="cli", help=_BY_CALL)
    decline = _leaf(calls, "decline", work, text="decline a request waiting for authorisation")
    decline.add_argument("ref")
    decline.add_argument("reason", help="why, for the requester")
    decline.add_argument("--by", default="cli", help=_BY_CALL)
    approve = _leaf(calls, "approve", work, text="a board member approves a change")
    approve.add_argument("ref")
    approve.add_argument("--by", required=True, help=_BY_MEMBER)
    reject = _leaf(calls, "reject", work, text="a board member rejects a change")
    reject.add_argument("ref")
    reject.add_argument("reason", help="why, for the school")
    reject.add_argument("--by", required=True, help=_BY_MEMBER)
    update = _leaf(
        calls,
        "update",
        work,
        text="change a call's status, priority, type, deadline, links or assignee",
    )
    update.add_argument("ref")
    update.add_argument("--status", help="open, in_progress, awaiting_customer, solved or closed")
    update.add_argument("--priority", help="Critical, P1, P2, P3 or P4")
    update.add_argument("--type", help="incident, service_request, change_request or complaint")
    update.add_argument(
        "--link", action="append", metavar="REF", help="cross-reference another call (repeatable)"
    )
    update.add_argument(
        "--deadline", help="revised fix deadline agreed with the school: DATE or 'DATE HH:MM'"
    )
    update.add_argument("--reason", help="why the deadline was revised (required with it)")
    update.add_argument(
        "--missed-reason",
        help="why the call missed (or will miss) its fix target, as #reason does by email",
    )
    update.add_argument(
        "--message",
        help="words for the school: in the solved notice with --status solved, else sent "
        "as the officer's reply (needs --by)",
    )
    update.add_argument("--assign", help="officer id, name or address")
    update.add_argument("--by", default="cli", help=_BY_CALL)


def _incidents(sub: Sub) -> None:
    parser = _leaf(
        sub,
        "incidents",
        "mailbot.cli.incidents:command",
        text="declare, update, resolve and list major incidents",
    )
    inner = parser.add_subparsers(dest="incidents_command", required=True)
    declare = inner.add_parser("declare", help="declare a major incident and broadcast it")
    declare.add_argument("title", help="what is affected, e.g. 'Internet down in all schools'")
    declare.add_argument("--details", help="more words for the first notice")
    declare.add_argument("--call", help="the call it was reported on (linked, made Critical)")
    declare.add_argument("--keywords", help="comma-separated words linking new emails to it")
    declare.add_argument(
        "--email-down", action="store_true", help="school email is down: use alternative addresses"
    )
    declare.add_argument("--by", required=True, help=_BY_INCIDENT)
    update = inner.add_parser("update", help="broadcast an update")
    update.add_argument("ref")
    update.add_argument("text")
    update.add_argument("--email-down", dest="email_down", action="store_true", default=None)
    update.add_argument("--email-up", dest="email_down", action="store_false")
    update.add_argument("--by", required=True, help=_BY_INCIDENT)
    for parser_ in (declare, update):
        parser_.add_argument("--services", help="comma-separated services it affects")
        parser_.add_argument(
            "--partial", dest="outage", action="store_const", const="partial",
            help="the services were degraded rather than wholly down",
        )  # fmt: skip
        parser_.add_argument(
            "--full", dest="outage", action="store_const", const="full",
            help="the services were wholly down (the default)",
        )  # fmt: skip
    resolve = inner.add_parser("resolve", help="resolve it: broadcast, and solve its linked calls")
    resolve.add_argument("ref")
    resolve.add_argument("text")
    resolve.add_argument("--by", required=True, help=_BY_INCIDENT)
    listing = inner.add_parser("list", help="list incidents with their calls and deliveries")
    listing.add_argument("--json", action="store_true")


def _planned(sub: Sub) -> None:
    parser = _leaf(
        sub,
        "planned",
        "mailbot.cli.planned:command",
        text="announce, change, cancel and list planned maintenance",
    )
    inner = parser.add_subparsers(dest="planned_command", required=True)
    announce = inner.add_parser("announce", help="announce planned work and broadcast it")
    announce.add_argument("title", help="what is being done, e.g. 'Firewall upgrade'")
    announce.add_argument("--from", dest="start", required=True, help=f"when it starts: {_WHEN}")
    announce.add_argument("--to", dest="end", required=True, help=f"when it ends: {_WHEN}")
    announce.add_argument(
        "--services", required=True, help="comma-separated services (incidents.toml: services)"
    )
    announce.add_argument("--details", help="more words for the announcement")
    announce.add_argument("--by", required=True, help=_BY_PLANNED)
    change = inner.add_parser("change", help="move it or change its services (broadcast once)")
    change.add_argument("ref")
    change.add_argument("--from", dest="start", help=f"the new start: {_WHEN}")
    change.add_argument("--to", dest="end", help=f"the new end: {_WHEN}")
    change.add_argument("--services", help="the new comma-separated services")
    change.add_argument("--details", help="what the notice says about the change")
    change.add_argument("--by", required=True, help=_BY_PLANNED)
    cancel = inner.add_parser("cancel", help="cancel work that has not started (broadcast once)")
    cancel.add_argument("ref")
    cancel.add_argument("--details", help="why, for the notice")
    cancel.add_argument("--by", required=True, help=_BY_PLANNED)
    cancel.set_defaults(start=None, end=None, services=None)
    listing = inner.add_parser("list", help="list planned work, newest first")
    listing.add_argument("--json", action="store_true")


def _held(sub: Sub) -> None:
    parser = _leaf(sub, "held", "mailbot.cli.held:command", text="emails kept for a human")
    inner = parser.add_subparsers(dest="held_command", required=True)
    listing = inner.add_parser("list", help="every held email nobody has dealt with")
    listing.add_argument("--json", action="store_true")
    dismiss = inner.add_parser("dismiss", help="deal with a held email by doing nothing more")
    dismiss.add_argument("id", help="the id `held list` shows (`12`, or `p3` for a parked email)")
    dismiss.add_argument("--by", default="", help="who dismissed it (default: the login name)")
    dismiss.add_argument("--reason", default="", help="why, kept with the record")
    opening = inner.add_parser("open", help="turn a held email into a call for a school")
    opening.add_argument("id", help="the id `held list` shows (a stored email, not a parked one)")
    opening.add_argument("--school", required=True, help="the school's id in schools.toml")
    opening.add_argument("--by", default="", help="who opened it (default: the login name)")
    answer = inner.add_parser("reply", help="answer a held email's sender, as an officer")
    answer.add_argument("id", help="the id `held list` shows")
    answer.add_argument("text", help="the message; - reads it from standard input")
    answer.add_argument("--by", required=True, help="the officer writing (id or address)")


def _availability(sub: Sub) -> None:
    availability = _leaf(
        sub,
        "availability",
        "mailbot.cli.availability:command",
        text="each service's availability against the SLA target",
    )
    which = availability.add_mutually_exclusive_group()
    which.add_argument("--month", help="the month, e.g. 2026-11 (default: last month)")
    which.add_argument("--term", help="a date in the term (sla.toml's terms), e.g. 2026-11-02")
    availability.add_argument("--json", action="store_true")


def _documents(sub: Sub) -> None:
    report = _leaf(
        sub,
        "report",
        "mailbot.cli.report:command",
        text="write a month's report (HTML, charts, CSV) to a folder",
        description="Write the monthly report the scheduler emails: report.html, which shows "
        "the PNG charts beside it, and the CSV of the month's calls.",
    )
    report.add_argument("--month", help="the month, e.g. 2026-11 (default: last month)")
    report.add_argument("--out", required=True, help="the folder to write the files to")
    report.add_argument("--school", help="a school's own version: its id in schools.toml")
    review = _leaf(
        sub,
        "review",
        "mailbot.cli.review:command",
        text="write a term's service review pack (HTML, charts, CSV) to a folder",
        description="Write the termly service review pack the scheduler emails when a term "
        "ends: review.html, which shows the PNG charts beside it, and the CSV of the "
        "term's calls.  Terms are named in sla.toml's calendar.terms.",
    )
    review.add_argument("--term", help="the term, e.g. autumn-2026 (default: the last one ended)")
    review.add_argument(
        "--out", help="the folder to write the files to (default: ./review-TERM[-SCHOOL])"
    )
    review.add_argument("--school", help="a school's own pack: its id in schools.toml")


def _run(sub: Sub) -> None:
    run = _leaf(sub, "run", "mailbot.cli.service:run_command", text="run the daemon")
    run.add_argument("--once", action="store_true", help="process the mailbox once and exit")


def _demo(sub: Sub) -> None:
    demo = _leaf(
        sub,
        "demo",
        "mailbot.cli.service:demo_command",
        text="show the whole job with embedded servers",
    )
    demo.add_argument("--speed", type=float, default=1.0, help="pause between steps (seconds)")


def _setup(sub: Sub) -> None:
    rules = _group(sub, "rules", "check the rule files")
    check = _leaf(
        rules,
        "check",
        "mailbot.cli.rulescheck:rules_check_command",
        text="validate rules and render every template",
    )
    check.add_argument("dir", nargs="?")
    db = _group(sub, "db", "database schema")
    _leaf(
        db,
        "upgrade",
        "mailbot.cli.dbupgrade:db_upgrade_command",
        text="create or migrate the schema",
    )
    sla = _group(sub, "sla", "ask the SLA rules questions")
    deadline = _leaf(
        sla,
        "deadline",
        "mailbot.cli.sla:command",
        text="when would a call logged at these instants be due? (rules only, no servers)",
    )
    deadline.add_argument("--priority", required=True, help="Critical, P1, P2, P3 or P4")
    deadline.add_argument(
        "--at",
        action="append",
        help="when the call is logged, ISO 8601; local time in the rules' zone unless an "
        "offset is given; repeat for several (default: now, or --now)",
    )
    deadline.add_argument("--json", action="store_true", help="one JSON object per instant")
    changes = _group(sub, "changes", "change requests and their review by the board")
    changes_list = _leaf(
        changes,
        "list",
        "mailbot.cli.changes:command",
        text="every change request and its review state",
    )
    changes_list.add_argument("--json", action="store_true")


def _operations(sub: Sub) -> None:
    senders = _leaf(
        sub, "senders", "mailbot.cli.senders:command", text="addresses blocked as mail loops"
    )
    inner = senders.add_subparsers(dest="senders_command", required=True)
    inner.add_parser("list", help="list the blocked addresses")
    unblock = inner.add_parser("unblock", help="answer an address again after a loop")
    unblock.add_argument("address")
    unblock.add_argument("--by", default="", help="who cleared it (default: the login name)")
    status = _leaf(sub, "status", "mailbot.cli.status:command", text="is the daemon healthy?")
    output = status.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument(
        "--prometheus",
        action="store_true",
        help="print Prometheus's text format (for node_exporter's textfile collector)",
    )
    check = _leaf(
        sub,
        "check",
        "mailbot.cli.check:command",
        text="test the configuration: mail servers, folders, rules, database, status page",
    )
    check.add_argument(
        "--send-test",
        metavar="ADDRESS",
        help="also send one email marked as a test to ADDRESS through [smtp]",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command; each leaf's ``handler`` names what runs it."""
    p = argparse.ArgumentParser(
        prog="mailbot",
        description="The `mailbot` command line: the one place that reads the clock and the "
        "environment.",
    )
    p.add_argument(
        "--config",
        default=os.environ.get("MAILBOT_CONFIG", "config.toml"),
        help="configuration file (default: $MAILBOT_CONFIG or ./config.toml)",
    )
    p.add_argument("--now", help="treat this ISO 8601 instant as the current time")
    p.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    p.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
        help="how much to log (default: [logging] level, else INFO)",
    )
    p.add_argument("--version", action="version", version=f"mailbot {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    # The order is the order `mailbot --help` lists them in, as before.
    _run(sub)
    _calls(sub)
    _incidents(sub)
    _planned(sub)
    _availability(sub)
    _setup(sub)  # rules, db, sla, changes
    _documents(sub)  # report, review
    _operations(sub)  # senders, status, check
    _held(sub)
    _demo(sub)
    return p
