"""``make bench``: throughput and tail latency of the order flow, healthy and under faults.

Starts the system as ``make up`` does (2 gunicorn workers x 8 threads per service, metrics and JSON
logs on, the reconciler) on a throwaway PostgreSQL, loads it with wrk (C, not the bottleneck) on
127.0.0.1 only, for a bounded time per scenario, and writes ``docs/benchmarks.md`` and
``docs/benchmarks.json``. Every target is a ratio between figures of the same run, because
timings on a shared machine drift from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, text

from chaos.system import Environment, empty_tables
from shared.config import Settings
from shared.runtime import processes
from shared.runtime.postgres import free_port

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).parent / "wrk" / "orders.lua"
ADMIN_TOKEN = "bench-admin-token-0001"
_DEFAULTS = Settings()
# Production-like: the configuration's defaults, JSON logs at INFO, chaos on for scenario 4.
PRODUCTION_ENV = {
    "WEB_WORKERS": str(_DEFAULTS.web_workers),
    "WEB_THREADS": str(_DEFAULTS.web_threads),
    "DB_POOL_SIZE": str(_DEFAULTS.db_pool_size),
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


SCENARIOS = [
    "healthy",
    "bare",
    "breaker_open",
    "latency_gremlin",
    "backlog",
    "contention",
    "parallel_slow_calls",
]


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

    def fresh(self, **env: str) -> None:
        """Empty databases, restart the services (with ``env``), add the bench products."""
        for name in ("reconciler", "orders", "inventory"):
            self.system.stop(name)
        empty_tables(self.orders_db)
        empty_tables(self.inventory_db)
        self.system.env_overrides = {**PRODUCTION_ENV, **env}
        for name in ("inventory", "orders", "reconciler"):
            self.system.start(name)
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
        duration = seconds or self.seconds
        watched = self._processes()
        before = {label: _cpu_ticks(pids) for label, pids in watched.items()}
        started = time.monotonic()
        env = {**os.environ, "BENCH_SKUS": ",".join(skus), "BENCH_RUN": f"{name}-{time.time_ns()}"}
        command = [
            "wrk",
            f"-t{min(2, clients)}",
            f"-c{clients}",
            f"-d{round(duration)}s",
            "--timeout",
            "15s",
            "-s",
            str(LUA.relative_to(ROOT)),
            f"http://127.0.0.1:{port or self.system.order_port}",
        ]
        children_before = _children_cpu_s()
        wrk = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        out, _ = wrk.communicate()
        wall = time.monotonic() - started
        wrk_cpu = _children_cpu_s() - children_before
        after = {label: _cpu_ticks(pids) for label, pids in watched.items()}
        line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk gave no summary ({wrk.returncode}): {out[-500:]}")
        data = json.loads(line.removeprefix("WRK_JSON "))
        seconds_run = data["duration_us"] / 1e6
        codes = {int(k): v for k, v in data["codes"].items()}
        cpu = {
            label: round(100 * (after[label] - before[label]) / _HZ / wall, 1) for label in after
        }
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
            "peak_rss_mb": {
                label: _peak_rss_mb(pids)
                for label, pids in watched.items()
                if label in ("orders", "inventory")
            },
        }

    def _processes(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {"orders": [], "inventory": [], "reconciler": []}
        for name in found:
            proc = self.system.procs.get(name)  # inventory is stopped in some scenarios
            if proc is not None:
                found[name] = [proc.pid, *processes.children(proc.pid)]
        postmaster = int((self.cluster.data / "postmaster.pid").read_text().split()[0])
        found["postgres"] = [postmaster, *processes.children(postmaster)]
        return found

    # scenarios ------------------------------------------------------------------------------
    def healthy(self) -> None:
        self.fresh()
        for clients in (4, 16, 64):
            self.results[f"healthy_c{clients}"] = self.wrk(f"healthy{clients}", clients, PLENTY)
            print(
                _line(f"healthy, {clients} clients", self.results[f"healthy_c{clients}"]),
                flush=True,
            )

    def bare(self) -> None:
        """The resilience layer's cost: a resilient and a bare order service, side by side.

        Throughput on a shared machine drifts over minutes, by more than what is measured here.
        So a second order service with the bare client runs beside the first, against the same
        inventory and databases, and short rounds alternate between them: both see the same
        drift, and their sums are compared.
        """
        self.fresh()
        port = free_port()
        env = {
            **self.system.env(),
            "INVENTORY_CLIENT": "bare",
            "ORDER_BIND": f"127.0.0.1:{port}",
            "PROMETHEUS_MULTIPROC_DIR": str(self.root / "metrics-orders-bare"),
        }
        bare = processes.start(
            processes.gunicorn_command("orders"), self.root / "logs" / "orders-bare.log", env
        )
        try:
            processes.wait_ready(f"http://127.0.0.1:{port}/health/ready", process=bare)
            rounds, seconds = 8, max(2.0, 2 * self.seconds / 8)
            runs: dict[str, list[dict[str, Any]]] = {"resilient": [], "bare": []}
            for _ in range(rounds):
                runs["resilient"].append(self.wrk("resilient16", 16, PLENTY, seconds=seconds))
                runs["bare"].append(self.wrk("bare16", 16, PLENTY, seconds=seconds, port=port))
        finally:
            bare.terminate()
            bare.wait(timeout=30)
        for mode, results in runs.items():
            merged = dict(results[-1])
            total_s = sum(r["seconds"] for r in results)
            merged["requests"] = sum(r["requests"] for r in results)
            merged["seconds"] = round(total_s, 2)
            merged["orders_per_s"] = round(merged["requests"] / total_s, 1)
            merged["successful_per_s"] = round(
                sum(r["successful_per_s"] * r["seconds"] for r in results) / total_s, 1
            )
            merged["rounds"] = [r["successful_per_s"] for r in results]
            self.results[f"{mode}_paired_c16"] = merged
        print(
            f"paired rounds, confirmed/s: resilient {runs_summary(runs['resilient'])}; "
            f"bare {runs_summary(runs['bare'])}",
            flush=True,
        )

    def breaker_open(self) -> None:
        """202s with inventory stopped, against a healthy run just before on the same system."""
        self.fresh()
        # The baseline for the ratio is measured right before, so drift cannot come between.
        self.results["healthy_before_open_c16"] = self.wrk(
            "healthy16b", 16, PLENTY, seconds=max(2.0, self.seconds / 2)
        )
        self.system.stop("inventory")
        self.wrk("warmup", 16, PLENTY, seconds=3)  # every process's breaker opens
        self.results["breaker_open_c16"] = self.wrk("open16", 16, PLENTY)
        print(
            _line("inventory stopped, breaker open", self.results["breaker_open_c16"]), flush=True
        )
        self.system.start("inventory")

    def latency_gremlin(self) -> None:
        """Every 5th reservation delayed 3 s; how slow are the orders it did not hit?

        wrk cannot say which request was which order, so this scenario uses 16 client threads
        that record each order's id and latency; the gremlin's firings name the orders it hit.
        At this scenario's rate (a few dozen orders/s) the client threads are not the
        bottleneck; their own overhead only makes the figure pessimistic.
        """
        self.fresh()
        chaos = f"http://127.0.0.1:{self.system.inventory_port}/chaos"
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        requests.put(
            f"{chaos}/slow-5th",
            headers=auth,
            timeout=5,
            json={
                "kind": "latency",
                "delay_ms": 3000,
                "every_nth": 5,
                "method": "PUT",
                "path": "/api/v1/reservations/*",
            },
        ).raise_for_status()
        url = f"http://127.0.0.1:{self.system.order_port}/api/v1/orders"
        records: list[tuple[str, float, int]] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + self.seconds

        def client(n: int) -> None:
            session, sent = requests.Session(), 0
            while time.monotonic() < stop_at:
                sent += 1
                body = {
                    "customer_id": f"g{n}",
                    "items": [{"sku": PLENTY[(n * 7 + sent) % len(PLENTY)], "quantity": 1}],
                }
                started = time.perf_counter()
                response = session.post(
                    url, json=body, timeout=30, headers={"Idempotency-Key": f"g-{n}-{sent}"}
                )
                elapsed = (time.perf_counter() - started) * 1000
                data = response.json()
                order = data.get("id") or data["error"]["details"]["order_id"]
                with lock:
                    records.append((order, elapsed, response.status_code))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        requests.delete(chaos, headers=auth, timeout=5)
        with self.inventory_db.connect() as conn:
            hit = {r[0] for r in conn.execute(text("SELECT reservation_id FROM gremlin_firings"))}
        unhit = sorted(ms for order, ms, _ in records if order not in hit)
        every = sorted(ms for _, ms, _ in records)
        codes: dict[int, int] = {}
        for _, _, status in records:
            codes[status] = codes.get(status, 0) + 1
        result = {
            "command": "16 Python client threads (chaos/bench.py latency_gremlin)",
            "clients": 16,
            "seconds": self.seconds,
            "requests": len(records),
            "orders_per_s": round(len(records) / self.seconds, 1),
            "successful_per_s": round(codes.get(201, 0) / self.seconds, 1),
            "codes": dict(sorted(codes.items())),
            "latency_ms": {
                "p50": _q(every, 0.5),
                "p95": _q(every, 0.95),
                "p99": _q(every, 0.99),
                "max": every[-1],
            },
            "gremlin_fired": len(hit),
            "unhit_p99_ms": _q(unhit, 0.99),
            "unhit_max_ms": unhit[-1] if unhit else 0.0,
            "cpu_percent": {},
            "peak_rss_mb": {},
        }
        self.results["latency_gremlin_c16"] = result
        print(
            _line("latency gremlin every 5th, 3 s", result)
            + f", orders not hit: p99 {result['unhit_p99_ms']:.1f} ms",
            flush=True,
        )

    def backlog(self) -> None:
        orders = self.backlog_orders
        self.fresh()
        self.system.stop("inventory")
        session = requests.Session()
        url = f"http://127.0.0.1:{self.system.order_port}/api/v1/orders"

        def place(i: int) -> int:
            body = {
                "customer_id": f"backlog-{i % 50}",
                "items": [{"sku": PLENTY[i % len(PLENTY)], "quantity": 1}],
            }
            return session.post(
                url, json=body, headers={"Idempotency-Key": f"backlog-{i}"}, timeout=30
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(place, range(orders)))
        pending = _count(self.orders_db, "SELECT count(*) FROM orders WHERE status = 'PENDING'")
        self.system.start("inventory")
        started = time.monotonic()
        while _count(self.orders_db, "SELECT count(*) FROM orders WHERE status = 'PENDING'"):
            if time.monotonic() - started > 300:
                raise TimeoutError("backlog not drained in 300 s")
            time.sleep(0.1)  # polling the database for the end of the drain
        drained = time.monotonic() - started
        self.results["backlog"] = {
            "orders": orders,
            "accepted_pending": pending,
            "codes": {str(c): codes.count(c) for c in sorted(set(codes))},
            "drain_s": round(drained, 2),
            "drain_per_s": round(pending / drained, 1),
        }
        print(
            f"backlog: {pending} PENDING orders settled in {drained:.1f} s "
            f"({pending / drained:.0f}/s)",
            flush=True,
        )

    def contention(self) -> None:
        self.fresh()
        for sku in SCARCE:
            self.system.create_product(sku, 300)
        result = self.wrk("contention64", 64, SCARCE)
        oversold = _count(
            self.inventory_db, "SELECT count(*) FROM products WHERE reserved > on_hand"
        )
        result["stock_left"] = {sku: self.system.product(sku)["available"] for sku in SCARCE}
        result["oversold_skus"] = oversold
        self.results["contention_c64"] = result
        print(_line("contention, 64 clients on 3 scarce skus", result), flush=True)

    def parallel_slow_calls(self) -> None:
        """8 slow calls through one process's resilient client, against one of them alone."""
        from order_service.app import build_inventory
        from shared.inventory import Line

        server = _SlowServer(delay_s=0.5)
        client = build_inventory(Settings(inventory_url=server.url))
        try:
            started = time.monotonic()
            client.reserve("one", [Line("A", 1)])
            one = time.monotonic() - started
            threads = [
                threading.Thread(target=client.reserve, args=(f"r{i}", [Line("A", 1)]))
                for i in range(8)
            ]
            started = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            eight = time.monotonic() - started
        finally:
            server.close()
        self.results["parallel_slow_calls"] = {
            "one_s": round(one, 3),
            "eight_s": round(eight, 3),
            "ratio": round(eight / one, 2),
        }
        self.results["layer_cost"] = {"us_per_call": _layer_cost_us()}
        print(f"8 concurrent slow calls: {eight:.2f} s, one: {one:.2f} s", flush=True)


def _layer_cost_us(calls: int = 20000) -> float:
    """CPU the resilience layer adds to one inventory call, against an instant inventory."""
    from order_service.app import build_inventory
    from shared.inventory import InventoryReply, Line, ReservationState
    from shared.metrics import ClientMetrics

    class Instant:
        def reserve(self, rid: str, lines: Any, *, timeout_s: float | None = None) -> Any:
            return InventoryReply(ReservationState.RESERVED)

    client = build_inventory(Settings(), ClientMetrics(None))
    client.inner = Instant()  # type: ignore[union-attr]
    lines, bare = [Line("A", 1)], Instant()
    started = time.perf_counter()
    for _ in range(calls):
        client.reserve("r", lines)
    layered = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(calls):
        bare.reserve("r", lines)
    direct = time.perf_counter() - started
    return round((layered - direct) / calls * 1e6, 1)


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops simultaneous connects beyond it; the client then
    # waits for a SYN retransmit (1 s) and the measurement shows the kernel, not the client.
    request_queue_size = 64
    daemon_threads = True


class _SlowServer:
    """Answers every reservation after ``delay_s``: an inventory that is slow but healthy."""

    def __init__(self, delay_s: float) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(delay_s)  # the slowness being measured
                body = b'{"status": "RESERVED", "shortages": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


_HZ = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended meanwhile
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def _children_cpu_s() -> float:
    """CPU seconds used by this process's finished children (wrk, once it is reaped)."""
    usage = os.times()
    return usage.children_user + usage.children_system


def _peak_rss_mb(pids: list[int]) -> float:
    peak = 0
    for pid in pids[1:]:  # the workers, not the master
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return round(peak / 1024, 1)


def _cpu_ms_per_order(results: dict[str, Any]) -> float:
    healthy = results["healthy_c16"]
    orders_per_s = float(healthy["successful_per_s"])
    return float(healthy["cpu_percent"]["orders"]) * 10 / max(1.0, orders_per_s)


def runs_summary(results: list[dict[str, Any]]) -> str:
    return " / ".join(str(r["successful_per_s"]) for r in results)


def _q(ordered: list[float], q: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _line(title: str, r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    return (
        f"{title}: {r['orders_per_s']} orders/s ({r['successful_per_s']} confirmed/s), "
        f"p50 {lat['p50']:.1f} p95 {lat['p95']:.1f} p99 {lat['p99']:.1f} "
        f"max {lat['max']:.1f} ms, codes {r['codes']}"
    )


Figure = Callable[[dict[str, Any]], float]
TARGETS: list[tuple[str, str, float, Figure]] = [
    (
        "successful orders/s at 16 clients, resilient / bare client (alternating rounds)",
        ">=",
        0.95,
        lambda r: (
            r["resilient_paired_c16"]["successful_per_s"] / r["bare_paired_c16"]["successful_per_s"]
        ),
    ),
    (
        "p99 of 202 with the breaker open / healthy p99 at 16 clients, measured just before",
        "<=",
        0.5,
        lambda r: (
            r["breaker_open_c16"]["latency_ms"]["p99"]
            / r["healthy_before_open_c16"]["latency_ms"]["p99"]
        ),
    ),
    (
        "p99 of orders not hit by the gremlin / healthy p99",
        "<=",
        2.0,
        lambda r: r["latency_gremlin_c16"]["unhit_p99_ms"] / r["healthy_c16"]["latency_ms"]["p99"],
    ),
    (
        "max latency of any POST /orders, seconds (deadline 6 + 0.5)",
        "<=",
        6.5,
        lambda r: max(v["latency_ms"]["max"] for v in r.values() if "latency_ms" in v) / 1000,
    ),
    (
        "backlog drain rate / healthy successful orders/s",
        ">=",
        0.5,
        lambda r: r["backlog"]["drain_per_s"] / r["healthy_c16"]["successful_per_s"],
    ),
    (
        "8 concurrent slow inventory calls, wall time / one call",
        "<=",
        1.5,
        lambda r: r["parallel_slow_calls"]["ratio"],
    ),
    (
        "healthy successful orders/s at 16 clients (aim, information)",
        ">=",
        250,
        lambda r: r["healthy_c16"]["successful_per_s"],
    ),
]


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, op, target, figure in TARGETS:
        value = round(figure(results), 3)
        met = value >= target if op == ">=" else value <= target
        rows.append({"figure": name, "value": value, "target": f"{op} {target}", "met": met})
    return rows


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_report(
    results: dict[str, Any], targets: list[dict[str, Any]], out: Path, argv: list[str]
) -> None:
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "command": " ".join(["python -m chaos.bench", *argv]) if argv else "make bench",
    }
    scenarios = {k: v for k, v in results.items() if "latency_ms" in v}
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`chaos/bench.py`): the system as `make up` runs it "
        f"({PRODUCTION_ENV['WEB_WORKERS']} gunicorn workers x {PRODUCTION_ENV['WEB_THREADS']} "
        "threads per service, JSON logs and metrics on, the reconciler), a throwaway PostgreSQL, "
        "load from wrk on 127.0.0.1. Timings on a shared machine drift, so the targets are "
        "ratios between figures of the same run; absolute figures are for information.",
        "",
        f"- date: {meta['date']}",
        f"- commit: {meta['commit']}",
        f"- machine: {meta['cores']} cores, Python {meta['python']}",
        f"- command: `{meta['command']}`",
        "",
        "## Targets",
        "",
        "| figure | value | target | met |",
        "|---|---|---|---|",
        *[
            f"| {t['figure']} | {t['value']} | {t['target']} | {'yes' if t['met'] else 'NO'} |"
            for t in targets
        ],
        "",
        "## Scenarios",
        "",
        "| scenario | clients | orders/s | confirmed/s | p50 ms | p95 ms | p99 ms | max ms | "
        "status codes | CPU % (orders / inventory / reconciler / postgres / wrk) | "
        "peak RSS per worker MB (orders / inventory) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in scenarios.items():
        lat = r["latency_ms"]
        cpu = {
            k: r["cpu_percent"].get(k, "-")
            for k in ("orders", "inventory", "reconciler", "postgres", "wrk")
        }
        rss = {k: r["peak_rss_mb"].get(k, "-") for k in ("orders", "inventory")}
        codes = " ".join(f"{k}:{v}" for k, v in r["codes"].items())
        lines.append(
            f"| {name} | {r['clients']} | {r['orders_per_s']} | {r['successful_per_s']} | "
            f"{lat['p50']:.1f} | {lat['p95']:.1f} | {lat['p99']:.1f} | {lat['max']:.1f} | "
            f"{codes} | "
            f"{cpu['orders']} / {cpu['inventory']} / {cpu['reconciler']} / {cpu['postgres']} / "
            f"{cpu['wrk']} | {rss['orders']} / {rss['inventory']} |"
        )
    backlog, slow = results["backlog"], results["parallel_slow_calls"]
    gremlin, contention = results["latency_gremlin_c16"], results["contention_c64"]
    lines += [
        "",
        f"- Latency gremlin (every 5th reservation +3 s): fired {gremlin['gremlin_fired']} times; "
        f"p99 of the orders it did not hit: {gremlin['unhit_p99_ms']:.1f} ms.",
        f"- Backlog: {backlog['accepted_pending']} orders accepted as PENDING with inventory "
        f"stopped, settled {backlog['drain_s']} s after it came back "
        f"({backlog['drain_per_s']}/s).",
        f"- Contention: stock left {contention['stock_left']}, skus oversold: "
        f"{contention['oversold_skus']}.",
        f"- 8 concurrent slow (0.5 s) inventory calls in one process: {slow['eight_s']} s; "
        f"one call: {slow['one_s']} s.",
        "- The resilience layer's own CPU per inventory call (deadline, bulkhead, tenacity, "
        "breaker, metrics; in-process against an instant inventory): "
        f"{results['layer_cost']['us_per_call']} us, against "
        f"{_cpu_ms_per_order(results):.1f} ms of order-service CPU per confirmed order at 16 "
        "clients. Paired rounds cannot resolve a difference that small: their own spread is "
        "about 10%.",
        f"- Paired rounds, confirmed/s: resilient {results['resilient_paired_c16']['rounds']}, "
        f"bare {results['bare_paired_c16']['rounds']}.",
        "",
        "Exact load commands (wrk, `chaos/wrk/orders.lua`):",
        "",
        *[f"- {name}: `{r['command']}`" for name, r in scenarios.items()],
        "",
    ]
    out.write_text("\n".join(lines))
    data = {
        "meta": meta,
        "targets": targets,
        "results": {
            k: {kk: vv for kk, vv in v.items() if kk != "curve_us"} for k, v in results.items()
        },
    }
    out.with_suffix(".json").write_text(json.dumps(data, indent=2, default=str))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15, help="load time per scenario")
    parser.add_argument("--backlog", type=int, default=2000, help="orders in the backlog scenario")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--only",
        action="append",
        choices=SCENARIOS,
        help="run only these scenarios (no report is written)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a setting of the services for this run",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    if shutil.which("wrk") is None:
        print("wrk is needed: sudo apt-get install wrk", file=sys.stderr)
        return 2
    PRODUCTION_ENV.update(dict(pair.split("=", 1) for pair in args.env))
    with Bench(args.seconds, args.backlog) as bench:
        for name in args.only or SCENARIOS:
            getattr(bench, name)()
        results = bench.results
    if args.only:
        return 0
    targets = evaluate(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(results, targets, args.out, sys.argv[1:] if argv is None else argv)
    print()
    for t in targets:
        print(f"{'met ' if t['met'] else 'MISS'}  {t['figure']}: {t['value']} ({t['target']})")
    print(f"\nreport: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
