"""The overload scenarios, each a method adding its figures to ``results``.

The system runs as ``make up`` runs it (each service's own layout, production-like settings) on
a throwaway PostgreSQL; load comes from ``lab.overload.load`` on 127.0.0.1, bounded in time.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any

import requests
from sqlalchemy import func, select

from lab import haproxy, invariants, processes
from lab.bench.load import ADMIN_TOKEN, PLENTY, PRODUCTION_ENV
from lab.overload.load import Answer, Request, Run, load, once, percentile, post_json
from lab.postgres import free_port
from lab.system import Environment, Layout, empty_tables
from order_service.tables import orders
from shared.auth import Role

OVERLOADED = "OVERLOADED"
PASSWORD = "overload-password-1"


def figures(run: Run) -> dict[str, Any]:
    """What one load run came to: goodput, and admitted and refused answers apart."""
    admitted = run.latencies(lambda a: a.code != OVERLOADED)
    refused = run.latencies(lambda a: a.code == OVERLOADED)
    statuses: dict[int, int] = {}
    for answer in run.answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    return {
        "seconds": round(run.seconds, 1),
        "confirmed_per_s": round(run.rate(201), 1),
        "answers": len(run.answers),
        "statuses": dict(sorted(statuses.items())),
        "no_answer": run.errors,
        "admitted_p50_ms": round(percentile(admitted, 50) * 1000, 1),
        "admitted_p99_ms": round(percentile(admitted, 99) * 1000, 1),
        "refused": len(refused),
        "refused_p99_ms": round(percentile(refused, 99) * 1000, 1),
        "refused_max_ms": round((refused[-1] if refused else 0) * 1000, 1),
        "refused_by": {k: v for k, v in run.refused_by.items() if v},
    }


class Overload:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.results: dict[str, Any] = {}

    def __enter__(self) -> Overload:
        self.env = Environment("overload", PRODUCTION_ENV, ADMIN_TOKEN, fast=False).__enter__()
        self.system = self.env.system
        return self

    def __exit__(self, *exc: object) -> None:
        self.env.__exit__(*exc)

    def fresh(self, agent: bool = True, **env: str) -> None:
        self.system.stop_processes()
        empty_tables(self.env.orders)
        empty_tables(self.env.inventory)
        self.system.env_overrides = {**PRODUCTION_ENV, **env}
        self.agent_port = free_port() if agent else 0
        bind = f"127.0.0.1:{self.agent_port}" if agent else ""
        self.system.service_env = {"orders": {"FRONT_AGENT_BIND": bind}}
        self.system.relayout(Layout())
        for sku in PLENTY:
            self.system.create_product(sku, 10_000_000)

    def orders_request(self) -> Request:
        token = self.system.auth("overload", Role.CUSTOMER)["Authorization"]
        rng = random.Random(7)
        return post_json(
            "/api/v1/orders",
            {"Authorization": token},
            lambda client, n: {"items": [{"sku": rng.choice(PLENTY), "quantity": 1}]},
        )

    def place(self, clients: int, seconds: float, port: int | None = None) -> Run:
        before = self.refusals()
        run = load(port or self.system.order_port, clients, seconds, self.orders_request())
        after = self.refusals()
        run.refused_by = {k: round(after[k] - before.get(k, 0)) for k in after}
        return run

    def refusals(self) -> dict[str, float]:
        """The order service's refusals so far, by reason, from its metrics."""
        text = requests.get(f"http://127.0.0.1:{self.system.order_port}/metrics", timeout=5).text
        found = {}
        for line in text.splitlines():
            if line.startswith("admission_refused_total{"):
                reason = line.split('reason="', 1)[1].split('"', 1)[0]
                found[reason] = float(line.rsplit(" ", 1)[1])
        return found

    # the scenarios ------------------------------------------------------------------------
    def curve(self) -> None:
        """Goodput at 1x, 2x, 4x and 8x the saturating client count, through HAProxy as
        ``make up`` runs it, then every invariant."""
        self.fresh()
        with self.front() as port:
            self._curve(port)
        invariants.drain(self.env.orders)
        with self.env.orders.connect() as conn:
            recorded = conn.execute(select(func.count()).select_from(orders)).scalar_one()
        found = invariants.check_all(self.env.orders, self.env.inventory)
        answered = self.results.pop("answered")
        found["a refusal records nothing"] = (
            []
            if recorded == answered
            else [f"{recorded} orders recorded, {answered} answered 201, 202 or 422"]
        )
        self.results["curve_invariants"] = {name: list(v) for name, v in found.items()}

    def _curve(self, port: int) -> None:
        answered = 0
        trial = {}
        for clients in (4, 8, 16):
            run = self.place(clients, self.seconds / 2, port)
            answered += sum(1 for a in run.answers if a.status in (201, 202, 422))
            trial[clients] = figures(run)
        peak = max(f["confirmed_per_s"] for f in trial.values())
        saturating = min(c for c, f in trial.items() if f["confirmed_per_s"] >= 0.9 * peak)
        self.results["saturation"] = {"trial": trial, "clients": saturating}
        print(f"saturating client count: {saturating} ({trial})", flush=True)
        levels = {}
        for times in (1, 2, 4, 8):
            run = self.place(saturating * times, self.seconds, port)
            answered += sum(1 for a in run.answers if a.status in (201, 202, 422))
            levels[f"{times}x"] = {"clients": saturating * times, **figures(run)}
            print(f"{times}x: {levels[f'{times}x']}", flush=True)
        self.results["curve"] = levels
        self.results["answered"] = answered

    def slow_clients(self, seconds: float = 30.0, count: int = 200) -> None:
        """Normal clients through HAProxy, without and with ``count`` slow connections."""
        self.fresh()
        with self.front() as port:
            without = figures(self.place(8, seconds, port))
            with slowloris(port, count, seconds):
                during = figures(self.place(8, seconds, port))
        self.results["slow_clients"] = {"count": count, "without": without, "with": during}
        print(f"slow clients: {self.results['slow_clients']}", flush=True)

    def login_storm(self, seconds: float = 20.0, per_s: float = 20.0) -> None:
        """POST /orders from 8 clients, without and with logins for random emails."""
        self.fresh()
        without = figures(self.place(8, seconds))
        storm = logins(self.system.order_port, per_s, seconds)
        during = figures(self.place(8, seconds))
        sent = storm.result()
        self.results["login_storm"] = {
            "per_s": per_s,
            "without": without,
            "with": during,
            "logins": sent,
        }
        print(f"login storm: {self.results['login_storm']}", flush=True)

    def lockout(self, wrong: int = 1000) -> None:
        """``wrong`` bad passwords for one account, then its owner's: how long until in."""
        self.fresh()
        email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
        base = f"{self.system.orders}/auth"
        http = requests.Session()
        http.post(f"{base}/signup", json={"email": email, "password": PASSWORD}, timeout=10)
        codes: dict[str, int] = {}
        for n in range(wrong):
            answer = http.post(
                f"{base}/login", json={"email": email, "password": f"guess-{n:06d}"}, timeout=10
            )
            code = answer.json().get("error", {}).get("code", str(answer.status_code))
            codes[code] = codes.get(code, 0) + 1
        started, tries = time.monotonic(), 0
        while True:
            tries += 1
            answer = http.post(f"{base}/login", json={"email": email, "password": PASSWORD})
            if answer.status_code == 200:
                break
            wait_ms = answer.json()["error"]["details"].get("retry_after_ms", 100)
            time.sleep(wait_ms / 1000)  # as the Retry-After asks; it is what is measured
        self.results["lockout"] = {
            "wrong": wrong,
            "answers": codes,
            "in_after_s": round(time.monotonic() - started, 2),
            "tries": tries,
        }
        print(f"lock-out: {self.results['lockout']}", flush=True)

    def retry_budget(self, seconds: float = 15.0) -> None:
        """Inventory answers every reservation 503: calls reaching it per order placed."""
        self.fresh()
        self.system.stop("reconciler")  # only the request path's calls are counted
        chaos = f"http://127.0.0.1:{self.system.inventory_port}/chaos"
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        self.gremlin("all-503", {"kind": "error", "status": 503, "method": "PUT"})
        run = self.place(8, seconds)
        matched = requests.get(chaos, timeout=5).json()["gremlins"][0]["matched"]
        placed = sum(1 for a in run.answers if a.status in (201, 202, 422))
        requests.delete(chaos, headers=admin, timeout=5).raise_for_status()
        self.system.start("reconciler")
        invariants.drain(self.env.orders)
        self.results["retry_budget"] = {
            "orders": placed,
            "inventory_calls": matched,
            "ratio": round(matched / max(1, placed), 3),
            "statuses": figures(run)["statuses"],
        }
        print(f"retry budget: {self.results['retry_budget']}", flush=True)

    def slow_inventory(self, seconds: float = 15.0, clients: int = 16) -> None:
        """Every other reservation held a second, through the front: with the orders' agent
        (shared.front_agent) and with HAProxy's fixed figure alone."""
        found = {}
        for agent in (True, False):
            self.fresh(agent=agent)
            self.gremlin(
                "slow",
                {"kind": "latency", "delay_ms": 1000, "every_nth": 2, "method": "PUT"},
            )
            with self.front() as port:
                found["with the agent" if agent else "fixed figure"] = figures(
                    self.place(clients, seconds, port)
                )
        self.results["slow_inventory"] = {"clients": clients, **found}
        print(f"slow inventory: {self.results['slow_inventory']}", flush=True)

    def gremlin(self, name: str, body: dict[str, Any]) -> None:
        """A gremlin on inventory's reservations."""
        requests.put(
            f"http://127.0.0.1:{self.system.inventory_port}/chaos/{name}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=5,
            json={**body, "path": "/api/v1/reservations/*"},
        ).raise_for_status()

    @contextmanager
    def front(self) -> Any:
        """HAProxy in front of the order service, as ``make up`` renders it."""
        port, metrics = free_port(), free_port()
        target = f"127.0.0.1:{self.system.port('orders')}"
        config = self.env.root / "haproxy.cfg"
        config.write_text(
            haproxy.render(
                [
                    haproxy.Frontend(
                        "orders",
                        f"127.0.0.1:{port}",
                        {"orders": target},
                        capacity=haproxy.capacity(self.env.settings.layout("orders")),
                        agents={"orders": self.agent_port} if self.agent_port else {},
                    )
                ],
                f"127.0.0.1:{metrics}",
                self.env.root / "haproxy-errors",
            )
        )
        log, ready = self.env.root / "haproxy.log", f"http://127.0.0.1:{port}/health/ready"
        with processes.running(haproxy.command(config), log, {}, ready):
            yield port


@contextmanager
def slowloris(port: int, count: int, seconds: float) -> Any:
    """``count`` connections from 127.0.0.2 sending a header a byte a second, reconnecting as
    soon as they are cut, for ``seconds`` (in a thread of their own)."""

    async def one(stop_at: float) -> None:
        while time.monotonic() < stop_at:
            try:
                _, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=("127.0.0.2", 0)
                )
                writer.write(b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\n")
                while time.monotonic() < stop_at:
                    writer.write(b"X")
                    await writer.drain()
                    await asyncio.sleep(1)  # the attacker's pace
            except OSError:
                await asyncio.sleep(0.1)

    async def all_of_them() -> None:
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(one(stop_at) for _ in range(count)))

    thread = threading.Thread(target=asyncio.run, args=(all_of_them(),), daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


class _Storm:
    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.thread: threading.Thread | None = None

    def result(self) -> dict[str, Any]:
        assert self.thread is not None
        self.thread.join()
        codes: dict[str, int] = {}
        for answer in self.answers:
            key = answer.code or str(answer.status)
            codes[key] = codes.get(key, 0) + 1
        return {"sent": len(self.answers), "answers": codes}


def logins(port: int, per_s: float, seconds: float) -> _Storm:
    """Logins for random emails at ``per_s`` a second (open loop: each on its own connection,
    whether or not the last was answered), for ``seconds``, from a thread of its own."""
    storm = _Storm()
    request = post_json(
        "/api/v1/auth/login",
        {},
        lambda client, n: {"email": f"{uuid.uuid4().hex}@example.com", "password": "guess-1234"},
        keyed=False,
    )

    async def all_of_them() -> None:
        sent = []
        for n in range(int(per_s * seconds)):
            sent.append(asyncio.create_task(once(port, request(0, n))))
            await asyncio.sleep(1 / per_s)  # the storm's own pace
        storm.answers.extend(a for a in await asyncio.gather(*sent) if a is not None)

    storm.thread = threading.Thread(target=asyncio.run, args=(all_of_them(),), daemon=True)
    storm.thread.start()
    return storm
