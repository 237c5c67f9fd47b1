"""A region's bank holidays for a year, kept on disk so a new process need not load the library.

The holidays library imports every country it knows (some 250 modules,
about a tenth of a second of CPU) to answer for one, and each command that
asks whether support is open today (an empty `run --once` does, for the
held queue's digest) would pay that again.  The dates it gave are kept in
a small JSON file per region, year and library version, in the folder the
command line names (the [rules] template_cache setting), else a per-user
folder in the temporary directory.  The dates decide SLA deadlines, so a
folder anyone else owns or may write to is not used; a folder that cannot
be made, read or written only means the library is asked, as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable
from datetime import date
from importlib import metadata
from pathlib import Path

# None: a per-user folder in the temporary directory.  Set once by the
# command line from the configuration, before any calendar is consulted.
_folder: Path | None = None
# A region is two short codes ("GB", "ENG"); anything else is not cached.
_CODE = re.compile(r"[A-Za-z0-9_-]{1,16}")


def keep_in(folder: Path | None) -> None:
    """Keep the bank holidays read from the library in ``folder`` (None: the temporary one)."""
    global _folder
    _folder = folder


def _trusted(folder: Path) -> Path | None:
    """``folder``, made if missing, when only this user owns and may write it; else None."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        found = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o022:
        return None
    return folder


def _file(region: tuple[str, str], year: int) -> Path | None:
    """The file that keeps ``region``'s holidays in ``year``, or None when none may be used."""
    if not all(_CODE.fullmatch(code) for code in region):
        return None
    try:
        # A new version of the library may correct its dates: its own files.
        version = metadata.version("holidays")
    except metadata.PackageNotFoundError:
        return None
    folder = _folder or Path(tempfile.gettempdir()) / f"_mailbot-cache-{os.getuid()}"
    trusted = _trusted(folder)
    if trusted is None:
        return None
    country, subdiv = region
    return trusted / f"bank-holidays-{country}-{subdiv}-{year}-{version}.json"


def bank_holidays(
    region: tuple[str, str], year: int, ask: Callable[[tuple[str, str], int], Iterable[date]]
) -> frozenset[date]:
    """``region``'s bank holidays in ``year``: as kept, else as ``ask`` (the library) gives them."""
    file = _file(region, year)
    if file is not None:
        with contextlib.suppress(OSError, ValueError, TypeError):
            return frozenset(date.fromisoformat(day) for day in json.loads(file.read_text()))
    found = frozenset(ask(region, year))
    if file is not None:
        # Written whole under another name and renamed, so a reader never
        # sees half a file; a folder that cannot be written is no error.
        part = file.with_name(f"{file.name}.{os.getpid()}.part")
        with contextlib.suppress(OSError):
            part.write_text(json.dumps(sorted(day.isoformat() for day in found)))
            os.replace(part, file)
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
    return found
