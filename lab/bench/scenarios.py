"""The bench's scenarios, one method each: healthy, bare, breaker open, latency, backlog, ..."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from sqlalchemy import text

from lab import processes
from lab.bench.load import PLENTY, SCARCE, Bench
from lab.bench.measure import SlowServer, count, layer_cost_us, ms_per_order, q
from lab.bench.report import line, runs_summary
from lab.postgres import free_port
from lab.system import Layout
from shared.auth import Role
from shared.config import Settings

SCENARIOS = [
    "healthy",
    "bare",
    "breaker_open",
    "latency_gremlin",
    "backlog",
    "contention",
    "parallel_slow_calls",
    "scaled",
    "paid",
]


class Scenarios(Bench):
    """Each public method runs one scenario and adds its figures to ``results``."""

    def healthy(self) -> None:
        self.fresh()
        for clients in (4, 16, 64):
            self.results[f"healthy_c{clients}"] = self.wrk(f"healthy{clients}", clients, PLENTY)
            print(
                line(f"healthy, {clients} clients", self.results[f"healthy_c{clients}"]),
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
            **self.system.process_env("orders"),
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
            processes.end(bare)
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
        print(line("inventory stopped, breaker open", self.results["breaker_open_c16"]), flush=True)
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
        auth = self.system.auth()
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
                body = {"items": [{"sku": PLENTY[(n * 7 + sent) % len(PLENTY)], "quantity": 1}]}
                headers = {**self.system.auth(f"g{n}", Role.CUSTOMER)}
                headers["Idempotency-Key"] = f"g-{n}-{sent}"
                started = time.perf_counter()
                response = session.post(url, json=body, timeout=30, headers=headers)
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
            "command": "16 Python client threads (lab/bench/ latency_gremlin)",
            "clients": 16,
            "seconds": self.seconds,
            "requests": len(records),
            "orders_per_s": round(len(records) / self.seconds, 1),
            "successful_per_s": round(codes.get(201, 0) / self.seconds, 1),
            "codes": dict(sorted(codes.items())),
            "latency_ms": {
                "p50": q(every, 0.5),
                "p95": q(every, 0.95),
                "p99": q(every, 0.99),
                "max": every[-1],
            },
            "gremlin_fired": len(hit),
            "unhit_p99_ms": q(unhit, 0.99),
            "unhit_max_ms": unhit[-1] if unhit else 0.0,
            "cpu_percent": {},
            "peak_rss_mb": {},
        }
        self.results["latency_gremlin_c16"] = result
        print(
            line("latency gremlin every 5th, 3 s", result)
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
            body = {"items": [{"sku": PLENTY[i % len(PLENTY)], "quantity": 1}]}
            headers = {**self.system.auth(f"backlog-{i % 50}", Role.CUSTOMER)}
            headers["Idempotency-Key"] = f"backlog-{i}"
            return session.post(url, json=body, headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(place, range(orders)))
        pending = count(self.orders_db, "SELECT count(*) FROM orders WHERE status = 'PENDING'")
        self.system.start("inventory")
        started = time.monotonic()
        while count(self.orders_db, "SELECT count(*) FROM orders WHERE status = 'PENDING'"):
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

    def paid(self, clients: int = 16) -> None:
        """The whole money flow per order, at ``clients`` clients for the scenario's time: place,
        start the payment, pay at the provider; an order counts once the provider's webhook has
        made it PAID. Reported beside the confirmed rate of the healthy scenario."""
        self.fresh()
        self.system.create_product("PAID-1", 10_000_000, 999)
        session = requests.Session()
        url = f"http://127.0.0.1:{self.system.order_port}/api/v1/orders"
        stop_at = time.monotonic() + self.seconds
        confirmed = 0
        lock = threading.Lock()

        def customer(n: int) -> None:
            nonlocal confirmed
            headers = self.system.auth(f"payer-{n}", Role.CUSTOMER)
            while time.monotonic() < stop_at:
                body = {"items": [{"sku": "PAID-1", "quantity": 1}]}
                placed = session.post(url, json=body, headers=headers, timeout=30)
                if placed.status_code != 201:
                    continue
                with lock:
                    confirmed += 1
                order_id = placed.json()["id"]
                started = session.post(
                    f"{url}/{order_id}/payments", json={}, headers=headers, timeout=30
                )
                if started.status_code in (200, 201):
                    pid = started.json()["payment_id"]
                    self.system.provider("POST", f"/v1/payment_intents/{pid}/capture")

        began = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(customer, range(clients)))
        load_s = time.monotonic() - began
        captured = count(self.orders_db, "SELECT count(*) FROM payments")
        paid_sql = "SELECT count(*) FROM orders WHERE status = 'PAID'"
        while count(self.orders_db, paid_sql) < captured:
            if time.monotonic() - began > load_s + 120:
                raise TimeoutError("payments not processed in 120 s")
            time.sleep(0.1)  # polling the database for the last webhook's effect
        paid_s = time.monotonic() - began
        paid = count(self.orders_db, paid_sql)
        self.results["paid_c16"] = {
            "clients": clients,
            "confirmed": confirmed,
            "paid": paid,
            "load_s": round(load_s, 1),
            "confirmed_per_s": round(confirmed / load_s, 1),
            "paid_per_s": round(paid / paid_s, 1),
            "last_paid_after_load_s": round(paid_s - load_s, 2),
        }
        print(
            f"paid, {clients} clients: {confirmed / load_s:.1f} confirmed/s, {paid / paid_s:.1f} "
            f"confirmed and paid/s (the last PAID {paid_s - load_s:.1f} s after the load)",
            flush=True,
        )

    def contention(self) -> None:
        self.fresh()
        for sku in SCARCE:
            self.system.create_product(sku, 300)
        result = self.wrk("contention64", 64, SCARCE)
        oversold = count(
            self.inventory_db, "SELECT count(*) FROM products WHERE reserved > on_hand"
        )
        result["stock_left"] = {sku: self.system.product(sku)["available"] for sku in SCARCE}
        result["oversold_skus"] = oversold
        self.results["contention_c64"] = result
        print(line("contention, 64 clients on 3 scarce skus", result), flush=True)

    def parallel_slow_calls(self) -> None:
        """8 slow calls through one process's resilient client, against one of them alone."""
        from order_service.bootstrap import build_inventory
        from order_service.domain import OrderLine

        server = SlowServer(delay_s=0.5)
        client = build_inventory(Settings(inventory_url=server.url))
        try:
            started = time.monotonic()
            client.reserve("one", [OrderLine("A", 1)])
            one = time.monotonic() - started
            threads = [
                threading.Thread(target=client.reserve, args=(f"r{i}", [OrderLine("A", 1)]))
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
        self.results["layer_cost"] = {"us_per_call": layer_cost_us()}
        print(f"8 concurrent slow calls: {eight:.2f} s, one: {one:.2f} s", flush=True)

    def scaled(self) -> None:
        """Healthy load on one instance of each, then on 2 x 2 behind HAProxy with Redis and two
        reconcilers, one after the other. On 2 cores no gain is expected: this shows what the
        extra hop, Redis and the extra processes cost per order."""
        figures = {}
        for layout in (Layout(), Layout(orders=2, inventory=2, reconcilers=2)):
            self.fresh(layout)
            name = f"{layout.orders}x{layout.inventory}"
            # CPU is read from the processes that exist when the load starts: a warm-up first,
            # so every pool has opened its connections (PostgreSQL backends) by then.
            self.wrk(f"warm-up {name}", 16, PLENTY, seconds=3)
            result = self.wrk(f"scaled {name}", 16, PLENTY)
            figures[name] = {**result, "cpu_ms": ms_per_order([result])}
            print(line(f"healthy, {name}, 16 clients", result), figures[name]["cpu_ms"], flush=True)
        self.results["scaled"] = figures
        self.fresh()  # one of each again for whatever runs next
