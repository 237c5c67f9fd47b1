"""`mailbot review`: the pack as files, shown in headless Chromium on a desktop and on a phone."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from reportcalls import SCHOOLS, Made, make_month
from support import write_config_file
from test_reportcmd import pixels_near, screenshot

from mailbot.cli.main import main
from mailbot.reports.charts import SHARE_COLOURS, VOLUME_COLOURS
from mailbot.storage.db import make_engine, make_sessions, upgrade

NOW = "2026-12-19T09:00"
FILES = {
    "review.html",
    "review-share-in-target.png",
    "review-calls-per-term.png",
    "review-autumn-2026.csv",
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    return write_config_file(tmp_path, url=url)


@pytest.fixture
def made(config: Path, tmp_path: Path) -> list[Made]:
    return make_month(make_sessions(make_engine(f"sqlite:///{tmp_path / 'mailbot.db'}")))


def review(config: Path, out: Path, *extra: str) -> int:
    return main(["--config", str(config), "--now", NOW, "review", "--out", str(out), *extra])


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_the_pack_is_written_as_html_beside_its_charts_and_csv(
    config: Path, made: list[Made], tmp_path: Path
) -> None:
    out = tmp_path / "autumn"
    assert review(config, out, "--term", "autumn-2026") == 0
    assert {p.name for p in out.iterdir()} == FILES
    html = (out / "review.html").read_text(encoding="utf-8")
    assert "Service review: Autumn 2026" in html
    assert 'src="review-share-in-target.png"' in html and 'src="review-calls-per-term.png"' in html
    assert (out / "review-share-in-target.png").read_bytes().startswith(b"\x89PNG")
    # Every call made (all in the autumn term) is in the CSV, each once; problem
    # records have no target and are listed on the page instead.
    listed = [r["ref"] for r in rows(out / "review-autumn-2026.csv")]
    assert sorted(listed) == sorted(m.ref for m in made if m.type != "problem")
    # Every missed call on the page carries its reason where one was given.
    missed = {r["ref"]: r for r in rows(out / "review-autumn-2026.csv") if r["outcome"] == "missed"}
    assert missed
    for m in made:
        if m.ref in missed and m.reason:
            assert missed[m.ref]["missed_reason"] == m.reason
            assert m.reason in html


def test_without_term_the_last_ended_term_is_written(
    config: Path, made: list[Made], tmp_path: Path
) -> None:
    out = tmp_path / "last"
    assert review(config, out) == 0
    assert "review-autumn-2026.csv" in {p.name for p in out.iterdir()}


def test_an_unknown_term_is_refused_naming_the_known_ones(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert review(config, tmp_path / "x", "--term", "winter-2026") != 0
    assert "autumn-2026, spring-2027, summer-2027" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_schools_pack_is_written_with_its_calls_only(
    config: Path, made: list[Made], tmp_path: Path
) -> None:
    out = tmp_path / "riverside"
    assert review(config, out, "--term", "autumn-2026", "--school", "riverside-academy") == 0
    refs = {r["ref"] for r in rows(out / "review-autumn-2026-riverside-academy.csv")}
    assert refs == {m.ref for m in made if m.school == "riverside-academy" and m.type != "problem"}
    html = (out / "review.html").read_text(encoding="utf-8")
    assert "Riverside Academy" in html
    assert not any(SCHOOLS[s] in html for s in ("oakfield-primary", "st-marys-ce"))


def layout(page: Path, tmp: Path, width: int) -> tuple[int, str]:
    """How many pixels the page overflows sideways when shown ``width`` pixels wide in
    Chromium, and how a table's header row shows there.

    Headless Chromium's window is at least 500 pixels wide, narrower than a
    phone, so the page is shown in a frame of the phone's width instead (its
    media queries then see the frame's width, as a phone's would).
    """
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: install Debian's chromium package (scripts/test does)")
    probe = page.with_name(f"probe-{width}.html")
    probe.write_text(
        f'<!DOCTYPE html><html><head><title>loading</title></head><body style="margin:0">'
        f'<iframe id="f" src="{page.name}" style="width:{width}px;height:800px;border:0"></iframe>'
        "<script>document.getElementById('f').addEventListener('load', () => {"
        "const d = document.getElementById('f').contentDocument;"
        "document.title = (d.documentElement.scrollWidth - d.documentElement.clientWidth) + ' ' +"
        " getComputedStyle(d.querySelector('tr.head')).display; });</script></body></html>"
    )
    done = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp / 'chromium-layout'}",
            "--allow-file-access-from-files", "--window-size=1200,900",
            "--virtual-time-budget=5000", "--dump-dom", probe.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    found = re.search(r"<title>(\d+) ([\w-]+)</title>", done.stdout.decode())
    assert found, done.stdout.decode()[:2000]
    return int(found[1]), found[2]


@pytest.mark.servers  # headless Chromium, which scripts/test installs
def test_the_written_pack_shows_its_chart_images_in_chromium(
    config: Path, made: list[Made], tmp_path: Path
) -> None:
    out = tmp_path / "shown"
    assert review(config, out, "--term", "autumn-2026") == 0
    shown = screenshot(out / "review.html", tmp_path)
    assert pixels_near(shown, SHARE_COLOURS["incident"]) > 40
    assert pixels_near(shown, VOLUME_COLOURS["incident"]) > 400
    for name in ("review-share-in-target.png", "review-calls-per-term.png"):
        (out / name).unlink()
    blank = screenshot(out / "review.html", tmp_path)
    assert pixels_near(blank, SHARE_COLOURS["incident"]) == 0
    assert pixels_near(blank, VOLUME_COLOURS["incident"]) == 0


@pytest.mark.servers  # headless Chromium, which scripts/test installs
def test_the_pack_reads_on_a_phone_without_scrolling_sideways(
    config: Path, made: list[Made], tmp_path: Path
) -> None:
    out = tmp_path / "phone"
    assert review(config, out, "--term", "autumn-2026") == 0
    page = out / "review.html"
    # On a phone the tables become labelled cards and nothing is wider than the screen.
    assert layout(page, tmp_path, 375) == (0, "none")
    assert layout(page, tmp_path, 320) == (0, "none")
    # On a desktop the tables keep their header rows.
    assert layout(page, tmp_path, 1000) == (0, "table-row")
