"""Each command imports only what it uses, `calls list` reads one query, compiled templates persist.

Counts, never times: which modules a fresh process imported, how many SQL
statements a command ran, how many templates Jinja compiled.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import holidays
import jinja2
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from support import SHIPPED_RULES, local, mail, make_env_with, migrated, write_config_file

from mailbot.calls import listing
from mailbot.cli.main import build_parser, main
from mailbot.reports import store as reportstore
from mailbot.rules import templatecache
from mailbot.rules.loader import load_rules
from mailbot.rules.samples import SAMPLES
from mailbot.sla.calendar import DEFAULT_REGION
from mailbot.sla.months import Month
from mailbot.storage.db import make_engine, make_sessions
from mailbot.storage.models import Call

COMMANDS = (
    "run", "calls", "incidents", "planned", "availability", "rules", "db", "sla", "changes",
    "report", "review", "senders", "status", "check", "held", "demo",
)  # fmt: skip
# Modules no command but their own needs: the daemon, mail intake, the incident
# and planned-work rooms, chart drawing, migrations and the scheduler library.
NOT_FOR_CALLS_LIST = (
    "mailbot.cli.service", "mailbot.daemon.service", "mailbot.pipeline",
    "mailbot.incidents.planned", "mailbot.cli.incidents", "mailbot.reports.job", "matplotlib",
    "alembic", "apscheduler", "holidays",
)  # fmt: skip


def _probe(body: str) -> Any:
    """Run ``body`` in a fresh interpreter; its last line of output, read as JSON."""
    done = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _imported_after(argv: list[str], watched: tuple[str, ...]) -> str:
    """A probe that runs the command line on ``argv`` and prints which ``watched`` it imported."""
    return (
        "import json, sys\n"
        "from mailbot.cli.main import main\n"
        "try:\n"
        f"    code = main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "assert code == 0, code\n"
        f"print(json.dumps(sorted(m for m in {watched!r} if m in sys.modules)))\n"
    )


def test_help_lists_every_command_and_imports_none_of_them() -> None:
    watched = ("sqlalchemy", "jinja2", "mailbot.cli.service", "mailbot.cli.callviews")
    body = _imported_after(["--help"], watched)
    done = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    *help_lines, last = done.stdout.splitlines()
    assert json.loads(last) == []
    listed = "\n".join(help_lines)
    for command in COMMANDS:
        assert f"    {command} " in listed or f"    {command}\n" in listed, command


def test_calls_list_imports_neither_the_daemon_nor_charts_nor_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    config = write_config_file(tmp_path, url=url)
    loaded = _probe(_imported_after(["--config", str(config), "calls", "list"], NOT_FOR_CALLS_LIST))
    assert loaded == []


def test_db_upgrade_imports_neither_the_daemon_nor_the_rules(tmp_path: Path) -> None:
    # The service runs it before every start (the unit's ExecStartPre).
    config = write_config_file(tmp_path, url=f"sqlite:///{tmp_path / 'mailbot.db'}")
    watched = ("mailbot.daemon.service", "mailbot.cli.service", "mailbot.rules.loader", "jinja2")
    assert _probe(_imported_after(["--config", str(config), "db", "upgrade"], watched)) == []


def test_run_once_with_an_empty_report_due_does_not_load_matplotlib(
    tmp_path: Path, dovecot: Any, smtp_sink: Any
) -> None:
    # 23 November: October's report is due, and an empty database makes it an
    # empty one, recorded without an email, so nothing is drawn.
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink)
    argv = ["--config", str(config), "--now", "2026-11-23T10:40", "run", "--once"]
    loaded = _probe(_imported_after(argv, ("matplotlib", "alembic", "mailbot.cli.incidents")))
    assert loaded == []
    with make_sessions(make_engine(url))() as session:
        assert reportstore.sent(session, Month(2026, 10)) != set()
    assert smtp_sink.messages == []


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs while the test does."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    yield seen
    event.remove(Engine, "before_cursor_execute", count)


def test_calls_list_is_one_query_and_builds_no_call_objects(
    tmp_path: Path, statements: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    make_env_with(tmp_path, url, "school-new-request", local(2026, 11, 23, 9, 5))
    config = write_config_file(tmp_path, url=url)
    built: list[object] = []

    def loaded(target: object, _context: object) -> None:
        built.append(target)

    event.listen(Call, "load", loaded)
    try:
        statements.clear()
        assert main(["--config", str(config), "calls", "list"]) == 0
    finally:
        event.remove(Call, "load", loaded)
    out = capsys.readouterr().out
    assert "ICT-000001" in out and "oakfield-primary" in out
    assert len(statements) == 1 and statements[0].lstrip().startswith("SELECT")
    assert built == []


def _compiles_in_a_new_process(rules_dir: Path) -> int:
    """How many templates a fresh process compiles loading the rules in ``rules_dir``."""
    body = (
        "import json\n"
        "import jinja2\n"
        "from pathlib import Path\n"
        "from mailbot.rules.loader import load_rules\n"
        "compiled = []\n"
        "real = jinja2.Environment.compile\n"
        "def counted(self, *args, **kwargs):\n"
        "    compiled.append(1)\n"
        "    return real(self, *args, **kwargs)\n"
        "jinja2.Environment.compile = counted\n"
        f"load_rules(Path({str(rules_dir)!r}))\n"
        "print(json.dumps(len(compiled)))\n"
    )
    count: int = _probe(body)
    return count


def test_a_second_rules_load_compiles_no_template(monkeypatch: pytest.MonkeyPatch) -> None:
    load_rules(SHIPPED_RULES)
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def counted(self: jinja2.Environment, source: str, *args: Any, **kwargs: Any) -> Any:
        compiled.append(source)
        return real(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    load_rules(SHIPPED_RULES)
    assert compiled == []


def _copy_of_rules(folder: Path, edit: str = "") -> Path:
    """The shipped rules copied to ``folder``, with ``edit`` appended to the closure template."""
    shutil.copytree(SHIPPED_RULES, folder)
    if edit:
        template = folder / "templates" / "closure.txt.j2"
        template.write_text(template.read_text(encoding="utf-8") + edit, encoding="utf-8")
    return folder


def test_compiled_templates_are_kept_by_content_for_the_next_process(tmp_path: Path) -> None:
    # A comment no one has written before makes this one template new.
    fresh = "{# " + uuid.uuid4().hex + " #}\n"
    first = _copy_of_rules(tmp_path / "first", edit=fresh)
    assert _compiles_in_a_new_process(first) == 1
    assert _compiles_in_a_new_process(first) == 0
    # The same templates in another folder (a new release, say) are not compiled again.
    assert _compiles_in_a_new_process(_copy_of_rules(tmp_path / "second", edit=fresh)) == 0


def test_a_template_compiled_elsewhere_names_its_own_file(tmp_path: Path) -> None:
    load_rules(SHIPPED_RULES)
    copy = _copy_of_rules(tmp_path / "rules")
    template = load_rules(copy).templates.env.get_template("closure.txt.j2")
    assert template.filename == str(copy / "templates" / "closure.txt.j2")


@pytest.fixture
def cache_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder for compiled templates, in use for the test only."""
    folder = tmp_path / "cache" / "templates"
    yield folder
    templatecache.keep_compiled_in(None)


def test_compiled_templates_are_kept_in_the_configured_folder(
    tmp_path: Path, cache_folder: Path
) -> None:
    rules_dir = _copy_of_rules(tmp_path / "rules", edit="{# " + uuid.uuid4().hex + " #}\n")
    body = (
        "import json\n"
        "from pathlib import Path\n"
        "from mailbot.rules import templatecache\n"
        "from mailbot.rules.loader import load_rules\n"
        f"templatecache.keep_compiled_in(Path({str(cache_folder)!r}))\n"
        f"load_rules(Path({str(rules_dir)!r}))\n"
        "print(json.dumps(0))\n"
    )
    _probe(body)
    assert cache_folder.is_dir() and (cache_folder.stat().st_mode & 0o777) == 0o700
    # Every template is there, compiled: the text ones and the HTML pages.
    compiled = list(cache_folder.glob("__mailbot_*.cache"))
    assert len(compiled) == len(list((rules_dir / "templates").glob("*.j2")))


def test_a_cache_folder_that_cannot_be_written_still_loads_the_rules(
    tmp_path: Path, cache_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*_: Any, **__: Any) -> Any:
        raise OSError(30, "Read-only file system")

    templatecache.keep_compiled_in(cache_folder)
    monkeypatch.setattr(jinja2.bccache.tempfile, "NamedTemporaryFile", refused)
    rules_dir = _copy_of_rules(tmp_path / "rules", edit="{# " + uuid.uuid4().hex + " #}\n")
    rules = load_rules(rules_dir)
    assert rules.templates.render("closure", _closure_sample()).subject
    assert list(cache_folder.glob("*.cache")) == []


def test_a_cache_folder_that_cannot_be_made_still_loads_the_rules(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    templatecache.keep_compiled_in(blocker / "templates")
    try:
        rules = load_rules(_copy_of_rules(tmp_path / "rules"))
    finally:
        templatecache.keep_compiled_in(None)
    assert rules.templates.render("closure", _closure_sample()).subject


def _closure_sample() -> dict[str, Any]:
    return dict(SAMPLES["closure"])


def test_loading_the_rules_looks_up_no_bank_holidays() -> None:
    body = (
        "import json, sys\n"
        "from mailbot.rules.loader import load_rules\n"
        f"load_rules(__import__('pathlib').Path({str(SHIPPED_RULES)!r}))\n"
        "print(json.dumps([m for m in sys.modules if m.split('.')[0] == 'holidays']))\n"
    )
    assert _probe(body) == []


def test_the_default_bank_holiday_region_is_englands() -> None:
    # The calendar does not look its default region up when it is made, so
    # this is where a library that stopped knowing it would be caught.
    country, subdiv = DEFAULT_REGION
    days = holidays.country_holidays(country, subdiv=subdiv, years=2026)
    assert date(2026, 8, 31) in days and date(2026, 12, 25) in days
    calendar = load_rules(SHIPPED_RULES).calendar
    assert calendar.bank_holiday_region == DEFAULT_REGION
    assert calendar.hours_on(date(2026, 8, 31)) is None


def test_a_cache_folder_others_may_write_to_is_not_used(tmp_path: Path, cache_folder: Path) -> None:
    cache_folder.mkdir(parents=True)
    cache_folder.chmod(0o777)
    templatecache.keep_compiled_in(cache_folder)
    rules = load_rules(_copy_of_rules(tmp_path / "rules", edit="{# " + uuid.uuid4().hex + " #}\n"))
    assert rules.templates.render("closure", _closure_sample()).subject
    assert list(cache_folder.iterdir()) == []


def test_the_command_line_keeps_compiled_templates_where_the_config_says(tmp_path: Path) -> None:
    rules_dir = _copy_of_rules(tmp_path / "rules", edit="{# " + uuid.uuid4().hex + " #}\n")
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, rules_dir=rules_dir)
    line = f'dir = "{rules_dir}"\n'
    text = config.read_text(encoding="utf-8").replace(line, line + 'template_cache = "cache"\n')
    config.write_text(text, encoding="utf-8")
    argv = ["--config", str(config), "rules", "check"]
    assert _probe(_imported_after(argv, ())) == []
    # Relative to the configuration file, as every path in it is.
    assert len(list((tmp_path / "cache").glob("__mailbot_*.cache"))) == len(
        list((rules_dir / "templates").glob("*.j2"))
    )


def _console(args: list[str]) -> subprocess.CompletedProcess[str]:
    """The console command run on ``args``, with an atexit handler and an object torn down late."""
    body = (
        "import atexit, sys\n"
        "class TornDown:\n"
        "    def __del__(self):\n"
        "        sys.__stdout__.write('torn down\\n')\n"
        "        sys.__stdout__.flush()\n"
        "kept = TornDown()\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        f"sys.argv = ['mailbot', *{args!r}]\n"
        "from mailbot.cli.launch import main\n"
        "sys.exit(main())\n"
    )
    return subprocess.run([sys.executable, "-c", body], capture_output=True, text=True)


def test_the_console_command_ends_without_the_interpreters_teardown(tmp_path: Path) -> None:
    done = _console(["rules", "check", str(SHIPPED_RULES)])
    assert done.returncode == 0, done.stderr
    # Everything printed arrives, the atexit handlers run, the teardown is skipped.
    assert done.stdout.splitlines()[-1] == "atexit ran"
    assert "are valid" in done.stdout and "torn down" not in done.stdout
    # A command's own exit status is kept.
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    migrated(url)
    config = write_config_file(tmp_path, url=url)
    missing = _console(["--config", str(config), "calls", "show", "ICT-999999"])
    assert missing.returncode == 1 and "no call ICT-999999" in missing.stderr


def test_the_streamed_listing_reads_the_same_calls_on_each_database(
    tmp_path: Path, db_url: str
) -> None:
    env = make_env_with(tmp_path, db_url, "school-new-request", local(2026, 11, 23, 9, 5))
    env.feed(mail("school-complaint"), local(2026, 11, 23, 9, 6))
    with listing.table_rows(env.sessions) as rows:
        table = [tuple(row) for row in rows]
    summaries = listing.list_calls(env.sessions)
    # Newest first, the table's columns in TABLE_COLUMNS' order, the same calls as --json.
    assert len(table) == 2
    assert [row[0] for row in table] == [s["ref"] for s in summaries]
    assert [row[0] for row in table] == sorted((row[0] for row in table), reverse=True)
    first = dict(zip(listing.TABLE_COLUMNS, table[-1], strict=True))
    assert first["ref"] == "ICT-000001" and first["school_id"] == "oakfield-primary"
    assert first["fix_due_at"].utcoffset() is not None


def _handlers(parser: argparse.ArgumentParser) -> Iterator[str]:
    """Every ``handler`` named in ``parser`` and the parsers below it."""
    if "handler" in parser._defaults:
        yield str(parser._defaults["handler"])
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _handlers(sub)


def test_every_command_names_a_function_that_exists() -> None:
    named = set(_handlers(build_parser()))
    assert len(named) >= len(COMMANDS)
    for spec in named:
        module, _, function = spec.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), spec
