"""Backups of the local cluster, verified, and restores of one service's database from them.

``python -m lab.backups backup [--dump]``, ``restore --service S [--at TIME]``, ``list``
(``make backup``, ``make restore``, ``make backups``).

- **Continuous archiving**: the cluster copies every finished WAL segment into ``<dir>/wal``.
- **Base backups**: ``pg_basebackup`` (plain format, with a manifest of checksums) into
  ``<dir>/base/<stamp>``, then verified: ``pg_verifybackup``, and a scratch cluster started
  from a copy, whose databases must be at their migrations' head. Only the last ``BACKUP_KEEP``
  are kept, and WAL older than the oldest of them is removed.
- **Restore**: both services share the cluster, but each owns its database, so one database is
  restored alone: the base backup is recovered in a scratch cluster (to the time asked, from the
  WAL archive, or to the end of the backup), the one database is copied out of it with pg_dump
  into a new database of the live cluster, and only then, with the service stopped, swapped in
  for the old one. A damaged backup, a time the archive does not cover or a failed recovery
  stops the restore before anything of the live cluster is touched.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from lab.postgres import Database, LocalCluster, free_port, provision, scratch_dir
from shared.migrate import head

SERVICES = ("orders", "inventory")


class RestoreRefused(RuntimeError):
    """The restore cannot be done as asked; nothing of the live cluster was touched."""


@dataclass(frozen=True)
class Backup:
    """One verified base backup: its folder, and when it started and finished (server time)."""

    path: Path
    started_at: datetime
    finished_at: datetime
    start_wal: str  # the first WAL segment it needs; older ones are of no use to it

    @property
    def name(self) -> str:
        return self.path.name


class Backups:
    """The backup folder of one cluster: ``wal/``, ``base/<stamp>/`` with ``<stamp>.json``."""

    def __init__(self, root: Path, cluster: LocalCluster, keep: int = 3) -> None:
        self.root, self.cluster, self.keep = root, cluster, keep
        self.wal, self.base, self.dumps = root / "wal", root / "base", root / "dumps"

    # taking --------------------------------------------------------------------------------
    def ensure_archiving(self) -> None:
        """Continuous archiving on, into ``wal/``: a restart if the cluster ran without it."""
        self.cluster.archive = self.wal
        self.cluster.start()
        if self.cluster.setting("archive_mode") != "on":
            print("PostgreSQL: turning WAL archiving on (a restart of a few seconds)")
            self.cluster.restart()

    def take(self, *, dump: list[Database] | None = None) -> Backup:
        """A base backup, verified; then the oldest beyond ``keep`` are removed."""
        self.ensure_archiving()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # the server's user reaches wal/ and the scratch clusters
        self.cluster.own(self.base)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.base / stamp
        started = self._server_now()
        done = self.cluster.run(
            "pg_basebackup",
            *("-h", str(self.cluster.sockets), "-p", str(self.cluster.port), "-U", "postgres"),
            *("-D", str(target), "-Fp", "-X", "stream", "-c", "fast"),
            "--manifest-checksums=CRC32C",
        )
        if done.returncode:
            shutil.rmtree(target, ignore_errors=True)
            raise RuntimeError(f"pg_basebackup failed: {done.stderr.strip()}")
        backup = Backup(target, started, self._server_now(), _start_wal(target))
        try:
            self.verify(backup)
        except RestoreRefused:
            shutil.rmtree(target, ignore_errors=True)
            raise
        (self.base / f"{stamp}.json").write_text(
            json.dumps(
                {
                    "started_at": backup.started_at.isoformat(),
                    "finished_at": backup.finished_at.isoformat(),
                    "start_wal": backup.start_wal,
                },
                indent=2,
            )
            + "\n"
        )
        if dump:
            self._dump(stamp, dump)
        self.prune()
        return backup

    def _dump(self, stamp: str, databases: list[Database]) -> None:
        """A logical copy of each database too: readable by any PostgreSQL of a later version."""
        folder = self.dumps / stamp
        self.cluster.own(folder)
        for db in databases:
            done = self.cluster.run(
                "pg_dump",
                *("-h", str(self.cluster.sockets), "-p", str(self.cluster.port), "-U", "postgres"),
                *("-Fc", "-f", str(folder / f"{db.name}.dump"), db.name),
            )
            if done.returncode:
                raise RuntimeError(f"pg_dump of {db.name} failed: {done.stderr.strip()}")

    def prune(self) -> None:
        """Keep the last ``keep`` backups, and only the WAL they (and restores after them) need."""
        found = self.list()
        for old in found[: -self.keep]:
            shutil.rmtree(old.path, ignore_errors=True)
            (self.base / f"{old.name}.json").unlink(missing_ok=True)
            shutil.rmtree(self.dumps / old.name, ignore_errors=True)
        kept = found[-self.keep :]
        if kept:
            self.cluster.run("pg_archivecleanup", str(self.wal), kept[0].start_wal)

    def list(self) -> list[Backup]:
        """The verified backups, oldest first (a folder without its record is unfinished)."""
        found = []
        for record in sorted(self.base.glob("*.json")) if self.base.exists() else []:
            data = json.loads(record.read_text())
            found.append(
                Backup(
                    self.base / record.stem,
                    datetime.fromisoformat(data["started_at"]),
                    datetime.fromisoformat(data["finished_at"]),
                    data["start_wal"],
                )
            )
        return found

    # checking ------------------------------------------------------------------------------
    def verify(self, backup: Backup) -> None:
        """Every file as the manifest says, and a cluster started from a copy of it holds every
        service's database at its migrations' head."""
        self.check_files(backup)
        with self._scratch(backup, "recovery_target = 'immediate'") as scratch:
            for service in SERVICES:
                for name in _databases_of(scratch, service):
                    _check_head(scratch, name, service)

    def check_files(self, backup: Backup) -> None:
        if not (backup.path / "backup_manifest").exists():
            raise RestoreRefused(f"backup {backup.name} is incomplete: it has no backup_manifest")
        checked = self.cluster.run("pg_verifybackup", "-n", str(backup.path))
        if checked.returncode:
            problem = (checked.stderr or checked.stdout).strip().splitlines()
            raise RestoreRefused(
                f"backup {backup.name} is damaged, refusing it: {'; '.join(problem[:3])}"
            )

    # restoring -----------------------------------------------------------------------------
    def restore(
        self,
        service: str,
        db: Database,
        at: datetime | None,
        stop: Callable[[], None],
        start: Callable[[], None],
    ) -> dict[str, float]:
        """Restore ``db`` (the database of ``service``) to ``at``, or to the newest backup.

        Returns how long each step took (seconds); raises ``RestoreRefused`` before touching
        the live cluster when it cannot be done."""
        timings: dict[str, float] = {}
        began = time.monotonic()
        backup, target = self.choose(at)
        self.check_files(backup)
        with self._scratch(backup, target) as scratch:
            _check_head(scratch, db.name, service)
            timings["recover_s"] = time.monotonic() - began
            dump = scratch.root / f"{db.name}.dump"
            done = scratch.run(
                "pg_dump",
                *("-h", str(scratch.sockets), "-p", str(scratch.port), "-U", "postgres"),
                *("-Fc", "-f", str(dump), db.name),
            )
            if done.returncode:
                raise RestoreRefused(f"could not copy {db.name} out of the backup: {done.stderr}")
            staging = f"{db.name}_restoring"
            self._sql(f'DROP DATABASE IF EXISTS "{staging}" WITH (FORCE)')
            self._sql(f'CREATE DATABASE "{staging}" OWNER "{db.owner}"')
            loaded = self.cluster.run(
                "pg_restore",
                *("-h", str(self.cluster.sockets), "-p", str(self.cluster.port), "-U", "postgres"),
                *("--exit-on-error", "-d", staging, str(dump)),
            )
            if loaded.returncode:
                self._sql(f'DROP DATABASE IF EXISTS "{staging}" WITH (FORCE)')
                raise RestoreRefused(f"could not load the restored {db.name}: {loaded.stderr}")
            timings["copy_s"] = time.monotonic() - began - timings["recover_s"]
        # The only moment the service is down: stop, swap the databases, grant, start.
        swap = time.monotonic()
        stop()
        try:
            self._sql(f'DROP DATABASE "{db.name}" WITH (FORCE)')
            self._sql(f'ALTER DATABASE "{staging}" RENAME TO "{db.name}"')
            provision(self.cluster.admin_conninfo(), [db])
        finally:
            start()
        timings["downtime_s"] = time.monotonic() - swap
        timings["total_s"] = time.monotonic() - began
        return timings

    def choose(self, at: datetime | None) -> tuple[Backup, str]:
        """The backup to start from and the recovery target; refuses what is not covered."""
        found = self.list()
        if not found:
            raise RestoreRefused(f"there is no backup in {self.base}: run `make backup` first")
        if at is None:
            return found[-1], "recovery_target = 'immediate'"
        if at.tzinfo is None:
            raise RestoreRefused(f"give the time with its offset, e.g. '{at:%Y-%m-%d %H:%M:%S}+00'")
        archived_until = self.archive_now()
        if at < found[0].finished_at or at > archived_until:
            raise RestoreRefused(
                f"{at.isoformat()} is outside what the backups cover: from "
                f"{found[0].finished_at.isoformat()} (the end of the oldest backup) to "
                f"{archived_until.isoformat()} (now, everything archived)"
            )
        backup = [b for b in found if b.finished_at <= at][-1]
        return backup, (
            f"recovery_target_time = '{at.isoformat()}'\nrecovery_target_inclusive = on\n"
        )

    def archive_now(self) -> datetime:
        """Close the current WAL segment and wait until it is archived: the archive then
        covers every commit up to the moment returned."""
        with psycopg.connect(self.cluster.admin_conninfo(), autocommit=True) as conn:
            now, segment = conn.execute("SELECT now(), pg_walfile_name(pg_switch_wal())").fetchone()  # type: ignore[misc]
            for _ in range(600):
                if (self.wal / segment).exists():
                    return now  # type: ignore[no-any-return]
                conn.execute("SELECT pg_sleep(0.1)")
        raise RestoreRefused(f"WAL segment {segment} was not archived within a minute")

    @contextmanager
    def _scratch(self, backup: Backup, target: str) -> Iterator[LocalCluster]:
        """A copy of ``backup`` recovered to ``target`` in a throwaway cluster, stopped after."""
        scratch = LocalCluster(scratch_dir("restore-", self.root), free_port())
        try:
            subprocess.run(["cp", "-a", str(backup.path), str(scratch.data)], check=True)
            (scratch.data / "recovery.signal").touch()
            shutil.chown(scratch.data / "recovery.signal", *_owner_of(backup.path))
            scratch.write_settings(
                "archive_mode = off\n"
                f"restore_command = 'cp {self.wal}/%f %p'\n"
                "recovery_target_action = 'promote'\n" + target + "\n"
            )
            try:
                scratch.start()
                _wait_promoted(scratch)
            except (subprocess.CalledProcessError, RuntimeError) as exc:
                raise RestoreRefused(
                    f"recovery from backup {backup.name} failed: {_last_error(scratch)}"
                ) from exc
            yield scratch
        finally:
            scratch.stop()
            shutil.rmtree(scratch.root, ignore_errors=True)

    def _sql(self, statement: str) -> None:
        with psycopg.connect(self.cluster.admin_conninfo(), autocommit=True) as conn:
            conn.execute(statement)

    def _server_now(self) -> datetime:
        with psycopg.connect(self.cluster.admin_conninfo()) as conn:
            row = conn.execute("SELECT now()").fetchone()
        assert row is not None
        return row[0]  # type: ignore[no-any-return]


def _start_wal(path: Path) -> str:
    """The first WAL segment a base backup needs, from its backup_label."""
    for line in (path / "backup_label").read_text().splitlines():
        if line.startswith("START WAL LOCATION"):
            return line.rsplit("file ", 1)[1].rstrip(")")
    raise RuntimeError(f"{path} has no START WAL LOCATION in its backup_label")


def _owner_of(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid


def _wait_promoted(cluster: LocalCluster) -> None:
    """Recovery replays WAL up to its target, then the server leaves recovery and takes writes."""
    with psycopg.connect(cluster.admin_conninfo(), autocommit=True) as conn:
        for _ in range(1200):
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row and not row[0]:
                return
            conn.execute("SELECT pg_sleep(0.1)")
    raise RuntimeError("the scratch cluster was still recovering after two minutes")


def _last_error(cluster: LocalCluster) -> str:
    lines = cluster.logfile.read_text().splitlines() if cluster.logfile.exists() else []
    errors = [ln for ln in lines if "FATAL" in ln or "ERROR" in ln]
    return (errors or lines or ["no log"])[-1]


def _databases_of(cluster: LocalCluster, service: str) -> list[str]:
    """The databases in ``cluster`` that hold ``service``'s schema (found by their tables)."""
    marker = {"orders": "outbox", "inventory": "stock_movements"}[service]
    found = []
    with psycopg.connect(cluster.admin_conninfo()) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'"
            )
        ]
    for name in names:
        with psycopg.connect(cluster.admin_conninfo(name)) as c:
            if c.execute("SELECT to_regclass(%s)", (marker,)).fetchone() != (None,):
                found.append(name)
    return found


def _check_head(cluster: LocalCluster, name: str, service: str) -> None:
    conninfo = cluster.admin_conninfo(name)
    try:
        with psycopg.connect(conninfo) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except psycopg.Error as exc:
        raise RestoreRefused(f"the restored {name} cannot be read: {exc}") from exc
    expected = head(service)
    if row is None or row[0] != expected:
        raise RestoreRefused(
            f"the restored {name} is at migration {row[0] if row else 'none'}, not {expected}"
        )


# the command line ------------------------------------------------------------------------
def _local() -> tuple[Backups, dict[str, Database]]:
    from lab import stack
    from shared.config import load_settings

    settings = load_settings()
    if not stack.uses_local_database(settings):
        raise SystemExit(
            "make backup and make restore work on the local cluster `make up` runs; with your "
            "own PostgreSQL (ORDERS_DATABASE_URL, INVENTORY_DATABASE_URL) use its backup tools"
        )
    root = Path(settings.backup_dir) if settings.backup_dir else stack.backup_root()
    cluster = stack.local_cluster()
    orders, inventory = stack.local_databases()
    return Backups(root, cluster, settings.backup_keep), {"orders": orders, "inventory": inventory}


def parse_time(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise SystemExit(f"AT must look like '2026-11-21 10:15:00+00', got {raw!r}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    take = sub.add_parser("backup", help="a verified base backup (and WAL archiving on)")
    take.add_argument("--dump", action="store_true", help="a pg_dump of each database too")
    sub.add_parser("list", help="the backups kept, and what a restore can reach")
    restore = sub.add_parser("restore", help="one service's database, to a backup or a time")
    restore.add_argument("--service", choices=SERVICES, required=True)
    restore.add_argument("--at", default="", help="a time with its offset; default: newest backup")
    args = parser.parse_args(argv)
    backups, databases = _local()
    if args.action == "backup":
        began = time.monotonic()
        backup = backups.take(dump=list(databases.values()) if args.dump else None)
        size = sum(f.stat().st_size for f in backup.path.rglob("*") if f.is_file())
        print(
            f"Backup {backup.name}: {size / 2**20:.1f} MiB in {backup.path}, verified (manifest, "
            f"and a scratch cluster at migration head) in {time.monotonic() - began:.1f} s; "
            f"{len(backups.list())} kept (BACKUP_KEEP={backups.keep}); WAL in {backups.wal}"
        )
        return 0
    if args.action == "list":
        found = backups.list()
        for b in found:
            print(f"  {b.name}  finished {b.finished_at.isoformat()}")
        if found:
            print(f"A restore may target any time from {found[0].finished_at.isoformat()} to now.")
        else:
            print(f"No backup in {backups.base}.")
        return 0
    return _restore(backups, databases, args.service, parse_time(args.at) if args.at else None)


def _restore(
    backups: Backups, databases: dict[str, Database], service: str, at: datetime | None
) -> int:
    from lab import stack

    backups.ensure_archiving()  # the cluster running, and its archive current
    stopped: list[str] = []
    try:
        timings = backups.restore(
            service,
            databases[service],
            at,
            stop=lambda: stopped.extend(stack.stop_service(service)),
            # Started again only if it ran: `make up` starts what is not running.
            start=lambda: stack.up() if stopped else None,
        )
    except RestoreRefused as exc:
        print(f"Restore refused: {exc}. Nothing was changed.", file=sys.stderr)
        return 1
    print(
        f"Restored {databases[service].name} to {at.isoformat() if at else 'the newest backup'}: "
        + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        + "\nNow `make audit` shows how the two services disagree; `make audit REPAIR=1` mends it."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
