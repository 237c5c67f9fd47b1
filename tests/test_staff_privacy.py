"""Property tests: staff notes stay internal and no school sees another school's call."""

from __future__ import annotations

import email
import email.policy
import email.utils
import json
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import Env, authenticated, local, make_env

from mailbot.calls import listing
from mailbot.pipeline.records import Action, Triage
from mailbot.storage.models import Outbox

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
START = local(2026, 11, 23, 9, 0)
STEP = timedelta(minutes=7)


@dataclass(frozen=True)
class School:
    """One school from rules/schools.toml, with the call it opens in these tests."""

    key: str
    domain: str
    # The headteacher first (who opens the call), then the SPOC.
    contacts: tuple[str, ...]
    subject: str


OAK = School(
    "OAK",
    "oakfield-primary.westshire.sch.uk",
    (
        "Helen Marsh <head@oakfield-primary.westshire.sch.uk>",
        "Tom Reeves <t.reeves@oakfield-primary.westshire.sch.uk>",
    ),
    "Printer jammed in the staff room",
)
RIV = School(
    "RIV",
    "riverside-academy.westshire.sch.uk",
    (
        "Martin Cole <m.cole@riverside-academy.westshire.sch.uk>",
        "Aisha Rahman <a.rahman@riverside-academy.westshire.sch.uk>",
    ),
    "Wifi down in block B",
)
SCHOOLS = (OAK, RIV)
STAFF = ("Sam Okafor <sam.okafor@westshire.gov.uk>", "Raj Patel <raj.patel@westshire.gov.uk>")
# Commands an officer may put before a note or before words for the school;
# none of them takes the words below the command lines.
COMPANIONS = ("#priority P3", "#status in progress", "#assign raj")


def address(mailbox: str) -> str:
    return email.utils.parseaddr(mailbox)[1]


def raw_mail(sender: str, subject: str, n: int, now: datetime, body: str) -> bytes:
    """A plain-text email to the support address with a Message-ID unique to step ``n``."""
    domain = address(sender).rsplit("@", 1)[1]
    head = (
        f"From: {sender}\r\n"
        "To: Westshire Schools ICT Support <ictsupport@westshire.gov.uk>\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {email.utils.format_datetime(now)}\r\n"
        f"Message-ID: <privacy-{n:03d}@{domain}>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "\r\n"
    )
    return (head + body.replace("\n", "\r\n") + "\r\n").encode()


def readable(raw: bytes) -> str:
    """The raw message and its decoded headers and text parts, so encoding hides no word."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    found = [raw.decode("utf-8", "replace"), *(str(v) for v in msg.values())]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            found.append(str(part.get_content()))  # type: ignore[attr-defined]
    return "\n".join(found)


def school_of(addr: str) -> School | None:
    return next((s for s in SCHOOLS if addr.endswith("@" + s.domain)), None)


def to_schools(env: Env) -> list[tuple[Outbox, list[str], str]]:
    """Every outbox email with a school address among its recipients, with its text."""
    found = []
    for row in env.outbox():
        recipients = json.loads(row.recipients)
        if any(r.endswith(".sch.uk") for r in recipients):
            found.append((row, recipients, readable(row.raw)))
    return found


def receipts_for(env: Env, message_id: str) -> list[Outbox]:
    """The receipts mailbot sent in answer to one staff email."""
    found = []
    for row in env.outbox():
        if row.kind != "receipt":
            continue
        msg = email.message_from_bytes(row.raw, policy=email.policy.default)
        if str(msg["In-Reply-To"]).strip() == message_id:
            found.append(row)
    return found


@dataclass
class Run:
    """One mailbot on a fresh database, and what each school and officer has written."""

    env: Env
    step: int = 0
    refs: dict[str, str] = field(default_factory=dict)
    # Every call reference each school's mail is on, its own words and the
    # officers' words meant for it: none may reach the other school.
    owned: dict[str, set[str]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    # (Message-ID, officer's address) of each staff email processed.
    staff_mail: list[tuple[str, str]] = field(default_factory=list)
    # (token, school) for words an officer's receipt says went to that school.
    relayed: list[tuple[str, School]] = field(default_factory=list)

    def feed(self, sender: str, subject: str, body: str, staff: bool = False) -> tuple[Triage, int]:
        n, now = self.step, START + self.step * STEP
        self.step += 1
        raw = raw_mail(sender, subject, n, now, body)
        return self.env.feed(authenticated(raw) if staff else raw, now), n

    def open_calls(self) -> None:
        for school in SCHOOLS:
            words = f"SCHOOLWORDS-{school.key}-{self.step:03d}"
            t, _ = self.feed(school.contacts[0], school.subject, f"Hello,\n\n{words} please help.")
            assert t.action is Action.OPEN_CALL and t.call is not None
            self.refs[school.key] = t.call.ref
            self.owned[school.key] = {t.call.ref, words}

    def staff(self, officer: str, school: School, lines: list[str]) -> Triage:
        ref = self.refs[school.key]
        t, n = self.feed(officer, f"RE: [{ref}] {school.subject}", "\n".join(lines), staff=True)
        assert t.action is Action.APPEND and t.call is not None and t.call.ref == ref
        assert t.worked is not None
        domain = address(officer).rsplit("@", 1)[1]
        self.staff_mail.append((f"<privacy-{n:03d}@{domain}>", address(officer)))
        return t


def other(school: School) -> School:
    return RIV if school is OAK else OAK


def do(run: Run, action: tuple[str, int, int, tuple[str, ...]]) -> None:
    """Carry out one generated action on the calls in ``run``."""
    kind, which, who, companions = action
    school = SCHOOLS[which]
    n = run.step
    if kind == "note":
        secret = f"SECRET-{n:03d}"
        run.secrets.append(secret)
        run.staff(STAFF[who], school, [*companions, "#note", f"{secret} ring the bursar first."])
    elif kind in ("public", "solved"):
        words = f"PUBLIC-{school.key}-{n:03d}"
        run.owned[school.key].add(words)
        commands = [*companions] if kind == "public" else ["#solved"]
        t = run.staff(STAFF[who], school, [*commands, "", f"Hello, {words} is done.", "", "Sam"])
        assert t.worked is not None
        if t.worked.sent_to:
            run.relayed.append((words, school))
    elif kind == "reply":
        words = f"SCHOOLWORDS-{school.key}-{n:03d}"
        run.owned[school.key].add(words)
        ref = run.refs[school.key]
        t, _ = run.feed(school.contacts[who], f"RE: [{ref}] {school.subject}", f"{words} still.")
        assert t.call is not None and t.call.ref == ref
    else:
        # A school writes under the other school's call tag: it must not reach that call.
        words = f"SCHOOLWORDS-{school.key}-{n:03d}"
        run.owned[school.key].add(words)
        target = other(school)
        subject = f"RE: [{run.refs[target.key]}] {target.subject}"
        t, _ = run.feed(school.contacts[who], subject, f"{words} is ours too?")
        assert t.call is None or t.call.ref not in run.owned[target.key]
        if t.call is not None:
            run.owned[school.key].add(t.call.ref)


def companions() -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(COMPANIONS), unique=True, max_size=3).map(tuple)


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("note"), st.integers(0, 1), st.integers(0, 1), companions()),
        st.tuples(st.just("public"), st.integers(0, 1), st.integers(0, 1), companions()),
        st.tuples(st.just("solved"), st.integers(0, 1), st.integers(0, 1), st.just(())),
        st.tuples(st.just("reply"), st.integers(0, 1), st.integers(0, 1), st.just(())),
        st.tuples(st.just("cross"), st.integers(0, 1), st.integers(0, 1), st.just(())),
    ),
    min_size=1,
    max_size=10,
)


@PROPERTY_SETTINGS
@given(ACTIONS)
def test_notes_stay_internal_and_schools_see_only_their_own_calls(
    actions: list[tuple[str, int, int, tuple[str, ...]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(make_env(Path(tmp), f"sqlite:///{tmp}/privacy.db"))
        run.open_calls()
        for action in actions:
            do(run, action)
        sent = to_schools(run.env)
        for row, recipients, text in sent:
            for secret in run.secrets:
                assert secret not in text, f"{secret} reached {recipients} in a {row.kind}"
            for school in {s for r in recipients if (s := school_of(r)) is not None}:
                for word in run.owned[other(school).key]:
                    assert word not in text, f"{word} reached {recipients} in a {row.kind}"
        # Positive checks, so that the assertions above are not vacuously true.
        for school in SCHOOLS:
            assert any(school_of(r) is school for _, rs, _ in sent for r in rs)
        for words, school in run.relayed:
            assert any(
                words in text and any(school_of(r) is school for r in rs) for _, rs, text in sent
            ), f"{words} was reported sent to {school.key} but no email to it holds it"
        for message_id, officer in run.staff_mail:
            receipts = receipts_for(run.env, message_id)
            assert receipts, f"no receipt for the staff email {message_id}"
            assert all(json.loads(r.recipients) == [officer] for r in receipts)


NOTE_WORDS = ("#note", "#internal", "#private", "# Note:", "#NOTE")


@PROPERTY_SETTINGS
@given(
    companions(),
    st.sampled_from(NOTE_WORDS),
    st.booleans(),
    st.integers(0, 1),
)
def test_an_inline_note_and_the_text_below_it_stay_internal(
    before: tuple[str, ...], word: str, gap: bool, who: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(make_env(Path(tmp), f"sqlite:///{tmp}/privacy.db"))
        run.open_calls()
        lines = [*before, f"{word} SECRET-INLINE the bursar says no budget"]
        lines += ([""] if gap else []) + ["SECRET-BELOW ring the head before Friday.", "", "Sam"]
        run.staff(STAFF[who], OAK, lines)
        for row, recipients, text in to_schools(run.env):
            for secret in ("SECRET-INLINE", "SECRET-BELOW"):
                assert secret not in text, f"{secret} reached {recipients} in a {row.kind}"
        shown = listing.show_call(run.env.sessions, run.refs["OAK"])
        assert shown is not None
        notes = [e["detail"] for e in shown["events"] if e["kind"] == "note"]  # type: ignore[attr-defined, index]
        assert len(notes) == 1 and "SECRET-INLINE" in notes[0] and "SECRET-BELOW" in notes[0]
        [receipt] = receipts_for(run.env, run.staff_mail[0][0])
        assert b"kept as an internal note" in receipt.raw


SOLVED_WORDS = ("#solved", "#status solved", "#fixed", "#resolved")


@PROPERTY_SETTINGS
@given(st.sampled_from(SOLVED_WORDS), st.booleans(), st.booleans(), st.integers(0, 1))
def test_a_note_sent_with_solved_stays_out_of_the_solved_notice(
    solved: str, note_first: bool, inline: bool, who: int
) -> None:
    # #note promises "the school sees nothing", and the officer's receipt says
    # so, even when the same email marks the call solved.
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(make_env(Path(tmp), f"sqlite:///{tmp}/privacy.db"))
        run.open_calls()
        note = "#note SECRET-SOLVED-INLINE" if inline else "#note"
        commands = [note, solved] if note_first else [solved, note]
        run.staff(STAFF[who], OAK, [*commands, "SECRET-SOLVED-BELOW the switch was ours."])
        for row, recipients, text in to_schools(run.env):
            for secret in ("SECRET-SOLVED-INLINE", "SECRET-SOLVED-BELOW"):
                assert secret not in text, f"{secret} reached {recipients} in a {row.kind}"
