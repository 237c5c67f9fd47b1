"""A private PostgreSQL 15 cluster for the tests, run as user postgres on a loopback port."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from pathlib import Path

from servers import HOST, free_port
from sqlalchemy import create_engine, text

# Debian keeps the server programs out of PATH, in a directory per major version.
_DEBIAN_BINDIR = Path("/usr/lib/postgresql/15/bin")


def _bindir() -> Path:
    """The directory holding initdb and pg_ctl, or a loud error naming the package."""
    candidates = [_DEBIAN_BINDIR]
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is not None:
        candidates.append(Path(pg_ctl).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    # A missing server means a broken test machine, never a reason to skip.
    raise RuntimeError(
        "PostgreSQL 15 server programs (initdb, pg_ctl) not found in "
        f"{_DEBIAN_BINDIR}: install Debian's postgresql-15 (sh scripts/test does this as root)"
    )


def _as_postgres(*args: str) -> subprocess.CompletedProcess[bytes]:
    # initdb and the server refuse to run as root.
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )


class PostgresServer:
    """One cluster in a temporary directory: trust authentication, loopback only."""

    def __init__(self, base: Path, port: int, bindir: Path) -> None:
        self.base = base
        self.host = HOST
        self.port = port
        self.bindir = bindir
        self._numbers = itertools.count(1)

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb and start a cluster, with a database called ``mailbot``."""
        bindir = _bindir()
        base = Path(tempfile.mkdtemp(prefix="mailbot-pg-"))
        shutil.chown(base, "postgres", "postgres")
        server = cls(base, free_port(), bindir)
        data = str(base / "data")
        init = _as_postgres(
            str(bindir / "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stdout.decode(errors='replace')}")
        # Durability is worthless for a throwaway cluster; fsync=off saves time.
        options = f"-p {server.port} -k {base} -c listen_addresses={HOST} -c fsync=off"
        started = _as_postgres(
            str(bindir / "pg_ctl"),
            "-D",
            data,
            "-l",
            str(base / "log"),
            "-w",
            "-o",
            options,
            "start",
        )
        if started.returncode != 0:
            log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
            raise RuntimeError(
                f"PostgreSQL did not start:\n{started.stdout.decode(errors='replace')}\n{log}"
            )
        server.create_database("mailbot")
        return server

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+psycopg2://postgres@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def new_database(self) -> str:
        """A fresh database for one test (test_1, test_2, ...), as a URL."""
        return self.create_database(f"test_{next(self._numbers)}")

    def stop(self) -> None:
        """Stop the cluster and delete its files."""
        _as_postgres(
            str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "fast", "stop"
        )
        shutil.rmtree(self.base, ignore_errors=True)
