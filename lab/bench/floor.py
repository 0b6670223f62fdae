"""The stack's floor, measured beside the baseline comparison: the least CPU an order can cost.

``lab.bench.floor_app`` is the pattern's skeleton on the product's stack (Flask under gunicorn
gthread with each service's workers x threads, requests, SQLAlchemy Core and psycopg, three
autocommitted statements, one HTTP hop) with every feature taken away. Started on its own
throwaway PostgreSQL and loaded by the same wrk rounds as the two commits, it tells how much of a
CPU target is left for the features themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg

from lab import processes
from lab.bench.floor_app import SCHEMA
from lab.bench.load import PLENTY, wrk
from lab.postgres import LocalCluster, free_port, scratch_dir
from shared.config import Settings

SERVICES = ("inventory", "orders")  # inventory first: orders calls it


class FloorSide:
    """The skeleton's two apps and their PostgreSQL, loaded like a side of the comparison."""

    label = "floor"

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def __enter__(self) -> FloorSide:
        self.root = scratch_dir("bench-floor-")
        # fsync on, as in the comparison's other two systems
        self.cluster = LocalCluster(self.root / "pg", free_port())
        self.cluster.start()
        ports = {service: free_port() for service in SERVICES}
        settings = Settings()
        try:
            for service in SERVICES:
                database = f"floor_{service}"
                with psycopg.connect(self.cluster.admin_conninfo(), autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {database}")
                with psycopg.connect(self.cluster.admin_conninfo(database)) as conn:
                    conn.execute(SCHEMA[service])
                layout = settings.layout(service)
                env = {
                    **os.environ,
                    "FLOOR_DATABASE_URL": f"postgresql+psycopg://{self.cluster.superuser}@/"
                    f"{database}?host={self.cluster.sockets}&port={self.cluster.port}",
                    "FLOOR_PEER": f"http://127.0.0.1:{ports['inventory']}",
                }
                command = [
                    str(processes.BIN / "gunicorn"),
                    f"--workers={layout.workers}",
                    f"--threads={layout.threads}",
                    "--worker-class=gthread",
                    f"--bind=127.0.0.1:{ports[service]}",
                    "--log-level=warning",
                    f"lab.bench.floor_app:create_app('{service}')",
                ]
                self.procs[service] = processes.start(
                    command, self.logs / f"floor-{service}.log", env
                )
                processes.wait_ready(
                    f"http://127.0.0.1:{ports[service]}/health", process=self.procs[service]
                )
        except BaseException:
            self.__exit__()
            raise
        self.port = ports["orders"]
        return self

    def groups(self) -> dict[str, list[int]]:
        postmaster = int((self.cluster.data / "postmaster.pid").read_text().split()[0])
        found = {name: [p.pid, *processes.children(p.pid)] for name, p in self.procs.items()}
        return {**found, "postgres": [postmaster, *processes.children(postmaster)]}

    def load(self, name: str, clients: int, seconds: float) -> dict[str, Any]:
        return wrk(
            f"floor-{name}", clients, PLENTY, seconds, self.port, None, self.groups(), "bench"
        )

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs.values()):  # orders first: it calls inventory
            processes.end(proc)
        self.cluster.stop()
        shutil.rmtree(self.root, ignore_errors=True)
