"""The work a broadcast batch does: each distinct body rendered and MIME-encoded once."""

from __future__ import annotations

import email
import email.policy
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support import SHIPPED_RULES, Env, local, make_env, of_kind

from mailbot.calls import door
from mailbot.incidents import broadcast, incident
from mailbot.mail import mimebatch
from mailbot.rules.templates import Templates
from mailbot.storage.db import transaction

NOW = local(2026, 11, 23, 9, 30)
RAJ = "raj.patel@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def declare(env: Env) -> None:
    with transaction(env.sessions) as session:
        incident.declare(
            session, env.rules, title="Internet down", details="The link failed.",
            by=incident.By(RAJ, NOW),
        )  # fmt: skip


def counting(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """Count the calls of ``owner.name`` from now on."""
    calls: list[int] = []
    real: Callable[..., Any] = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def one_batch(env: Env) -> int:
    """Queue the whole broadcast in one batch; return how many notices."""
    batch = env.rules.incidents.model_copy(update={"batch": 10_000})
    rules = replace(env.rules, incidents=batch)
    return broadcast.run(env.sessions, env.config, rules, NOW).queued


def test_a_batch_renders_each_distinct_body_once(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    declare(env)
    renders = counting(monkeypatch, Templates, "render")
    queued = one_batch(env)
    # The shipped notice reads only the lists a person is on, of the recipient.
    lists = {r.lists for r in broadcast.recipients(env.rules, False) if r.route}
    assert queued > 2 * len(lists)
    assert len(renders) == len(lists)


def test_a_batch_encodes_each_distinct_body_once(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    declare(env)
    # Wherever the full build is called from, before or after mimebatch.py.
    builds = counting(monkeypatch, door, "build")
    monkeypatch.setattr(mimebatch, "build", door.build)
    queued = one_batch(env)
    lists = {r.lists for r in broadcast.recipients(env.rules, False) if r.route}
    assert queued > 2 * len(lists)
    assert len(builds) == len(lists)


def test_a_template_that_reads_the_name_still_gets_each_persons_own(
    tmp_path: Path, db_url: str
) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules_dir)
    notice = rules_dir / "templates" / "incident_notice.txt.j2"
    text = notice.read_text(encoding="utf-8")
    # Once as a field, once whole (which may read any field).
    notice.write_text(
        text.replace("{% block body -%}", "{% block body -%}\nDear {{ recipient['name'] }},"),
        encoding="utf-8",
    )
    env = make_env(tmp_path, db_url, rules_dir)
    assert env.rules.templates.fields_read("incident_notice", "recipient") == {"name", "lists"}
    declare(env)
    one_batch(env)
    sent = of_kind(env, "incident_notice")
    assert len(sent) > 2
    names = {r.address: r.name for r in broadcast.recipients(env.rules, False)}
    for row in sent:
        msg = email.message_from_bytes(row.raw, policy=email.policy.default)
        body = msg.get_body(("plain",))
        assert body is not None
        assert f"Dear {names[str(msg['To'])]}," in body.get_content()


def test_a_template_that_uses_the_recipient_whole_is_rendered_for_each(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules_dir)
    notice = rules_dir / "templates" / "incident_notice.txt.j2"
    text = notice.read_text(encoding="utf-8")
    notice.write_text(
        text.replace("{% block body -%}", "{% block body -%}\n{% set r = recipient %}{{ r.name }}"),
        encoding="utf-8",
    )
    env = make_env(tmp_path, db_url, rules_dir)
    assert env.rules.templates.fields_read("incident_notice", "recipient") is None
    declare(env)
    renders = counting(monkeypatch, Templates, "render")
    queued = one_batch(env)
    distinct = {(r.name, r.lists) for r in broadcast.recipients(env.rules, False) if r.route}
    assert len(renders) == len(distinct) and queued >= len(distinct)


def test_the_shipped_notices_read_only_the_lists_of_the_recipient(env: Env) -> None:
    for name in ("incident_notice", "planned_notice"):
        assert env.rules.templates.fields_read(name, "recipient") == {"lists"}
