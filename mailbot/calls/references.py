"""Reading call references as people write them: "ICT-000120", "[ict-120]", "ICT 120"."""

from __future__ import annotations

import re


def reference_number(text: str, prefix: str) -> int | None:
    """The number in one reference as people write it: "ICT-000120", "[ict-120]", "ICT 120"."""
    pattern = rf"\[?\s*{re.escape(prefix)}\s*-?\s*(\d{{1,12}})\s*\]?"
    match = re.fullmatch(pattern, text.strip(), re.IGNORECASE)
    return int(match[1]) if match else None


def references(text: str, prefix: str, width: int) -> tuple[str, ...] | None:
    """Every call reference in ``text`` in canonical form, or None if anything else is there.

    "ICT-120, [ict-000121] and ICT 5" names three calls; zero padding, case,
    brackets and the hyphen are optional, as people type them.
    """
    pattern = re.compile(rf"\[?\s*{re.escape(prefix)}\s*-?\s*(\d{{1,12}})\s*\]?", re.IGNORECASE)
    found = [f"{prefix}-{int(m[1]):0{width}d}" for m in pattern.finditer(text)]
    rest = pattern.sub(" ", text)
    if not found or re.sub(r"[\s,;&.]|\band\b", "", rest, flags=re.IGNORECASE):
        return None
    return tuple(dict.fromkeys(found))
