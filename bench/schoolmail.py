"""Print the confusion matrix of the shipped classify.toml over the test corpus of school emails."""

from __future__ import annotations

import argparse
import tomllib
from collections import Counter
from pathlib import Path

from mailbot.pipeline.classify import classify_text
from mailbot.rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[1]

PRIORITIES = ("Critical", "P1", "P2", "P3", "P4")


def main() -> None:
    """Classify every email in the corpus and print expected against given priority."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    parser.add_argument(
        "--corpus", type=Path, default=ROOT / "tests" / "schoolmail" / "priorities.toml"
    )
    args = parser.parse_args()
    rules = load_rules(args.rules)
    emails = tomllib.loads(args.corpus.read_text())["email"]
    cells: Counter[tuple[str, str]] = Counter()
    for e in emails:
        got = classify_text(rules, "school@example.org", e["subject"], e["body"]).priority
        cells[(e["priority"], got)] += 1
    # Only the priorities that occur get a row and a column, so the table stays narrow.
    used = [p for p in PRIORITIES if any(p in cell for cell in cells)]
    print("expected \\ given " + " ".join(f"{p:>5}" for p in used))
    for want in used:
        print(f"{want:<16} " + " ".join(f"{cells[(want, got)]:>5}" for got in used))
    right = sum(n for (want, got), n in cells.items() if want == got)
    print(f"schoolmail emails={len(emails)} right={right} wrong={len(emails) - right}")


if __name__ == "__main__":
    main()
