"""Database engine, sessions and schema migrations (Alembic)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session as Session
from sqlalchemy.orm import sessionmaker

from mailbot.errors import Conflict, MailbotError, TransientError

if TYPE_CHECKING:
    # Alembic takes a third of a second to import, and only `db upgrade` and
    # the status check of the schema need it, so it is imported when used.
    from alembic.config import Config as AlembicConfig
    from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The rooms above storage hold sessions but build no SQL: they take the types
# from here, so SQLAlchemy itself is imported only by storage and the stores.
Sessions: TypeAlias = sessionmaker[Session]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets `mailbot status` and the CLI read while the daemon writes, and
    # busy_timeout makes a second writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# The database holds schools' mail, so only the service's own user may read
# it, whatever the umask of whoever first starts mailbot.
DATABASE_MODE = 0o600

# The files SQLite keeps beside the database.  SQLite gives each the mode of
# the database file when it creates it, so a 0600 database is enough for new
# ones; ones left by an older version are tightened here too.
_SIDE_FILES = ("-wal", "-shm", "-journal")


def _sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def secure_sqlite_file(url: str) -> None:
    """Create the SQLite file with mode 0600 (or tighten it) before SQLite opens it."""
    path = _sqlite_path(url)
    if path is None:
        return
    # O_CREAT with an explicit mode is applied before anyone can open the
    # file; the umask can only remove bits from 0600, never add them.
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, DATABASE_MODE)
    except OSError as exc:
        raise MailbotError(
            f"cannot open the SQLite file {path}: {exc.strerror}; create {path.parent} and "
            "make it writable by the service's user, or set [database] url"
        ) from exc
    os.close(fd)
    for file in (path, *(path.with_name(path.name + side) for side in _SIDE_FILES)):
        try:
            if stat.S_IMODE(file.stat().st_mode) & 0o077:
                file.chmod(DATABASE_MODE)
        except FileNotFoundError:
            continue


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the settings mailbot relies on."""
    if url.startswith("sqlite"):
        secure_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def make_sessions(engine: Engine) -> Sessions:
    """Return a session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: Sessions, facts: dict[str, object] | None = None) -> Iterator[Session]:
    """Yield a session inside one transaction: committed on success, rolled back on error.

    A unique-key refusal becomes Conflict (someone else did this first) and a
    lost connection becomes TransientError, so callers need not know SQLAlchemy.
    ``facts`` carries what a transaction read once into its session's ``info``
    (the signing keys) on to the next transaction of the same batch, so that
    a batch reads them once; it learns from a transaction only once that
    transaction committed, so a key made in one that rolled back is never kept.
    """
    try:
        with sessions() as session:
            if facts:
                session.info.update(facts)
            with session.begin():
                yield session
            if facts is not None:
                facts.update(session.info)
    except IntegrityError as exc:
        raise Conflict(str(exc.orig)) from exc
    except OperationalError as exc:
        raise TransientError(f"database unavailable: {exc.orig}") from exc


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic configuration pointing at mailbot's bundled migrations."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``."""
    from alembic import command

    try:
        command.upgrade(alembic_config(url), revision)
    except SQLAlchemyError as exc:
        raise MailbotError(
            f"cannot upgrade {describe(url)}: {reason(exc)}; check that it is reachable "
            "and that the service's user may write to it"
        ) from exc


# A migration file's own revision and the one it follows, as Alembic's
# template writes them; read with a pattern so that a command whose database
# is current need not import Alembic (a third of a second) to learn so.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


def bundled_heads() -> str:
    """The revision the bundled migrations end at, read from their files without Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            found = _QUOTED.findall(value)
            (revisions if name == "revision" else parents).update(found)
    return ",".join(sorted(revisions - parents))


def is_current(engine: Engine) -> bool:
    """Whether the database is at the bundled head already (one small query, no Alembic)."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        # No table yet (a new database) or no database: upgrade() says which.
        return False
    return ",".join(sorted(str(r[0]) for r in rows)) == bundled_heads()


def upgrade_if_needed(engine: Engine, url: str) -> None:
    """``upgrade(url)`` unless the database is current, as every `run` finds it."""
    if not is_current(engine):
        upgrade(url)


def head_revision(url: str) -> str:
    """The revision the bundled migrations end at (what `db upgrade` would reach)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    return ",".join(sorted(heads))


def revision_of(connection: Connection) -> str | None:
    """The revision the database is at, or None when it was never upgraded."""
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None


def describe(url: str) -> str:
    """Name the database for a person: the SQLite file, or the server and database (no password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "the database (its URL does not parse)"
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}" if parsed.database else "in-memory SQLite"
    where = parsed.host or "local socket"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.get_backend_name()} database {parsed.database} on {where}{port}"


def reason(exc: BaseException) -> str:
    """The driver's own words for a database failure, on one line."""
    words = str(exc.orig) if isinstance(exc, DBAPIError) and exc.orig is not None else str(exc)
    return " ".join(words.split()) or type(exc).__name__
