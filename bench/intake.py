"""Benchmark: the shared intake ratio (mailbot against the floor) run against this checkout.

It runs the shared driver unchanged, ``intake_ratio.py`` from ``MAILBOT_BENCH``
(a folder), else ``../shared/bench`` beside the repository, on this
checkout's code (its ``.venv``, where mailbot is installed in editable mode)
and passes any other arguments on.  The driver's last line is the figure:
``intake: mailbot=X floor2=Y msgs/s ratio=R cpu_ratio=C startup_ratio=S ...``.

The workload is a thousand new requests from five schools at one instant,
which the shipped rules treat as a flood (``new_calls_per_domain_per_hour``):
mailbot would open twenty calls per school and hold the rest, and the
driver's counts would fail.  So, as ``bench/mail_intake.py`` does, the driver
is given the shipped rules with that one cap lifted (a staging folder with
this checkout's ``pyproject.toml`` and the edited ``rules/``); ``--shipped-rules``
runs with the rules exactly as shipped.  Prints figures only.
Usage: python bench/intake.py [--shipped-rules] [-n 1000] [--rounds 3]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAP = "new_calls_per_domain_per_hour = "


def bench_folder() -> Path:
    """Where the shared driver lives: ``MAILBOT_BENCH``, else ``../shared/bench``."""
    given = os.environ.get("MAILBOT_BENCH")
    folder = Path(given) if given else ROOT.parent / "shared" / "bench"
    if not (folder / "intake_ratio.py").is_file():
        raise SystemExit(f"intake: no intake_ratio.py in {folder} (set MAILBOT_BENCH)")
    return folder


def staged_project(folder: Path) -> Path:
    """A project folder for the driver: this checkout's pyproject and rules, flood cap lifted."""
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    shutil.copytree(ROOT / "rules", folder / "rules")
    policy = folder / "rules" / "policy.toml"
    text = policy.read_text(encoding="utf-8")
    if f"{CAP}20" not in text:
        raise SystemExit(f"intake: {policy} no longer has {CAP}20; update bench/intake.py")
    policy.write_text(text.replace(f"{CAP}20", f"{CAP}1000000"), encoding="utf-8")
    return folder


def main() -> int:
    args = sys.argv[1:]
    shipped = "--shipped-rules" in args
    args = [a for a in args if a != "--shipped-rules"]
    venv = ROOT / ".venv"
    if "--venv" not in args:
        if not (venv / "bin" / "mailbot").is_file():
            raise SystemExit(f"intake: no mailbot in {venv}; pip install -e . there first")
        args = ["--venv", str(venv), *args]
    with tempfile.TemporaryDirectory(prefix="mailbot-intake-") as tmp:
        project = ROOT if shipped else staged_project(Path(tmp))
        driver = bench_folder() / "intake_ratio.py"
        command = [sys.executable, str(driver), "--project", str(project), *args]
        return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
