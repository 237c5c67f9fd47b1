"""The two peers for bench/peers.py: django-helpdesk and Roundup, installed, configured, launched.

Standard library only.  Each peer gets a venv of its own made with pip from
the package registry and cached under the bench cache folder (keyed by the
pinned version), and, for every run, a fresh database and configuration in
the run's folder, made before the clock starts.  ``prepare`` returns the one
command that is then timed: the peer's own one-shot mail fetcher.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELPDESK_PIN = "django-helpdesk==2.6.1"
ROUNDUP_PIN = "roundup==2.6.0"
# The (lowest) number of PBKDF2 rounds Roundup accepts.  Roundup hashes a
# random password for every new user its mail gateway creates, one per new
# sender here; at the default 250,000 rounds that hashing alone would
# dominate its figure, and mailbot has no passwords to hash.
ROUNDUP_PBKDF2_ROUNDS = 1000


@dataclass(frozen=True)
class Target:
    """Where a peer reads its mail and where it sends its emails."""

    imap_host: str
    imap_port: int
    user: str
    password: str
    smtp_host: str
    smtp_port: int
    support: str
    service_name: str
    # Where a new ticket's notice to the team goes, or None for no notice
    # (then a peer sends one email per message, the submitter's).
    team: str | None = None


@dataclass(frozen=True)
class Prepared:
    """A peer ready to run: the command to time, its environment, and where to count tickets."""

    cmd: list[str]
    env: dict[str, str]
    db: Path
    table: str


class PeerError(Exception):
    """A peer could not be installed or configured (the log's tail is in the message)."""


def _run(cmd: list[str], what: str, log: Path, env: dict[str, str], cwd: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise PeerError(f"{what} failed (exit {done.returncode}); end of {log}:\n{tail}")


def peer_venv(cache: Path, pin: str, probe: str, log: Path, env: dict[str, str]) -> Path:
    """A venv with ``pin`` installed from the registry, made once and kept under ``cache``.

    ``probe`` is Python that must run in it (an import and a version check);
    a venv where it fails is made again.  The caller holds the cache lock.
    """
    venv = cache / ("peer-" + pin.replace("==", "-"))
    python = venv / "bin" / "python"
    if (
        python.exists()
        and subprocess.run([str(python), "-c", probe], env=env, capture_output=True).returncode == 0
    ):
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    print(f"peer venv: creating {venv} (pip install {pin})", flush=True)
    _run([sys.executable, "-m", "venv", str(venv)], "python -m venv", log, env, cache)
    _run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", pin],
        f"pip install {pin}",
        log,
        env,
        cache,
    )
    _run([str(python), "-c", probe], f"the check of {pin}", log, env, cache)
    return venv


# --- django-helpdesk ----------------------------------------------------------------

HELPDESK_PROBE = (
    "import importlib.metadata as m, helpdesk, django; "
    "assert m.version('django-helpdesk') == '2.6.1'"
)

# A minimal Django project for the helpdesk: SQLite, the SMTP backend to the
# sink, and no teams (pinax-teams is an optional extra).
_SETTINGS = """\
import json, os
_T = json.loads(os.environ["BENCH_HELPDESK"])
SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.humanize", "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
ROOT_URLCONF = "bench_urls"
SITE_ID = 1
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _T["db"]}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "Europe/London"
MEDIA_ROOT = _T["media"]
STATIC_URL = "/static/"
HELPDESK_TEAMS_MODE_ENABLED = False
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = _T["smtp_host"]
EMAIL_PORT = _T["smtp_port"]
DEFAULT_FROM_EMAIL = _T["support"]
SERVER_EMAIL = _T["support"]
"""

_URLS = """\
from django.urls import include, path
urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
"""

# Run once per run before the clock starts: the schema, and one queue that
# takes email over plain IMAP from the private Dovecot.
_SETUP = """\
import json, os
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
from helpdesk.models import Queue
t = json.loads(os.environ["BENCH_HELPDESK"])
Queue.objects.create(
    title=t["service_name"], slug="support", email_address=t["support"],
    allow_email_submission=True, email_box_type="imap", email_box_host=t["imap_host"],
    email_box_port=t["imap_port"], email_box_ssl=False, email_box_user=t["user"],
    email_box_pass=t["password"], email_box_imap_folder="INBOX", email_box_interval=0,
    logging_type="none", new_ticket_cc=t["team"],
)
"""


def prepare_helpdesk(
    venv: Path, run_dir: Path, target: Target, base_env: dict[str, str]
) -> Prepared:
    """A fresh Django project and database with one IMAP queue; times ``manage.py get_email``."""
    project = run_dir / "helpdesk"
    project.mkdir()
    (project / "bench_settings.py").write_text(_SETTINGS, encoding="utf-8")
    (project / "bench_urls.py").write_text(_URLS, encoding="utf-8")
    (project / "bench_setup.py").write_text(_SETUP, encoding="utf-8")
    db = project / "helpdesk.sqlite3"
    values: dict[str, Any] = {
        "db": str(db),
        "media": str(project / "media"),
        "smtp_host": target.smtp_host,
        "smtp_port": target.smtp_port,
        "support": target.support,
        "service_name": target.service_name,
        "imap_host": target.imap_host,
        "imap_port": target.imap_port,
        "user": target.user,
        "password": target.password,
        "team": target.team,
    }
    env = {
        **base_env,
        "BENCH_HELPDESK": json.dumps(values),
        "PYTHONPATH": str(project),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
    }
    python = str(venv / "bin" / "python")
    _run(
        [python, str(project / "bench_setup.py")],
        "helpdesk migrate and queue",
        run_dir / "setup.log",
        env,
        project,
    )
    return Prepared([python, "-m", "django", "get_email"], env, db, "helpdesk_ticket")


# --- Roundup ----------------------------------------------------------------------

ROUNDUP_PROBE = "import importlib.metadata as m, roundup; assert m.version('roundup') == '2.6.0'"


_ANONYMOUS_EMAIL = "#db.security.addPermissionToRole('Anonymous', 'Email Access')"


def set_ini(text: str, values: dict[str, dict[str, str]]) -> str:
    """``text`` (an INI file as roundup-admin writes it) with the given options set.

    An option is set where it stands, commented out (``#web = NO DEFAULT``)
    or not, so the file keeps its layout; an option not found is an error,
    since Roundup would then quietly use its default.
    """
    wanted = {section: dict(options) for section, options in values.items()}
    section = ""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        else:
            key = stripped.lstrip("#").split("=", 1)[0].strip()
            if "=" in stripped and key in wanted.get(section, {}):
                line = f"{key} = {wanted[section].pop(key)}"
        out.append(line)
    missing = [f"[{s}] {k}" for s, options in wanted.items() for k in options]
    if missing:
        raise PeerError(f"Roundup's config.ini has no option {', '.join(missing)}")
    return "\n".join(out) + "\n"


def roundup_settings(target: Target) -> dict[str, dict[str, str]]:
    """The tracker's configuration: mail to the sink, a confirmation to each new issue's author."""
    local, domain = target.support.split("@", 1)
    # With a team on the nosy list, "multiple" sends the author and the team
    # an email each (the default, "single", sends one with the team in Cc).
    sending = "multiple" if target.team else "single"
    return {
        "main": {"password_pbkdf2_default_rounds": str(ROUNDUP_PBKDF2_ROUNDS)},
        "tracker": {
            "name": target.service_name,
            "web": "http://localhost/support/",
            "email": local,
        },
        "mail": {"domain": domain, "host": target.smtp_host, "port": str(target.smtp_port)},
        # "new": the author of a new issue gets the new-issue email (the
        # confirmation); without it nobody would, since the author is the
        # only one on the nosy list.
        "nosy": {"messages_to_author": "new", "email_sending": sending},
    }


def prepare_roundup(
    venv: Path, run_dir: Path, target: Target, imap_host_143: str, base_env: dict[str, str]
) -> Prepared:
    """A fresh classic tracker on SQLite; times ``roundup-mailgw TRACKER imap user:pw@host``.

    Roundup 2.6's ``imap`` source takes no port (it calls ``imaplib.IMAP4(host)``,
    so port 143): ``imap_host_143`` is a loopback address where the private
    Dovecot also listens on 143.
    """
    tracker = run_dir / "tracker"
    admin = str(venv / "bin" / "roundup-admin")
    log = run_dir / "setup.log"
    _run(
        [admin, "-i", str(tracker), "install", "classic", "sqlite"],
        "roundup-admin install",
        log,
        base_env,
        run_dir,
    )
    # The classic schema's documented switch for taking email from people
    # who are not users yet (the mail gateway then registers them): every
    # sender here is new.
    schema = tracker / "schema.py"
    text = schema.read_text(encoding="utf-8")
    if _ANONYMOUS_EMAIL not in text:
        raise PeerError(f"{schema} has no line {_ANONYMOUS_EMAIL!r}")
    schema.write_text(
        text.replace(_ANONYMOUS_EMAIL, _ANONYMOUS_EMAIL.lstrip("#")), encoding="utf-8"
    )
    config = tracker / "config.ini"
    config.write_text(
        set_ini(config.read_text(encoding="utf-8"), roundup_settings(target)), encoding="utf-8"
    )
    _run(
        [admin, "-i", str(tracker), "initialise", "bench-admin"],
        "roundup-admin initialise",
        log,
        base_env,
        run_dir,
    )
    cmd = [str(venv / "bin" / "roundup-mailgw")]
    if target.team:
        # A user for the team, put on every new issue's nosy list, so that it
        # gets the new-issue email as mailbot's team gets its notice.
        _run(
            [
                admin,
                "-i",
                str(tracker),
                "create",
                "user",
                "username=team",
                f"address={target.team}",
                "roles=User",
            ],
            "roundup-admin create user",
            log,
            base_env,
            run_dir,
        )
        cmd += ["-S", "issue.nosy=team"]
    spec = f"{target.user}:{target.password}@{imap_host_143}"
    cmd += [str(tracker), "imap", spec]
    return Prepared(cmd, base_env, tracker / "db" / "db", "_issue")
