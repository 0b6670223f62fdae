"""A throwaway PostgreSQL cluster from the system's binaries, and per-service provisioning.

``make up`` uses it when no database URLs are configured, and the test suite uses it when no Docker
engine is reachable for testcontainers. PostgreSQL refuses to run as root, so as root the server
runs as the ``postgres`` system user (created by Debian's ``postgresql`` package).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from lab.processes import apt_install


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries, and no way to install them here."""


ROLES_SQL = Path(__file__).resolve().parent.parent / "deploy" / "postgres" / "roles.sql"


@dataclass(frozen=True)
class Database:
    """One service's database: its runtime role and password, and an owner that runs Alembic."""

    name: str
    role: str
    password: str

    @property
    def owner(self) -> str:
        return f"{self.role}_owner"

    @property
    def owner_password(self) -> str:
        return f"{self.password}-owner"

    def url(self, host: str, port: int) -> str:
        """The runtime role's URL: rows only, no DDL."""
        return f"postgresql+psycopg://{self.role}:{self.password}@{host}:{port}/{self.name}"

    def owner_url(self, host: str, port: int) -> str:
        return f"postgresql+psycopg://{self.owner}:{self.owner_password}@{host}:{port}/{self.name}"


def scratch_dir(prefix: str, parent: Path | None = None) -> Path:
    """A new temporary directory for a throwaway cluster (and what goes beside it).

    Readable by all: when the tests run as root the server runs as 'postgres', which must reach
    its data directory inside.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    root.chmod(0o755)
    return root


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_bindir(install: bool = True) -> Path:
    """The directory of ``initdb`` and ``pg_ctl``; installs Debian's package as root if missing."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key)
    if candidates:
        return Path(candidates[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    if install and apt_install("postgresql"):
        return find_bindir(install=False)
    raise PostgresUnavailable(
        "PostgreSQL binaries not found. Install them (sudo apt-get install postgresql) "
        "or set ORDERS_DATABASE_URL and INVENTORY_DATABASE_URL to existing databases."
    )


def _version_key(path: str) -> int:
    part = Path(path).parent.name
    return int(part) if part.isdigit() else 0


class LocalCluster:
    """A cluster in ``root`` listening on 127.0.0.1:``port`` and a private socket directory."""

    superuser = "postgres"

    def __init__(
        self, root: Path, port: int, *, fast: bool = False, archive: Path | None = None
    ) -> None:
        self.root = root
        self.port = port
        # Where finished WAL segments are copied (continuous archiving, for point-in-time
        # restores); None: no archiving.
        self.archive = archive
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.logfile = root / "postgres.log"
        # fsync off is for throwaway test clusters only: a crash may lose them, and that is fine.
        self.fast = fast
        self._bindir: Path | None = None

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    def _run(self, *args: str) -> None:
        done = self.run(*args)
        if done.returncode:
            raise subprocess.CalledProcessError(
                done.returncode, done.args, done.stdout, done.stderr
            )

    def own(self, path: Path) -> None:
        """Create ``path`` if needed, owned by the server's user (as root), who writes there."""
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(self.superuser)
            os.chown(path, user.pw_uid, user.pw_gid)

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and self._accepts()

    def _accepts(self) -> bool:
        try:
            with psycopg.connect(self.admin_conninfo(), connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def start(self) -> None:
        """Create the cluster if needed and start it; does nothing if it already runs."""
        self.bindir  # noqa: B018 - find or install the binaries before touching the disk
        self.root.mkdir(parents=True, exist_ok=True)
        self.own(self.root)
        self.own(self.sockets)
        if not self.initialised():
            self.own(self.data)
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                self.superuser,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        if self.archive is not None:
            self.own(self.archive)
            self.write_settings(ARCHIVING.format(archive=self.archive))
        if self.running():
            return
        options = [
            f"-p {self.port}",
            f"-k {self.sockets}",
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=300",
        ]
        if self.fast:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(options),
            "start",
        )

    def write_settings(self, text: str) -> None:
        """Replace the cluster's own settings file (``lab.conf``, included by postgresql.conf);
        they apply at the next start."""
        conf = self.data / "postgresql.conf"
        include = "include_if_exists = 'lab.conf'\n"
        if include not in conf.read_text():
            with conf.open("a") as out:
                out.write("\n" + include)
        (self.data / "lab.conf").write_text(text)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """One of PostgreSQL's programs as the server's user; the caller checks the outcome."""
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.superuser, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def setting(self, name: str) -> str:
        with psycopg.connect(self.admin_conninfo(), connect_timeout=5) as conn:
            row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
        assert row is not None
        return str(row[0])

    def stop(self) -> None:
        if self.initialised() and (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server is back in a moment."""
        # The log file again: without it the new server writes to pg_ctl's output, a pipe that
        # then never closes, and waiting for pg_ctl's output would wait for the server's end.
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-m", "fast", "-w", "restart"
        )

    def admin_conninfo(self, dbname: str = "postgres") -> str:
        """The superuser's connection to ``dbname``, over the cluster's private socket."""
        return f"host={self.sockets} port={self.port} user={self.superuser} dbname={dbname}"


# Each finished 16 MB segment is copied to the archive (never over one already there), and a
# quiet server still closes a segment every minute: at most a minute of commits is not archived.
ARCHIVING = """archive_mode = on
archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'
archive_timeout = 60
"""


def provision(admin_conninfo: str, databases: list[Database]) -> None:
    """Create each database with its owner and runtime roles (deploy/postgres/roles.sql, the
    script docker-compose.yml runs too); no role may connect to another's database."""
    psql = find_bindir() / "psql"  # postgresql-client, which Debian's postgresql depends on
    if not psql.exists():
        psql = Path(shutil.which("psql") or psql)
    for db in databases:
        variables = {
            "database": db.name,
            "owner": db.owner,
            "owner_password": db.owner_password,
            "runtime": db.role,
            "runtime_password": db.password,
        }
        command = [str(psql), "-X", "-q", "-d", admin_conninfo, "-f", str(ROLES_SQL)]
        for name, value in variables.items():
            command += ["-v", f"{name}={value}"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
