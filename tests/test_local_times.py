"""`calls show` prints times in the support calendar's local time; --json keeps ISO 8601."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from support import Address, local, make_env_with, write_config_file

from mailbot.cli.main import main


def test_calls_show_prints_local_times_and_json_keeps_offsets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    # 09:05 London time in November is 09:05 GMT; a summer call shows BST.
    make_env_with(tmp_path, url, "school-new-request", local(2026, 11, 23, 9, 5))
    config = write_config_file(tmp_path, url=url, imap=Address(port=9), smtp=Address(port=9))
    assert main(["--config", str(config), "calls", "show", "ICT-000001"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"created_at +Mon 23 Nov 2026 09:05 GMT", out), out
    assert re.search(r"^  Mon 23 Nov 2026 09:05 GMT \S+: opened", out, re.MULTILINE), out
    # No UTC offsets or microseconds in the text.
    assert not re.search(r"\d\d:\d\d:\d\d(\.\d+)?\+00:00", out), out
    assert main(["--config", str(config), "calls", "show", "ICT-000001", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert datetime.fromisoformat(record["created_at"]).utcoffset() is not None
