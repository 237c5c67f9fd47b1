"""The benchmarks still run (at toy sizes) and print their figures; nothing here is timed."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from support import ROOT

# The benchmarks start Dovecot and SMTP servers and write databases of their own.
pytestmark = pytest.mark.servers


def run_bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_scheduler_tick_bench_prints_its_summary_line() -> None:
    out = run_bench("bench/scheduler_tick.py", "--sizes", "40", "80", "--repeats", "1")
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"tick_ms open=40 [0-9.]+ open=80 [0-9.]+", last), out


def test_mail_intake_bench_prints_its_figures() -> None:
    out = run_bench("bench/mail_intake.py", "--n", "5")
    assert re.search(r"intake msgs_per_s=\d+ ms_per_msg=[0-9.]+", out), out


def test_supporttime_bench_prints_its_figures() -> None:
    out = run_bench("bench/supporttime.py")
    assert re.search(r"P4 \(1 day / 10 days\): [0-9,]+/s", out), out


def test_hostile_bench_prints_cpu_growth_and_memory_for_each_shape() -> None:
    out = run_bench("bench/hostile.py", "--quick")
    lines = out.strip().splitlines()
    figures = re.compile(
        r"(\w+) +(parse|screen|redact|pipeline) +n=\d+ +cpu=[0-9.]+s +4n=\d+ +cpu=[0-9.]+s +"
        r"ratio=[0-9.]+ +peak_rss=\d+MB"
    )
    measured = {(m[1], m[2]) for line in lines if (m := figures.match(line))}
    for shape in ("nested_list", "pre_spaces", "long_first_line", "single_line"):
        assert {(shape, "parse"), (shape, "pipeline")} <= measured, out
    assert {("blank_lines", "screen"), ("passwords", "redact")} <= measured, out
    assert any("db_growth=" in line and "largest_email=" in line for line in lines), out
