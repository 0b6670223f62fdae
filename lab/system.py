"""The whole system as real processes on free ports: both gunicorns and the reconciler.

Used by the end-to-end tests and by ``make test-chaos``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import requests
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from lab import haproxy, processes, redis_server
from lab.invariants import Observed
from lab.postgres import Database, LocalCluster, free_port, provision, scratch_dir
from shared.auth import Role
from shared.auth.tokens import TokenIssuer
from shared.config import Settings
from shared.db import make_engine
from shared.migrate import upgrade

LAB_LIMIT = "1000000/second"


def empty_tables(engine: Engine) -> None:
    """Delete every row of every table but Alembic's (between tests and scenarios).

    The system may be running meanwhile: a reconciler's housekeeping can hold one table while
    TRUNCATE holds another, and PostgreSQL then ends one of the two. If that is this one, it
    tries again (the reconciler retries its own on its next pass)."""
    for attempt in range(5):
        try:
            _truncate(engine)
            return
        except OperationalError as exc:
            if "deadlock" not in str(exc.orig) or attempt == 4:
                raise


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@dataclass(frozen=True)
class Layout:
    """How many of each process run, and whether HAProxy and Redis stand in front and beside.

    One instance of each is reached directly; more are reached through HAProxy, and share the
    breaker and the rate limits through Redis.
    """

    orders: int = 1
    inventory: int = 1
    reconcilers: int = 1

    @property
    def scaled(self) -> bool:
        return self.orders > 1 or self.inventory > 1 or self.reconcilers > 1

    def instances(self, service: str) -> list[str]:
        """Process names of one of "orders", "inventory", "reconciler": orders, orders-2, ..."""
        count = {"orders": self.orders, "inventory": self.inventory}.get(service, self.reconcilers)
        return [service if i == 0 else f"{service}-{i + 1}" for i in range(count)]

    def processes(self) -> list[str]:
        """Every process, in the order they start (each after what it needs)."""
        names = ["redis"] if self.scaled else []
        names += ["payments", *self.instances("inventory"), *self.instances("orders")]
        names += ["haproxy"] if self.scaled else []
        return names + self.instances("reconciler")


# 2 workers x 8 threads and 4 connections per service (plus as many overflow): light on 2 cores,
# and enough threads for the 16 clients of the busiest chaos scenario, which would otherwise
# queue in a worker and be shed by admission control (shared.admission) as the overload it is.
LIGHT_LAYOUT = {"WEB_WORKERS": "2", "WEB_THREADS": "8", "DB_POOL_SIZE": "4"}


def service_of(name: str) -> str:
    """ "orders-2" -> "orders"."""
    return name.split("-", 1)[0]


@dataclass
class System:
    settings: Settings
    logdir: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    # Per process ("orders", "inventory", "reconciler"), over env_overrides: each service runs in
    # its own environment in production too, so each may have its own layout.
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    layout: Layout = field(default_factory=Layout)
    # Set by whoever runs the database (``Environment``): "restart postgres" in a scenario.
    restart_database: Callable[[], None] | None = None
    # Every service as ``LIGHT_LAYOUT``, which keeps the tests light; off, each runs the layout
    # ``make up`` runs (``shared.config.LAYOUTS``), which is what the bench and the chaos runner
    # measure.
    light: bool = True
    # Settings of one chaos scenario, over everything else (a short payment window, say).
    scenario_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ports: dict[str, int] = {}
        self.http = requests.Session()
        # The laboratory runs the system, so it holds its signing key and mints tokens for its
        # simulated customers as an identity provider would (login is tested on its own).
        self._issuer = TokenIssuer(self.settings.auth_signing_key, self.settings.auth_issuer)
        self._tokens: dict[tuple[str, Role, str], dict[str, str]] = {}

    def port(self, name: str) -> int:
        """The port of one process or listener (kept across restarts, so clients can return)."""
        if name not in self.ports:
            self.ports[name] = free_port()
        return self.ports[name]

    @property
    def order_port(self) -> int:
        """Where clients reach the order service: HAProxy when scaled, else the instance."""
        return self.port("haproxy-orders" if self.layout.scaled else "orders")

    @property
    def inventory_port(self) -> int:
        return self.port("haproxy-inventory" if self.layout.scaled else "inventory")

    @property
    def reconciler_metrics_port(self) -> int:
        return self.port("reconciler-metrics")

    @property
    def orders(self) -> str:
        return f"http://127.0.0.1:{self.order_port}/api/v1"

    @property
    def inventory(self) -> str:
        return f"http://127.0.0.1:{self.inventory_port}/api/v1"

    @property
    def payments_url(self) -> str:
        """The payment provider stand-in's base URL (its API is under /v1)."""
        return f"http://127.0.0.1:{self.port('payments')}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.port('redis')}/0"

    def auth(
        self, subject: str = "lab-admin", role: Role = Role.ADMIN, audience: str | None = None
    ) -> dict[str, str]:
        """An ``Authorization`` header for this subject and role (cached; tokens last 1 h)."""
        aud = audience or self.settings.auth_audience
        found = self._tokens.get((subject, role, aud))
        if found is None:
            token = self._issuer.issue(subject, role, aud, 3600)
            found = self._tokens[(subject, role, aud)] = {"Authorization": f"Bearer {token}"}
        return found

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **self.base_env(s),
            **self.env_overrides,
            **self.scenario_env,
        }

    def base_env(self, s: Settings) -> dict[str, str]:
        return {
            **os.environ,
            "APP_ENV": "test",
            "INVENTORY_URL": f"http://127.0.0.1:{self.inventory_port}",
            "PAYMENTS_URL": self.payments_url,
            "PAYMENT_WEBHOOK_URL": f"http://127.0.0.1:{self.order_port}/api/v1/payments/webhook",
            "PAYMENTS_READ_TIMEOUT_S": "1",
            "PAYMENTS_DEADLINE_S": "2",
            "PAYMENT_EVENT_RETRY_BASE_S": "0.2",
            # The load tools place many orders per customer and pay none of them.
            "UNPAID_ORDERS_PER_CUSTOMER": "0",
            "UNPAID_UNITS_PER_CUSTOMER": "0",
            **(LIGHT_LAYOUT if self.light else {}),
            "LOG_LEVEL": "INFO",
            "RECONCILER_INTERVAL_S": "0.2",
            # Short enough that failure tests settle in seconds, long enough to be realistic.
            "ORDER_RESERVE_DEADLINE_S": "2",
            "INVENTORY_READ_TIMEOUT_S": "1",
            "BREAKER_RESET_TIMEOUT_S": "1",
            "OUTBOX_RETRY_MAX_S": "1",
            "IDEMPOTENCY_LEASE_S": "3",
            "RECONCILER_BATCH_SIZE": "5",
            "CHAOS_ENABLED": "true",
            "ADMIN_TOKEN": s.admin_token,
            # The load tools must measure the system, not its rate limits.
            "RATE_LIMIT_ORDERS_PER_CUSTOMER": LAB_LIMIT,
            "RATE_LIMIT_ORDERS_PER_ADDRESS": LAB_LIMIT,
            "RATE_LIMIT_AUTH_PER_ADDRESS": LAB_LIMIT,
            "RATE_LIMIT_AUTH_PER_EMAIL": LAB_LIMIT,
            # No cap: a huge one would be counted up to, and one customer places them all.
            "ORDERS_PER_CUSTOMER_PER_DAY": "0",
            **({"REDIS_URL": self.redis_url} if self.layout.scaled else {}),
        }

    @property
    def console(self) -> str:
        return f"http://127.0.0.1:{self.port('console')}"

    def process_env(self, name: str) -> dict[str, str]:
        """The environment of one process: only its own database's URL, as in production."""
        service = service_of(name)
        if service == "payments":  # the provider stand-in: its own database, and no other
            return {
                **processes.without_databases(self.env()),
                "PAYMENTS_PROVIDER_DATABASE_URL": self.settings.payments_provider_database_url,
                "PAYMENTS_PROVIDER_BIND": f"127.0.0.1:{self.port(name)}",
                **self.service_env.get(service, {}),
            }
        if service == "console":  # no database at all: the console uses the public APIs
            return {
                **processes.without_databases(self.env()),
                "ORDER_URL": f"http://127.0.0.1:{self.order_port}",
                "CONSOLE_BIND": f"127.0.0.1:{self.port(name)}",
                **self.service_env.get(service, {}),
            }
        env = processes.own_database_only(
            self.env(), "inventory" if service == "inventory" else "orders", self.settings
        )
        if service == "orders":
            env["ORDER_BIND"] = f"127.0.0.1:{self.port(name)}"
        elif service == "inventory":
            env["INVENTORY_BIND"] = f"127.0.0.1:{self.port(name)}"
        else:
            metrics = "reconciler-metrics" if name == "reconciler" else f"{name}-metrics"
            env["RECONCILER_METRICS_BIND"] = f"127.0.0.1:{self.port(metrics)}"
        return {**env, **self.service_env.get(service, {})}

    def start(self, name: str) -> None:
        """Start one process of the layout (see ``Layout.processes``) and wait until it serves."""
        service = service_of(name)
        log = self.logdir / f"{name}.log"
        seen = log.stat().st_size if log.exists() else 0
        if service == "redis":
            proc = processes.start(
                redis_server.command(self.port("redis"), self.logdir / "redis"), log, os.environ
            )
            self.procs[name] = proc
            redis_server.wait_ready(self.redis_url, proc)
            return
        if service == "haproxy":
            proc = processes.start(haproxy.command(self._haproxy_config()), log, os.environ)
            self.procs[name] = proc
            for frontend in ("orders", "inventory"):
                self.wait_balanced(frontend, process=proc)
            return
        if service == "reconciler":
            command = [sys.executable, "-m", "order_service.reconciler"]
            ready = None
        else:
            command = processes.gunicorn_command(service)
            path = "/login" if service == "console" else "/health/ready"
            ready = f"http://127.0.0.1:{self.port(name)}{path}"
        env = self.process_env(name)
        if service in ("orders", "inventory"):  # gunicorn workers share their metrics in files
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.logdir / f"metrics-{name}")
        proc = processes.start(command, log, env)
        self.procs[name] = proc
        if ready:
            processes.wait_ready(ready, process=proc)
        else:
            processes.wait_for_line(log, "reconciler started", after=seen, process=proc)

    def _haproxy_config(self) -> Path:
        frontends = [
            haproxy.Frontend(
                service,
                f"127.0.0.1:{self.port(f'haproxy-{service}')}",
                {name: f"127.0.0.1:{self.port(name)}" for name in self.layout.instances(service)},
            )
            for service in ("orders", "inventory")
        ]
        config = self.logdir / "haproxy.cfg"
        metrics = f"127.0.0.1:{self.port('haproxy-metrics')}"
        config.write_text(haproxy.render(frontends, metrics, self.logdir / "haproxy-errors"))
        return config

    def wait_balanced(
        self, service: str, *, up: int | None = None, process: subprocess.Popen[bytes] | None = None
    ) -> None:
        """Until HAProxy counts ``up`` (default: every) instance of ``service`` as up."""
        want = len(self.layout.instances(service)) if up is None else up
        metrics = f"http://127.0.0.1:{self.port('haproxy-metrics')}/metrics"

        def counted() -> bool:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"haproxy exited with {process.returncode}")
            try:
                text = requests.get(metrics, timeout=1).text
            except requests.RequestException:
                return False
            return haproxy.servers_up(text, service) == want

        processes.poll(counted, timeout_s=30, what=f"{want} {service} instances up in haproxy")

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        processes.end(proc)  # gunicorn and the reconciler both stop gracefully on SIGTERM

    def kill(self, name: str) -> None:
        """SIGKILL the process and all it started (a master and its workers), as a crash would."""
        proc = self.procs.pop(name)
        processes.kill_group(proc.pid)
        proc.wait()

    def ensure_running(self) -> None:
        for name in self.layout.processes():
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                self.procs.pop(name, None)
                self.start(name)

    def relayout(self, layout: Layout) -> None:
        """Stop everything and start ``layout`` (each chaos scenario starts from a fresh system)."""
        self.stop_processes()
        self.layout = layout
        for name in layout.processes():
            self.start(name)

    def stop_processes(self) -> None:
        # The reverse of the start order: nothing loses what it needs while it drains.
        for name in reversed(self.layout.processes()):
            self.stop(name)
        for name in list(self.procs):  # anything started outside the layout
            self.stop(name)

    def stop_all(self) -> None:
        self.stop_processes()

    @contextmanager
    def started(
        self, names: Iterable[str] = ("payments", "inventory", "orders", "reconciler")
    ) -> Iterator[Self]:
        """These processes running for the ``with`` block; every one stopped after, a failed
        start included."""
        try:
            for name in names:
                self.start(name)
            yield self
        finally:
            self.stop_all()
        self.http.close()

    # small API client -----------------------------------------------------------------------
    def place(
        self, customer: str, items: list[tuple[str, int]], key: str | None = None
    ) -> requests.Response:
        headers = {**self.auth(customer, Role.CUSTOMER)}
        if key:
            headers["Idempotency-Key"] = key
        body = {"items": [{"sku": s, "quantity": q} for s, q in items]}
        return self.http.post(f"{self.orders}/orders", json=body, headers=headers, timeout=30)

    def place_definite(
        self,
        key: str,
        customer: str,
        items: list[tuple[str, int]],
        observed: Observed,
        *,
        tries: int = 120,
    ) -> tuple[requests.Response, float]:
        """A careful client: retry with the same key until the order has a definite answer.

        Returns the answer and the latency of that last request in milliseconds.
        """
        for _ in range(tries):
            started = time.perf_counter()
            try:
                response = self.place(customer, items, key=key)
            except (
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.Timeout,
            ):
                # No answer, or half of one (a worker died while sending it): the key makes
                # asking again safe. Recorded as status 0.
                observed.record(None, 0, {})
                continue
            elapsed_ms = (time.perf_counter() - started) * 1000
            observed.record(key, response.status_code, response.json(), elapsed_ms)
            if response.status_code in (201, 202, 422):
                return response, elapsed_ms
            if response.status_code in (409, 503):  # still running; or nothing changed
                time.sleep(float(response.headers.get("Retry-After", "1")))
        raise RuntimeError(f"no definite answer for {key} after {tries} tries")

    def place_keyless(
        self,
        customer: str,
        items: list[tuple[str, int]],
        observed: Observed,
        *,
        label: str | None = None,
        tries: int = 60,
    ) -> requests.Response | None:
        """A client without an Idempotency-Key: it asks again only when a 503 says nothing
        changed; None when it got no answer at all (it cannot know whether it ordered).

        ``label`` files the answers in ``observed`` as a key would, for the report.
        """
        for _ in range(tries):
            started = time.perf_counter()
            try:
                response = self.place(customer, items)
            except (requests.ConnectionError, requests.Timeout):
                observed.record(None, 0, {})
                return None
            elapsed_ms = (time.perf_counter() - started) * 1000
            observed.record(label, response.status_code, response.json(), elapsed_ms)
            if response.status_code != 503:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))
        raise RuntimeError(f"still 503 after {tries} tries")

    def order(self, order_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(
            f"{self.orders}/orders/{order_id}", headers=self.auth(), timeout=10
        ).json()
        return body

    def act(self, order_id: str, action: str) -> requests.Response:
        """Cancel, ship or deliver, as an admin."""
        return self.http.post(
            f"{self.orders}/orders/{order_id}/{action}", headers=self.auth(), timeout=30
        )

    def act_answer(self, order_id: str, action: str) -> tuple[int, dict[str, Any]]:
        """``act``'s status and body; status 0 when no answer came."""
        try:
            response = self.act(order_id, action)
        except (requests.ConnectionError, requests.Timeout):
            return 0, {}
        return response.status_code, response.json()

    def start_payment(self, order_id: str) -> requests.Response:
        """``POST /orders/{id}/payments`` as an admin."""
        return self.http.post(
            f"{self.orders}/orders/{order_id}/payments", headers=self.auth(), json={}, timeout=30
        )

    def provider(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A call to the provider stand-in's API (``/v1/...``) with the merchant's key."""
        headers = {"Authorization": f"Bearer {self.settings.payments_api_key}"}
        return self.http.request(
            method, f"{self.payments_url}{path}", headers=headers, timeout=30, **kwargs
        )

    def pay(self, order_id: str) -> dict[str, Any]:
        """Start the order's payment and pay it at the provider, as a customer on the pay page
        would; the payment as the order service answered it (the order turns PAID once the
        provider's webhook is processed)."""
        started = self.start_payment(order_id)
        assert started.status_code in (200, 201), started.text
        payment: dict[str, Any] = started.json()
        paid = self.provider("POST", f"/v1/payment_intents/{payment['payment_id']}/capture")
        assert paid.status_code == 200, paid.text
        return payment

    def product(self, sku: str) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"{self.inventory}/products/{sku}", timeout=10).json()
        return body

    def create_product(
        self, sku: str, on_hand: int, price_cents: int = 0, currency: str = "EUR"
    ) -> None:
        response = self.http.post(
            f"{self.inventory}/products",
            headers=self.auth(),
            timeout=10,
            json={
                "sku": sku,
                "name": sku.lower(),
                "on_hand": on_hand,
                "price_cents": price_cents,
                "currency": currency,
            },
        )
        assert response.status_code == 201, response.text


class Environment:
    """A throwaway PostgreSQL with both databases migrated, and the system running on it.

    ``make test-chaos`` and ``make bench`` each run inside one; they never touch the databases
    a user configured, since they empty tables between scenarios.
    """

    def __init__(self, name: str, env: dict[str, str], admin_token: str, *, fast: bool) -> None:
        self.name, self.env_overrides, self.admin_token, self.fast = name, env, admin_token, fast

    def __enter__(self) -> Self:
        self.root = scratch_dir(f"{self.name}-")
        self.cluster = LocalCluster(self.root / "pg", free_port(), fast=self.fast)
        self.cluster.start()
        try:
            self._start()
        except BaseException:  # an interrupted start must not leave processes behind
            self.cluster.stop()
            raise
        return self

    def _start(self) -> None:
        dbs = [
            Database("orders", f"orders_{self.name}", f"orders-{self.name}-pw"),
            Database("inventory", f"inventory_{self.name}", f"inventory-{self.name}-pw"),
            Database("payments", f"payments_{self.name}", f"payments-{self.name}-pw"),
        ]
        provision(self.cluster.admin_conninfo(), dbs)
        self.settings = Settings(
            app_env="test",
            admin_token=self.admin_token,
            orders_database_url=dbs[0].url("127.0.0.1", self.cluster.port),
            inventory_database_url=dbs[1].url("127.0.0.1", self.cluster.port),
            orders_owner_database_url=dbs[0].owner_url("127.0.0.1", self.cluster.port),
            inventory_owner_database_url=dbs[1].owner_url("127.0.0.1", self.cluster.port),
            payments_provider_database_url=dbs[2].owner_url("127.0.0.1", self.cluster.port),
        )
        upgrade("orders", self.settings.owner_database_url("orders"))
        upgrade("inventory", self.settings.owner_database_url("inventory"))
        # The laboratory is the operator: it empties tables between scenarios, as the owner.
        self.orders = make_engine(
            self.settings.owner_database_url("orders"), self.settings, application_name=self.name
        )
        self.inventory = make_engine(
            self.settings.owner_database_url("inventory"),
            self.settings,
            application_name=self.name,
        )
        # The provider stand-in's database, for the money invariants (and emptied between runs).
        self.payments = make_engine(
            self.settings.payments_provider_database_url,
            self.settings,
            application_name=self.name,
        )
        self.system = System(
            self.settings,
            self.root / "logs",
            env_overrides=dict(self.env_overrides),
            restart_database=self.cluster.restart,
            light=False,  # the layouts make up runs: what the bench and the chaos runner measure
        )
        try:
            for process in self.system.layout.processes():
                self.system.start(process)
        except BaseException:
            self.system.stop_all()
            raise

    def __exit__(self, *exc: object) -> None:
        self.system.stop_all()
        self.orders.dispose()
        self.inventory.dispose()
        self.payments.dispose()
        self.cluster.stop()
