"""Email templates from the rules directory, rendered with Jinja2 and checked at load."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

# Every email mailbot sends has a template; each is checked against this sample
# data when rules load, so a typo fails `mailbot rules check`, not a 2 a.m. send.
_SAMPLE_CALL = {
    "ref": "ICT-000123",
    "tag": "[ICT-000123]",
    "subject": "Internet very slow in the ICT suite",
    "type": "incident",
    "type_label": "Incident",
    "category": "internet",
    "priority": "P2",
    "priority_description": "Significant impact",
    "response_target": "1 day",
    "fix_target": "2 days",
    "response_due": "by 4.30pm on Monday 23 November",
    "fix_due": "by 4.30pm on Tuesday 24 November",
    "school": "Oakfield Primary School",
    "topic": "Oakfield Primary School: Internet very slow in the ICT suite",
    "requester": "Ann Example",
    "status": "open",
}
_COMMANDS = [
    "#assign NAME   #priority P1-P4   #status STATUS   #solved",
    "#deadline DATE REASON   #note   #help",
]
_OFFICER = {"name": "Sam Okafor", "email": "sam.okafor@example.gov.uk"}
_SERVICE = {"name": "Schools ICT Support", "address": "ictsupport@example.gov.uk"}

SAMPLES: dict[str, dict[str, Any]] = {
    "confirmation": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "missing": ["a contact telephone number", "when it last worked"],
        "out_of_hours": True,
        "picked_up": "8am on Monday 23 November",
        "password_removed": True,
        "authorisation": {"by": "Helen Marsh"},
        "previous": {
            "ref": "ICT-000101",
            "status": "closed",
            "solved": "4.10pm on Monday 9 November",
        },
    },
    "reopened": {"service": _SERVICE, "call": _SAMPLE_CALL},
    "solved": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "note": "We replaced the faulty switch in the ICT suite.",
        "reopen_until": "by 2.15pm on Wednesday 25 November",
        "close_on": "after 2.15pm on Friday 27 November",
    },
    "closure": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "solved": "2.15pm on Tuesday 24 November",
    },
    "new_call": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "sender": {
            "name": "Ann Example",
            "address": "ann@oakfield.example",
            "phone": "01632 960001",
        },
        "text": "The internet has been very slow in the ICT suite since this morning.",
        "attachments": [{"filename": "error.png", "content_type": "image/png", "kb": 120}],
        "missing": ["when it last worked"],
        "previous": "ICT-000101",
        "commands": _COMMANDS,
    },
    "school_reply": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "sender": {"name": "Ann Example", "address": "ann@oakfield.example", "phone": ""},
        "text": "It is still slow this afternoon.",
        "attachments": [],
        "reopened": False,
        "commands": _COMMANDS,
    },
    "staff_reply": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "text": "I have restarted the filtering appliance; please try again now.",
        "officer": _OFFICER,
    },
    "escalation": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "level": 1,
        "share": 65,
        "left": "6 hours 18 minutes of support time left",
        "overdue": False,
        "assignee": "Sam Okafor",
        "logged": "4.30pm on Friday 20 November",
        "details": "The internet has been very slow in the ICT suite since this morning.",
        "commands": _COMMANDS,
    },
    "receipt": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "commands": _COMMANDS,
        "done": ["assigned to sam", "priority P3 -> P2"],
        "refused": ["#priority P7: no priority 'P7'; priorities are Critical, P1, P2, P3, P4"],
        "sent_to": ["head@oakfield.example", "spoc@oakfield.example"],
        "internal": False,
        "help": ["#assign NAME", "    give the call to an officer (id, name or me)"],
    },
    "staff_update": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "commands": _COMMANDS,
        "authorised": True,
        "by": "Helen Marsh",
        "reason": "",
    },
    "authorisation_request": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "headteacher": "Helen Marsh",
    },
    "authorisation_result": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "authorised": False,
        "by": "Helen Marsh",
        "reason": "We are not allowing social media in class this term.",
    },
    "unverified_staff": {
        "service": _SERVICE,
        "subject": "Re: [ICT-000123] Internet very slow in the ICT suite",
        "sender": {
            "name": "Sam Okafor",
            "address": "sam.okafor@example.gov.uk",
            "reason": "mx.example.gov.uk reported dkim=fail, spf=fail",
        },
    },
    "unknown_sender": {
        "service": _SERVICE,
        "sender": {"name": "Sam Someone", "address": "sam@example.com"},
        "subject": "School places",
    },
    "oversize": {
        "service": _SERVICE,
        "subject": "Scans of the network cabinet",
        "size_mb": 25.3,
        "limit_mb": 15,
    },
}

TEMPLATE_NAMES = tuple(SAMPLES)

# Pages (not emails) written as HTML: `NAME.html.j2`, rendered with every
# value HTML-escaped.  Each is checked against its sample data at load, like
# the email templates.  Features add their page's sample here.
PAGE_SAMPLES: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True)
class Rendered:
    """One email's subject and bodies, ready to be put into MIME."""

    subject: str
    text: str
    html: str


def text_to_html(text: str) -> str:
    """Make a plain, readable HTML alternative from the text body."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    body = "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.splitlines()) + "</p>"
        for p in paragraphs
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
        '<body style="font-family: Arial, sans-serif; font-size: 15px; line-height: 1.4;">\n'
        f"{body}\n</body></html>\n"
    )


@dataclass(frozen=True)
class Templates:
    """The loaded template set; render() produces a Rendered email."""

    env: jinja2.Environment
    # The same folder with autoescaping on, for HTML pages (see PAGE_SAMPLES).
    pages: jinja2.Environment | None = None

    def render_page(self, name: str, context: dict[str, Any]) -> str:
        """Render the HTML page template ``NAME.html.j2``, escaping every value."""
        env = self.pages or self.env
        return env.get_template(f"{name}.html.j2").render(context)

    def render(self, name: str, context: dict[str, Any]) -> Rendered:
        """Render template ``name`` (subject and body blocks) with ``context``."""
        template = self.env.get_template(f"{name}.txt.j2")
        ctx = template.new_context(context)
        subject = "".join(template.blocks["subject"](ctx))
        text = "".join(template.blocks["body"](ctx))
        # Subjects are one line whatever the template's whitespace does.
        subject = " ".join(subject.split())
        text = re.sub(r"\n{3,}", "\n\n", text.strip()) + "\n"
        return Rendered(subject=subject, text=text, html=text_to_html(text))


def load_templates(folder: Path, problems: list[str]) -> Templates | None:
    """Load the templates in ``folder`` and render each against sample data."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    pages = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
    )
    templates = Templates(env, pages)
    before = len(problems)
    for name, sample in PAGE_SAMPLES.items():
        file = f"templates/{name}.html.j2"
        try:
            templates.render_page(name, sample)
        except jinja2.TemplateNotFound:
            problems.append(f"{file}: template is missing")
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{file}: line {exc.lineno}: {exc.message}")
        except jinja2.UndefinedError as exc:
            problems.append(f"{file}: {exc.message} (check the variable names)")
        except (jinja2.TemplateError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"{file}: cannot render: {exc}")
    for name in TEMPLATE_NAMES:
        file = f"templates/{name}.txt.j2"
        try:
            template = env.get_template(f"{name}.txt.j2")
        except jinja2.TemplateNotFound:
            problems.append(f"{file}: template is missing")
            continue
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{file}: line {exc.lineno}: {exc.message}")
            continue
        for block in ("subject", "body"):
            if block not in template.blocks:
                problems.append(f"{file}: block {block!r} is missing")
        try:
            templates.render(name, SAMPLES[name])
        except jinja2.UndefinedError as exc:
            problems.append(f"{file}: {exc.message} (check the variable names)")
        except (jinja2.TemplateError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"{file}: cannot render: {exc}")
    return templates if len(problems) == before else None
