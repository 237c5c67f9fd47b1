"""Tests for the status page: what it shows, that it escapes, how it is written, in Chromium."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from support import Env, local, make_env

from mailbot.incidents import incident, statuspage
from mailbot.storage.db import transaction

RAJ = "raj.patel@westshire.gov.uk"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def env(tmp_path: Path) -> Env:
    made = make_env(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}")
    page = made.config.status_page.model_copy(
        update={"dir": tmp_path / "status", "url": "https://status.westshire.example/"}
    )
    made.config = made.config.model_copy(update={"status_page": page})
    return made


def declare(env: Env, title: str, details: str, at: int = 30) -> None:
    with transaction(env.sessions) as session:
        incident.declare(
            session, env.rules, title=title, details=details,
            by=incident.By(RAJ, local(2026, 11, 23, 9, at)),
        )  # fmt: skip


def change(env: Env, kind: str, text: str, minute: int) -> None:
    with transaction(env.sessions) as session:
        found = incident.find(session, env.rules, "MI-0001")
        assert found is not None
        by = incident.By(RAJ, local(2026, 11, 23, 10, minute))
        if kind == "update":
            incident.update(session, found, text, by)
        else:
            incident.resolve(session, env.config, env.rules, found, text, by)


def publish(env: Env, minute: int = 59) -> bool:
    return statuspage.publish(env.sessions, env.config, env.rules, local(2026, 11, 23, 10, minute))


def page(env: Env) -> str:
    folder = env.config.status_page.dir
    assert folder is not None
    return (folder / "index.html").read_text(encoding="utf-8")


def chromium_dom(path: Path) -> str:
    """The page's DOM after Chromium (Debian's package, headless) loaded it."""
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium package is needed (scripts/test installs it)"
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", path.as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_with_no_incident_the_page_says_all_is_well(env: Env) -> None:
    assert publish(env)
    assert "All services are running normally" in page(env)


def test_an_active_incident_shows_its_title_and_updates_newest_first(env: Env) -> None:
    declare(env, "Internet service down across all schools", "The link failed at 09:20.")
    change(env, "update", "Engineers are on site.", 30)
    publish(env)
    html = page(env)
    assert "Current major incidents" in html
    assert html.index("Engineers are on site.") < html.index("The link failed at 09:20.")


def test_a_resolved_incident_moves_to_recent_with_its_duration(env: Env) -> None:
    declare(env, "Internet service down across all schools", "The link failed.")
    change(env, "resolve", "The fibre was repaired.", 45)
    publish(env)
    html = page(env)
    assert "Recently resolved" in html and "no major incident" in html
    assert "(1 hour 15 minutes)" in html


def test_incident_text_is_escaped_in_the_page_and_the_feed(env: Env) -> None:
    declare(env, "<b>Bold</b> & <script>alert(1)</script>", "<img src=x onerror=alert(2)>")
    publish(env)
    html = page(env)
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    folder = env.config.status_page.dir
    assert folder is not None
    feed = ET.fromstring((folder / "feed.atom").read_bytes())
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}content") == "<img src=x onerror=alert(2)>"


def test_the_feed_has_an_entry_for_every_notice_newest_first(env: Env) -> None:
    declare(env, "Internet down", "Declared.")
    change(env, "update", "Update one.", 10)
    change(env, "resolve", "Fixed.", 20)
    publish(env)
    folder = env.config.status_page.dir
    assert folder is not None
    feed = ET.fromstring((folder / "feed.atom").read_bytes())
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert titles == [
        "[MI-0001] Resolved: Internet down",
        "[MI-0001] Update: Internet down",
        "[MI-0001] Declared: Internet down",
    ]


def test_the_page_is_rewritten_only_when_incidents_change(env: Env) -> None:
    assert publish(env)
    assert not publish(env, 58)
    declare(env, "Internet down", "Declared.")
    assert publish(env, 57)


def test_a_page_deleted_by_hand_is_written_again(env: Env) -> None:
    publish(env)
    folder = env.config.status_page.dir
    assert folder is not None
    (folder / "index.html").unlink()
    assert publish(env)
    assert (folder / "index.html").exists()


def test_writing_leaves_no_temporary_files_behind(env: Env) -> None:
    declare(env, "Internet down", "Declared.")
    publish(env)
    folder = env.config.status_page.dir
    assert folder is not None
    assert sorted(p.name for p in folder.iterdir()) == ["feed.atom", "index.html"]


@pytest.mark.servers  # headless Chromium, which scripts/test installs
def test_chromium_shows_the_title_and_the_latest_update(env: Env) -> None:
    declare(env, "Internet service down across all schools", "The link failed at 09:20.")
    change(env, "update", "Engineers expect service back by 1pm.", 30)
    publish(env)
    folder = env.config.status_page.dir
    assert folder is not None
    dom = chromium_dom(folder / "index.html")
    assert "<h3>Internet service down across all schools</h3>" in dom
    assert "Engineers expect service back by 1pm." in dom
    assert 'name="viewport"' in dom


@pytest.mark.servers  # headless Chromium, which scripts/test installs
def test_chromium_shows_html_in_incident_text_as_text(env: Env) -> None:
    declare(env, "<i>Filtering</i> down", '<script>document.title="hacked"</script>Details')
    publish(env)
    folder = env.config.status_page.dir
    assert folder is not None
    dom = chromium_dom(folder / "index.html")
    # Had the text become markup, Chromium would hold an <i> element and a
    # script that renamed the page; instead both are characters on the page.
    assert "<h3>&lt;i&gt;Filtering&lt;/i&gt; down</h3>" in dom
    assert "<title>Schools ICT service status</title>" in dom
    assert '&lt;script&gt;document.title="hacked"&lt;/script&gt;Details' in dom


# Every C0 control, DEL and a C1 control, and the two non-characters XML 1.0 forbids.
CONTROLS = "".join(chr(c) for c in range(0x20)) + "\x7f\x85\ufffe\uffff"


def _forbidden_in_xml(text: str) -> list[str]:
    return [
        f"U+{ord(c):04X}"
        for c in text
        if (ord(c) < 0x20 and c not in "\t\n\r")
        or 0xD800 <= ord(c) <= 0xDFFF
        or c in "\ufffe\uffff"
    ]


def test_control_characters_in_an_incident_leave_the_feed_and_page_well_formed(env: Env) -> None:
    declare(env, f"Filtering{CONTROLS} down", f"Pasted from Word:\x0bline two{CONTROLS}end")
    change(env, "update", f"Still down{CONTROLS}", 5)
    publish(env)
    folder = env.config.status_page.dir
    assert folder is not None
    # An XML parser refuses the whole feed if one forbidden character is left.
    feed = ET.fromstring((folder / "feed.atom").read_bytes())
    entries = feed.findall(f"{ATOM}entry")
    # Tab and line breaks stay (the parser reads a carriage return as a line
    # feed); vertical tab and form feed become line breaks; the rest go.
    assert [e.findtext(f"{ATOM}content") for e in entries] == [
        "Still down\t\n\n\n\n",
        "Pasted from Word:\nline two\t\n\n\n\nend",
    ]
    assert "Filtering" in (entries[0].findtext(f"{ATOM}title") or "")
    html = page(env)
    assert _forbidden_in_xml(html) == []
    assert "\x7f" not in html and "\x85" not in html
    assert "line two" in html


def test_xml_safe_drops_lone_surrogates_and_keeps_ordinary_text() -> None:
    from mailbot.mail.xmltext import xml_safe
    from mailbot.rules.templates import text_to_html

    hostile = f"caf\u00e9 \ud800 \udfff{CONTROLS} \U0001f600 done"
    cleaned = xml_safe(hostile)
    assert _forbidden_in_xml(cleaned) == []
    assert cleaned.startswith("caf\u00e9 ") and cleaned.endswith(" \U0001f600 done")
    assert _forbidden_in_xml(text_to_html(hostile)) == []


# --- issue 14 item 21: a page that stays true, a feed that links, no "email us" while down ---


def test_an_active_incidents_page_written_once_is_still_true_an_hour_later(env: Env) -> None:
    declare(env, "Internet service down across all schools", "The link failed.")
    assert statuspage.publish(env.sessions, env.config, env.rules, local(2026, 11, 23, 9, 31))
    # Nothing changes for an hour: the page is not rewritten, so what it says
    # must not depend on when it was written.
    assert not statuspage.publish(env.sessions, env.config, env.rules, local(2026, 11, 23, 10, 45))
    html = page(env)
    assert "ongoing for" not in html and "minute" not in html
    assert "ongoing since 9.30am on Monday 23 November 2026" in html
    assert "Last changed 9.30am on Monday 23 November 2026" in html


def test_the_feed_links_to_itself_and_each_entry_to_its_incident_on_the_page(env: Env) -> None:
    declare(env, "Internet down", "Declared.")
    change(env, "update", "Update one.", 10)
    publish(env)
    folder = env.config.status_page.dir
    assert folder is not None
    feed = ET.fromstring((folder / "feed.atom").read_bytes())
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {
        "self": "https://status.westshire.example/feed.atom",
        "alternate": "https://status.westshire.example/",
    }
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:
        [link] = entry.findall(f"{ATOM}link")
        assert link.get("href") == "https://status.westshire.example/#MI-0001"
    # The fragment names the incident's section of the page.
    assert 'id="MI-0001"' in page(env)
    # The feed says it changed when its newest entry was written, not when the file was.
    assert feed.findtext(f"{ATOM}updated") == "2026-11-23T10:10:00+00:00"


def test_while_school_email_is_down_the_page_does_not_tell_schools_to_email(env: Env) -> None:
    with transaction(env.sessions) as session:
        incident.declare(
            session, env.rules, title="School email is down", details="No mail.",
            by=incident.By(RAJ, local(2026, 11, 23, 9, 30)), email_down=True,
        )  # fmt: skip
    publish(env)
    html = page(env)
    assert "email ictsupport@westshire.gov.uk" not in html
    assert "please do not email us" in html
    with_phone = env.config.status_page.model_copy(update={"phone": "01632 960000"})
    env.config = env.config.model_copy(update={"status_page": with_phone})
    statuspage.publish(env.sessions, env.config, env.rules, local(2026, 11, 23, 11, 0), force=True)
    assert "to report a problem, telephone 01632 960000" in page(env)
    # Once it is resolved, the usual footer is back.
    change(env, "resolve", "Mail is flowing.", 30)
    publish(env)
    assert "to report a problem, email ictsupport@westshire.gov.uk" in page(env)
