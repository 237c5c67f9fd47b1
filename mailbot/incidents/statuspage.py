"""The public status page: active and recent major incidents as static HTML and an Atom feed.

Any web server can serve the configured directory.  Both files are written
to a temporary name in the same directory and renamed over the old ones, so
a reader only ever sees a whole page.  The page is rewritten whenever the
incidents change; a version stamp in the database tells when.  Every time on
it is absolute (with the year), so that it stays true however long after
its writing it is read.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailbot.config import Config
from mailbot.incidents import planned, store
from mailbot.mail.xmltext import xml_safe
from mailbot.rules.loader import Rules
from mailbot.sla.calendar import describe
from mailbot.storage import heartbeats
from mailbot.storage.db import Session, Sessions
from mailbot.storage.models import Incident, ServiceState

ATOM = "http://www.w3.org/2005/Atom"
KIND_LABELS = {
    "declare": "Declared",
    "update": "Update",
    "resolve": "Resolved",
    # Planned maintenance's notices all say "Planned", so that the page and
    # feed never show agreed work as an incident.
    "announce": "Planned",
    "reminder": "Planned: reminder",
    "start": "Planned: started",
    "end": "Planned: completed",
    "change": "Planned: changed",
    "cancel": "Planned: cancelled",
}


def _duration(start: datetime, end: datetime) -> str:
    minutes = max(0, round((end - start).total_seconds() / 60))
    hours, mins = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if mins or not parts:
        parts.append(f"{mins} minute{'s' if mins != 1 else ''}")
    return " ".join(parts)


def _incidents(session: Session, config: Config) -> tuple[list[Incident], list[Incident]]:
    return store.active(session), store.recently_resolved(session, config.status_page.recent)


def _when(t: datetime, rules: Rules) -> str:
    """An instant as the page says it: absolute, with the year, so it stays true when read later."""
    return describe(t, rules.calendar).removeprefix("by ")


def _as_dict(incident: Incident, rules: Rules) -> dict[str, Any]:
    # Nothing here depends on when the page is written: an active incident
    # says since when it has run, not for how long, so that a page written
    # once and read an hour later is still right.
    return {
        "ref": incident.ref,
        "title": incident.title,
        "status": incident.status,
        "email_down": incident.email_down,
        "declared": _when(incident.declared_at, rules),
        "resolved": _when(incident.resolved_at, rules) if incident.resolved_at else "",
        "duration": _duration(incident.declared_at, incident.resolved_at)
        if incident.resolved_at
        else "",
        "updates": [
            {
                "label": KIND_LABELS.get(u.kind, u.kind),
                "at": _when(u.at, rules),
                "text": u.text,
            }
            for u in sorted(incident.updates, key=lambda u: -u.seq)
        ],
    }


def _changed(incidents: list[Incident]) -> datetime | None:
    """When anything on the page last changed (None: no incident to show)."""
    return max((i.updated_at for i in incidents), default=None)


def page_context(session: Session, config: Config, rules: Rules, now: datetime) -> dict[str, Any]:
    """What the status page template sees."""
    current, recent = _incidents(session, config)
    works = store.upcoming_planned(session)
    changed = _changed(current + recent + works) or now
    return {
        "service": {"name": config.service.name, "address": config.service.address},
        "title": config.status_page.title,
        "url": config.status_page.url,
        "phone": config.status_page.phone,
        "updated": _when(changed, rules),
        # While school email is down the page must not send schools to email.
        "email_down": any(i.email_down for i in current),
        "active": [_as_dict(i, rules) for i in current],
        "recent": [_as_dict(i, rules) for i in recent],
        # Planned work's times are absolute too (with the year).
        "planned": [
            {**row, "updates": _as_dict(work, rules)["updates"]}
            for work, row in zip(works, planned.summary(works, rules, None), strict=True)
        ],
    }


def atom_feed(session: Session, config: Config, now: datetime) -> bytes:
    """An Atom feed with one entry per incident notice, newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    base = config.status_page.url.rstrip("/") or f"urn:mailbot:{config.service.id_domain}"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = xml_safe(config.status_page.title)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = xml_safe(f"{base}/feed.atom")
    entries = store.newest_notices(session, 50)
    # The feed changed when its newest entry did (now only when it has none).
    newest = entries[0][0].at if entries else now
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = newest.astimezone(UTC).isoformat()
    page = config.status_page.url
    if page:
        # The feed's own address (rel="self", which feed readers and
        # validators expect) and the page it mirrors.
        self_href = xml_safe(f"{page.rstrip('/')}/feed.atom")
        ET.SubElement(
            feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=self_href
        )
        ET.SubElement(
            feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=xml_safe(page)
        )
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = xml_safe(config.service.name)
    for notice, incident in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        label = KIND_LABELS.get(notice.kind, notice.kind)
        title = f"[{incident.ref}] {label}: {incident.title}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = xml_safe(title)
        ET.SubElement(entry, f"{{{ATOM}}}id").text = xml_safe(f"{base}/{incident.ref}/{notice.seq}")
        if page:
            # Each entry links to its incident's section of the page (its id).
            href = xml_safe(f"{page}#{incident.ref}")
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=href)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = notice.at.astimezone(UTC).isoformat()
        # ElementTree escapes markup but not the characters XML 1.0 forbids
        # (a vertical tab pasted from Word would make the whole feed invalid).
        ET.SubElement(entry, f"{{{ATOM}}}content", type="text").text = xml_safe(notice.text)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def publish(
    sessions: Sessions,
    config: Config,
    rules: Rules,
    now: datetime,
    force: bool = False,
) -> bool:
    """Rewrite the page and feed if the incidents changed since last time; say whether it did."""
    folder = config.status_page.dir
    if folder is None:
        return False
    with sessions() as session:
        version = store.version(session)
        stored = session.get(ServiceState, "status_page")
        current = stored is not None and stored.value == version
        if current and not force and (folder / "index.html").exists():
            return False
        html = rules.templates.render_page("status_page", page_context(session, config, rules, now))
        feed = atom_feed(session, config, now)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomically(folder / "feed.atom", feed)
    _write_atomically(folder / "index.html", html.encode("utf-8"))
    heartbeats.record(sessions, "status_page", version, now)
    return True
