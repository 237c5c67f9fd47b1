"""The ordered stages every received email passes through (``stages``), loaded when first used.

``pipeline.run``, ``pipeline.STAGES`` and the stages themselves live in
``stages``, which imports every room the pipeline acts in (approval,
incidents, the call store, the templates): most of a second of imports.
Naming one here loads it then, so that a module may hold ``pipeline`` and a
process that never handles an email (an empty `run --once`, the intake
worker, which imports only ``facing``) never pays for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailbot.pipeline.stages import (
        PREPARE,
        STAGES,
        Stage,
        bounced,
        challenge,
        dedupe,
        parse,
        prepare,
        processing_key,
        read_commands,
        redact,
        run,
        screen,
    )

__all__ = [
    "PREPARE", "STAGES", "Stage", "bounced", "challenge", "dedupe", "parse", "prepare",
    "processing_key", "read_commands", "redact", "run", "screen",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    """A name of ``stages``, imported at its first use (PEP 562)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("mailbot.pipeline.stages"), name)
    # Kept here, so the next use is a plain attribute (and a test may patch it).
    globals()[name] = value
    return value
