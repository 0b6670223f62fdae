"""The bench's system and load driver: a production-like system and wrk against it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from lab import processes
from lab.bench.measure import HZ, children_cpu_s, cpu_ticks, peak_rss_mb
from lab.system import Environment, Layout, empty_tables, service_of
from shared.auth import Role

ROOT = Path(__file__).resolve().parents[2]
LUA = Path(__file__).parent / "orders.lua"
ADMIN_TOKEN = "bench-admin-token-0001"
# Production-like: the configuration's defaults (each service's own process layout), JSON logs
# at INFO, chaos on for scenario 4.
PRODUCTION_ENV = {
    "LOG_LEVEL": "INFO",
    "ORDER_RESERVE_DEADLINE_S": "6",
    "INVENTORY_READ_TIMEOUT_S": "5",
    "BREAKER_RESET_TIMEOUT_S": "10",
    "OUTBOX_RETRY_MAX_S": "30",
    "IDEMPOTENCY_LEASE_S": "30",
    "RECONCILER_BATCH_SIZE": "50",
    "RECONCILER_INTERVAL_S": "1",
}
PLENTY = [f"BENCH-{i}" for i in range(1, 21)]
SCARCE = ["HOT-1", "HOT-2", "HOT-3"]


class Bench:
    def __init__(self, seconds: float, backlog_orders: int = 2000) -> None:
        self.seconds = seconds
        self.backlog_orders = backlog_orders
        self.results: dict[str, Any] = {}

    # the system -----------------------------------------------------------------------------
    def __enter__(self) -> Bench:
        self.env = Environment("bench", PRODUCTION_ENV, ADMIN_TOKEN, fast=False).__enter__()
        self.root, self.cluster, self.system = self.env.root, self.env.cluster, self.env.system
        self.orders_db, self.inventory_db = self.env.orders, self.env.inventory
        return self

    def __exit__(self, *exc: object) -> None:
        self.env.__exit__(*exc)

    def fresh(self, layout: Layout | None = None, **env: str) -> None:
        """Empty databases, restart the system (``layout``, with ``env``), add the products."""
        self.system.stop_processes()
        empty_tables(self.orders_db)
        empty_tables(self.inventory_db)
        self.system.env_overrides = {**PRODUCTION_ENV, **env}
        self.system.relayout(layout or Layout())
        for sku in PLENTY:
            self.system.create_product(sku, 10_000_000)

    # measuring ------------------------------------------------------------------------------
    def wrk(
        self,
        name: str,
        clients: int,
        skus: list[str],
        seconds: float | None = None,
        port: int | None = None,
    ) -> dict[str, Any]:
        """Load POST /orders with ``clients`` connections; returns figures and CPU use."""
        token = self.system.auth("bench", Role.CUSTOMER)["Authorization"].removeprefix("Bearer ")
        return wrk(
            name,
            clients,
            skus,
            seconds or self.seconds,
            port or self.system.order_port,
            token,
            self._processes(),
        )

    def _processes(self) -> dict[str, list[int]]:
        """Every process of the layout by group (orders, inventory, reconciler, haproxy, ...)."""
        found: dict[str, list[int]] = {"orders": [], "inventory": [], "reconciler": []}
        for name, proc in self.system.procs.items():  # inventory is stopped in some scenarios
            found.setdefault(service_of(name), []).extend([proc.pid, *processes.children(proc.pid)])
        postmaster = int((self.cluster.data / "postmaster.pid").read_text().split()[0])
        found["postgres"] = [postmaster, *processes.children(postmaster)]
        return found


def wrk(
    name: str,
    clients: int,
    skus: list[str],
    seconds: float,
    port: int,
    token: str | None,
    watched: dict[str, list[int]],
    customer: str | None = None,
) -> dict[str, Any]:
    """Load POST /orders on ``port`` with ``clients`` connections for ``seconds``.

    Returns wrk's figures and the CPU each group of ``watched`` processes used meanwhile, as a
    percentage of one core and in ticks; ``customer`` puts a ``customer_id`` in every body.
    """
    before = {label: cpu_ticks(pids) for label, pids in watched.items()}
    started = time.monotonic()
    env = {
        **os.environ,
        "BENCH_SKUS": ",".join(skus),
        "BENCH_RUN": f"{name}-{time.time_ns()}",
        "BENCH_TOKEN": token or "",
        "BENCH_CUSTOMER": customer or "",
    }
    command = [
        "wrk",
        f"-t{min(2, clients)}",
        f"-c{clients}",
        f"-d{round(seconds)}s",
        "--timeout",
        "15s",
        "-s",
        str(LUA.relative_to(ROOT)),
        f"http://127.0.0.1:{port}",
    ]
    children_before = children_cpu_s()
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    out, _ = run.communicate()
    wall = time.monotonic() - started
    wrk_cpu = children_cpu_s() - children_before
    after = {label: cpu_ticks(pids) for label, pids in watched.items()}
    line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary ({run.returncode}): {out[-500:]}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    seconds_run = data["duration_us"] / 1e6
    codes = {int(k): v for k, v in data["codes"].items()}
    ticks = {label: after[label] - before[label] for label in after}
    cpu = {label: round(100 * t / HZ / wall, 1) for label, t in ticks.items()}
    cpu["wrk"] = round(100 * wrk_cpu / wall, 1)
    return {
        "command": " ".join(command[:-1]) + " http://127.0.0.1:<order service port>",
        "clients": clients,
        "seconds": round(seconds_run, 2),
        "requests": data["requests"],
        "orders_per_s": round(data["requests"] / seconds_run, 1),
        "successful_per_s": round(codes.get(201, 0) / seconds_run, 1),
        "codes": dict(sorted(codes.items())),
        "socket_errors": data["errors"],
        "latency_ms": {
            "p50": data["latency_us"]["p"]["50"] / 1000,
            "p95": data["latency_us"]["p"]["95"] / 1000,
            "p99": data["latency_us"]["p"]["99"] / 1000,
            "max": data["latency_us"]["max"] / 1000,
        },
        "curve_us": data["curve_us"],
        "cpu_percent": cpu,
        "cpu_s": {**{label: t / HZ for label, t in ticks.items()}, "wrk": wrk_cpu},
        "peak_rss_mb": {
            label: peak_rss_mb(pids)
            for label, pids in watched.items()
            if label in ("orders", "inventory")
        },
    }
