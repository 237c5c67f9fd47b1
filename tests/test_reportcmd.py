"""`mailbot report --out`: the report as files, and the page showing its charts in Chromium."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from reportcalls import SCHOOLS, Made, make_month
from support import write_config_file

from mailbot.cli.main import main
from mailbot.reports import charts
from mailbot.reports.charts import SHARE_COLOURS, VOLUME_COLOURS
from mailbot.storage.db import make_engine, make_sessions, upgrade

NOW = "2026-12-01T09:00"
FILES = {"report.html", "share-in-target.png", "calls-per-month.png", "calls-2026-11.csv"}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    return write_config_file(tmp_path, url=url)


@pytest.fixture
def made(config: Path, tmp_path: Path) -> list[Made]:
    return make_month(make_sessions(make_engine(f"sqlite:///{tmp_path / 'mailbot.db'}")))


def report(config: Path, out: Path, *extra: str) -> int:
    return main(["--config", str(config), "--now", NOW, "report", "--out", str(out), *extra])


def screenshot(page: Path, tmp: Path) -> Image.Image:
    """Open ``page`` in headless Chromium and return what it showed."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: install Debian's chromium package (scripts/test does)")
    shot = tmp / f"{page.parent.name}-shot.png"
    done = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp / 'chromium-profile'}",
            f"--screenshot={shot}", "--window-size=1200,3000", page.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    return Image.open(shot).convert("RGB")


# A common phone's width in CSS pixels.
PHONE = 360
# The page is shown in a frame as wide as a phone (headless Chromium's own
# window is never narrower than 500 px), and the frame's layout is measured.
_PHONE_FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="report.html" style="width:%dpx;height:20000px;border:0"></iframe>
<script>
window.addEventListener("load", () => {
  const page = document.getElementById("f").contentDocument;
  const root = page.documentElement;
  document.body.setAttribute("data-layout", JSON.stringify({
    viewport: root.clientWidth,
    laid_out: root.scrollWidth,
    images: [...page.images].map(i => i.getBoundingClientRect().width),
  }));
});
</script></body></html>
"""


def phone_layout(page: Path, tmp: Path) -> dict[str, object]:
    """How headless Chromium lays out ``page`` in a viewport PHONE pixels wide."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: install Debian's chromium package (scripts/test does)")
    frame = page.parent / "phone.html"
    frame.write_text(_PHONE_FRAME % PHONE, encoding="utf-8")
    done = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--allow-file-access-from-files",
            f"--user-data-dir={tmp / 'chromium-profile'}", "--dump-dom", frame.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    found = re.search(rb'data-layout="([^"]*)"', done.stdout)
    assert found, done.stderr.decode(errors="replace")[-2000:]
    return dict(json.loads(found.group(1).decode().replace("&quot;", '"')))


def pixels_near(image: Image.Image, colour: str, tolerance: int = 6) -> int:
    """How many pixels of ``image`` are within ``tolerance`` of ``colour`` (#rrggbb)."""
    want = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    found = image.getcolors(maxcolors=1 << 24) or []
    return sum(
        n
        for n, rgb in found
        if all(abs(a - b) <= tolerance for a, b in zip(rgb, want, strict=True))
    )


def test_the_report_is_written_as_html_beside_its_charts_and_csv(
    config: Path, made: list[Made], tmp_path: Path
) -> None:
    out = tmp_path / "november"
    assert report(config, out, "--month", "2026-11") == 0
    assert {p.name for p in out.iterdir()} == FILES
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'src="share-in-target.png"' in html and 'src="calls-per-month.png"' in html
    assert (out / "share-in-target.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.servers  # headless Chromium, which scripts/test installs
def test_the_written_page_shows_its_chart_images_in_chromium(
    config: Path, made: list[Made], tmp_path: Path
) -> None:
    out = tmp_path / "shown"
    assert report(config, out, "--month", "2026-11") == 0
    shown = screenshot(out / "report.html", tmp_path)
    assert pixels_near(shown, SHARE_COLOURS["incident"]) > 40
    assert pixels_near(shown, VOLUME_COLOURS["incident"]) > 400
    # The same page without its images: the charts' colours are nowhere else.
    for name in ("share-in-target.png", "calls-per-month.png"):
        (out / name).unlink()
    blank = screenshot(out / "report.html", tmp_path)
    assert pixels_near(blank, SHARE_COLOURS["incident"]) == 0
    assert pixels_near(blank, VOLUME_COLOURS["incident"]) == 0


@pytest.mark.servers  # headless Chromium, which scripts/test installs
def test_the_page_fits_a_phone_without_shrinking_and_its_chart_labels_stay_readable(
    config: Path, made: list[Made], tmp_path: Path
) -> None:
    out = tmp_path / "phone"
    assert report(config, out, "--month", "2026-11") == 0
    layout = phone_layout(out / "report.html", tmp_path)
    # Nothing is wider than the phone, so its browser need not shrink the page.
    assert layout["viewport"] == PHONE
    assert layout["laid_out"] <= PHONE, layout
    images = layout["images"]
    assert isinstance(images, list) and len(images) == 2
    for width in images:
        assert 0 < width <= PHONE
        # The charts' labels, shrunk with the image, are still 10 px high.
        assert charts.LABEL_PX * width / charts.WIDTH >= 10, layout


def test_a_schools_version_is_written_with_its_calls_only(
    config: Path, made: list[Made], tmp_path: Path
) -> None:
    out = tmp_path / "riverside"
    code = report(config, out, "--month", "2026-11", "--school", "riverside-academy")
    assert code == 0
    data = (out / "calls-2026-11-riverside-academy.csv").read_text(encoding="utf-8-sig")
    refs = {row["ref"] for row in csv.DictReader(io.StringIO(data))}
    mine = {m.ref for m in made if m.school == "riverside-academy" and m.logged_in_november}
    assert mine <= refs
    assert not refs & {m.ref for m in made if m.school != "riverside-academy"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Riverside Academy" in html
    assert not any(SCHOOLS[s] in html for s in ("oakfield-primary", "st-marys-ce"))


def test_the_same_month_gives_the_same_files(
    config: Path, made: list[Made], tmp_path: Path
) -> None:
    assert report(config, tmp_path / "a", "--month", "2026-11") == 0
    assert report(config, tmp_path / "b", "--month", "2026-11") == 0
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_without_a_month_it_writes_last_months_report(
    config: Path, made: list[Made], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report(config, tmp_path / "last") == 0
    assert "report for November 2026 (all schools): 60 calls logged" in capsys.readouterr().out


def test_an_unknown_school_or_month_is_refused(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report(config, tmp_path / "x", "--school", "hogwarts") == 2
    assert "no school 'hogwarts'" in capsys.readouterr().err
    assert report(config, tmp_path / "x", "--month", "2026-13") == 2
    assert "--month" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
