"""Every corpus email through the whole pipeline: right outcome, nothing lost, no loop."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import func, select
from support import CORPUS, Env, bulk_rules, local, make_env

from mailbot.pipeline.records import Action
from mailbot.storage.models import Message, Processed

MANIFEST = list(csv.DictReader((CORPUS / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))
NOW = local(2026, 11, 23, 10, 0)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    # The corpus senders are strangers to our directory, so the service is
    # run "open" here: every person's email should then open a call.  All of
    # it arrives at one instant, many from example.com, which the flood cap
    # would hold (bulk_rules lifts it; tests/test_caps.py tests the cap).
    tmp = tmp_path_factory.mktemp("corpus")
    rules = bulk_rules(tmp)
    policy = rules / "policy.toml"
    policy.write_text(policy.read_text().replace('action = "reply"', 'action = "open"'))
    return make_env(tmp, f"sqlite:///{tmp / 'corpus.db'}", rules_dir=rules)


def test_manifest_lists_every_corpus_file() -> None:
    assert len(MANIFEST) == 380


@pytest.mark.parametrize("row", MANIFEST, ids=[r["file"] for r in MANIFEST])
def test_corpus_email_is_handled_as_expected(env: Env, row: dict[str, str]) -> None:
    raw = (CORPUS / row["file"]).read_bytes()
    t = env.feed(raw, NOW)
    expected = row["expected"]
    # Nothing is lost: the email is stored and recorded as processed (or it
    # duplicates one already stored, which some test suites share).
    with env.sessions() as s:
        assert s.scalar(select(func.count(Processed.id)).where(Processed.key == t.key)) == 1
        if t.action is not Action.DUPLICATE:
            assert t.message_row is not None and s.get(Message, t.message_row) is not None
    if expected.startswith("ignore_"):
        assert t.action in (Action.IGNORE, Action.RECORD, Action.DUPLICATE), t.reason
        assert t.outgoing == ()
    elif expected == "new_call":
        assert t.action in (Action.OPEN_CALL, Action.DUPLICATE), t.reason
    elif expected == "reply_to_thread":
        # The original call is not in this mailbox, so a new call is the
        # fallback (MANIFEST README); it must still be treated as a person.
        assert t.action in (Action.OPEN_CALL, Action.APPEND, Action.DUPLICATE), t.reason
    else:
        assert expected == "must_not_crash"
    # A reply only ever goes to a real sender, never to a null or daemon address.
    for out in t.outgoing:
        assert all("mailer-daemon" not in a.lower() for a in out.to)
