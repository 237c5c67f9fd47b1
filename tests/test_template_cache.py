"""Compiled templates are reused while their files are unchanged (issue 16)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import jinja2
import pytest
from support import SHIPPED_RULES

from mailbot.rules import templates
from mailbot.rules.samples import SAMPLES
from mailbot.rules.templates import Templates, load_templates


def _count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the name of every template Jinja compiles from source from now on."""
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: Any, name: str | None = None, *a: Any) -> Any:
        compiled.append(str(name))
        return real(self, source, name, *a)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return compiled


def _fresh_copy(folder: Path) -> Path:
    """The shipped templates in ``folder``, each with a comment no one has compiled before.

    Compiled code is kept by each template's name and content, on disk too,
    so a plain copy would be found compiled already (by an earlier test or
    run); the comment makes every template new without changing its output.
    """
    shutil.copytree(SHIPPED_RULES / "templates", folder)
    mark = "{# " + uuid.uuid4().hex + " #}"
    for template in folder.glob("*.j2"):
        template.write_text(mark + template.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def _load(folder: Path) -> Templates:
    problems: list[str] = []
    templates = load_templates(folder, problems)
    assert problems == [] and templates is not None
    return templates


def test_loading_unchanged_templates_again_compiles_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Templates of their own, so that earlier loads (and runs) do not count.
    folder = _fresh_copy(tmp_path / "templates")
    compiled = _count_compiles(monkeypatch)
    _load(folder)
    first = len(compiled)
    assert first >= len(list(folder.glob("*.j2")))
    _load(folder)
    assert len(compiled) == first


def test_an_edited_template_is_compiled_afresh_and_only_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _fresh_copy(tmp_path / "templates")
    _load(folder)
    compiled = _count_compiles(monkeypatch)
    edited = folder / "oversize.txt.j2"
    source = edited.read_text(encoding="utf-8")
    assert "{% block body -%}" in source
    edited.write_text(source.replace("{% block body -%}", "{% block body -%}EDITED "), "utf-8")
    loaded = _load(folder)
    assert compiled == ["oversize.txt.j2"]
    assert loaded.render("oversize", SAMPLES["oversize"]).text.startswith("EDITED ")


def test_a_new_process_takes_the_compiled_templates_from_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _fresh_copy(tmp_path / "templates")
    _load(folder)
    # A new command starts with nothing in memory: only the disk cache remains.
    templates._cache_in.cache_clear()
    compiled = _count_compiles(monkeypatch)
    _load(folder)
    assert compiled == []
