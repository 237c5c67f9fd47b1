"""The speed work of issue 16 changed no record: the pure stages give what the old code gave.

tests/data/record-prints.json holds, for every corpus file, every
tests/mail file and the 1,000 emails of the shared workload, the digest of
every record parse, screen, redact, the command reader, classify, template
rendering and the MIME build made of it under the code before that work
(tests/recordprints.py says how, and how to write it again).  The work those
passes no longer repeat is counted in tests/test_parse_work.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from recordprints import PRINTS, corpus_files, fingerprint, mail_files, workload
from support import mail

STORED: dict[str, str] = json.loads(PRINTS.read_text(encoding="utf-8"))


def _differences(source: Iterator[tuple[str, bytes]]) -> tuple[int, list[str]]:
    seen = 0
    differ = []
    for name, raw in source:
        seen += 1
        if STORED.get(name) != fingerprint(raw):
            differ.append(name)
    return seen, differ


def test_every_corpus_file_gives_the_records_the_old_code_gave() -> None:
    seen, differ = _differences(corpus_files())
    assert seen == sum(1 for name in STORED if name.startswith("corpus/"))
    assert differ == []


def test_every_sample_email_gives_the_records_the_old_code_gave() -> None:
    seen, differ = _differences(mail_files())
    assert seen == sum(1 for name in STORED if name.startswith("mail/"))
    assert differ == []


def test_the_shared_workload_gives_the_records_the_old_code_gave() -> None:
    seen, differ = _differences(workload())
    assert seen == 1000
    assert differ == []


def test_a_changed_record_changes_the_fingerprint() -> None:
    # The comparison above can fail: one character of the text is enough.
    raw = mail("school-new-request")
    assert fingerprint(raw) == STORED["mail/school-new-request.eml"]
    assert fingerprint(raw.replace(b"slow", b"Slow", 1)) != fingerprint(raw)
