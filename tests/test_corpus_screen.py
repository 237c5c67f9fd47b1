"""The screen stage over every message of the shared real-world corpus."""

from __future__ import annotations

import csv

import pytest
from support import CORPUS

from mailbot.mail.parse import parse_message
from mailbot.mail.screen import Verdict, screen

OWN = frozenset({"ictsupport@westshire.gov.uk"})

# What each MANIFEST outcome requires of the screen.  `must_not_crash` has no
# single right answer, so any verdict will do there.
EXPECTED = {
    "ignore_auto": Verdict.AUTO_REPLY,
    "ignore_bounce": Verdict.BOUNCE,
    "ignore_bulk": Verdict.BULK,
    "new_call": Verdict.HUMAN,
    "reply_to_thread": Verdict.HUMAN,
}

# Files where the screen knowingly returns something other than MANIFEST says,
# mapped to the verdict it does return and why.  Each is still asserted, so a
# change in behaviour is noticed.  None at present: every file matches.
#
# Judgement calls that match without special treatment:
# * bounce/sisimai--rhost-mimecast-01.eml has the subject "Automatic reply : ...",
#   but it is a multipart/report delivery-status report, and bounces are checked
#   first, so it is a BOUNCE as MANIFEST says.
# * auto-reply/sisimai--rfc3834-06.eml and auto-reply/bounce_email--tt_1234211024.eml
#   carry Precedence: bulk as well; their auto-reply headers are checked before
#   the bulk ones, so they are AUTO_REPLY as MANIFEST says.
# * Several auto-replies come from the null sender, as RFC 3834 advises; the
#   null sender counts as a bounce only when nothing names the kind of mail.
KNOWN_DISAGREEMENTS: dict[str, tuple[Verdict, str]] = {}


def manifest() -> list[dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


ROWS = manifest()


def test_manifest_lists_the_whole_corpus() -> None:
    assert len(ROWS) == 380
    assert all((CORPUS / row["file"]).is_file() for row in ROWS)


def test_known_disagreements_name_corpus_files() -> None:
    files = {row["file"] for row in ROWS}
    assert set(KNOWN_DISAGREEMENTS) <= files


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_corpus_message_screens_as_manifest_expects(row: dict[str, str]) -> None:
    msg = parse_message((CORPUS / row["file"]).read_bytes())
    result = screen(msg, own_addresses=OWN)
    assert result.reason
    if row["file"] in KNOWN_DISAGREEMENTS:
        assert result.verdict is KNOWN_DISAGREEMENTS[row["file"]][0]
    elif row["expected"] in EXPECTED:
        assert result.verdict is EXPECTED[row["expected"]], result.reason
    else:
        assert row["expected"] == "must_not_crash"
        assert isinstance(result.verdict, Verdict)
