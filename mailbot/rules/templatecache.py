"""Where compiled templates are kept for the next process: the [rules] template_cache setting.

A module of its own, importing nothing heavy, so that the command line can
set it for every command, including those that never load Jinja.
"""

from __future__ import annotations

from pathlib import Path

# None: Jinja's per-user folder in the temporary directory.  Set once by the
# command line from the configuration, before the rules are first loaded.
_folder: Path | None = None


def keep_compiled_in(folder: Path | None) -> None:
    """Keep compiled templates in ``folder`` (None: Jinja's per-user temporary folder)."""
    global _folder
    _folder = folder


def folder() -> Path | None:
    """The folder compiled templates are kept in, as last set (None: Jinja's default)."""
    return _folder
